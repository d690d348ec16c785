"""Generator kinds by name, and which configured generators are enabled.

A kind is a factory ``(spec, settings) -> Generator``. docduet's composition root registers its
own kinds (``llama_cpp``, ``openai_compatible``: :func:`docduet.compose.generator_kinds`) exactly
as a plugin would; third-party kinds are found through the entry-point group
``docduet.generator_kinds`` (see docs/architecture.md). Tests may register more with
``KINDS.register``. chat itself names no back end.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from importlib import metadata

from chat.generators.spec import GeneratorSpec, load_specs
from core.errors import ConfigError
from core.protocols import Generator
from core.registry import Registry
from core.settings import Settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "docduet.generator_kinds"
KINDS: Registry[Generator] = Registry("generator kind")
"""Factories ``(spec, settings) -> Generator`` by kind."""
KindFactory = Callable[[GeneratorSpec, Settings], Generator]

_loaded = False
_LOAD_LOCK = threading.Lock()


def load_kinds() -> Registry[Generator]:
    """The kind registry, with every installed entry point added (once per process)."""
    global _loaded
    with _LOAD_LOCK:
        if not _loaded:
            register_entry_points(KINDS, metadata.entry_points(group=ENTRY_POINT_GROUP))
            _loaded = True
    return KINDS


def register_entry_points(kinds: Registry[Generator], entry_points: Iterable[metadata.EntryPoint]) -> None:
    """Register each plugin kind in ``kinds``.

    A name registered before (a built-in, by the composition root) keeps its factory; a plugin
    that fails to load is logged and left out, so it cannot take the others down.
    """
    for ep in entry_points:
        if ep.name in kinds.names():
            log.debug("generator kind %r is registered already; entry point %s not used", ep.name, ep.value)
            continue
        try:
            factory: KindFactory = ep.load()
        except Exception as e:  # a broken plugin must not take the built-ins down
            log.warning("generator kind %r (%s) could not be loaded: %s", ep.name, ep.value, e)
            continue
        kinds.register(ep.name)(factory)


def is_enabled(spec: GeneratorSpec) -> bool:
    """``enabled: auto`` is on when an endpoint or a key is configured."""
    if spec.enabled == "auto":
        options = spec.options
        key_env = options.get("api_key_env")
        return bool(
            options.get("base_url") or options.get("api_key") or (key_env and os.environ.get(key_env))
        )
    return bool(spec.enabled)


def enabled_specs(settings: Settings) -> list[GeneratorSpec]:
    """The enabled generators, in the file's order."""
    return [s for s in load_specs(settings) if is_enabled(s)]


def spec_by_id(settings: Settings, generator_id: str) -> GeneratorSpec:
    """One configured generator (enabled or not); ConfigError listing the ids when unknown."""
    specs = load_specs(settings)
    for spec in specs:
        if spec.id == generator_id:
            return spec
    raise ConfigError(
        f"unknown generator {generator_id!r}; configured: {', '.join(s.id for s in specs)}"
    )
