import re
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


def _shipped_texts():
    """README.md and every text file under docs/ and src/: what a user of the repository reads."""
    yield ROOT / "README.md"
    for folder in ("docs", "src"):
        for path in sorted((ROOT / folder).rglob("*")):
            built = any(part.endswith(".egg-info") or part == "__pycache__" for part in path.parts)
            if (
                path.is_file()
                and not built
                and path.suffix in (".md", ".py", ".toml", ".html", ".js", ".css", ".mako", ".txt")
            ):
                yield path


def test_nothing_points_outside_the_repository():
    # A user of the repository has only the repository: the project documents itself.
    offending = [
        str(path.relative_to(ROOT)) for path in _shipped_texts() if "../shared" in path.read_text(encoding="utf-8")
    ]
    assert offending == []


def test_the_readme_links_only_files_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert {"docs/api.md", "docs/design.md", "docs/rules.md"} <= set(local)
    assert [link for link in local if not (ROOT / link).exists()] == []


def test_the_api_document_points_to_the_generated_action_fields():
    assert "docs/actions.md" in (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
