"""A check of ours for Schemathesis, run in-process by tests/contract/test_schemathesis.py and by
the `schemathesis run` CLI when `SCHEMATHESIS_HOOKS` names this file (test_schemathesis_cli.py):
schemathesis.toml lets a valid request be refused by a rule (422 with the rule's code), so this is
what still fails a valid request refused for its shape."""

from __future__ import annotations

import os
from typing import Any

import schemathesis


def shape_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request is never refused for its shape: a 422 whose errors point into the
    request (`["body", ...]`, `["query", ...]`) rather than name a field a rule refused (docs/api.md)."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 422:
        return None
    errors = response.json().get("errors") or []
    # (A rule's own field may be named `body`, as a message's is: a location has a field after it.)
    shape = [e for e in errors if len(e["loc"]) > 1 and e["loc"][0] in ("body", "query", "path", "header")]
    assert not shape, f"a schema-valid request was refused as malformed: {response.text[:300]}"
    return None


if os.path.realpath(os.environ.get("SCHEMATHESIS_HOOKS", "")) == os.path.realpath(__file__):
    schemathesis.check(shape_accepted)
