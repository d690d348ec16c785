"""The contract of :class:`core.protocols.Generator`, run against every generator kind.

What the answer service (``chat/service.py``) relies on, as the protocol's docstrings say it:
the attributes the privacy filter reads, text streamed in non-empty pieces that add up to the
result, token usage and a finish reason, ``max_tokens`` honoured (None: the configured default),
a back end's failure raised as a ``DocduetError`` while the stream is iterated, ``close()``
stopping the generation and freeing the back end, several streams at once, and, for a
:class:`core.protocols.QueuedGenerator`, an empty line when it is idle.

A test module subclasses :class:`GeneratorContract` and provides two fixtures:

- ``generator``: the generator under test, built with a default answer length of
  :data:`CONFIGURED_MAX_TOKENS` (its spec's ``max_tokens``), and with short waits, so that a turn
  that is never given back fails as an error instead of hanging;
- ``failing_generator``: one of the same kind whose back end fails (an unreachable server, a
  model file that is not a model).

A plugin author runs it from a docduet checkout: with ``tests/`` on ``sys.path`` (e.g.
``PYTHONPATH=path/to/docduet/tests``), ``from contract.generator_contract import
GeneratorContract``. Keep the runs cheap: every answer here is a few tokens long.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from chat.prompt import build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.errors import DocduetError, GenerationError
from core.prompt import Prompt
from core.protocols import Generator, QueuedGenerator, TextStream

CONFIGURED_MAX_TOKENS = 10
"""The default answer length the ``generator`` fixture is built with."""
CAP = 5
"""The ``max_tokens`` most tests ask for."""
WAIT_S = 120.0
"""Longest a test waits for a thread that streams."""
MEALS = (
    "Employees may claim up to 40 EUR per day for meals while travelling on business. "
    "Receipts must be uploaded to the expense portal within 30 days."
)


def meals_prompt() -> Prompt:
    """A question and the one passage that answers it, as the answer service builds prompts."""
    chunk = Chunk(
        chunk_id="contract-meals",
        source="/docs/travel.md",
        root="/docs",
        title="Travel policy",
        text=MEALS,
        index=0,
        doc_type="md",
        section="Meals",
        page=None,
        modified=datetime(2025, 1, 1, tzinfo=UTC),
        content_hash="h-meals",
        access=Access(groups=("employees",), sensitivity=Sensitivity.INTERNAL),
    )
    return build_prompt("How much can I claim per day for meals?", [Hit(chunk=chunk, score=1.0)])


class GeneratorContract:
    """What every Generator does; subclasses provide ``generator`` and ``failing_generator``."""

    @pytest.fixture
    def prompt(self) -> Prompt:
        return meals_prompt()

    def test_it_says_what_the_privacy_filter_reads(self, generator: Generator) -> None:
        assert isinstance(generator, Generator)
        assert isinstance(generator.name, str) and generator.name
        assert isinstance(generator.label, str) and generator.label
        assert isinstance(generator.endpoint, str) and generator.endpoint
        assert isinstance(generator.off_premises, bool)
        assert isinstance(generator.max_sensitivity, Sensitivity)
        if isinstance(generator, QueuedGenerator):
            assert generator.ahead() == 0  # nobody waits in front of the first question

    def test_pieces_are_text_and_add_up_to_the_result(self, generator: Generator, prompt: Prompt) -> None:
        stream = generator.stream(prompt, max_tokens=CAP)
        assert isinstance(stream, TextStream)
        pieces = list(stream)
        assert pieces and all(isinstance(p, str) and p for p in pieces), pieces
        assert stream.result.text == "".join(pieces) and stream.result.text.strip()

    def test_the_result_counts_tokens_and_says_why_it_stopped(
        self, generator: Generator, prompt: Prompt
    ) -> None:
        result = generator.stream(prompt, max_tokens=CAP).collect()
        usage = result.usage
        assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= CAP, usage
        assert usage.cost_usd >= 0.0 and result.queue_s >= 0.0
        assert result.finish_reason in ("stop", "length"), result.finish_reason

    def test_without_max_tokens_the_configured_default_holds(
        self, generator: Generator, prompt: Prompt
    ) -> None:
        result = generator.stream(prompt).collect()
        assert 0 < result.usage.completion_tokens <= CONFIGURED_MAX_TOKENS, result.usage

    def test_the_result_is_there_only_at_the_end(self, generator: Generator, prompt: Prompt) -> None:
        stream = generator.stream(prompt, max_tokens=CAP)
        with pytest.raises(GenerationError, match="not finished"):
            _ = stream.result
        first = next(stream)
        with pytest.raises(GenerationError, match="not finished"):
            _ = stream.result
        assert stream.collect().text.startswith(first)

    def test_close_stops_the_answer_and_frees_the_back_end(
        self, generator: Generator, prompt: Prompt
    ) -> None:
        generator.stream(prompt, max_tokens=CAP).close()  # never started: nothing to free
        stream = generator.stream(prompt, max_tokens=CONFIGURED_MAX_TOKENS)
        assert next(stream)
        stream.close()
        assert list(stream) == []
        with pytest.raises(GenerationError, match="not finished"):
            _ = stream.result
        assert generator.stream(prompt, max_tokens=CAP).collect().text.strip()  # not left waiting
        if isinstance(generator, QueuedGenerator):
            assert generator.ahead() == 0

    def test_streams_at_once_all_finish(self, generator: Generator, prompt: Prompt) -> None:
        texts: list[str] = []
        errors: list[BaseException] = []

        def answer() -> None:
            try:
                texts.append(generator.stream(prompt, max_tokens=CAP).collect().text)
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=answer, name=f"contract-{i}") for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_S)
        assert not errors and len(texts) == 2 and all(t.strip() for t in texts), (errors, texts)
        if isinstance(generator, QueuedGenerator):
            assert generator.ahead() == 0

    def test_a_failing_back_end_raises_a_docduet_error_while_streaming(
        self, failing_generator: Generator, prompt: Prompt
    ) -> None:
        stream = failing_generator.stream(prompt, max_tokens=CAP)  # nothing fails before iterating
        with pytest.raises(DocduetError) as info:
            stream.collect()
        assert len(str(info.value)) > 20, "say what failed and what to do"
