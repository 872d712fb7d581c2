"""The email package's caches, registered where they are made so clearing them all cannot miss one.

Every cache in ``digest.email`` (a ``functools`` cache or the inlined-card LRU) is wrapped in
:func:`registered` at its definition; :func:`email_caches_clear` clears exactly the registry. A test walks
the package and fails on any object with a ``cache_clear`` that is not registered.
"""

from __future__ import annotations

from typing import Protocol, TypeVar


class Clearable(Protocol):
    def cache_clear(self) -> None: ...


C = TypeVar("C", bound=Clearable)

REGISTRY: list[Clearable] = []


def registered(cache: C) -> C:
    """Put a cache on the list :func:`email_caches_clear` clears (use it as the outermost decorator)."""
    REGISTRY.append(cache)
    return cache


def email_caches_clear() -> None:
    """Forget every cache: inlined templates and cards, cleaned texts, wrapped lines (tests; a long-lived
    process after a template change)."""
    for cache in REGISTRY:
        cache.cache_clear()
