"""Subcommands. Each module exposes ``register(subparsers)`` and sets ``run`` on its parser."""

from __future__ import annotations

from types import ModuleType

from docduet.commands import answer, bench, db, eval, ingest, keys, serve, slack, ui

COMMANDS: tuple[ModuleType, ...] = (db, ingest, answer, slack, eval, ui, serve, keys, bench)
