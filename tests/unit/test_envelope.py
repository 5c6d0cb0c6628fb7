import json

from aftersales.integrations import envelope


def _payload(kind="after_sale", action="approve", **over):
    doc = {
        "id": 41,
        "subject_kind": kind,
        "subject_id": "AS1",
        "action": action,
        "actor_role": "merchant",
        "actor_id": "m1",
        "at": "2026-12-01T08:00:00+00:00",
        "before": {"status": "pending_merchant"},
        "after": {"status": "approved"},
        "data": {},
    }
    return doc | over


def test_an_action_reads_as_what_happened():
    message = envelope.from_outbox("after_sale.approve", _payload())
    assert (message.id, message.type, message.subject) == ("msg_41", "after_sale.approved", "after_sale:AS1")
    body = json.loads(message.body())
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"]["actor"] == {"role": "merchant", "id": "m1"}
    assert body["data"]["after"] == {"status": "approved"}


def test_a_topic_of_its_own_names_the_event():
    message = envelope.from_outbox("dispute.sla_breached", _payload(kind="dispute", action="ruling_overdue"))
    assert message.type == "dispute.sla_breached"


def test_appeals_are_heard_as_a_subject_of_their_own_ordered_with_their_dispute():
    message = envelope.from_outbox("dispute.appeal", _payload(kind="dispute", action="appeal", subject_id="D1"))
    assert (message.type, message.subject) == ("appeal.filed", "dispute:D1")
    assert message.matches(["appeal.*"]) and not message.matches(["dispute.*"])
    assert envelope.event_type("dispute", "decide") == "appeal.decided"


def test_an_action_already_past_is_kept():
    assert envelope.event_type("order", "after_sale_opened") == "order.after_sale_opened"


def test_filters_take_everything_a_subject_or_one_type():
    message = envelope.from_outbox("after_sale.approve", _payload(merchant_id="m1"))
    assert message.merchant_id == "m1"
    assert message.matches(["*"]) and message.matches(["after_sale.*"]) and message.matches(["after_sale.approved"])
    assert not message.matches(["dispute.*", "after_sale.rejected", "after_sale"])


def test_every_action_of_every_kind_has_a_public_name_of_its_own():
    from aftersales.services.kinds import KINDS

    for name, entry in KINDS.items():
        kind = entry.kind
        actions = {*kind.machine.actions, *kind.records, kind.created_by}
        unnamed = sorted(a for a in actions if a not in envelope.PAST and a not in envelope.ALREADY_PAST)
        assert unnamed == [], f"{name}: give these a past form in integrations/envelope.py"
        types = [envelope.event_type(name, a) for a in actions]
        assert len(set(types)) == len(types)
