"""scripts/fetch-eval-data.sh: derivations, checksums, and what it says when the source cannot be reached.

Downloads come from a loopback HTTP server (or a port where nothing answers); no test leaves the machine.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fetch-eval-data.sh"


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_eval_data", ROOT / "scripts" / "fetch_eval_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fed = load_module()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback server of ``files`` (URL path -> bytes; anything else is a 404) and its base URL."""
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The script as a user runs it, with only PATH and ``env`` set."""
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": os.environ["PATH"], **env},
    )  # fmt: skip


# --- derivations --------------------------------------------------------------------------------


def test_the_scifact_corpus_is_rebuilt_as_beir_writes_it() -> None:
    abstract = "['First sentence.   \\n'\n 'It\\'s \"quoted\" and ü.']"  # a NumPy array's repr
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["doc_id", "title", "abstract", "structured"])
    writer.writerow(["4983", "Cerebral white matter. ", abstract, "False"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("corpus_train.csv", rows.getvalue())
    line = fed.scifact_corpus(buffer.getvalue()).decode("utf-8")
    assert line == (
        '{"_id": "4983", "title": "Cerebral white matter.", '
        '"text": "First sentence. It\'s \\"quoted\\" and ü."}\n'
    )


def test_the_train_queries_are_those_with_a_train_judgement() -> None:
    queries = b'{"_id": "0", "text": "a"}\n{"_id": "2", "text": "b"}\n{"_id": "4", "text": "c"}\n'
    qrels = b"query-id\tcorpus-id\tscore\n2\t13734012\t1\n4\t1\t1\n4\t2\t1\n"
    kept = fed.scifact_train_queries(queries, qrels)
    assert kept == b'{"_id": "2", "text": "b"}\n{"_id": "4", "text": "c"}\n'


def test_the_squad_set_is_the_first_three_articles() -> None:
    dev = json.dumps({"version": "v2.0", "data": [{"title": t, "paragraphs": []} for t in "abcd"]})
    assert json.loads(fed.squad_articles(dev.encode())) == {
        "version": "v2.0", "data": [{"title": t, "paragraphs": []} for t in "abc"]
    }


def test_the_formats_files_come_from_example_docs() -> None:
    assert fed.formats_source("LICENSE.md") == "LICENSE.md"
    assert fed.formats_source("fake-doc.rtf") == "example-docs/fake-doc.rtf"
    assert fed.formats_source("pdf/reliance.pdf") == "example-docs/pdf/reliance.pdf"
    assert fed.formats_source("edge/password.pdf") == "example-docs/pdf/password.pdf"
    assert fed.formats_source("edge/empty.txt") == "example-docs/empty.txt"


def test_the_checksum_list_covers_every_set() -> None:
    manifest = fed.read_manifest()
    counts = {name: len(fed.expected(manifest, name)) for name in fed.BUILDERS}
    assert counts == {"scifact": 3, "squad2-mini": 1, "handbook-18f": 258, "formats": 44}


# --- checks -------------------------------------------------------------------------------------

COMMIT = fed.UNSTRUCTURED[1]
GOOD = {"formats/a.txt": b"alpha\n", "formats/edge/password.pdf": b"%PDF-1.4 locked"}
MANIFEST = {path: sha(data) for path, data in GOOD.items()}


def serve_formats(files: dict[str, bytes], contents: dict[str, bytes]) -> None:
    for path, data in contents.items():
        source = fed.formats_source(path.removeprefix("formats/"))
        files[f"/Unstructured-IO/unstructured/{COMMIT}/{source}"] = data


def test_a_set_is_checked_then_moved_into_place(served: tuple[str, dict[str, bytes]], tmp_path: Path) -> None:
    base, files = served
    serve_formats(files, GOOD)
    said: list[str] = []
    fetcher = fed.Fetcher(base, 5)
    assert fed.fetch(tmp_path / "eval", ["formats"], fetcher, said.append, MANIFEST) == ["formats"]
    assert (tmp_path / "eval" / "formats" / "edge" / "password.pdf").read_bytes() == b"%PDF-1.4 locked"
    assert "CC BY-NC 2.0" in (tmp_path / "eval" / "README.md").read_text()  # sources and licences beside
    assert fed.fetch(tmp_path / "eval", ["formats"], fetcher, said.append, MANIFEST) == []
    assert said[-1] == "formats: present, 2 files checked"


def test_a_file_with_other_bytes_is_refused_and_nothing_is_written(
    served: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, files = served
    serve_formats(files, {**GOOD, "formats/a.txt": b"alpha, altered\n"})
    with pytest.raises(fed.ChecksumMismatch) as e:
        fed.fetch(tmp_path / "eval", ["formats"], fed.Fetcher(base, 5), print, MANIFEST)
    message, altered = str(e.value), sha(b"alpha, altered\n")
    assert f"a.txt: sha256 {altered}, expected {MANIFEST['formats/a.txt']}" in message
    assert "eval-data.sha256" in message and "nothing was written" in message
    assert not (tmp_path / "eval").exists()


def test_a_pinned_download_with_other_bytes_is_refused(
    served: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, files = served
    dev = fed.SQUAD_DEV
    files[f"/{dev.repo}/{dev.commit}/{dev.path}"] = b"<html>captive portal</html>"
    with pytest.raises(fed.ChecksumMismatch, match="not the pinned file"):
        fed.fetch(tmp_path / "eval", ["squad2-mini"], fed.Fetcher(base, 5), print)
    assert not (tmp_path / "eval" / "squad2-mini").exists()


def test_a_folder_that_differs_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "formats").mkdir()
    (tmp_path / "formats" / "a.txt").write_bytes(b"mine\n")
    with pytest.raises(fed.ChecksumMismatch, match=r"differ from the pinned ones.*remove it"):
        fed.fetch(tmp_path, ["formats"], fed.Fetcher("http://127.0.0.1:9", 1), print, MANIFEST)
    assert (tmp_path / "formats" / "a.txt").read_bytes() == b"mine\n"


# --- the script, as a user runs it ---------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_source_says_what_to_do(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    result = run_script("--dest", str(tmp_path / "eval"), env={fed.SOURCE_ENV: base})
    assert result.returncode == 1
    assert f"cannot reach {base}" in result.stderr and "no access to the internet" in result.stderr
    assert f"copy the folder it fills to {tmp_path / 'eval'}" in result.stderr
    assert "set DOCDUET_EVAL_DATA" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "eval").exists()


def test_a_source_that_never_answers_gives_up_after_the_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        base = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = run_script("--timeout", "1", "--sets", "squad2-mini", "--dest", str(tmp_path),
                            env={fed.SOURCE_ENV: base})  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 1 and f"cannot reach {base}" in result.stderr, result.stderr
    assert "timeout 1 s" in result.stderr and elapsed < 30


def test_check_reports_missing_sets(tmp_path: Path) -> None:
    result = run_script("--check", "--sets", "scifact", "--dest", str(tmp_path), env={})
    assert result.returncode == 1 and "scifact: corpus.jsonl: missing" in result.stderr
