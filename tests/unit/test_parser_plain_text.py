"""The Parser contract (tests/contract) against the plain-text parser the unit tests use."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from contract.parser_contract import ParserContract, Render
from fakes import PlainTextParser


def plain_text(heading: str | None, paragraphs: Sequence[str]) -> bytes:
    """What PlainTextParser reads in both its formats: ``# `` headings, blank-line paragraphs."""
    blocks = [f"# {heading}"] if heading else []
    return "\n\n".join([*blocks, *paragraphs]).encode() + b"\n"


class TestPlainTextParser(ParserContract):
    @pytest.fixture
    def parser(self) -> PlainTextParser:
        return PlainTextParser()

    @pytest.fixture
    def formats(self) -> dict[str, Render]:
        return {".txt": plain_text, ".md": plain_text}
