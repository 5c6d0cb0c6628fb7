"""The policy presets shipped with the package (`*.toml` beside this file)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from ..domain.errors import NotFound
from ..domain.policy import Policy

DEFAULT = "douyin@1"


@lru_cache(maxsize=1)
def presets() -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".toml"):
            policy = Policy.from_mapping(tomllib.loads(entry.read_text(encoding="utf-8")))
            found[policy.key] = policy
    return found


def get(key: str) -> Policy:
    try:
        return presets()[key]
    except KeyError:
        raise NotFound(f"no policy {key!r}") from None
