"""Every code the rules define has a label in both languages, and no label names a code that
does not exist (a renamed status would otherwise show as its raw code in the console)."""

import pytest

from aftersales.domain import labels
from aftersales.services.kinds import KINDS


@pytest.mark.parametrize("name", sorted(labels.VOCABULARIES))
def test_every_code_has_a_chinese_and_an_english_label(name):
    table, codes = labels.VOCABULARIES[name]
    assert set(table) == set(codes), f"{name}: labels differ from the codes"
    for code in codes:
        assert table[code].zh and table[code].en and table[code].zh != code


def test_every_kind_s_statuses_are_labelled():
    for entry in KINDS.values():
        if entry.name in labels.STATUS_BY_KIND:
            assert set(labels.STATUS_BY_KIND[entry.name]) == set(entry.machine.statuses), entry.name


def test_every_event_a_timeline_records_has_its_words():
    for entry in KINDS.values():
        assert labels.MACHINES[entry.name] is entry.machine and entry.name in labels.SUBJECT
        recorded = {entry.kind.created_by, *entry.kind.records} - set(entry.machine.specs)
        assert recorded <= set(labels.EVENT), (entry.name, recorded - set(labels.EVENT))
        for action in (*entry.machine.specs, *recorded):
            found = labels.event(entry.name, action)
            assert found.zh and found.en and found.zh != action, (entry.name, action)


def test_an_unknown_code_reads_as_itself():
    assert labels.of(labels.CASE_STATUS, "future_status").en == "future_status"
    assert labels.of(labels.CASE_STATUS, None) is None
