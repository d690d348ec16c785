"""One typed settings object in sections, built once at each entry point.

Each section (``settings.weaviate``, ``settings.retrieval``, ...) is a pydantic-settings class in
:mod:`core.sections` that reads the environment with the ``DOCDUET_`` prefix when built; a field
is named as its variable without the prefix (``settings.retrieval.top_k`` reads
``DOCDUET_TOP_K``), and a few well-known variables are accepted as they are (``WEAVIATE_URL``,
``WEAVIATE_API_KEY``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``SLACK_BOT_TOKEN``, ...).
A component is given the section it reads. Secrets are ``SecretStr`` and never printed.

Field names are unique across sections, so the flat name still works where one is handy:
``Settings(top_k=8, data_dir=tmp)`` and ``settings.replace(top_k=8)`` put each value in its
section, and ``${top_k}`` in a generators file reads it (:meth:`Settings.value`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from core.sections.answers import GenerationSettings, LinkSettings, RetrievalSettings
from core.sections.base import Section
from core.sections.costs import CostSettings
from core.sections.ingest import EmbeddingSettings, IngestSettings
from core.sections.people import IdentitySettings, OidcSettings, RateLimitSettings, WebSettings
from core.sections.slack import SlackSettings
from core.sections.storage import PathSettings, WeaviateSettings

__all__ = [
    "CostSettings",
    "EmbeddingSettings",
    "GenerationSettings",
    "IdentitySettings",
    "IngestSettings",
    "LinkSettings",
    "OidcSettings",
    "PathSettings",
    "RateLimitSettings",
    "RetrievalSettings",
    "Settings",
    "SlackSettings",
    "WeaviateSettings",
    "WebSettings",
]


class Settings(BaseModel):
    """All of docduet's configuration, one section per component."""

    model_config = ConfigDict(frozen=True)

    paths: PathSettings = Field(default_factory=PathSettings)
    weaviate: WeaviateSettings = Field(default_factory=WeaviateSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    links: LinkSettings = Field(default_factory=LinkSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    ratelimit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    costs: CostSettings = Field(default_factory=CostSettings)

    @model_validator(mode="before")
    @classmethod
    def _sections_from_flat_names(cls, data: Any) -> Any:
        """``Settings(top_k=8)`` -> ``Settings(retrieval=RetrievalSettings(top_k=8))``."""
        return _route(data) if isinstance(data, dict) else data

    def replace(self, **changes: Any) -> Settings:
        """A copy with fields changed by their flat names (not validated, as ``model_copy``)."""
        by_section: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            by_section.setdefault(section_of(name), {})[name] = value
        return self.model_copy(
            update={s: getattr(self, s).model_copy(update=u) for s, u in by_section.items()}
        )

    def value(self, name: str) -> Any:
        """The field ``name`` of whichever section holds it (``value("top_k")``)."""
        return getattr(getattr(self, section_of(name)), name)

    @classmethod
    def flat_fields(cls) -> dict[str, FieldInfo]:
        """Every section's fields by their flat names (what ``${name}`` and ``replace`` take)."""
        return {name: section_class(s).model_fields[name] for name, s in _SECTION_OF.items()}


def section_class(name: str) -> type[Section]:
    """The class of the section ``name`` (``"retrieval"`` -> :class:`RetrievalSettings`)."""
    annotation = Settings.model_fields[name].annotation
    assert isinstance(annotation, type) and issubclass(annotation, Section)
    return annotation


def section_of(name: str) -> str:
    """The section holding the field ``name``; a name no section has is refused."""
    try:
        return _SECTION_OF[name]
    except KeyError:
        raise AttributeError(
            f"{name!r} is not a docduet setting; see docs/configuration.md for the names"
        ) from None


_SECTION_OF: dict[str, str] = {
    field: section for section in Settings.model_fields for field in section_class(section).model_fields
}
_ALIASES: dict[str, str] = {
    choice: field
    for field, section in _SECTION_OF.items()
    for choice in getattr(section_class(section).model_fields[field].validation_alias, "choices", ())
    if isinstance(choice, str)
}


def _route(data: dict[str, Any]) -> dict[str, Any]:
    """Flat field names (or their variable names) into sections; each section built with them."""
    options = {k: v for k, v in data.items() if k.startswith("_")}  # _env_file and the like
    given = {k: v for k, v in data.items() if k in Settings.model_fields}
    flat: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key.startswith("_") or key in given:
            continue
        name = _ALIASES.get(key, key)
        if name not in _SECTION_OF:
            raise TypeError(f"Settings() got {key!r}, which is not a docduet setting")
        flat.setdefault(_SECTION_OF[name], {})[key] = value
    out: dict[str, Any] = {}
    for section in Settings.model_fields:
        value = given.get(section)
        if section in flat and value is not None:
            raise TypeError(f"give the {section} settings either as a section or by field, not both")
        if isinstance(value, Section):
            out[section] = value
        elif value is not None or section in flat or options:
            out[section] = section_class(section)(**options, **(value or flat.get(section, {})))
    return out
