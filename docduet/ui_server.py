"""The web chat's server process: start loading the local models, then run Streamlit in it.

``docduet ui`` replaces itself with ``python -m docduet.ui_server run ui/app.py --flags``. The
models (one set per process, :func:`docduet.models.process_models`) start loading in the
background before Streamlit serves its first page, so the first question after ``docduet ui``
starts finds them loaded and their fixed prompt head evaluated, whether or not a browser has
opened the page yet. The web chat's own warm-up (:func:`ui.shell.live_backend`) then finds the
same models ready. The arguments are Streamlit's own.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def warm_at_start() -> None:
    """Start warming every enabled local model of the settings in the environment; never raises."""
    from core.errors import DocduetError
    from core.settings import Settings
    from docduet.compose import Root

    try:
        Root(Settings(), autostart=False).warm()
    except DocduetError as e:  # the page says what is wrong when it builds the same parts
        log.warning("docduet: the local models were not loaded at start: %s", e)


def main(argv: list[str]) -> None:
    warm_at_start()
    from streamlit.web import cli

    cli.main(args=argv, prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
