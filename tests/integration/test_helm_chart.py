"""deploy/helm/docduet renders with the real helm and validates with Kubernetes' own validation.

helm v4 and kubectl-validate (the API server's validation code and the OpenAPI schemas of
Kubernetes 1.30, built in) are built from the Go module proxy once and cached (tests/gotools.py):
the first run on a fresh machine pays the builds (measured in docs/cluster.md), later runs a few
seconds. Rendered twice: with the default values (the bundled Weaviate chart) and with
ci/external-weaviate-values.yaml (an external Weaviate, OIDC, Slack over HTTP, documents on NFS).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotools import HELM, KUBECTL_VALIDATE, ensure_tool
from pydantic import AliasChoices

from core.settings import Settings
from docduet.cli import build_parser

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.long]
"""``long``: a fresh machine builds helm and kubectl-validate first (tens of minutes on 2 cores),
which CI's time budget cannot hold; ``pytest -m long tests/integration/test_helm_chart.py`` runs it."""

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "docduet"
EXTERNAL = CHART / "ci" / "external-weaviate-values.yaml"
K8S_VERSION = "1.30"  # the newest schemas kubectl-validate v0.0.4 carries
Doc = dict[str, Any]


@pytest.fixture(scope="session")
def helm() -> Path:
    return ensure_tool(HELM, Settings().paths.cache_dir)


@pytest.fixture(scope="session")
def kubectl_validate() -> Path:
    return ensure_tool(KUBECTL_VALIDATE, Settings().paths.cache_dir)


def helm_template(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(helm), "template", "docduet", str(CHART), "--namespace", "docs", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def render(helm: Path, *args: str) -> str:
    done = helm_template(helm, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def default_text(helm: Path) -> str:
    return render(helm)


@pytest.fixture(scope="module")
def external_text(helm: Path) -> str:
    return render(helm, "-f", str(EXTERNAL))


def docs(text: str) -> list[Doc]:
    return [d for d in yaml.safe_load_all(text) if d]


def find(manifest: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in manifest if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def pod_templates(manifest: list[Doc]) -> dict[str, Doc]:
    """component -> pod template of every docduet workload (Deployments and the CronJob)."""
    pods = {}
    for d in manifest:
        labels = d["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/part-of") != "docduet":
            continue
        if d["kind"] == "Deployment":
            pods[labels["app.kubernetes.io/component"]] = d["spec"]["template"]
        elif d["kind"] == "CronJob":
            pods["reindex"] = d["spec"]["jobTemplate"]["spec"]["template"]
    return pods


def docduet_pods(manifest: list[Doc]) -> dict[str, Doc]:
    """component -> pod spec of every docduet workload."""
    return {component: t["spec"] for component, t in pod_templates(manifest).items()}


def env_of(pod: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in pod["containers"][0]["env"]}


def validate(kubectl_validate: Path, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(text, encoding="utf-8")
    # No cluster is consulted: an unusable kubeconfig leaves only the built-in schemas.
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-kubeconfig")}
    command = [str(kubectl_validate), str(manifest), "--version", K8S_VERSION, "--output", "json"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)


def failures(done: subprocess.CompletedProcess[str]) -> list[Any]:
    """The statuses (one per YAML document) that are not Success."""
    report: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    statuses = [status for per_file in report.values() for status in per_file]
    assert statuses, done.stdout
    return [status for status in statuses if status.get("status") != "Success"]


@pytest.mark.parametrize("values", ["default", "external"])
def test_rendered_chart_passes_kubernetes_validation(
    values: str, default_text: str, external_text: str, kubectl_validate: Path, tmp_path: Path
) -> None:
    text = default_text if values == "default" else external_text
    done = validate(kubectl_validate, text, tmp_path)
    assert failures(done) == [], done.stdout
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("values", ["default", "external"])
def test_helm_lint_is_clean(values: str, helm: Path) -> None:
    extra = ["-f", str(EXTERNAL)] if values == "external" else []
    command = [str(helm), "lint", "--strict", str(CHART), *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_validation_is_not_vacuous(default_text: str, kubectl_validate: Path, tmp_path: Path) -> None:
    """The same manifest with one wrong field type and one unknown field is refused."""
    broken = default_text.replace("runAsNonRoot: true", 'runAsNonRoot: "yes"', 1)
    broken = broken.replace("concurrencyPolicy: Forbid", "concurrencyPolicy: Forbid\n  concurency: 1", 1)
    assert broken.count('"yes"') == 1 and "concurency" in broken
    done = validate(kubectl_validate, broken, tmp_path)
    assert done.returncode != 0
    assert len(failures(done)) == 2, done.stdout


def test_default_install_runs_every_part_against_the_bundled_weaviate(default_text: str) -> None:
    manifest = docs(default_text)
    assert set(docduet_pods(manifest)) == {"web", "api", "reindex"}, "Slack is off by default"
    weaviate = find(manifest, "StatefulSet", "weaviate")
    pinned = Settings.flat_fields()["weaviate_version"].default
    assert weaviate["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{pinned}")
    assert weaviate["spec"]["replicas"] == 3
    for name in ("weaviate", "weaviate-grpc"):
        assert find(manifest, "Service", name)["spec"]["type"] == "ClusterIP", "never a public LB"
    budget = find(manifest, "PodDisruptionBudget", "docduet-weaviate")["spec"]
    assert budget["maxUnavailable"] == 1 and "minAvailable" not in budget
    env = env_of(docduet_pods(manifest)["web"])
    assert env["WEAVIATE_URL"]["value"] == "http://weaviate.docs.svc:80"
    assert env["WEAVIATE_GRPC_URL"]["value"] == "weaviate-grpc.docs.svc:50051"


@pytest.mark.parametrize("values", ["default", "external"])
def test_docduet_pods_run_as_non_root_with_a_read_only_root(
    values: str, default_text: str, external_text: str
) -> None:
    pods = docduet_pods(docs(default_text if values == "default" else external_text))
    assert pods
    for component, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, component
        assert pod["automountServiceAccountToken"] is False, component
        (container,) = pod["containers"]
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, component
        assert security["allowPrivilegeEscalation"] is False, component
        assert security["capabilities"]["drop"] == ["ALL"], component
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]["name"]], component
        assert mounts["/corpora"]["readOnly"] is True, component
        assert {"requests", "limits"} <= set(container["resources"]), component


def test_long_running_parts_have_probes_on_their_health_endpoints(
    helm: Path, default_text: str, external_text: str
) -> None:
    paths = {"web": "/_stcore/health", "api": "/healthz", "slack": "/healthz"}
    pods = {**docduet_pods(docs(default_text)), "slack": docduet_pods(docs(external_text))["slack"]}
    for component, path in paths.items():
        (container,) = pods[component]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, component
        assert "http" in ports, component
    socket = docduet_pods(docs(render(helm, "--set", "slack.enabled=true")))["slack"]
    (container,) = socket["containers"]
    assert "ports" not in container and "livenessProbe" not in container, "socket mode: no port"
    assert env_of(socket)["DOCDUET_SLACK_MODE"]["value"] == "socket"


def test_secrets_are_read_from_kubernetes_secrets_only(default_text: str) -> None:
    manifest = docs(default_text)
    assert not [d for d in manifest if d["kind"] == "Secret" and "docduet" in d["metadata"]["name"]]
    pods = docduet_pods(manifest)
    for component, pod in pods.items():
        key = env_of(pod)["WEAVIATE_API_KEY"]["valueFrom"]["secretKeyRef"]
        assert key == {"name": "docduet-weaviate", "key": "AUTHENTICATION_APIKEY_ALLOWED_KEYS"}
        for name, entry in env_of(pod).items():
            if any(word in name for word in ("KEY", "SECRET", "TOKEN", "PASSWORD")):
                assert "value" not in entry, f"{component}: {name} written into the manifest"
    weaviate = env_of(find(manifest, "StatefulSet", "weaviate")["spec"]["template"]["spec"])
    accepted = weaviate["AUTHENTICATION_APIKEY_ALLOWED_KEYS"]["valueFrom"]["secretKeyRef"]
    assert accepted == {"name": "docduet-weaviate", "key": "AUTHENTICATION_APIKEY_ALLOWED_KEYS"}
    web = env_of(pods["web"])["DOCDUET_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
    assert web["name"] == "docduet"
    assert "DOCDUET_OIDC_CLIENT_SECRET" not in env_of(pods["reindex"]), "least privilege"


def test_reindex_cronjob_runs_the_real_command_on_its_schedule(default_text: str, external_text: str) -> None:
    cron = find(docs(default_text), "CronJob", "docduet-reindex")["spec"]
    assert cron["schedule"] == "0 3 * * *" and cron["concurrencyPolicy"] == "Forbid"
    assert "timeZone" not in cron
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["containers"][0]["command"] == ["docduet", "reindex"]
    external = find(docs(external_text), "CronJob", "docduet-reindex")["spec"]
    assert (external["schedule"], external["timeZone"]) == ("30 2 * * 1-5", "Europe/Berlin")
    command = external["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["docduet", "reindex", "--full"]


@pytest.mark.parametrize("values", ["default", "external"])
def test_commands_and_environment_are_understood_by_docduet(
    values: str, default_text: str, external_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for component, pod in docduet_pods(docs(default_text if values == "default" else external_text)).items():
        command = pod["containers"][0]["command"]
        assert callable(build_parser().parse_args(command[1:]).run), component
        env = env_of(pod)
        assert not set(env) - settings_env_names(), component
        settings = settings_from(env, monkeypatch)
        assert str(settings.paths.data_dir) == "/data"
        mounted = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert {"/data", str(settings.ingest.corpus_root)} <= mounted, component


def test_external_weaviate(external_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = docs(external_text)
    assert not [d for d in manifest if d["kind"] == "StatefulSet"], "no bundled Weaviate"
    for pod in docduet_pods(manifest).values():
        settings = settings_from(env_of(pod), monkeypatch)
        assert settings.weaviate.weaviate_url == "https://weaviate.example:443"
        assert settings.weaviate.weaviate_grpc_url == "weaviate-grpc.example:443"
        key = env_of(pod)["WEAVIATE_API_KEY"]["valueFrom"]["secretKeyRef"]
        assert key == {"name": "weaviate-cloud", "key": "api-key"}
        corpus = next(v for v in pod["volumes"] if v["name"] == "corpus")
        assert corpus["nfs"]["path"] == "/export/docs"
        assert "affinity" not in pod, "ReadWriteMany: the pods may spread"


def test_a_read_write_once_data_volume_keeps_the_pods_on_one_node(default_text: str) -> None:
    manifest = docs(default_text)
    claim = find(manifest, "PersistentVolumeClaim", "docduet-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    for component, template in pod_templates(manifest).items():
        pod = template["spec"]
        (term,) = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        wanted = term["labelSelector"]["matchLabels"].items()
        assert wanted <= template["metadata"]["labels"].items(), f"{component} must match itself"
        data = next(v for v in pod["volumes"] if v["name"] == "data")
        assert data["persistentVolumeClaim"]["claimName"] == "docduet-data", component


def test_external_weaviate_needs_its_address(helm: Path) -> None:
    done = helm_template(helm, "--set", "weaviate.enabled=false")
    assert done.returncode != 0
    assert "set externalWeaviate.url" in done.stderr


def settings_env_names() -> set[str]:
    """Every environment variable name Settings reads (upper case)."""
    names: set[str] = set()
    for name, field in Settings.flat_fields().items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"DOCDUET_{name}".upper())
    return names


def settings_from(env: dict[str, Doc], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith(("DOCDUET_", "WEAVIATE_", "OPENAI_", "SLACK_")):
            monkeypatch.delenv(key)
    for name, entry in env.items():
        if "value" in entry:
            monkeypatch.setenv(name, entry["value"])
    return Settings()
