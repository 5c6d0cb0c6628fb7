"""The action specs, the named groups and the effect registry hold together."""

from __future__ import annotations

import dataclasses

import pytest

from aftersales.domain import cases, complaints, disputes, orders, reviews, roles
from aftersales.domain.actions import ActionSpec, Effect, Label, NoInput, spec_table
from aftersales.domain.errors import Forbidden, ValidationFailed
from aftersales.domain.machine import Machine, transition
from aftersales.services.effects import HANDLERS
from aftersales.services.kinds import KINDS

GROUPS = {
    "after-sale": [cases.TERMINAL, cases.OPEN_BEFORE_REFUND, cases.DEADLINES],
    "order": [orders.DEADLINES],
    "dispute": [
        disputes.TERMINAL,
        disputes.AWAITING_RULING,
        disputes.ACTIVE,
        disputes.IN_HAND,
        disputes.UNSETTLED,
        disputes.DEADLINES,
    ],
    "complaint": [complaints.TERMINAL, complaints.OPEN, complaints.UNDER_REVIEW, complaints.DEADLINES],
    "review": [reviews.REVIEW_MACHINE.terminal],
}


@pytest.mark.parametrize("machine", [k.machine for k in KINDS.values()], ids=lambda m: m.name)
def test_every_status_group_is_a_subset_of_its_machine_statuses(machine):
    for group in GROUPS[machine.name]:
        assert set(group) <= set(machine.statuses), (machine.name, set(group) - set(machine.statuses))
    assert machine.terminal <= set(machine.statuses)


def test_every_role_group_is_made_of_roles():
    for group in (roles.PARTIES, roles.PLATFORM, roles.MARKETPLACE, roles.ALL_TENANTS, roles.TIMER_BOUND):
        assert group <= set(roles.ROLES)
    assert roles.SYSTEM not in roles.TOKEN_ROLES


def test_every_effect_has_one_handler_and_every_effect_is_used():
    assert set(HANDLERS) == set(Effect)
    used = {t.effect for k in KINDS.values() for t in k.machine.transitions if t.effect}
    assert used == set(Effect)


def test_every_action_of_every_machine_has_a_spec_with_labels():
    for entry in KINDS.values():
        assert set(entry.machine.specs) == set(entry.machine.actions)
        for spec in entry.machine.specs.values():
            assert spec.label.zh and spec.label.en, spec.name
            for field in spec.fields:
                assert field.label is not None, (spec.name, field.name)


def test_a_machine_refuses_an_action_without_a_spec_or_a_spec_without_a_transition():
    t = transition("stamp", "new", "stamped", roles.MERCHANT)
    with pytest.raises(ValueError, match="without a spec"):
        Machine("parcel", [t], [], statuses=("new", "stamped"))
    with pytest.raises(ValueError, match="without a transition"):
        Machine(
            "parcel",
            [t],
            [ActionSpec("stamp", Label("盖章", "Stamp")), ActionSpec("seal", Label("封", "Seal"))],
            statuses=("new", "stamped"),
        )


def test_a_spec_cannot_write_an_input_it_does_not_take():
    with pytest.raises(ValueError, match="writes inputs it does not take"):
        spec_table([ActionSpec("stamp", Label("盖章", "Stamp"), NoInput, writes={"mark": "mark"})], ["stamp"], "p")


def test_a_machine_refuses_undeclared_statuses():
    t = transition("stamp", "new", "stampd", roles.MERCHANT)
    with pytest.raises(ValueError, match="statuses not declared"):
        Machine("parcel", [t], [ActionSpec("stamp", Label("盖章", "Stamp"))], statuses=("new", "stamped"))


def test_typed_inputs_from_a_mapping_name_what_is_unknown_or_missing():
    spec = cases.CASE_MACHINE.specs["ship_return"]
    assert spec.make({"carrier": "ZTO", "tracking_number": "ZT1"}) == cases.ShipReturn("ZTO", "ZT1")
    with pytest.raises(ValidationFailed) as missing:
        spec.make({"carrier": "ZTO"})
    assert missing.value.extra["fields"] == ["tracking_number"]
    with pytest.raises(ValidationFailed) as unknown:
        spec.make({"carrier": "ZTO", "tracking_number": "ZT1", "tracking": "x"})
    assert unknown.value.extra["fields"] == ["tracking"]
    given = cases.ShipReturn("SF", "SF1")
    assert spec.typed(given) is given


@dataclasses.dataclass
class _Caller:
    role: str
    id: str
    merchant_id: str | None = None


@dataclasses.dataclass
class _Complaint:
    status: str
    complainant_role: str
    complainant_id: str
    merchant_id: str = "m-1"


def test_only_the_complainant_is_offered_and_allowed_withdraw():
    machine = complaints.COMPLAINT_MACHINE
    filed = _Complaint("awaiting_reply", "buyer", "b-1")
    merchant = _Caller("merchant", "m-1-staff", "m-1")
    assert "withdraw" not in machine.allowed_actions(filed, "merchant", merchant)
    with pytest.raises(Forbidden) as refused:
        machine.resolve(filed, "withdraw", "merchant", merchant)
    assert refused.value.code == "not_complainant"
    assert "withdraw" in machine.allowed_actions(filed, "buyer", _Caller("buyer", "b-1"))
    assert "withdraw" not in machine.allowed_actions(filed, "buyer", _Caller("buyer", "b-2"))
    # A shop's complaint to the platform is withdrawn by any of its staff.
    shop = _Complaint("under_review", "merchant", "m-1-staff")
    assert machine.resolve(shop, "withdraw", "merchant", _Caller("merchant", "m-1-boss", "m-1")).target == "withdrawn"


@pytest.mark.parametrize(
    "use_case,data,names",
    [
        ("cases.file", {"order_id": "o-1"}, ["type", "reason"]),
        ("cases.file", {"order_id": "o-1", "type": "refund_only", "reason": "damaged", "amout": 1}, ["amout"]),
        ("orders.create", {"id": "o-1", "buyer_id": "b-1"}, ["merchant_id", "payment_method", "currency", "items"]),
        ("complaints.file", {"category": "other"}, ["description"]),
        ("rulings.apply_for_arbitration", {"statement": "x"}, ["after_sale_id"]),
    ],
)
def test_no_caller_of_a_use_case_can_cause_a_key_error(use_case, data, names):
    """Use cases take typed inputs; a mapping from a caller that skipped the API's models (the
    CLI, the demo, a test) is checked against them first: a 422 naming the fields, nothing read."""
    from aftersales.services import cases, complaints, orders, rulings

    module, name = use_case.split(".")
    function = {"cases": cases, "orders": orders, "complaints": complaints, "rulings": rulings}[module].__dict__[name]
    with pytest.raises(ValidationFailed) as refused:
        function(None, None, _Caller("buyer", "b-1"), data)  # no unit of work or env is reached
    assert refused.value.extra["fields"] == names
