"""Fetch the public evaluation sets into DOCDUET_EVAL_DATA, laid out as docduet reads them, all checked.

Run it as ``make eval-data`` or ``scripts/fetch-eval-data.sh [--dest DIR] [--sets a,b] [--timeout S]
[--check]``. Each set comes from a public GitHub repository at a pinned commit (the sources and licences
are in ``scripts/eval-data-README.md``, which is written beside the sets). SciFact and the SQuAD articles
are derived from the downloaded files (a BEIR ``corpus.jsonl`` rebuilt from the SciFact release's CSV,
the train queries picked out of BEIR's ``queries.jsonl``, the first 3 articles of a SQuAD 2.0 dev file);
the 18F handbook and the unstructured sample files are copied as they are. Every file that lands in the
folder must match ``scripts/eval-data.sha256``; a set is moved into place only once all its files do.

Standard library only, so it runs before ``make setup``. ``DOCDUET_EVAL_SOURCE_URL`` replaces
``https://raw.githubusercontent.com`` (a mirror with the same ``OWNER/REPO/COMMIT/PATH`` layout).
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import http.client
import io
import json
import os
import shutil
import sys
import tokenize
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from core.eval_data import EVAL_SETS, default_eval_data_dir  # noqa: E402  (after the path is set)

RAW_URL = "https://raw.githubusercontent.com"
SOURCE_ENV = "DOCDUET_EVAL_SOURCE_URL"
MANIFEST = HERE / "eval-data.sha256"
README = HERE / "eval-data-README.md"
DEFAULT_TIMEOUT_S = 30.0
WORKERS = 8


@dataclass(frozen=True)
class Source:
    """One file of a public repository at a pinned commit; ``sha256`` when it is checked on arrival."""

    repo: str
    commit: str
    path: str
    sha256: str | None = None


HANDBOOK = ("18F/handbook", "1e4955634d0369f17e5bbc0ebbf8f62e2a3dfe4b")
UNSTRUCTURED = ("Unstructured-IO/unstructured", "3e5482bfcdc843b5218ad98d2845b4b71ab013b7")
SQUAD_DEV = Source(
    "chrischute/squad", "85623adeb9e6639f145081fea9cae2d8f3a26379", "data/dev-v2.0.json",
    "e67e5969b6dc6c1642154740806b79263b77fc048c7c11ee60d534eb48ef81e8",
)  # fmt: skip
SCIFACT_RELEASE = Source(
    "sumithra-p-v/claimverifier", "b42f1c3444b28884ddcfadffafbfe223646c6c37", "data/scifact.zip",
    "a798a7046af0f6fa04476448459ce7cafeea5bd90d4d99c53a0e27dc5e1a4673",
)  # fmt: skip
BEIR_SCIFACT = ("Kirloxious/CSI4107_Assignment2", "640c17fd9b4a27f3962d702351016bb677d74305")
SQUAD_ARTICLES = 3


class FetchError(Exception):
    """The sets could not be fetched; the message says what to do."""


class Unreachable(FetchError):
    """The source did not answer (no internet, a proxy, a firewall)."""


class ChecksumMismatch(FetchError):
    """A file arrived (or was derived) with other bytes than the ones pinned."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(path: Path = MANIFEST) -> dict[str, str]:
    """``relative path -> sha256`` from a ``sha256sum`` listing (``#`` lines are comments)."""
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest
    return entries


class Fetcher:
    """Downloads pinned files from ``base`` (raw.githubusercontent.com or a mirror) within ``timeout``."""

    def __init__(self, base: str, timeout: float) -> None:
        self.base, self.timeout = base.rstrip("/"), timeout

    def url(self, source: Source) -> str:
        return f"{self.base}/{source.repo}/{source.commit}/{urllib.parse.quote(source.path)}"

    def get(self, source: Source) -> bytes:
        url = self.url(source)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                data: bytes = response.read()
        except urllib.error.HTTPError as e:
            raise FetchError(
                f"{url}: HTTP {e.code} {e.reason}; the pinned file should exist there, so check "
                f"{SOURCE_ENV} if you set it, or try again later"
            ) from e
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            raise Unreachable(
                f"cannot reach {self.base} ({reason or type(e).__name__}; timeout {self.timeout:g} s): this "
                "machine has no access to the internet, or a proxy or firewall blocks it"
            ) from e
        if source.sha256 and sha256(data) != source.sha256:
            raise ChecksumMismatch(
                f"{url}: sha256 {sha256(data)}, expected {source.sha256}; the download is not the "
                "pinned file (a proxy page, a truncated transfer?): try again, or fetch it elsewhere"
            )
        return data


# --- the sets ----------------------------------------------------------------------------------


def scifact_corpus(release_zip: bytes) -> bytes:
    """BEIR's ``corpus.jsonl`` from the SciFact release's ``corpus_train.csv``.

    The abstract is a list of sentences (written as a NumPy array's repr): joined with one space,
    each stripped, as BEIR does; titles stripped; ``_id``, ``title``, ``text`` in that order.
    """
    with zipfile.ZipFile(io.BytesIO(release_zip)) as z:
        text = z.read("corpus_train.csv").decode("utf-8")
    csv.field_size_limit(1 << 30)
    lines = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        body = " ".join(s.strip() for s in _string_literals(row["abstract"]))
        record = {"_id": row["doc_id"], "title": row["title"].strip(), "text": body}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines).encode("utf-8")


def _string_literals(array_repr: str) -> list[str]:
    """The strings of ``['a' 'b' ...]`` in order (Python would concatenate adjacent literals)."""
    tokens = tokenize.generate_tokens(io.StringIO(array_repr).readline)
    return [ast.literal_eval(t.string) for t in tokens if t.type == tokenize.STRING]


def scifact_train_queries(queries: bytes, qrels: bytes) -> bytes:
    """The lines of BEIR's ``queries.jsonl`` whose ids have a judgement in ``qrels/train.tsv``."""
    judged = {line.split(b"\t", 1)[0] for line in qrels.splitlines()[1:] if line.strip()}
    kept = [
        line for line in queries.splitlines(keepends=True)
        if line.strip() and json.loads(line)["_id"].encode() in judged
    ]  # fmt: skip
    return b"".join(kept)


def squad_articles(dev: bytes, count: int = SQUAD_ARTICLES) -> bytes:
    """The first ``count`` articles of a SQuAD 2.0 file, in its own JSON layout."""
    data = json.loads(dev)
    return json.dumps({"version": data["version"], "data": data["data"][:count]}).encode("utf-8")


def formats_source(relative: str) -> str:
    """Where ``formats/<relative>`` lies in the unstructured repository."""
    if relative == "LICENSE.md":
        return relative
    folder, _, name = relative.rpartition("/")
    if folder == "edge":  # hostile samples, gathered from example-docs/ and example-docs/pdf/
        return f"example-docs/pdf/{name}" if name.endswith(".pdf") else f"example-docs/{name}"
    return f"example-docs/{relative}"


def build_scifact(fetcher: Fetcher, files: list[str]) -> dict[str, bytes]:
    repo, commit = BEIR_SCIFACT
    qrels = fetcher.get(Source(repo, commit, "scifact/qrels/train.tsv"))
    queries = fetcher.get(Source(repo, commit, "scifact/queries.jsonl"))
    return {
        "corpus.jsonl": scifact_corpus(fetcher.get(SCIFACT_RELEASE)),
        "queries-train.jsonl": scifact_train_queries(queries, qrels),
        "qrels/train.tsv": qrels,
    }


def build_squad(fetcher: Fetcher, files: list[str]) -> dict[str, bytes]:
    return {"dev-v2.0.mini3.json": squad_articles(fetcher.get(SQUAD_DEV))}


def copier(repo_commit: tuple[str, str], where: Callable[[str], str]) -> Callable[..., dict[str, bytes]]:
    """A builder that downloads each listed file from ``repo_commit`` as it is."""

    def build(fetcher: Fetcher, files: list[str]) -> dict[str, bytes]:
        sources = [Source(*repo_commit, where(f)) for f in files]
        first = fetcher.get(sources[0])  # alone: an unreachable source fails once, not per file
        with ThreadPoolExecutor(WORKERS) as pool:
            rest = list(pool.map(fetcher.get, sources[1:]))
        return dict(zip(files, [first, *rest], strict=True))

    return build


BUILDERS: dict[str, Callable[[Fetcher, list[str]], dict[str, bytes]]] = {
    "scifact": build_scifact,
    "squad2-mini": build_squad,
    "handbook-18f": copier(HANDBOOK, lambda f: f),
    "formats": copier(UNSTRUCTURED, formats_source),
}


# --- checking and laying out ---------------------------------------------------------------------


def expected(manifest: dict[str, str], name: str) -> dict[str, str]:
    """``path inside the set -> sha256`` for set ``name``."""
    prefix = f"{name}/"
    return {k.removeprefix(prefix): v for k, v in manifest.items() if k.startswith(prefix)}


def mismatches(files: dict[str, bytes], want: dict[str, str]) -> list[str]:
    """What is wrong with ``files`` against ``want``: missing, extra or other bytes."""
    wrong = [f"{p}: missing" for p in sorted(set(want) - set(files))]
    wrong += [f"{p}: not in the checksum list" for p in sorted(set(files) - set(want))]
    wrong += [
        f"{p}: sha256 {sha256(files[p])}, expected {want[p]}"
        for p in sorted(set(files) & set(want)) if sha256(files[p]) != want[p]
    ]  # fmt: skip
    return wrong


def check_folder(folder: Path, want: dict[str, str]) -> list[str]:
    """Mismatches of the files under ``folder`` (files not listed are ignored: a README, notes)."""
    wrong = []
    for path, digest in sorted(want.items()):
        target = folder / path
        if not target.is_file():
            wrong.append(f"{path}: missing")
        elif sha256(target.read_bytes()) != digest:
            wrong.append(f"{path}: sha256 differs from the pinned one")
    return wrong


def install(dest: Path, name: str, files: dict[str, bytes], want: dict[str, str]) -> Path:
    """Check ``files`` and only then move them into ``dest/name`` (from a staging folder beside it)."""
    wrong = mismatches(files, want)
    if wrong:
        raise ChecksumMismatch(
            f"{name}: {len(wrong)} file(s) differ from scripts/eval-data.sha256 ({'; '.join(wrong[:5])}); "
            "nothing was written. A source changed under its pinned commit or the download was altered "
            "on the way: try again, or copy the folder from a machine where this script succeeded"
        )
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    for path, data in files.items():
        (staging / path).parent.mkdir(parents=True, exist_ok=True)
        (staging / path).write_bytes(data)
    staging.rename(dest / name)
    return dest / name


def fetch(
    dest: Path,
    sets: Iterable[str],
    fetcher: Fetcher,
    say: Callable[[str], None],
    manifest: dict[str, str] | None = None,
) -> list[str]:
    """Fetch every set of ``sets`` missing from ``dest``; the names of those written."""
    manifest, written = manifest or read_manifest(), []
    for name in sets:
        want, folder = expected(manifest, name), dest / name
        if folder.exists():
            wrong = check_folder(folder, want)
            if wrong:
                raise ChecksumMismatch(
                    f"{folder} exists but {len(wrong)} file(s) differ from the pinned ones "
                    f"({'; '.join(wrong[:3])}); remove it (or point DOCDUET_EVAL_DATA elsewhere) and rerun"
                )
            say(f"{name}: present, {len(want)} files checked")
            continue
        say(f"{name}: fetching {len(want)} files…")
        install(dest, name, BUILDERS[name](fetcher, sorted(want)), want)
        written.append(name)
        say(f"{name}: {len(want)} files, checked, in {folder}")
    if written:  # the sources and licences stay listed beside the sets
        shutil.copyfile(README, dest / "README.md")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest", type=Path, default=None, help="default: DOCDUET_EVAL_DATA, else docduet's default"
    )
    parser.add_argument("--sets", default=",".join(EVAL_SETS), help=f"comma list of {', '.join(EVAL_SETS)}")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per request")
    parser.add_argument("--check", action="store_true", help="only check the files already there")
    args = parser.parse_args(argv)
    dest = args.dest or Path(os.environ.get("DOCDUET_EVAL_DATA") or default_eval_data_dir())
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in sets if s not in EVAL_SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(EVAL_SETS)}")
    say = lambda text: print(f"fetch-eval-data: {text}", file=sys.stderr)  # noqa: E731
    try:
        if args.check:
            return _check(dest, sets, say)
        fetch(dest, sets, Fetcher(os.environ.get(SOURCE_ENV) or RAW_URL, args.timeout), say)
    except Unreachable as e:
        say(
            f"error: {e}. Run `make eval-data` on a machine that can reach it, then copy the folder it "
            f"fills to {dest} here, or to any folder and set DOCDUET_EVAL_DATA to that folder"
        )
        return 1
    except (FetchError, OSError) as e:
        say(f"error: {e}")
        return 1
    say(f"done: {dest} (docduet reads it through DOCDUET_EVAL_DATA)")
    return 0


def _check(dest: Path, sets: list[str], say: Callable[[str], None]) -> int:
    manifest, failed = read_manifest(), 0
    for name in sets:
        wrong = check_folder(dest / name, expected(manifest, name))
        say(f"{name}: {'ok' if not wrong else '; '.join(wrong[:5])}")
        failed += bool(wrong)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
