"""The real `schemathesis run` CLI, as a marketplace engineer runs it from outside, against the real
server over the demo marketplace, with every check (`--checks all`), once per role's token.

tests/contract/test_schemathesis.py draws thousands of fuzzed cases in-process; what only the CLI
runs is here: the coverage phase (each required header left out, each method a path does not take,
each boundary of each schema) and the stateful phase, which follows the document's `links` from a
created resource to its reads and actions (`ensure_resource_availability`: what a 201 created can
be read at once; `use_after_free`: what was deleted stays gone). The seed is fixed, so CI runs the
same cases every time; the fuzzing and stateful phases are bounded by `--max-time` to keep the
test within a minute a database."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aftersales import demo

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).resolve().parents[2]
HOOKS = ROOT / "tests" / "schemathesis_hooks.py"
SEED = int(os.environ.get("AFTERSALES_CONTRACT_SEED") or 20261201)
# Who calls, each in a run of its own (the token goes in every request; `ignored_auth` sends each
# again without it), and the phases each runs. The coverage phase is the long one (some 4,500
# requests): a merchant's and an agent's run cover every operation with it; the buyer's run is the
# one whose stateful sequences start where buyers do, filing cases and following their links.
ALL = "examples,coverage,fuzzing,stateful"
ROLES = {
    "merchant": (("merchant", "m-1-staff", "m-1"), ALL),
    "agent": (("agent", "agent-1", None), ALL),
    "buyer": (("buyer", "b-1", None), "examples,fuzzing,stateful"),
}
# Fuzzed cases per operation, and stateful scenarios: test_schemathesis.py fuzzes in bulk.
MAX_EXAMPLES = 2


@pytest.fixture(name="settings")
def _settings(settings: Any) -> Any:
    """Out of the limiter's reach (`ignored_auth` fails thousands of authentications from one
    address; one token sends thousands of requests): here the answers behind it are judged."""
    return dataclasses.replace(
        settings, rate_limit_auth_failures="1000000/minute", rate_limit_principal="1000000/minute"
    )


def _run(api: Any, role: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    who, phases = ROLES[role]
    token = api.token(*who)
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(ROOT / "schemathesis.toml"),
        "run",
        f"{api.base_url}/openapi.json",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        phases,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--no-shrink",
        # One worker: Hypothesis describing strategies from several threads at once can fail in
        # CPython 3.11's parser ("AST constructor recursion depth mismatch"), an error of the run.
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {token}",
    ]
    # Its reports and Hypothesis's example database stay in the test's own directory.
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "SCHEMATHESIS_HOOKS": str(HOOKS)}
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_schemathesis_cli_finds_nothing(api, runtime, role, tmp_path):
    assert demo.load(runtime)
    run = _run(api, role, tmp_path)
    report = f"schemathesis run as {role} (seed {SEED}): exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    print(report)
    assert run.returncode == 0, report
    # Each phase asked for ran to its end (a phase cut short is reported as skipped).
    for phase in ROLES[role][1].split(","):
        assert f"✅  {phase.title()}" in run.stdout or f"⏭   {phase.title()}" in run.stdout, report
