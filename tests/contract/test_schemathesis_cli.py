"""The real `schemathesis run` CLI, as a marketplace engineer runs it from outside, against the real
server over the demo marketplace, with every check (`--checks all`), with a merchant's, an agent's
and a buyer's token.

tests/contract/test_schemathesis.py draws thousands of fuzzed cases in-process; what only the CLI
runs is here: the coverage phase (each required header left out, each method a path does not take,
each boundary of each schema) and the stateful phase, which follows the document's `links` from a
created resource to its reads and actions (`ensure_resource_availability`: what a 201 created can
be read at once; `use_after_free`: what was deleted stays gone). The seed is fixed, so CI runs the
same cases every time (AFTERSALES_CONTRACT_SEED picks another); the stateful phase runs a few
scenarios, to keep the test within a minute a database."""

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
# requests a role): a merchant's and an agent's runs cover every operation with it; the buyer's is
# the run whose stateful sequences start where buyers do, filing cases and following their links.
# Fuzzing is test_schemathesis.py's, in bulk.
ROLES = {
    "merchant": (("merchant", "m-1-staff", "m-1"), "examples,coverage,stateful"),
    "agent": (("agent", "agent-1", None), "examples,coverage,stateful"),
    "buyer": (("buyer", "b-1", None), "examples,stateful"),
}
SCENARIOS = 10  # stateful scenarios per run (`--max-examples`)


@pytest.fixture(name="settings")
def _settings(settings: Any) -> Any:
    """Out of the limiter's reach (`ignored_auth` fails thousands of authentications from one
    address; one token sends thousands of requests): here the answers behind it are judged."""
    return dataclasses.replace(
        settings, rate_limit_auth_failures="1000000/minute", rate_limit_principal="1000000/minute"
    )


def _start(api: Any, role: str, into: Path) -> subprocess.Popen[str]:
    who, phases = ROLES[role]
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
        str(SCENARIOS),
        "--seed",
        str(SEED),
        "--no-shrink",
        # One worker: Hypothesis describing strategies from several threads at once can fail in
        # CPython 3.11's parser ("AST constructor recursion depth mismatch"), an error of the run.
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {api.token(*who)}",
    ]
    # Its reports and Hypothesis's example database stay in the run's own directory.
    cwd = into / role
    cwd.mkdir()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160", "SCHEMATHESIS_HOOKS": str(HOOKS)}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env)


def test_the_schemathesis_cli_finds_nothing_as_any_role(api, runtime, tmp_path):
    """The three runs go at once: each is one process, and the server answers them all."""
    assert demo.load(runtime)
    runs = {role: _start(api, role, tmp_path) for role in ROLES}
    reports, failed = [], []
    for role, run in runs.items():
        output, _ = run.communicate(timeout=900)
        reports.append(f"--- schemathesis run as {role} (seed {SEED}): exit {run.returncode}\n{output}")
        # A phase asked for that did not run to its end (an error, a failure, a cut) is not "✅".
        incomplete = [p for p in ROLES[role][1].split(",")[1:] if f"✅  {p.title()}" not in output]
        if run.returncode != 0 or incomplete:
            failed.append(role)
    report = "\n".join(reports)
    print(report)
    assert not failed, f"schemathesis found something as {failed}:\n{report}"
