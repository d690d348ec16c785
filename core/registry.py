"""Name -> factory registries: built-ins register exactly like later additions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a settings string to a factory; unknown names list the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ConfigError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return deco

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None
