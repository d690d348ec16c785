"""Domain types shared by ingestion, retrieval, generation and the front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path


class Sensitivity(str, Enum):
    """How far a document's text may travel. Ordered from least to most restricted."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"

    @property
    def rank(self) -> int:
        """0 for public, 1 internal, 2 confidential: higher is more restricted."""
        return _SENSITIVITY_RANK[self.value]

    def at_most(self, ceiling: Sensitivity) -> bool:
        """Whether text of this sensitivity may go where ``ceiling`` is the highest allowed."""
        return self.rank <= ceiling.rank


_SENSITIVITY_RANK = {"public": 0, "internal": 1, "confidential": 2}


PUBLIC_GROUP = "public"
"""Group every caller, anonymous included, belongs to."""


@dataclass(frozen=True)
class Access:
    """Who may read a document and how sensitive it is."""

    groups: tuple[str, ...]
    sensitivity: Sensitivity


@dataclass(frozen=True)
class Chunk:
    """One indexed passage of a document, with everything needed to cite it."""

    chunk_id: str
    source: str
    root: str
    title: str
    text: str
    index: int
    doc_type: str
    section: str
    page: int | None
    modified: datetime
    content_hash: str
    access: Access


@dataclass(frozen=True)
class ChunkVectors:
    """A chunk's vectors: one for its whole text, one per piece (a few sentences) of it.

    A chunk that fits in one piece has that piece's vector equal to the whole one.
    """

    whole: list[float]
    pieces: list[list[float]]


@dataclass(frozen=True)
class User:
    """The caller: a name (None when anonymous) and the groups it belongs to."""

    name: str | None
    groups: tuple[str, ...] = ()

    @property
    def readable_groups(self) -> tuple[str, ...]:
        """Groups whose documents this user may read; always includes the public group."""
        return tuple(dict.fromkeys((*self.groups, PUBLIC_GROUP)))


ANONYMOUS = User(name=None, groups=())


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score."""

    chunk: Chunk
    score: float
    """Rank score of the search that found it (hybrid relativeScore fusion: relative, 0..1)."""
    similarity: float | None = None
    """Cosine similarity of query and chunk vectors: absolute relevance, usable for abstention.
    None when the retriever did not compute it."""


@dataclass(frozen=True)
class Citation:
    """A passage an answer cites, with the snippet that supports the cited sentence."""

    number: int
    source: str
    title: str
    section: str
    page: int | None
    snippet: str
    support: float
    attributed: bool = False
    """True when the model wrote no marker and docduet attributed the sentence afterwards."""


@dataclass(frozen=True)
class Timings:
    """Seconds spent: retrieval, until the first token, and in total."""

    retrieval_s: float
    first_token_s: float | None
    total_s: float
    queue_s: float = 0.0
    """Of ``total_s``, the wait for its turn on a local model (other answers ahead: its own
    instances busy, or with ``run_alone`` another local model answering)."""
    core_s: float | None = None
    """CPU core-seconds a local model spent on the answer (seconds times threads of each of its
    evaluations, as it measured them); None: not measured (hosted, or recorded before it was)."""


@dataclass(frozen=True)
class Usage:
    """Token counts and the cost they incurred (0 for a local model)."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    cached_prompt_tokens: int | None = None
    """Of the prompt, tokens a local model reused from its cache of the previous prompt instead of
    evaluating them (the fixed instructions and examples at its head); None: not reported."""


@dataclass(frozen=True)
class Privacy:
    """What left the building for one answer."""

    endpoint: str
    off_premises: bool
    sent_chunk_ids: tuple[str, ...]
    withheld_count: int


class FlagKind(str, Enum):
    """Why part of an answer is shown with a warning."""

    DOCUMENT_LINK = "document_link"
    """A web address the answer took from a passage (not from the question or a trusted setting)."""
    UNSUPPORTED_LINK = "unsupported_link"
    """A web address found in no passage, the question or a trusted setting: invented or steered."""
    CREDENTIAL_REQUEST = "credential_request"
    """A sentence asking for a password, an MFA or one-time code, or to verify an account."""


@dataclass(frozen=True)
class Flag:
    """Part of an answer that comes from a document and is not verified (:mod:`chat.flags`)."""

    kind: FlagKind
    text: str
    """The web address, or the sentence that asks for credentials."""


class ConfidenceLevel(str, Enum):
    """How sure docduet is that an answer is right, in words (from the calibrated probability)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"
    """No calibration fits this generator's model: the signals are measured, not turned into a probability."""


@dataclass(frozen=True)
class Confidence:
    """The probability that an answer is right, the signals it came from, and why (``chat.confidence``)."""

    level: ConfidenceLevel
    probability: float | None
    """Calibrated P(correct) for this generator; None when it has no calibration."""
    reasons: tuple[str, ...] = ()
    """The signals that moved the probability most, in words, strongest first."""
    signals: tuple[tuple[str, float], ...] = ()
    """Every measured signal (name, value): what a calibration is fitted on."""
    calibration: str = ""
    """Where the probability comes from: the calibration file's model, data and date."""

    def signal(self, name: str) -> float | None:
        """One signal's value, None when it was not measured."""
        return dict(self.signals).get(name)


@dataclass(frozen=True)
class Escalation:
    """One step of a cascade that was tried: its answer's confidence and what happened next."""

    generator: str
    label: str
    probability: float | None
    outcome: str
    """``served``, ``escalated: <why>``, ``skipped: <why>`` or ``failed: <error>``."""
    seconds: float = 0.0
    cost_usd: float = 0.0
    core_s: float | None = None
    """The step's CPU core-seconds, when its model measured them (:attr:`Timings.core_s`)."""


@dataclass(frozen=True)
class Answer:
    """One generator's answer to one question."""

    generator: str
    text: str
    citations: tuple[Citation, ...]
    timings: Timings
    usage: Usage
    privacy: Privacy
    abstained: bool = False
    error: str | None = None
    flagged_markers: tuple[int, ...] = field(default=())
    flags: tuple[Flag, ...] = field(default=())
    """Links and credential requests to show with a warning, computed once by the answer service."""
    label: str = ""
    """What users see for the generator (its model and role); empty: use ``generator``."""
    confidence: Confidence | None = None
    """How likely the answer is right (None: an error, or a generator with confidence switched off)."""
    withheld_text: str = ""
    """The model's own answer when selective answering replaced it by "not sure" (kept for audit)."""
    steps: tuple[Escalation, ...] = ()
    """A cascade's tried steps, first to last (empty for a plain generator)."""

    @property
    def title(self) -> str:
        return self.label or self.generator


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the root folder (a PATH argument) it was found under."""

    path: Path
    root: Path
    identity: tuple[int, int] | None = None
    """``(st_dev, st_ino)`` the scan saw; reading refuses a different file at the path (a swap)."""

    @property
    def source(self) -> str:
        """Stable id of the document: its absolute POSIX path."""
        return self.path.as_posix()

    @property
    def suffix(self) -> str:
        """Lower-case suffix with its dot, e.g. ``.pdf``."""
        return self.path.suffix.lower()
