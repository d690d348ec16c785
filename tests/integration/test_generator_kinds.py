"""The Generator contract (tests/contract) against the built-in kinds, built through the registry.

``llama_cpp``: the packaged SmolLM2-135M-Instruct in-process, one thread. ``openai_compatible``:
llama-cpp-python's own server on loopback serving the same model (one thread; it queues
concurrent requests instead of cutting the running one short). Answers are a few tokens long.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract.generator_contract import CONFIGURED_MAX_TOKENS, GeneratorContract
from llm_server import free_port, llama_server

from backends.llama_cpp.packaged import resolve_model
from chat.generators import GeneratorSpec
from core.protocols import Generator
from core.settings import Settings
from docduet.compose import build_generator

pytestmark = pytest.mark.integration

MODEL = "smollm2-135m-instruct"


def built(kind: str, **options: Any) -> Generator:
    """A generator of ``kind`` built by the kind's registered factory, as the root builds them."""
    on_premises = kind == "llama_cpp"
    spec = GeneratorSpec(
        id=f"contract-{kind.replace('_', '-')}",
        kind=kind,
        on_premises=on_premises,
        max_sensitivity="confidential" if on_premises else "internal",
        max_tokens=CONFIGURED_MAX_TOKENS,
        **options,
    )
    return build_generator(spec, Settings())


@pytest.fixture(scope="module")
def local_smollm() -> Generator:
    """The ``llama_cpp`` kind on SmolLM2, loaded once for the module."""
    return built("llama_cpp", model=MODEL, threads=1, n_ctx=2048, queue_timeout_s=60)


class TestLlamaCppKind(GeneratorContract):
    @pytest.fixture
    def generator(self, local_smollm: Generator) -> Generator:
        return local_smollm

    @pytest.fixture
    def failing_generator(self, tmp_path: Path) -> Generator:
        broken = tmp_path / "truncated.gguf"
        broken.write_bytes(b"GGUF" + b"\0" * 64)  # the magic number, then nothing a model holds
        return built("llama_cpp", model=str(broken), threads=1)


@pytest.fixture(scope="module")
def smollm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's server on SmolLM2 (ChatML), queueing requests; its /v1 URL."""
    model = resolve_model(MODEL, Settings().paths.cache_dir)
    log_path = tmp_path_factory.mktemp("contract-server") / "server.log"
    extra = ("--interrupt_requests", "false")
    with llama_server(model, log_path=log_path, chat_format="chatml", extra_args=extra) as port:
        yield f"http://127.0.0.1:{port}/v1"


class TestOpenAICompatibleKind(GeneratorContract):
    @pytest.fixture
    def generator(self, smollm_server: str) -> Generator:
        return built(
            "openai_compatible", base_url=smollm_server, model=MODEL, max_retries=0, total_timeout_s=120
        )

    @pytest.fixture
    def failing_generator(self) -> Generator:
        nobody = f"http://127.0.0.1:{free_port()}/v1"  # free a moment ago: nothing listens there
        return built("openai_compatible", base_url=nobody, model=MODEL, max_retries=0, timeout_s=5)
