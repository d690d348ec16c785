"""`docduet ingest` as an admin runs it: the real CLI, parser worker, embedder and Weaviate."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from docduet.cli import main
from docduet.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin_env(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment an admin's shell would have, aimed at the session's Weaviate."""
    settings = make_settings()
    env = {
        "WEAVIATE_URL": settings.weaviate_url,
        "WEAVIATE_GRPC_URL": settings.weaviate_grpc_url,
        "WEAVIATE_API_KEY": settings.weaviate_api_key.get_secret_value() if settings.weaviate_api_key else "",
        "DOCDUET_DATA_DIR": settings.data_dir,
        "DOCDUET_CACHE_DIR": settings.cache_dir,
        "DOCDUET_COLLECTION": settings.collection,
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
