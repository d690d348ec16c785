"""Scripted parts for the selective-answering and cascade tests: counting generators, hits of each
sensitivity, and hand-made calibrations that give a fixed probability."""

from __future__ import annotations

import math
import threading
from collections.abc import Generator as PyGenerator
from collections.abc import Sequence

from fakes import make_chunk

from chat.confidence import Assessor, Calibration
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, Slot
from core.domain import Hit, Sensitivity, Usage, User
from core.errors import GenerationError
from core.filters import SearchFilters
from core.prompt import Prompt
from core.protocols import GenerationResult, TextStream

CAROL = User("carol", ("employees",))


def hit(n: int, text: str, sensitivity: Sensitivity = Sensitivity.INTERNAL) -> Hit:
    chunk = make_chunk(
        text,
        chunk_id=f"c{n}",
        source=f"/docs/doc{n}.md",
        title=f"Doc {n}",
        content_hash=f"h{n}",
        sensitivity=sensitivity,
    )
    return Hit(chunk=chunk, score=1.0 - n / 10, similarity=0.6)


LEAVE = hit(1, "Secondary carers get 4 weeks of paid parental leave at full pay.")
BANDS = hit(2, "The L4 salary band midpoint in Leeds is 78,000 GBP.", Sensitivity.CONFIDENTIAL)
HOTEL = hit(3, "The nightly hotel cap in London is 180 GBP including taxes.")


class FixedRetriever:
    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)

    def retrieve(
        self, query: str, *, user: User, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> list[Hit]:
        return list(self.hits)


class CountingGenerator:
    """Streams ``reply`` word by word, counts its generations and records each prompt.

    ``gate``: when set, each generation waits for it after its first word (so a test can have a
    second column ask for the same generation while this one is still running).
    """

    def __init__(
        self,
        name: str,
        reply: str,
        *,
        off_premises: bool = False,
        max_sensitivity: Sensitivity | None = None,
        cost_usd: float = 0.0,
        fail: bool = False,
        gate: threading.Event | None = None,
        core_seconds: float | None = None,
    ) -> None:
        self.name = name
        self.label = f"Fake {name}"
        self.endpoint = f"fake://{name}"
        self.off_premises = off_premises
        self.max_sensitivity = max_sensitivity or (
            Sensitivity.INTERNAL if off_premises else Sensitivity.CONFIDENTIAL
        )
        self.reply = reply
        self.cost_usd = cost_usd
        self.fail = fail
        self.gate = gate
        self.core_seconds = core_seconds
        self.prompts: list[Prompt] = []
        self.started = threading.Event()

    @property
    def runs(self) -> int:
        return len(self.prompts)

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        return TextStream(self._pieces())

    def _pieces(self) -> PyGenerator[str, None, GenerationResult]:
        self.started.set()
        if self.fail:
            raise GenerationError(f"{self.name} is down; try again later")
        words = self.reply.split(" ")
        for i, word in enumerate(words):
            yield word if i == 0 else f" {word}"
            if i == 0 and self.gate is not None:
                assert self.gate.wait(timeout=10), "the test never opened the gate"
        usage = Usage(100, len(words), self.cost_usd)
        return GenerationResult(self.reply, usage, "stop", core_seconds=self.core_seconds)


def fixed(generator: str, probability: float, model: str = "") -> Calibration:
    """A calibration without features: every answer of ``generator`` gets ``probability``."""
    return Calibration(
        generator=generator,
        model=model or f"fake://{generator}",
        features=(),
        mean=(),
        scale=(),
        weights=(),
        intercept=math.log(probability / (1 - probability)),
        fitted_on={"data": ["hand-made"], "date": "test"},
    )


def service_of(hits: Sequence[Hit], slots: Sequence[Slot], **probabilities: float) -> AnswerService:
    """An answer service over fixed ``hits``; ``slm=0.4`` calibrates ``slm`` to 0.4."""
    calibrations = {
        name.replace("_", "-"): fixed(name.replace("_", "-"), p) for name, p in probabilities.items()
    }
    return AnswerService(FixedRetriever(hits), slots, HeuristicRewriter(), assessor=Assessor(calibrations))
