"""The "Download source" button of a citation, served through the backend's index for the signed-in user."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.domain import User
from core.errors import DocduetError
from core.untrusted import public_error
from ui.backend import ChatBackend
from ui.limits import download_refusal
from ui.markup import escape_md

log = logging.getLogger(__name__)

DOWNLOAD_KEY = "docduet.download"


@dataclass(frozen=True)
class PreparedDownload:
    """A "Download source" click's outcome, kept for the next page run: the bytes or why not.

    ``refusal`` is Markdown ready to show (a reason from the file's checks is escaped).
    """

    key: str
    data: bytes = b""
    refusal: str = ""


@dataclass(frozen=True)
class Downloads:
    """What a "Download source" click needs: the page's backend (its root's index) and its user."""

    backend: ChatBackend
    user: User

    def fetch(self, source: str, key: str) -> None:
        """The click: the limit, then every check of the file, made now; the outcome is kept."""
        refusal = download_refusal(self.backend.settings, self.user)
        if refusal is not None:
            st.session_state[DOWNLOAD_KEY] = PreparedDownload(key, refusal=refusal)
            return
        try:
            data = self.backend.source_bytes(source, self.user)
        except DocduetError as e:  # SourceRefusedError says why; anything else is the index's trouble
            log.info("download of %s refused: %s", source, e)
            why = escape_md(public_error(str(e)))  # may quote a declaration's text: shown as text
            st.session_state[DOWNLOAD_KEY] = PreparedDownload(key, refusal=f"Not downloaded: {why}")
            return
        st.session_state[DOWNLOAD_KEY] = PreparedDownload(key, data=data)  # one file per session at most


def source_download(source: str, key: str, downloads: Downloads) -> None:
    """A "Download source" button for the cited file: the click fetches it, then a save button or why not.

    The click counts against the user's download limit and serves the file only while it is
    the indexed file inside its ingest root and the signed-in user may read it, in the index and
    by its current declarations (:func:`ingest.sources.read_source`); a refusal is shown here.
    """
    path = Path(source)
    if path.is_symlink() or not path.is_file():
        st.caption("The source file is not available on this server.")
        return
    st.button(
        "Download source",
        key=f"dl-{key}",
        on_click=downloads.fetch,
        args=(source, key),
        icon=":material/download:",
        type="tertiary",
    )
    prepared = prepared_download(key)
    if prepared is None:
        return
    if prepared.refusal:
        st.warning(prepared.refusal, icon=":material/block:")
        return
    st.download_button(
        f"Save {path.name}",
        data=prepared.data,
        file_name=path.name,
        mime=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        key=f"dl-{key}-save",
        on_click="ignore",
        icon=":material/save:",
        type="tertiary",
    )


def prepared_download(key: str) -> PreparedDownload | None:
    """What the last "Download source" click in this session fetched, if it was ``key``'s."""
    prepared: PreparedDownload | None = st.session_state.get(DOWNLOAD_KEY)
    return prepared if prepared is not None and prepared.key == key else None
