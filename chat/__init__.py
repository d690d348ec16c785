"""docduet: chat."""
