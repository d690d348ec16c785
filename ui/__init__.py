"""docduet's employee web chat (Streamlit); ``docduet ui`` serves ``ui/app.py`` (docs/web-chat.md)."""
