"""The Parser contract (tests/contract) against UnstructuredParser, in-process and in its worker.

Four small formats, written here: text, Markdown, HTML and a .docx built with python-docx.
IsolatedParser runs the same parser in one spawned worker for the whole module.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator, Sequence

import docx
import pytest
from contract.parser_contract import ParserContract, Render

from backends.unstructured import UnstructuredParser
from ingest.isolation import IsolatedParser

pytestmark = pytest.mark.integration

WORKER_TIMEOUT_S = 120.0
"""Per-file limit in the worker: generous, a busy machine loads spaCy on the first file."""


def text(heading: str | None, paragraphs: Sequence[str]) -> bytes:
    return "\n\n".join([*([heading] if heading else []), *paragraphs]).encode() + b"\n"


def markdown(heading: str | None, paragraphs: Sequence[str]) -> bytes:
    return text(f"# {heading}" if heading else None, paragraphs)


def html_page(heading: str | None, paragraphs: Sequence[str]) -> bytes:
    body = [f"<h1>{html.escape(heading)}</h1>"] if heading else []
    body += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    head = '<head><meta charset="utf-8"></head>'
    return f"<!DOCTYPE html><html>{head}<body>{''.join(body)}</body></html>".encode()


def word(heading: str | None, paragraphs: Sequence[str]) -> bytes:
    document = docx.Document()
    if heading:
        document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


FORMATS: dict[str, Render] = {".txt": text, ".md": markdown, ".html": html_page, ".docx": word}


@pytest.fixture(scope="module")
def unstructured_parser() -> UnstructuredParser:
    return UnstructuredParser()


@pytest.fixture(scope="module")
def isolated_parser() -> Iterator[IsolatedParser]:
    with IsolatedParser(UnstructuredParser(), timeout_s=WORKER_TIMEOUT_S) as parser:
        yield parser


class TestUnstructuredParser(ParserContract):
    @pytest.fixture
    def parser(self, unstructured_parser: UnstructuredParser) -> UnstructuredParser:
        return unstructured_parser

    @pytest.fixture
    def formats(self) -> dict[str, Render]:
        return FORMATS


class TestIsolatedUnstructuredParser(ParserContract):
    SENT_TO_WORKERS = False  # it sends its inner parser (checked above) to its worker

    @pytest.fixture
    def parser(self, isolated_parser: IsolatedParser) -> IsolatedParser:
        return isolated_parser

    @pytest.fixture
    def formats(self) -> dict[str, Render]:
        return FORMATS
