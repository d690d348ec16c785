"""Which generators exist: a YAML file lists any number of them, each of a registered kind.

The packaged default (``chat/generators/default.yaml``) is used unless ``DOCDUET_GENERATORS_FILE``
names another. A value written ``${field}`` or ``${field:-default}`` takes the settings field of
that name (so ``DOCDUET_SLM_MODEL_PATH`` still steers the default ``slm`` generator); a secret
stays a secret. Fields other than the common ones below are the kind's own options, checked by
the kind when the generator is built.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core.domain import Sensitivity
from core.errors import ConfigError
from core.settings import Settings

DEFAULT_FILE = "default.yaml"
_REF_RE = re.compile(r"\$\{([a-z0-9_]+)(?::-([^}]*))?\}")


class GeneratorSpec(BaseModel):
    """One configured generator; kind-specific options are in :attr:`options`."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,31}$")
    kind: str
    label: str = ""
    enabled: bool | str = True
    on_premises: bool
    max_sensitivity: Sensitivity
    max_passages: int | None = Field(default=None, ge=1)
    max_tokens: int = Field(default=256, ge=1)

    @field_validator("enabled")
    @classmethod
    def _auto_or_bool(cls, value: bool | str) -> bool | str:
        if isinstance(value, str) and value != "auto":
            raise ValueError("enabled is true, false or auto (on when its endpoint is configured)")
        return value

    @property
    def options(self) -> dict[str, Any]:
        """The kind's own fields (model, base_url, threads...)."""
        return dict(self.model_extra or {})

    @property
    def title(self) -> str:
        return self.label or self.id


def load_specs(settings: Settings) -> list[GeneratorSpec]:
    """Every generator the generators file lists, in its order (enabled or not)."""
    path = settings.generators_file
    try:
        if path is None:
            text = resources.files("chat.generators").joinpath(DEFAULT_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(
            f"cannot read the generators file {path} ({e}); fix it or unset DOCDUET_GENERATORS_FILE"
        ) from e
    entries = raw.get("generators") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path or DEFAULT_FILE}: expected `generators:` with a list of entries")
    specs = [_spec(entry, settings, where=path or DEFAULT_FILE) for entry in entries]
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path or DEFAULT_FILE}: generator ids must be unique, got {ids}")
    return specs


def _spec(entry: object, settings: Settings, *, where: object) -> GeneratorSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each generator is a mapping with id, kind, ...; got {entry!r}")
    if not isinstance(entry.get("id"), str):
        raise ConfigError(
            f"{where}: generator id {entry.get('id')!r} is not text; quote it (YAML reads "
            "off, no, yes and numbers as other types)"
        )
    values = {k: v for k, v in ((k, _interpolate(v, settings)) for k, v in entry.items()) if v is not None}
    try:
        return GeneratorSpec.model_validate(values)
    except ValidationError as e:
        raise ConfigError(f"{where}: generator {entry.get('id', '?')!r} is invalid: {e}") from e


def _interpolate(value: object, settings: Settings) -> object:
    """``${field}`` / ``${field:-default}`` from the settings; a whole-string reference keeps its type."""
    if not isinstance(value, str):
        return value
    whole = _REF_RE.fullmatch(value.strip())
    if whole:
        return _lookup(whole.group(1), whole.group(2), settings)

    def text(match: re.Match[str]) -> str:
        found = _lookup(match.group(1), match.group(2), settings)
        return "" if found is None else str(found)

    return _REF_RE.sub(text, value)


def _lookup(name: str, default: str | None, settings: Settings) -> object:
    if name not in type(settings).model_fields:
        raise ConfigError(f"the generators file refers to ${{{name}}}, which is not a docduet setting")
    found = getattr(settings, name)
    if found is None or (isinstance(found, SecretStr) and not found.get_secret_value()):
        return default if default not in (None, "") else None
    if isinstance(found, Path):
        return str(found)
    return found
