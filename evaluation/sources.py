"""Where an evaluation dataset comes from and under which licence, for the report."""

from __future__ import annotations

from pathlib import Path

KNOWN_SOURCES: tuple[tuple[str, str], ...] = (
    (
        "scifact",
        "SciFact: Wadden et al., 'Fact or Fiction: Verifying Scientific Claims', EMNLP 2020 "
        "(github.com/allenai/scifact), in the BEIR layout of Thakur et al., 'BEIR', NeurIPS 2021 "
        "Datasets and Benchmarks. Licence: CC BY-NC 2.0.",
    ),
    (
        "squad",
        "SQuAD 2.0: Rajpurkar, Jia and Liang, 'Know What You Don't Know: Unanswerable Questions "
        "for SQuAD', ACL 2018 (rajpurkar.github.io/SQuAD-explorer). Licence: CC BY-SA 4.0.",
    ),
)


def dataset_sources(path: Path) -> list[str]:
    """Citations for ``path``: known datasets by name, its folder's README row, licence files.

    Files are named relative to the data set's parent folder (``squad2-mini/LICENSE``,
    ``README.md``): the report is shared, and this machine's folders are nobody else's business."""
    path = path.resolve()
    folder = path if path.is_dir() else path.parent
    base = folder.parent
    notes = [note for key, note in KNOWN_SOURCES if key in str(path).lower()]
    for readme in (folder / "README.md", base / "README.md"):
        notes += [f"{_relative(readme, base)}: {line}" for line in _rows_naming(readme, folder.name)]
    notes += [f"Licence file: {_relative(lic, base)}" for lic in sorted(folder.glob("LICEN[CS]E*"))]
    return notes or [f"Source: {_relative(path, base)}. Check its licence before publishing this report."]


def _relative(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name


def _rows_naming(readme: Path, name: str) -> list[str]:
    """README lines that mention ``name/`` in backticks (a table row describing the folder)."""
    try:
        lines = readme.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    marker = f"`{name}/`"
    return [" ".join(line.replace("|", " ").split()) for line in lines if marker in line]
