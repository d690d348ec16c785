"""Connecting to Weaviate: an external server (WEAVIATE_URL) or docduet's embedded node.

Address forms: ``WEAVIATE_URL`` is ``http[s]://host[:port]`` (default port 80/443).
``WEAVIATE_GRPC_URL`` is ``host:port``, ``host``, or with a scheme ``grpc://``/``http://``
(plain) or ``grpcs://``/``https://`` (TLS); a bare address inherits TLS from WEAVIATE_URL.
Unset: the HTTP host, port 50051.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import weaviate
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateBaseError

from backends.weaviate_server import embedded
from backends.weaviate_server.binary import ensure_binary
from backends.weaviate_server.server import ServerStatus, WeaviateServer
from core.errors import BackendUnavailableError, ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_GRPC_PORT = 50051
#: init: connection checks; query/insert: generous enough for a 2-core machine under load.
TIMEOUT = Timeout(init=5, query=60, insert=120)
_GRPC_SCHEMES = {"grpc": False, "http": False, "grpcs": True, "https": True}
LOCAL_SCHEMA_READS = {"consistency": "false"}
"""Schema reads (does the collection exist? what is it?) answer from the node's own copy of the
schema instead of being proxied to the Raft leader: when the leader dies, a proxied read hangs
until the client's timeout (60 s, measured), a local one answers at once. A node applies a schema
change before it acknowledges it, so a client still reads its own changes."""


@dataclass(frozen=True)
class Endpoint:
    """Where a Weaviate's REST and gRPC APIs are."""

    http_host: str
    http_port: int
    http_secure: bool
    grpc_host: str
    grpc_port: int
    grpc_secure: bool

    @property
    def url(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"{'https' if self.http_secure else 'http'}://{host}:{self.http_port}"


def parse_endpoint(url: str, grpc_url: str | None = None) -> Endpoint:
    """Parse WEAVIATE_URL (+ optional WEAVIATE_GRPC_URL); ConfigError when invalid."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"WEAVIATE_URL={url!r} is not an http(s) URL; use e.g. http://localhost:8080.")
    secure = parts.scheme == "https"
    http_port = _port(parts, 443 if secure else 80, "WEAVIATE_URL", url)
    if not grpc_url:
        return Endpoint(parts.hostname, http_port, secure, parts.hostname, DEFAULT_GRPC_PORT, secure)
    raw = grpc_url.strip()
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else None
    if scheme is not None and scheme not in _GRPC_SCHEMES:
        raise ConfigError(
            f"WEAVIATE_GRPC_URL={grpc_url!r} has an unknown scheme; use host:port, "
            "grpc://host:port or grpcs://host:port."
        )
    grpc = urlsplit(raw if scheme else f"//{raw}")
    if not grpc.hostname:
        raise ConfigError(f"WEAVIATE_GRPC_URL={grpc_url!r} has no host; use host:port.")
    grpc_secure = _GRPC_SCHEMES[scheme] if scheme else secure
    default = 443 if scheme in ("grpcs", "https") else DEFAULT_GRPC_PORT
    grpc_port = _port(grpc, default, "WEAVIATE_GRPC_URL", grpc_url)
    return Endpoint(parts.hostname, http_port, secure, grpc.hostname, grpc_port, grpc_secure)


def _port(parts: SplitResult, default: int, name: str, raw: str) -> int:
    try:
        port = parts.port
    except ValueError as e:
        raise ConfigError(f"{name}={raw!r} has an invalid port; use a number 1-65535.") from e
    return int(port) if port is not None else default


def node_endpoint(server: WeaviateServer) -> Endpoint:
    """Loopback endpoint of one of docduet's own nodes."""
    config = server.config
    host = config.client_host
    return Endpoint(host, config.ports.http, False, host, config.ports.grpc, False)


def connect(settings: Settings, *, autostart: bool = True) -> weaviate.WeaviateClient:
    """A connected, ready client; the caller closes it (or use ``open_client``).

    External (WEAVIATE_URL set): connects there, with WEAVIATE_API_KEY when set. Embedded:
    starts docduet's node first when it is not running and ``autostart`` is true (building the
    binary if needed), and authenticates with the key in the node's key file. Of a local
    cluster (``docduet db start --nodes N``) it uses the first node that is ready.
    """
    if settings.weaviate.weaviate_url:
        endpoint = parse_endpoint(settings.weaviate.weaviate_url, settings.weaviate.weaviate_grpc_url)
        hint = f"check WEAVIATE_URL={settings.weaviate.weaviate_url} (and WEAVIATE_GRPC_URL) and the server"
        return _connect(endpoint, _api_key(settings), hint, "check WEAVIATE_API_KEY")
    server = _ensure_embedded_running(settings, autostart)
    key_file = server.config.api_key_file
    restart = "restart it: `docduet db stop`, then `docduet db start`"
    api_key = server.api_key()
    if api_key is None:
        raise BackendUnavailableError(
            f"docduet's Weaviate runs but its API key file {key_file} is missing; {restart}."
        )
    hint = "run `docduet db status`, see its log, or `docduet db start`"
    auth_hint = f"it was started with a key other than the one in {key_file}; {restart}"
    return _connect(node_endpoint(server), api_key, hint, auth_hint)


@contextlib.contextmanager
def open_client(settings: Settings, *, autostart: bool = True) -> Iterator[weaviate.WeaviateClient]:
    """``connect`` as a context manager that always closes the client."""
    client = connect(settings, autostart=autostart)
    try:
        yield client
    finally:
        client.close()


def _ensure_embedded_running(settings: Settings, autostart: bool) -> WeaviateServer:
    """A ready node of docduet's own Weaviate (one node or a local cluster), started if need be."""
    nodes = embedded.running_nodes(settings)
    if not nodes:
        if not autostart:
            url = embedded.embedded_nodes(settings)[0].url
            raise BackendUnavailableError(
                f"docduet's Weaviate is not running (expected at {url}); "
                "run `docduet db start`, or set WEAVIATE_URL to use an external server."
            )
        embedded.start(settings, binary=ensure_binary(settings))
        nodes = embedded.running_nodes(settings)
    running = [node for node in nodes if node.pid() is not None]
    ready = next((node for node in running if node.is_ready()), None)
    if ready is not None:
        return ready
    if len(nodes) > 1 and len(running) <= len(nodes) // 2:  # no majority: nobody becomes ready
        down = ", ".join(n.config.node_name for n in nodes if n not in running)
        raise BackendUnavailableError(
            f"only {len(running)} of the {len(nodes)} nodes of docduet's local Weaviate cluster "
            f"run ({down} down), too few to serve: a cluster needs a majority of its nodes. Start "
            "the stopped nodes with `docduet db start` (data already written is kept)."
        )
    first = running[0] if running else nodes[0]  # (one node that exited just now: say why)
    first.wait_ready(settings.weaviate.weaviate_startup_timeout_s)  # still starting
    return first


def _connect(endpoint: Endpoint, api_key: str | None, hint: str, auth_hint: str) -> weaviate.WeaviateClient:
    try:
        # skip_init_checks: the checks would also query PyPI (no internet here); we check
        # REST readiness and gRPC liveness ourselves below. Connecting reads /v1/meta, which
        # needs valid credentials when the server requires them.
        client = weaviate.connect_to_custom(
            http_host=endpoint.http_host, http_port=endpoint.http_port,
            http_secure=endpoint.http_secure, grpc_host=endpoint.grpc_host,
            grpc_port=endpoint.grpc_port, grpc_secure=endpoint.grpc_secure,
            auth_credentials=Auth.api_key(api_key) if api_key else None,
            additional_config=AdditionalConfig(timeout=TIMEOUT),
            skip_init_checks=True, headers=LOCAL_SCHEMA_READS,
        )  # fmt: skip
    except (WeaviateBaseError, OSError) as e:
        if isinstance(e, UnexpectedStatusCodeError) and e.status_code in (401, 403):
            raise BackendUnavailableError(
                f"Weaviate at {endpoint.url} refused docduet's credentials "
                f"(HTTP {e.status_code}); {auth_hint}."
            ) from e
        raise BackendUnavailableError(f"Cannot reach Weaviate at {endpoint.url}: {e}; {hint}.") from e
    except ValueError as e:  # pydantic rejects e.g. identical HTTP and gRPC addresses
        raise ConfigError(
            f"invalid Weaviate address {endpoint.url} / gRPC {endpoint.grpc_host}:{endpoint.grpc_port}:"
            f" {e}; check WEAVIATE_URL and WEAVIATE_GRPC_URL (gRPC needs its own port)"
        ) from e
    try:
        ready = client.is_ready() and client.is_live()
    except (WeaviateBaseError, OSError) as e:
        client.close()
        raise BackendUnavailableError(
            f"Weaviate at {endpoint.url} failed a health check: {e}; {hint}."
        ) from e
    if not ready:
        client.close()
        raise BackendUnavailableError(
            f"Weaviate at {endpoint.url} is not ready (REST /v1/.well-known/ready or gRPC "
            f"{endpoint.grpc_host}:{endpoint.grpc_port} failed); {hint}."
        )
    return client


def external_status(settings: Settings) -> ServerStatus:
    """Readiness and version of the external server named by WEAVIATE_URL."""
    if not settings.weaviate.weaviate_url:
        raise ConfigError("No external Weaviate is configured (WEAVIATE_URL is unset).")
    endpoint = parse_endpoint(settings.weaviate.weaviate_url, settings.weaviate.weaviate_grpc_url)
    version: str | None = None
    detail: str | None = None
    try:
        client = _connect(endpoint, _api_key(settings), "check WEAVIATE_URL", "check WEAVIATE_API_KEY")
        with contextlib.closing(client) as c:
            version = str(c.get_meta().get("version"))
    except (BackendUnavailableError, WeaviateBaseError) as e:
        detail = str(e)
    return ServerStatus(
        running=version is not None, pid=None, url=endpoint.url, ready=version is not None,
        data_dir=None, log_file=None, version=version, external=True, detail=detail,
    )  # fmt: skip


def _api_key(settings: Settings) -> str | None:
    return (
        settings.weaviate.weaviate_api_key.get_secret_value() if settings.weaviate.weaviate_api_key else None
    )
