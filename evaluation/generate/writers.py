"""Who writes a passage's question (the strongest generator allowed to read it) and who asks it.

Strength is an order, strongest first: ``--generate-with`` gives it; by default the hosted
(off-premises) generators come first, then the local ones, the one listed last in the generators
file first (the default file lists the small local model first and the larger one after it). A
passage goes only to a generator whose sensitivity ceiling admits it, the same check the answer
service makes (:func:`chat.slots.may_receive`): a hosted model never writes from, nor checks, a
confidential passage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chat.generators import GeneratorSpec
from chat.slots import may_receive
from core.domain import ANONYMOUS, PUBLIC_GROUP, Chunk, Hit, User
from core.identity import UserDirectory
from core.protocols import Generator


def default_order(specs: Sequence[GeneratorSpec]) -> list[str]:
    """Enabled generators (no cascades), strongest first: hosted ones, then local ones, last listed first."""
    plain = [s for s in specs if not s.is_cascade]
    hosted = [s.id for s in plain if not s.on_premises]
    local = [s.id for s in reversed(plain) if s.on_premises]
    return [*hosted, *local]


def writer_for(chunk: Chunk, generators: Mapping[str, Generator], order: Sequence[str]) -> Generator | None:
    """The first generator in ``order`` allowed to read ``chunk``; None when none may."""
    hit = Hit(chunk, score=1.0)
    for name in order:
        generator = generators.get(name)
        if generator is not None and may_receive(generator, hit):
            return generator
    return None


def asker_for(chunk: Chunk, directory: UserDirectory) -> User:
    """Who asks a question about ``chunk``: anonymous for a public passage, else the first user of
    the directory (by name) in one of its groups, else (no such user: a directory-less sign-in)
    a user named ``generated-asker`` in exactly the passage's groups."""
    groups = set(chunk.access.groups)
    if PUBLIC_GROUP in groups:
        return ANONYMOUS
    for name in directory.names():
        user = directory.resolve(name)
        if groups & set(user.groups):
            return user
    return User(name="generated-asker", groups=tuple(sorted(groups)))


def everyone(chunks: Sequence[Chunk]) -> User:
    """A user in every group of the index: the unanswerable check searches the whole index."""
    groups = sorted({g for c in chunks for g in c.access.groups} - {PUBLIC_GROUP})
    return User(name="docduet-generate", groups=tuple(groups))
