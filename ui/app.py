"""Streamlit entry script: ``docduet ui`` runs ``streamlit run ui/app.py``.

The app starts only when this file runs as ``__main__`` (as Streamlit runs it). A process that
runs it in-process as its main module (Streamlit's AppTest does) and then spawns a worker, such
as the parser of a reindex, has the worker import this file again under another name: it must
not start the app there.
"""

from ui.shell import main

if __name__ == "__main__":
    main()
