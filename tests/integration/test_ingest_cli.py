"""`docduet ingest` as an admin runs it: the real CLI, parser worker, embedder and Weaviate."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from core.settings import Settings
from docduet.cli import main

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_env(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment an admin's shell would have, aimed at the session's Weaviate."""
    settings = make_settings()
    env = {
        "WEAVIATE_URL": settings.weaviate.weaviate_url,
        "WEAVIATE_GRPC_URL": settings.weaviate.weaviate_grpc_url,
        "WEAVIATE_API_KEY": settings.weaviate.weaviate_api_key.get_secret_value()
        if settings.weaviate.weaviate_api_key
        else "",
        "DOCDUET_DATA_DIR": settings.paths.data_dir,
        "DOCDUET_CACHE_DIR": settings.paths.cache_dir,
        "DOCDUET_COLLECTION": settings.weaviate.collection,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return settings


def test_ingest_reports_failed_and_unsupported_files_and_ingests_the_rest(
    admin_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(shutil.copytree(REPO / "corpora" / "it", tmp_path / "it"))
    (folder / "printer-setup.doc").write_bytes(b"\xd0\xcf\x11\xe0 legacy Word 97 file")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not a docx")

    assert main(["ingest", str(folder), "--json"]) == 1  # some files failed, the rest is indexed
    report = json.loads(capsys.readouterr().out)
    good = {p.resolve().as_posix() for p in folder.rglob("*") if p.suffix in (".md", ".html", ".pdf")}
    assert set(report["added"]) == good and report["chunks"] > 0
    [failure] = report["failed"]
    assert failure["source"].endswith("/broken.docx") and "corrupt .docx" in failure["reason"]
    assert report["unsupported"] == {".doc": 1}

    assert main(["ingest", str(folder)]) == 1
    table = capsys.readouterr().out
    assert "unchanged" in table and "broken.docx" in table
    assert "1 file(s) not ingested, of types docduet does not read: 1 .doc" in " ".join(table.split())


def test_an_emptied_folder_is_refused_until_allow_empty(
    admin_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(shutil.copytree(REPO / "corpora" / "public", tmp_path / "share"))
    assert main(["ingest", str(folder), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["added"]) == 2
    for path in folder.iterdir():  # the mount point of an unmounted share: there, and empty
        path.unlink()

    assert main(["ingest", str(folder)]) == 2
    assert "re-run with --allow-empty" in capsys.readouterr().err
    assert main(["ingest", str(folder), "--allow-empty", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["deleted"]) == 2


def test_a_second_writer_is_refused_while_another_process_holds_the_index(
    admin_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys
    import textwrap

    folder = Path(shutil.copytree(REPO / "corpora" / "public", tmp_path / "public"))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from pathlib import Path
                from ingest.lock import index_lock
                data, name = Path({str(admin_env.paths.data_dir)!r}), {admin_env.weaviate.collection!r}
                with index_lock(data, name, what="docduet reindex --full"):
                    print("held", flush=True)
                    time.sleep(120)
                """
            ),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert main(["ingest", str(folder)]) == 2
        assert main(["reindex", "--full"]) == 2
        err = " ".join(capsys.readouterr().err.split())
        refusal = f"another ingest or reindex of {admin_env.weaviate.collection} is running (pid {holder.pid}"
        assert err.count(refusal) == 2
    finally:
        holder.kill()
        holder.wait(30)
    assert main(["ingest", str(folder), "--json"]) == 0  # released with its holder
    capsys.readouterr()


def test_links_and_ignored_files_are_reported_by_the_cli(
    admin_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(shutil.copytree(REPO / "corpora" / "public", tmp_path / "public"))
    (folder / ".docduetignore").write_text("careers.md\n")
    (folder / "ops-notes.txt").symlink_to("/proc/self/environ")
    assert main(["ingest", str(folder)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "skipped" in out and "ops-notes" in out  # the table may fold a long path
    assert "a symbolic link to /proc/self/environ, outside the ingest root; not followed" in out
    assert "1 file(s) or folder(s) left out by .docduetignore files." in out
