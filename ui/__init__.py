"""docduet: ui."""
