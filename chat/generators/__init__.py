"""Generators: a local small model (``slm``) and a hosted OpenAI-compatible model (``llm``).

Importing this package registers the built-ins; the heavy libraries (llama.cpp, LangChain)
are imported only when a generator is built.
"""

from chat.generators import llm, slm
from chat.generators.base import GenerationResult, Generator, TextStream
from chat.generators.registry import GENERATORS, build_generator

__all__ = [
    "GENERATORS",
    "GenerationResult",
    "Generator",
    "TextStream",
    "build_generator",
    "llm",
    "slm",
]
