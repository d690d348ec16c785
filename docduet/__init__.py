"""docduet: answers every question twice, from a local small model and a hosted large model."""

__version__ = "0.1.0"
