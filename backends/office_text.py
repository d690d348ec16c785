"""Refuse an Office expansion bomb before unstructured partitions it.

unstructured builds every element of a file before its text can be counted, so a DOCX or XLSX
whose few kilobytes unpack to millions of characters would cost minutes and gigabytes first.
:func:`check_before_partition` looks at the package instead: the sizes its zip directory
declares (:meth:`ingest.limits.ExpansionLimit.check_archive`), then the text it holds, read
with streaming parsers that keep nothing and stop as soon as the count passes the file's limit.
The count is what the document's text runs (DOCX, PPTX) or cells (XLSX) hold, about what
partitioning yields; :meth:`~ingest.limits.ExpansionLimit.check_elements` checks the real
elements afterwards, for every format.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from ingest.limits import ExpansionLimit

log = logging.getLogger(__name__)

ZIPPED = frozenset({".docx", ".pptx", ".xlsx", ".odt"})
"""Formats that are zip packages (their declared unpacked size is checked)."""

_TEXT_PARTS = {
    ".docx": re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml"),
    ".pptx": re.compile(r"ppt/(slides/slide|notesSlides/notesSlide)\d+\.xml"),
}
_TEXT_TAGS = (
    "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t",
    "{http://schemas.openxmlformats.org/drawingml/2006/main}t",
)


def check_before_partition(origin: str, suffix: str, data: bytes, limit: ExpansionLimit) -> None:
    """IngestError if the package ``data`` (a ``suffix`` file) unpacks or holds text past ``limit``."""
    if suffix not in ZIPPED:
        return
    limit.check_archive(origin, data)
    counted = count_text(suffix, data, stop_after=limit.allowed(len(data)))
    limit.check_chars(origin, len(data), counted, at_least=True)


def count_text(suffix: str, data: bytes, *, stop_after: int) -> int:
    """Characters of text in the DOCX, PPTX or XLSX ``data``, counted until past ``stop_after``.

    0 for other formats, and for a package these parsers cannot read (the partitioner then
    reports what is wrong with it).
    """
    try:
        if suffix == ".xlsx":
            return _count_cells(data, stop_after)
        if suffix in _TEXT_PARTS:
            return _count_runs(data, _TEXT_PARTS[suffix], stop_after)
    except MemoryError:
        raise
    except Exception as e:  # only an early refusal is at stake: partitioning judges the file
        log.debug("text count of a %s failed: %s", suffix, e)
    return 0


def _count_runs(data: bytes, parts: re.Pattern[str], stop_after: int) -> int:
    from lxml import etree

    counted = 0
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            if not parts.fullmatch(name):
                continue
            with package.open(name) as part:
                events = etree.iterparse(
                    part, events=("end",), resolve_entities=False, no_network=True, huge_tree=False
                )
                for _, element in events:
                    if element.tag in _TEXT_TAGS:
                        counted += len(element.text or "")
                    parent = element.getparent()
                    if parent is not None:  # keep nothing: the tree never grows
                        parent.remove(element)
                    if counted > stop_after:
                        return counted
    return counted


def _count_cells(data: bytes, stop_after: int) -> int:
    import openpyxl

    counted = 0
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(values_only=True):
                counted += sum(len(str(value)) for value in row if value is not None)
                if counted > stop_after:
                    return counted
    finally:
        workbook.close()
    return counted
