"""A document's title: front matter, Office core properties, HTML <title>, first heading, file name.

Declared titles are read by the third-party libraries (python-docx, pypdf, openpyxl...) from the
bytes the parser already read, inside the parse worker and its time limit, never in the ingest
process itself (see :mod:`backends.unstructured`): the title crosses to ingestion as a string in
:class:`core.protocols.Parsed`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from core.domain import SourceFile
from ingest.decode import decode
from ingest.frontmatter import MARKDOWN_SUFFIXES, split_front_matter

if TYPE_CHECKING:
    from unstructured.documents.elements import Element

log = logging.getLogger(__name__)

_PLACEHOLDERS = frozenset(
    {
        "",
        "untitled",
        "untitled document",
        "document",
        "word document",
        "presentation",
        "powerpoint presentation",
        "title",
        "slide 1",
    }
)
"""Titles editors fill in by themselves; they say nothing about the document."""


def document_title(file: SourceFile, elements: Sequence[Element], data: bytes | None = None) -> str:
    """The best title ``file`` declares (read from ``data``, its bytes), else its first Title
    element, else its file stem. Without ``data`` only the elements and the name are used."""
    reader = _DECLARED.get(file.suffix)
    declared = None
    if reader is not None and data is not None:
        try:
            declared = reader(file, data)
        except Exception as e:  # a declared title is optional; parsing already succeeded
            log.debug("%s: no declared title (%s: %s)", file.source, type(e).__name__, e)
    if declared and _one_line(declared).lower() not in _PLACEHOLDERS:
        return _one_line(declared)
    return first_title(file, elements)


def first_title(file: SourceFile, elements: Sequence[Element]) -> str:
    """The first Title element's text, else the file stem (reads no file)."""
    for element in elements:
        if element.category == "Title" and (element.text or "").strip():
            return _one_line(element.text)
    return file.path.stem


def _markdown_title(file: SourceFile, data: bytes) -> str | None:
    return split_front_matter(decode(data, origin=file.source), origin=file.source).title


def _docx_title(file: SourceFile, data: bytes) -> str | None:
    import docx

    return docx.Document(io.BytesIO(data)).core_properties.title


def _pptx_title(file: SourceFile, data: bytes) -> str | None:
    import pptx

    return pptx.Presentation(io.BytesIO(data)).core_properties.title


def _xlsx_title(file: SourceFile, data: bytes) -> str | None:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return book.properties.title
    finally:
        book.close()


def _html_title(file: SourceFile, data: bytes) -> str | None:
    import lxml.html

    tree = lxml.html.document_fromstring(decode(data, origin=file.source))
    return tree.findtext(".//title")


def _pdf_title(file: SourceFile, data: bytes) -> str | None:
    from pypdf import PdfReader

    metadata = PdfReader(io.BytesIO(data)).metadata
    title = (metadata.title if metadata else None) or ""
    return title.removeprefix("Microsoft Word - ")


def _email_subject(file: SourceFile, data: bytes) -> str | None:
    import email
    import email.policy

    message = email.message_from_bytes(data, policy=email.policy.default)
    subject = message["subject"]
    return str(subject) if subject else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


_DECLARED: dict[str, Callable[[SourceFile, bytes], str | None]] = {
    **dict.fromkeys(MARKDOWN_SUFFIXES, _markdown_title),
    ".docx": _docx_title,
    ".pptx": _pptx_title,
    ".xlsx": _xlsx_title,
    ".html": _html_title,
    ".htm": _html_title,
    ".pdf": _pdf_title,
    ".eml": _email_subject,
}
