"""Generators: any number of them, each of a registered kind, listed in the generators file.

Built-in kinds, registered by the composition root like any plugin: ``llama_cpp`` (a local
GGUF) and ``openai_compatible`` (hosted APIs and a company's own servers). The heavy libraries
(llama.cpp, LangChain) are imported only when a generator is built or first used.
"""

from chat.generators.registry import (
    ENTRY_POINT_GROUP,
    KINDS,
    KindFactory,
    enabled_specs,
    is_enabled,
    load_kinds,
    spec_by_id,
)
from chat.generators.spec import GeneratorSpec, load_specs

__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "GeneratorSpec",
    "KindFactory",
    "enabled_specs",
    "is_enabled",
    "load_kinds",
    "load_specs",
    "spec_by_id",
]
