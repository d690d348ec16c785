"""Streamlit entry script: ``docduet ui`` runs ``streamlit run ui/app.py``."""

from ui.shell import main

main()
