"""The import contracts of pyproject.toml (``make lint`` runs them) hold, and they catch a wrong import.

Each case copies docduet's packages and pyproject.toml into a temporary folder, adds one import
and runs ``lint-imports`` there, so the real configuration is what is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = (
    "core", "backends", "bench", "docduet", "ingest", "retrieval", "chat", "ui", "slackbot", "evaluation",
)
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def lint(tree: Path, module: str = "", line: str = "") -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on a copy of ``tree`` with ``line`` appended to ``module`` (a path)."""
    work = tree.parent / f"{tree.name}-{abs(hash((module, line)))}"
    shutil.copytree(tree, work, dirs_exist_ok=True)
    if module:
        with (work / module).open("a", encoding="utf-8") as f:
            f.write(f"\n{line}  # noqa\n")
    env = {**os.environ, "PYTHONPATH": str(work)}
    return subprocess.run(
        [str(LINT_IMPORTS), "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_tree_as_it_is_keeps_every_contract(tree: Path) -> None:
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "reported"),
    [
        ("core/errors.py", "import docduet.compose", "core is not allowed to import docduet"),
        ("ingest/hashing.py", "import backends.weaviate.client", "ingest is not allowed to import backends"),
        ("retrieval/ranking.py", "import weaviate", "retrieval.ranking -> weaviate"),
        ("chat/citations.py", "import sentence_transformers", "chat.citations -> sentence_transformers"),
        ("ingest/chunking.py", "from unstructured.chunking import title", "ingest.chunking -> unstructured"),
        ("ingest/decode.py", "import docx", "ingest.decode -> docx"),
        ("ui/markup.py", "import weaviate", "ui.markup -> weaviate"),
        ("chat/citations.py", "import ingest.hashing", "chat is not allowed to import ingest"),
        ("ui/markup.py", "import backends.weaviate.client", "ui.markup -> backends.weaviate.client"),
        ("bench/load/harness.py", "import weaviate", "bench.load.harness -> weaviate"),
        ("docduet/environment.py", "import docduet.compose", "docduet.environment is not allowed to import"),
        ("docduet/api/links.py", "import backends.memory", "docduet.api.links -> backends.memory"),
        ("docduet/api/links.py", "import ui.markup", "docduet.api is not allowed to import ui"),
    ],
)
def test_an_import_against_the_layers_breaks_a_contract(
    tree: Path, module: str, line: str, reported: str
) -> None:
    result = lint(tree, module, line)
    assert result.returncode != 0, f"{module}: `{line}` was not caught\n{result.stdout}"
    assert reported in result.stdout, result.stdout
