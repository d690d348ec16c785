"""The `cluster` profile of docker-compose.yml: three Weaviate nodes that form one Raft cluster
with the single node's settings, and app settings that replicate and read with QUORUM.

Docker is not needed: the file is parsed and checked against Settings and against the
environment docduet gives the nodes of its own local cluster
(``backends.weaviate_server.node_env.build_env``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.weaviate_server.cluster import cluster_configs
from backends.weaviate_server.node_env import build_env
from backends.weaviate_server.ports import NodePorts
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
NODES = {name: s for name, s in SERVICES.items() if "cluster" in s.get("profiles", ())}
KEY = "k" * 32


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (service.get("environment") or {}).items()}


def test_three_nodes_in_the_cluster_profile_with_the_pinned_image() -> None:
    assert sorted(NODES) == ["weaviate-0", "weaviate-1", "weaviate-2"]
    image = SERVICES["weaviate"]["image"]
    assert image.endswith(f":{Settings.flat_fields()['weaviate_version'].default}")
    assert {node["image"] for node in NODES.values()} == {image}
    assert "profiles" not in SERVICES["weaviate"]  # the single node stays the default


def test_nodes_form_one_raft_cluster_that_any_node_can_rejoin() -> None:
    envs = {name: environment(node) for name, node in NODES.items()}
    assert {e["CLUSTER_HOSTNAME"] for e in envs.values()} == set(NODES)
    assert all(node["hostname"] == name for name, node in NODES.items())
    for env in envs.values():
        assert sorted(env["RAFT_JOIN"].split(",")) == sorted(NODES)
        assert env["RAFT_BOOTSTRAP_EXPECT"] == str(len(NODES))
        gossip = env["CLUSTER_GOSSIP_BIND_PORT"]
        assert sorted(env["CLUSTER_JOIN"].split(",")) == sorted(f"{n}:{gossip}" for n in NODES)


def test_nodes_share_the_single_nodes_settings_and_security() -> None:
    single = environment(SERVICES["weaviate"])
    for name, node in NODES.items():
        env = environment(node)
        for key in ("PERSISTENCE_DATA_PATH", "DEFAULT_VECTORIZER_MODULE", "QUERY_DEFAULTS_LIMIT",
                    "DISABLE_TELEMETRY", "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED",
                    "AUTHENTICATION_APIKEY_ENABLED", "AUTHENTICATION_APIKEY_ALLOWED_KEYS",
                    "AUTHENTICATION_APIKEY_USERS"):  # fmt: skip
            assert env[key] == single[key], f"{name}: {key}"
        # the data API between nodes needs the key too, as docduet's own nodes do
        assert env["CLUSTER_BASIC_AUTH_PASSWORD"] == single["AUTHENTICATION_APIKEY_ALLOWED_KEYS"]
        assert env["CLUSTER_BASIC_AUTH_USERNAME"] == single["AUTHENTICATION_APIKEY_USERS"]
        volume = node["volumes"][0].split(":")
        assert volume[1] == env["PERSISTENCE_DATA_PATH"] and volume[0] in COMPOSE["volumes"]
        assert any("/v1/.well-known/ready" in part for part in node["healthcheck"]["test"])


def test_nodes_match_docduets_own_cluster_environment(tmp_path: Path) -> None:
    """The settings docduet's local cluster runs with (the tested ones) are the compose ones."""
    ports = [NodePorts.block(20000 + 10 * i) for i in range(3)]
    local = build_env(cluster_configs(tmp_path / "bin", tmp_path, ports)[1], KEY, base_env={})
    compose = environment(NODES["weaviate-1"])
    for key in ("DEFAULT_VECTORIZER_MODULE", "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED",
                "AUTHENTICATION_APIKEY_ENABLED", "DISABLE_TELEMETRY", "RAFT_BOOTSTRAP_EXPECT"):  # fmt: skip
        assert compose[key].lower() == local[key].lower(), key
    assert local["CLUSTER_BASIC_AUTH_PASSWORD"] == local["AUTHENTICATION_APIKEY_ALLOWED_KEYS"]
    assert len(compose["CLUSTER_JOIN"].split(",")) == 1 + len(local["CLUSTER_JOIN"].split(","))


def test_every_node_answers_to_the_app_services_weaviate_name() -> None:
    app_url = environment(SERVICES["ingest"])["WEAVIATE_URL"]
    assert app_url == "http://weaviate:8080"
    for node in NODES.values():
        assert "weaviate" in node["networks"]["default"]["aliases"]
        assert node["command"] == SERVICES["weaviate"]["command"]  # REST on 8080, gRPC 50051
    published = [n for n in NODES.values() if n.get("ports")]
    assert len(published) == 1  # the host reaches node 0 on the single node's ports
    assert published[0]["ports"] == SERVICES["weaviate"]["ports"]


@pytest.mark.parametrize("service", ["ingest", "reindex", "db-status"])
def test_rendered_app_settings_replicate_and_use_quorum(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Settings makes of the app service's environment, as compose renders it."""
    for key in list(os.environ):
        if key.startswith(("DOCDUET_", "WEAVIATE_", "OPENAI_")):
            monkeypatch.delenv(key)
    env = environment(SERVICES[service])
    for key in ("DOCDUET_REPLICATION_FACTOR", "DOCDUET_CONSISTENCY_READ", "DOCDUET_CONSISTENCY_WRITE"):
        assert key in env, f"{service} does not pass {key} through"
    for key, value in env.items():
        if value != "None" and "${" not in value:
            monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.weaviate.weaviate_url == "http://weaviate:8080"
    assert settings.weaviate.replication_factor is None  # one copy per node: 3 on the cluster
    assert (settings.weaviate.consistency_read, settings.weaviate.consistency_write) == ("QUORUM", "QUORUM")
    monkeypatch.setenv("DOCDUET_CONSISTENCY_READ", "ONE")
    assert Settings().weaviate.consistency_read == "ONE"
    monkeypatch.setenv("DOCDUET_CONSISTENCY_WRITE", "SOME")
    with pytest.raises(ValueError, match="QUORUM"):
        Settings()
