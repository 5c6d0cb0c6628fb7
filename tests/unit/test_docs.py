import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_state_machine_doc_is_generated_from_the_tables():
    out = subprocess.run(
        [sys.executable, "-m", "aftersales.cli", "machines"], capture_output=True, text=True, check=True
    ).stdout
    assert (ROOT / "docs" / "state-machines.md").read_text(encoding="utf-8") == out, (
        "docs/state-machines.md is stale: run `aftersales machines > docs/state-machines.md`"
    )


def test_actions_doc_is_generated_from_the_specs():
    out = subprocess.run(
        [sys.executable, "-m", "aftersales.cli", "actions"], capture_output=True, text=True, check=True
    ).stdout
    assert "`POST /v1/after-sales/{id}/ship-return`" in out
    assert (ROOT / "docs" / "actions.md").read_text(encoding="utf-8") == out, (
        "docs/actions.md is stale: run `aftersales actions > docs/actions.md`"
    )
