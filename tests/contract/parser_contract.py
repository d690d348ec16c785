"""The contract of :class:`core.protocols.Parser`, run against every parser.

What ingestion (``ingest/pipeline.py``, ``ingest/chunking.py``, ``ingest/isolation.py``) relies on,
as the protocol's docstrings say it: the parser declares the suffixes it reads (``suffixes``,
lower case with the dot); it reads ``data``, the bytes ingestion read once, never ``file.path``
(the path may be gone, or hold other bytes by now); it returns a :class:`core.protocols.Parsed`
of :class:`core.protocols.Section` objects (text, section, page, category) in document order
that chunk into passages under their heading, and whose title is the document's heading, else
its file name; a lower- or upper-case suffix picks the format; the same bytes give the same
result; empty or unreadable input, and a suffix it does not read, raise an
:class:`core.errors.IngestError` ``"<file>: <reason>; <what to do>"`` (the summary strips the
``<file>: ``), never another exception type, and a refused suffix lists the ones it reads. The
parser, and what it returns, cross to and from a spawned worker process (``IsolatedParser``): both
pickle, and the result holds docduet's own types only (no parsing library's objects), so it
pickles to about the size of its text. An optional ``warm_up()`` takes no arguments and may be
called more than once.

A test module subclasses :class:`ParserContract` and provides two fixtures:

- ``parser``: the parser under test;
- ``formats``: for each suffix it reads (with its dot, lower-case), a :data:`Render` that writes a
  document of that format from a heading (None: no heading) and paragraphs.

It may override ``unreadable`` (per suffix, bytes that format cannot hold; default
:data:`UNREADABLE` for each) and set :attr:`ParserContract.SENT_TO_WORKERS` False for a parser
that runs its own worker and is never itself sent to one.

A plugin author runs it from a docduet checkout with ``tests/`` on ``sys.path``:
``from contract.parser_contract import ParserContract, Render``. Keep the documents small.
"""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from core.domain import Access, Sensitivity, SourceFile
from core.errors import IngestError
from core.protocols import Parsed, Parser, Section, TokenWindow
from core.settings import Settings
from ingest.chunking import chunk_document

Render = Callable[[str | None, Sequence[str]], bytes]
"""Writes one document of a format: its heading (None: none), then one paragraph per text."""

HEADING = "Travel policy"
MEALS = "Employees may claim up to 40 EUR per day for meals while travelling on business."
HOTEL = "The nightly hotel cap in London is 180 GBP including taxes."
DECOY = "Contractors are reimbursed for first class rail tickets on every trip."
UNREADABLE = bytes(range(256)) * 4
"""Binary bytes no text encoding decodes and no container format holds."""
UNREAD_SUFFIX = ".docduet-unread"
"""A suffix no parser reads."""


class _WordTokenizer:
    def encode(self, text: str, add_special_tokens: bool = False, verbose: bool = False) -> list[int]:
        return list(range(len(text.split())))


WINDOW = TokenWindow("words", 256, _WordTokenizer())
"""A window large enough that chunking never splits the contract's short paragraphs."""


def words(text: str) -> str:
    """``text`` with its whitespace runs made single spaces (formats wrap and indent)."""
    return " ".join(text.split())


def text_of(parsed: Parsed) -> str:
    return words(" ".join(section.text for section in parsed.sections))


def summary(parsed: Parsed) -> tuple[str, list[tuple[str, str, int | None, str]]]:
    """What chunking and citations read from a result."""
    return parsed.title, [(s.category, s.text, s.page, s.section) for s in parsed.sections]


def modules_pickled(value: object) -> set[str]:
    """The modules whose classes or functions the pickle of ``value`` names (loading it back)."""
    modules: set[str] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            modules.add(module)
            return super().find_class(module, name)

    Recording(io.BytesIO(pickle.dumps(value))).load()
    return modules


def source_file(folder: Path, name: str) -> SourceFile:
    return SourceFile(path=folder / name, root=folder)


def refuses(parser: Parser, file: SourceFile, data: bytes) -> IngestError:
    """The IngestError ``parser`` raises for ``data``, checked to name the file and say more."""
    with pytest.raises(IngestError) as info:
        parser.parse(file, data)
    message = str(info.value)
    assert message.startswith(f"{file.source}: "), f"name the file first: {message!r}"
    assert len(message) > len(file.source) + 20, f"say what is wrong and what to do: {message!r}"
    return info.value


class ParserContract:
    """What every Parser does; subclasses provide ``parser`` and ``formats``."""

    SENT_TO_WORKERS = True
    """False for a parser that is never pickled itself (it runs its own worker, as IsolatedParser)."""

    @pytest.fixture
    def unreadable(self, formats: Mapping[str, Render]) -> Mapping[str, bytes]:
        return dict.fromkeys(formats, UNREADABLE)

    @pytest.fixture
    def nowhere(self, tmp_path: Path) -> Path:
        """A folder that does not exist: a parser that opens a path under it fails."""
        return tmp_path / "gone"

    def test_it_declares_the_suffixes_it_reads(self, parser: Parser, formats: Mapping[str, Render]) -> None:
        assert isinstance(parser.suffixes, frozenset) and parser.suffixes, parser.suffixes
        assert all(re.fullmatch(r"\.[a-z0-9]+", suffix) for suffix in parser.suffixes), parser.suffixes
        assert set(formats) <= parser.suffixes, "the formats tested are ones it reads"

    def test_sections_have_text_section_page_and_category(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        assert formats, "give at least one format the parser reads"
        for suffix, render in formats.items():
            parsed = parser.parse(source_file(nowhere, f"travel{suffix}"), render(HEADING, [MEALS, HOTEL]))
            assert isinstance(parsed, Parsed) and isinstance(parsed.sections, tuple), suffix
            assert parsed.sections, f"{suffix}: no sections"
            for section in parsed.sections:
                assert type(section) is Section, (suffix, section)
                assert isinstance(section.text, str) and isinstance(section.section, str), suffix
                assert section.page is None or isinstance(section.page, int), suffix
                assert section.category in ("text", "table"), (suffix, section.category)
            text = text_of(parsed)
            assert MEALS in text and HOTEL in text and HEADING in text, (suffix, text)
            assert text.index(HEADING) < text.index(MEALS) < text.index(HOTEL), (suffix, text)

    def test_the_title_is_the_heading_else_the_file_name(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        for suffix, render in formats.items():
            file = source_file(nowhere, f"expense-rules{suffix}")
            assert parser.parse(file, render(HEADING, [MEALS])).title == HEADING, suffix
            assert parser.parse(file, render(None, [MEALS, HOTEL])).title == "expense-rules", suffix

    def test_the_sections_chunk_under_their_heading(
        self, parser: Parser, formats: Mapping[str, Render], tmp_path: Path
    ) -> None:
        for suffix, render in formats.items():
            data = render(HEADING, [MEALS, HOTEL])
            file = source_file(tmp_path, f"travel{suffix}")
            file.path.write_bytes(data)  # chunking reads the file's date from the path
            parsed = parser.parse(file, data)
            chunks = chunk_document(
                file,
                parsed.sections,
                access=Access(groups=("employees",), sensitivity=Sensitivity.INTERNAL),
                content_hash="contract",
                settings=Settings(),
                window=WINDOW,
                title=parsed.title,
            )
            assert chunks, suffix
            passages = words(" ".join(chunk.text for chunk in chunks))
            assert MEALS in passages and HOTEL in passages, (suffix, passages)
            meals = next(chunk for chunk in chunks if MEALS in words(chunk.text))
            assert meals.section == HEADING and meals.title == HEADING, (suffix, meals)

    def test_it_parses_the_bytes_it_is_given_never_the_path(
        self, parser: Parser, formats: Mapping[str, Render], tmp_path: Path, nowhere: Path
    ) -> None:
        for suffix, render in formats.items():
            data = render(HEADING, [MEALS])
            gone = text_of(parser.parse(source_file(nowhere, f"travel{suffix}"), data))
            assert MEALS in gone, (suffix, gone)
            swapped = source_file(tmp_path, f"travel{suffix}")
            swapped.path.write_bytes(render("Contractors", [DECOY]))  # the file changed since the read
            text = text_of(parser.parse(swapped, data))
            assert MEALS in text and DECOY not in text, (suffix, text)

    def test_the_suffix_picks_the_format_whatever_its_case(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        for suffix, render in formats.items():
            file = source_file(nowhere, f"TRAVEL{suffix.upper()}")
            assert file.suffix == suffix
            assert MEALS in text_of(parser.parse(file, render(HEADING, [MEALS]))), suffix

    def test_the_same_bytes_give_the_same_result(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        for suffix, render in formats.items():
            data = render(HEADING, [MEALS, HOTEL])
            first = parser.parse(source_file(nowhere, f"travel{suffix}"), data)
            parser.parse(source_file(nowhere, f"other{suffix}"), render(None, [DECOY]))
            again = parser.parse(source_file(nowhere, f"travel{suffix}"), bytes(data))
            assert summary(first) == summary(again), suffix

    def test_empty_input_is_an_ingest_error_naming_the_file(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        for suffix in formats:
            for data in (b"", b" \n\t\n"):
                refuses(parser, source_file(nowhere, f"empty{suffix}"), data)

    def test_unreadable_input_is_an_ingest_error_naming_the_file(
        self, parser: Parser, unreadable: Mapping[str, bytes], nowhere: Path
    ) -> None:
        assert unreadable, "give at least one format's unreadable bytes"
        for suffix, data in unreadable.items():
            refuses(parser, source_file(nowhere, f"corrupt{suffix}"), data)

    def test_a_suffix_it_does_not_read_is_refused_listing_those_it_reads(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        render = next(iter(formats.values()))
        file = source_file(nowhere, f"travel{UNREAD_SUFFIX}")
        error = refuses(parser, file, render(HEADING, [MEALS]))
        listed = set(re.findall(r"\.[\w-]+", str(error).removeprefix(file.source)))
        assert parser.suffixes <= listed, f"list the suffixes it reads: {error}"

    def test_it_and_its_result_cross_to_a_worker_process(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        suffix, render = next(iter(formats.items()))
        file, data = source_file(nowhere, f"travel{suffix}"), render(HEADING, [MEALS, HOTEL])
        parsed = parser.parse(file, data)
        assert summary(pickle.loads(pickle.dumps(parsed))) == summary(parsed)  # the answer travels back
        assert modules_pickled(parsed) <= {"core.protocols", "builtins"}, "docduet's own types only"
        assert len(pickle.dumps(parsed)) < 2 * len(text_of(parsed)) + 500, "about the size of its text"
        if not self.SENT_TO_WORKERS:
            return
        copy: Parser = pickle.loads(pickle.dumps(parser))  # what spawning a worker does to it
        assert summary(copy.parse(file, data)) == summary(parsed)
        with pytest.raises(IngestError):
            copy.parse(source_file(nowhere, f"empty{suffix}"), b"")  # errors too stay ours there

    def test_warm_up_if_it_has_one_can_be_called_again_before_parsing(
        self, parser: Parser, formats: Mapping[str, Render], nowhere: Path
    ) -> None:
        warm_up = getattr(parser, "warm_up", None)
        if warm_up is None:
            pytest.skip(f"{type(parser).__name__} has no warm_up()")
        assert callable(warm_up)
        warm_up()
        warm_up()
        for suffix, render in formats.items():
            parsed = parser.parse(source_file(nowhere, f"travel{suffix}"), render(None, [MEALS]))
            assert MEALS in text_of(parsed), suffix
