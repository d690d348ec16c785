"""The Generator contract (tests/contract) against the scripted generator the unit tests use."""

from __future__ import annotations

import pytest
from contract.generator_contract import CONFIGURED_MAX_TOKENS, GeneratorContract
from fakes import ScriptedGenerator

from core.errors import GenerationError


class TestScriptedGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self) -> ScriptedGenerator:
        return ScriptedGenerator("scripted", max_tokens=CONFIGURED_MAX_TOKENS)

    @pytest.fixture
    def failing_generator(self) -> ScriptedGenerator:
        down = GenerationError("the scripted back end is down; try again in a minute")
        return ScriptedGenerator("scripted", fail_with=down)
