"""docduet: db."""
