"""Parsing the evaluation's list options (``--generators``, ``--alphas``) for the CLI and the benches."""

from __future__ import annotations

from core.errors import ConfigError


def parse_list(text: str, what: str) -> tuple[str, ...]:
    """``"slm, llm"`` -> ``("slm", "llm")``; ConfigError when empty."""
    items = tuple(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
    if not items:
        raise ConfigError(f"--{what} needs at least one value, e.g. --{what} slm,llm")
    return items


def parse_alphas(text: str) -> tuple[float, ...]:
    """Comma-separated numbers within 0..1."""
    try:
        alphas = tuple(float(x) for x in parse_list(text, "alphas"))
    except ValueError as e:
        raise ConfigError(f"--alphas takes numbers between 0 and 1, e.g. 0.25,0.5 ({e})") from e
    if any(not 0 <= a <= 1 for a in alphas):
        raise ConfigError(f"--alphas must lie between 0 and 1, got {text}")
    return alphas
