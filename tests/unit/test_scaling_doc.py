"""docs/scaling.md's table of how each table would be placed on Citus, held against the schema:
a table added, a column gained or a constraint changed without the plan saying what becomes of
it fails here, so the plan keeps up with tables.py."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from aftersales.store import tables

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
BEGIN, END = "<!-- citus-placement: begin -->", "<!-- citus-placement: end -->"
CLASSES = {"distributed", "reference", "local"}


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("`", "") for cell in line.strip().strip("|").split("|")]


def placement() -> dict[str, dict[str, str]]:
    """The doc's table: table name -> its class, distribution column, whether the table has that
    column today (yes/no), and the changes the plan lists for it."""
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"docs/scaling.md lost its {BEGIN} … {END} table"
    lines = [line for line in text.split(BEGIN, 1)[1].split(END, 1)[0].splitlines() if line.startswith("|")]
    header = _cells(lines[0])
    assert header == ["table", "class", "distribution column", "column today", "changes"]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[2:]:  # (after the header and its |---| line)
        row = dict(zip(header, _cells(line), strict=True))
        assert row["table"] not in rows, f"{row['table']} is placed twice"
        rows[row["table"]] = row
    return rows


PLACED = placement()


def test_every_table_of_the_schema_is_placed_and_no_other():
    assert set(PLACED) == set(tables.metadata.tables)


@pytest.mark.parametrize("name", sorted(PLACED))
def test_each_placement_is_one_of_citus_kinds(name):
    row = PLACED[name]
    assert row["class"] in CLASSES
    if row["class"] == "distributed":
        assert re.fullmatch(r"[a-z_]+", row["distribution column"]), name
        assert row["column today"] in ("yes", "no"), name
    else:
        assert row["distribution column"] in ("", "—"), f"{name} is not distributed: it has no distribution column"


def _distributed() -> list[str]:
    return sorted(name for name, row in PLACED.items() if row["class"] == "distributed")


@pytest.mark.parametrize("name", _distributed())
def test_a_distributed_table_has_its_column_or_the_plan_adds_it(name):
    row, table = PLACED[name], tables.metadata.tables[name]
    column = row["distribution column"]
    if row["column today"] == "yes":
        assert column in table.c, f"{name} has no {column} column: the doc says it has"
        # Citus refuses a row whose distribution column is NULL.
        assert not table.c[column].nullable, f"{name}.{column} may be NULL: it cannot distribute the table"
    else:
        assert column not in table.c, f"{name} has {column} now: mark it 'yes' in docs/scaling.md"
        assert f"add {column}" in row["changes"], f"the plan for {name} must say it adds {column}"


def _unique_keys(table: sa.Table) -> list[tuple[str, set[str]]]:
    """The table's primary key and every unique constraint or unique index, as (kind, columns)."""
    keys = [("primary key", {c.name for c in table.primary_key.columns})]
    keys += [("unique", {c.name for c in k.columns}) for k in table.constraints if isinstance(k, sa.UniqueConstraint)]
    keys += [("unique", {c.name for c in index.columns}) for index in table.indexes if index.unique]
    keys += [("unique", {c.name}) for c in table.c if c.unique]
    return keys


@pytest.mark.parametrize("name", _distributed())
def test_a_distributed_tables_unique_keys_hold_its_column_or_the_plan_widens_them(name):
    # Citus enforces uniqueness within a shard only: a key must contain the distribution column.
    row, table = PLACED[name], tables.metadata.tables[name]
    for kind, columns in _unique_keys(table):
        if row["distribution column"] not in columns:
            assert kind in row["changes"], f"{name}'s {kind} {sorted(columns)} lacks the distribution column"


def _colocated(a: str, b: str) -> bool:
    """Whether two distributed tables share shards: both by the shop (merchant_id, or merchants.id)."""
    shop = {"merchant_id"}
    return {PLACED[a]["distribution column"], PLACED[b]["distribution column"]} <= shop | (
        {"id"} if "merchants" in (a, b) else set()
    )


@pytest.mark.parametrize("name", sorted(PLACED))
def test_foreign_keys_are_ones_citus_can_keep(name):
    row, table = PLACED[name], tables.metadata.tables[name]
    for fk in table.foreign_key_constraints:
        target = PLACED[fk.referred_table.name]
        if row["class"] != "distributed":
            # Reference and coordinator tables may point only at tables every node has.
            assert target["class"] != "distributed", f"{name} → {fk.referred_table.name}"
            continue
        if target["class"] != "distributed":
            continue  # distributed → reference: Citus keeps it
        columns = {c.name for c in fk.columns}
        if not _colocated(name, fk.referred_table.name):
            assert f"drop the foreign key to {fk.referred_table.name}" in row["changes"], (
                f"{name} → {fk.referred_table.name}: not colocated, Citus cannot keep that foreign key"
            )
        elif row["distribution column"] not in columns:
            assert f"foreign key to {fk.referred_table.name}" in row["changes"], (
                f"{name} → {fk.referred_table.name} must carry the distribution column"
            )


def test_the_section_on_what_lacks_the_shop_names_exactly_those_tables():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### 4.2 ", 1)[1].split("\n### ", 1)[0]
    lacking = {n for n in _distributed() if PLACED[n]["column today"] == "no"}
    assert lacking, "every distributed table has its column: the 'what lacks the shop' section is done"
    named = {n for n in re.findall(r"`([a-z_]+)`", section) if n in PLACED}
    assert named == lacking
