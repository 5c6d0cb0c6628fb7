from datetime import UTC, datetime

from aftersales.domain.ids import new_id

T = datetime(2026, 11, 24, tzinfo=UTC)


def test_ids_made_at_the_same_instant_still_sort_in_creation_order():
    ids = [new_id("as", T) for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert all(i.startswith("as_") and len(i) == 29 for i in ids)


def test_a_later_time_sorts_after_an_earlier_one_and_carries_its_time():
    # Far beyond any time the other tests used: ids never go back in time within a process.
    earlier = new_id("as", datetime(2200, 1, 1, tzinfo=UTC))
    later = new_id("as", datetime(2200, 1, 2, tzinfo=UTC))
    assert later > earlier and later[3:13] != earlier[3:13]
