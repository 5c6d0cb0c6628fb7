"""The policy presets shipped with the package (`*.toml` beside this file), and the review
content rules (`review_rules.toml`)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from ..domain.errors import NotFound
from ..domain.policy import Policy
from ..domain.reviews import ContentRule, rules_from

DEFAULT = "douyin@1"
REVIEW_RULES = "review_rules.toml"


@lru_cache(maxsize=1)
def presets() -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    for entry in resources.files(__package__).iterdir():
        if entry.name.endswith(".toml") and entry.name != REVIEW_RULES:
            policy = Policy.from_mapping(tomllib.loads(entry.read_text(encoding="utf-8")))
            found[policy.key] = policy
    return found


def get(key: str) -> Policy:
    try:
        return presets()[key]
    except KeyError:
        raise NotFound(f"no policy {key!r}") from None


@lru_cache(maxsize=1)
def review_rules() -> tuple[ContentRule, ...]:
    """What reviews and replies may not contain: the rules file read once."""
    return rules_from(tomllib.loads(resources.files(__package__).joinpath(REVIEW_RULES).read_text(encoding="utf-8")))
