from builders import World


def test_unanswered_request_is_approved_after_48h(runtime, clock):
    w = World(runtime, clock)
    case = w.case()
    assert case.status == "pending_merchant"
    assert w.advance(hours=47, minutes=59) == 0
    assert w.get_case(case.id).status == "pending_merchant"
    assert w.advance(minutes=1) == 1
    assert w.get_case(case.id).status == "awaiting_return"
