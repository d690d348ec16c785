"""docduet's settings, one section per component; :mod:`core.settings` holds them together."""
