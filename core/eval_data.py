"""Where the public evaluation sets live (``DOCDUET_EVAL_DATA``) and what to say when one is missing.

The sets (SciFact, SQuAD 2.0 dev articles, the 18F handbook, the unstructured sample files) are not
part of the repository: ``make eval-data`` (``scripts/fetch-eval-data.sh``) downloads them into the
folder ``Settings.eval_data`` names. ``docduet eval``, the benches and the tests read them from there;
nothing else builds that path. Standard library only: the fetch script imports this module before
any package is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout this package was imported from (a site-packages folder for a plain install)."""
SAMPLE_CORPUS = REPO_ROOT / "corpora"
"""The repository's own sample documents: what a bench ingests when the handbook is not there."""
EVAL_SETS = ("scifact", "squad2-mini", "handbook-18f", "formats")
FETCH_COMMAND = "make eval-data"


def default_eval_data_dir(repo_root: Path = REPO_ROOT) -> Path:
    """``../shared/eval`` beside the checkout when it exists, else ``$XDG_CACHE_HOME/docduet/eval``."""
    beside = repo_root.parent / "shared" / "eval"
    if beside.is_dir():
        return beside
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "docduet" / "eval"


def missing_set_message(name: str, root: Path, *more: str) -> str:
    """Why set ``name`` (and ``more``) cannot be read from ``root``, and the two ways to get them."""
    names = ", ".join(repr(n) for n in (name, *more))
    what = f"evaluation sets {names} are" if more else f"evaluation set {names} is"
    return (
        f"{what} not in {root} (DOCDUET_EVAL_DATA); fetch the public sets with `{FETCH_COMMAND}` "
        "(scripts/fetch-eval-data.sh), or set DOCDUET_EVAL_DATA to a folder that holds them"
    )


def find_eval_set(root: Path, name: str) -> Path | None:
    """The folder of set ``name`` under ``root``, or None when it is missing or empty."""
    folder = root / name
    return folder if folder.is_dir() and any(folder.iterdir()) else None


def eval_set(root: Path, name: str) -> Path:
    """The folder of set ``name`` under ``root``; a :class:`ConfigError` saying how to fetch it if missing."""
    folder = find_eval_set(root, name)
    if folder is None:
        raise ConfigError(missing_set_message(name, root))
    return folder


def resolve_dataset(dataset: Path, root: Path) -> Path:
    """``dataset`` as given when it exists; a bare set name (``scifact``) is looked up under ``root``.

    A missing known set raises a :class:`ConfigError` that says how to fetch it; any other missing
    path is returned unchanged for the loader to report.
    """
    if dataset.exists() or dataset.is_absolute() or len(dataset.parts) != 1:
        return dataset
    found = find_eval_set(root, dataset.name)
    if found is not None:
        return found
    if dataset.name in EVAL_SETS:
        raise ConfigError(missing_set_message(dataset.name, root))
    return dataset
