"""The merchant's queue by urgency (reads.case_queue): the pending deadline soonest first, then the
cases without one; keyset pages that keep one order through equal deadlines; filters; tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.errors import ValidationFailed
from aftersales.services import reads
from aftersales.services.context import Actor
from aftersales.services.reads import QueueFilters
from builders import MERCHANT, World


def _queue(runtime, clock, actor=MERCHANT, filters=QueueFilters(), limit=50):
    """Every page of the queue, walked by its cursors: the ids in order, and the pages' sizes."""
    ids, sizes, cursor = [], [], None
    while True:
        with runtime.uow(read_only=True) as uow:
            found = reads.case_queue(uow, actor, clock.now(), filters, cursor, limit)
        ids += [c.id for c in found.items]
        sizes.append(len(found.items))
        cursor = found.next_cursor
        if cursor is None:
            return ids, sizes


def test_the_queue_is_by_deadline_then_the_undated_and_pages_through_equal_deadlines(runtime, clock):
    w = World(runtime, clock)
    early = w.case(type_="refund_only")
    clock.advance(timedelta(hours=1))
    same = [w.case() for _ in range(4)]  # filed at one instant: one deadline, ordered by id
    closed = w.walk(w.case(type_="refund_only"), "approve")  # refunded: no deadline any more
    rejected = w.walk(w.case(), "reject")  # its escalation window (7 days) is the latest deadline
    w.case(w.order(merchant="m-2"))  # another shop's

    open_ids, _ = _queue(runtime, clock)
    assert open_ids == [early.id, *sorted(c.id for c in same), rejected.id]
    for limit in (1, 2, 3):
        paged, sizes = _queue(runtime, clock, limit=limit)
        assert paged == open_ids and max(sizes) <= limit, limit
    everything, _ = _queue(runtime, clock, filters=QueueFilters(status="all"), limit=2)
    assert everything == [*open_ids, closed.id]


def test_the_undated_part_pages_newest_first(runtime, clock):
    w = World(runtime, clock)
    refunded = []
    for _ in range(3):
        refunded.append(w.walk(w.case(type_="refund_only"), "approve"))
        clock.advance(timedelta(minutes=1))
    ids, sizes = _queue(runtime, clock, filters=QueueFilters(status="refunded"), limit=2)
    assert ids == [c.id for c in reversed(refunded)] and sizes == [2, 1]


def test_filters_by_status_type_reason_and_time_left(runtime, clock):
    w = World(runtime, clock)
    soon = w.case(type_="refund_only", reason="not_as_described")
    clock.advance(timedelta(hours=30))
    later = w.case()
    w.walk(w.case(), "reject")
    clock.advance(timedelta(hours=15))  # soon: 3 h left; later: 33 h left
    assert _queue(runtime, clock, filters=QueueFilters(due="4h"))[0] == [soon.id]
    assert _queue(runtime, clock, filters=QueueFilters(due="24h"))[0] == [soon.id]
    assert _queue(runtime, clock, filters=QueueFilters(type="return_refund", status="pending_merchant"))[0] == [
        later.id
    ]
    assert _queue(runtime, clock, filters=QueueFilters(reason="not_as_described"))[0] == [soon.id]
    assert len(_queue(runtime, clock, filters=QueueFilters(status="rejected"))[0]) == 1


def test_a_shop_sees_only_its_own_queue(runtime, clock):
    w = World(runtime, clock)
    w.case()
    other = Actor("merchant", "m-2-staff", merchant_id="m-2")
    assert _queue(runtime, clock, actor=other)[0] == []


@pytest.mark.parametrize(
    "filters",
    [QueueFilters(status="lost"), QueueFilters(type="gift"), QueueFilters(reason="x"), QueueFilters(due="1h")],
)
def test_unknown_filters_and_cursors_are_refused(runtime, clock, filters):
    with runtime.uow(read_only=True) as uow, pytest.raises(ValidationFailed):
        reads.case_queue(uow, MERCHANT, clock.now(), filters, None)
    with runtime.uow(read_only=True) as uow, pytest.raises(ValidationFailed):
        reads.case_queue(uow, MERCHANT, clock.now(), QueueFilters(), "not-a-cursor")
