"""docduet: ingest."""
