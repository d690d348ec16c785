"""docduet: retrieval."""
