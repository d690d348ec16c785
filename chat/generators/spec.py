"""Which generators exist: a YAML file lists any number of them, each of a registered kind.

The packaged default (``chat/generators/default.yaml``) is used unless ``DOCDUET_GENERATORS_FILE``
names another. A value written ``${field}`` or ``${field:-default}`` takes the settings field of
that name in whichever section holds it (``${slm_threads}`` is ``settings.generation.slm_threads``,
set by ``DOCDUET_SLM_THREADS``); a secret stays a secret. A reference to an unset field (with no
``:-default``) leaves the option out, so the kind's options model gives its default. Fields
other than the common ones below are the kind's own options, checked by the kind when the
generator is built.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from chat.focus import MIN_CONTEXT_TOKENS
from core.domain import Sensitivity
from core.errors import ConfigError
from core.settings import Settings

DEFAULT_FILE = "default.yaml"
CASCADE = "cascade"
"""The kind of a cascade entry: ``steps`` (other generators' ids) and ``thresholds``."""
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
    context_tokens: int | None = Field(default=None, ge=0)
    """About how many tokens of passage text it reads (the best sentences); None (or 0 in the
    file, so a setting can turn a default budget off): whole passages."""
    max_tokens: int = Field(default=256, ge=1)
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    """Selective answering: below this calibrated probability the column flags or abstains."""
    below: Literal["flag", "abstain"] = "flag"

    @field_validator("context_tokens")
    @classmethod
    def _whole_or_a_budget(cls, value: int | None) -> int | None:
        if value == 0:
            return None
        if value is not None and value < MIN_CONTEXT_TOKENS:
            raise ValueError(
                f"context_tokens is 0 (whole passages) or a budget of at least {MIN_CONTEXT_TOKENS} tokens"
            )
        return value

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

    @property
    def is_cascade(self) -> bool:
        return self.kind == CASCADE


class CascadeOptions(BaseModel):
    """A cascade's own fields: its steps (ids of other generators in the same file), first to
    last, and the probability each step but the last must reach to be served."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[str, ...] = Field(min_length=2)
    thresholds: tuple[Annotated[float, Field(ge=0, le=1)], ...]


def cascade_options(spec: GeneratorSpec) -> CascadeOptions:
    """A cascade's steps and thresholds (checked when the file was loaded)."""
    return CascadeOptions.model_validate(spec.options)


def load_specs(settings: Settings) -> list[GeneratorSpec]:
    """Every generator the generators file lists, in its order (enabled or not)."""
    path = settings.generation.generators_file
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
    where = path or DEFAULT_FILE
    plain = [None if _kind(e) == CASCADE else _spec(e, settings, where=where) for e in entries]
    by_id = {s.id: s for s in plain if s is not None}
    cascades = {e.get("id") for e in entries if _kind(e) == CASCADE}
    specs = [s or _cascade(e, settings, by_id, cascades, where) for s, e in zip(plain, entries, strict=True)]
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


def _kind(entry: object) -> object:
    return entry.get("kind") if isinstance(entry, dict) else None


def _cascade(
    entry: dict[str, Any],
    settings: Settings,
    steps: dict[str, GeneratorSpec],
    cascades: set[object],
    where: object,
) -> GeneratorSpec:
    """A cascade entry checked against the file's other generators; it runs off premises when any
    step does, and reads up to the most sensitive passage any step may read."""
    name = entry.get("id", "?")
    for derived in ("on_premises", "max_sensitivity", "max_passages", "context_tokens"):
        if derived in entry:
            raise ConfigError(
                f"{where}: cascade {name!r} sets {derived}; each step's own entry says where it runs "
                "and what it reads: remove it from the cascade"
            )
    spec = _spec({**entry, "on_premises": True, "max_sensitivity": "public"}, settings, where=where)
    try:
        options = cascade_options(spec)
    except ValidationError as e:
        raise ConfigError(f"{where}: cascade {name!r} is invalid: {e}") from e
    _check_steps(name, options, steps, cascades, where)
    used = [steps[s] for s in options.steps]
    return spec.model_copy(
        update={
            "on_premises": all(s.on_premises for s in used),
            "max_sensitivity": max((s.max_sensitivity for s in used), key=lambda x: x.rank),
        }
    )


def _check_steps(
    name: object,
    options: CascadeOptions,
    steps: dict[str, GeneratorSpec],
    cascades: set[object],
    where: object,
) -> None:
    nested = [s for s in options.steps if s in cascades]
    if nested:
        raise ConfigError(
            f"{where}: cascade {name!r} has the cascade {nested[0]!r} as a step; a cascade inside a "
            "cascade is not supported: list that cascade's own steps instead"
        )
    unknown = [s for s in options.steps if s not in steps]
    if unknown:
        raise ConfigError(
            f"{where}: cascade {name!r} has unknown step(s) {', '.join(map(repr, unknown))}; steps are "
            f"ids of other generators in this file: {', '.join(steps)}"
        )
    if len(set(options.steps)) != len(options.steps):
        raise ConfigError(f"{where}: cascade {name!r} lists a step twice: {list(options.steps)}")
    if len(options.thresholds) != len(options.steps) - 1:
        raise ConfigError(
            f"{where}: cascade {name!r} has {len(options.steps)} steps and {len(options.thresholds)} "
            f"threshold(s); give one per step but the last ({len(options.steps) - 1}): the last step "
            "answers whatever its confidence"
        )


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
    if name not in Settings.flat_fields():
        raise ConfigError(f"the generators file refers to ${{{name}}}, which is not a docduet setting")
    found = settings.value(name)
    if found is None or (isinstance(found, SecretStr) and not found.get_secret_value()):
        return default if default not in (None, "") else None
    if isinstance(found, Path):
        return str(found)
    return found
