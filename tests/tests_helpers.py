"""Small helpers shared by integration tests (reading what is really in Weaviate, stopping servers)."""

from __future__ import annotations

import subprocess

from backends.weaviate.client import open_client
from core.settings import Settings


def chunk_ids(settings: Settings) -> dict[str, set[str]]:
    """source -> chunk uuids, read straight from Weaviate."""
    out: dict[str, set[str]] = {}
    with open_client(settings, autostart=False) as client:
        if not client.collections.exists(settings.weaviate.collection):
            return out
        for obj in client.collections.use(settings.weaviate.collection).iterator(
            return_properties=["source"]
        ):
            out.setdefault(str(obj.properties["source"]), set()).add(str(obj.uuid))
    return out


def stop_process(process: subprocess.Popen[bytes], *, timeout_s: float = 20) -> None:
    """Ask a server the test started to stop; kill it if it has not within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
