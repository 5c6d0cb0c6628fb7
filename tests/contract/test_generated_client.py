"""A client generated from the served /openapi.json with openapi-python-client, as a marketplace
generates one, runs a buyer's, a merchant's and an agent's main journeys against a real server.

Nothing here speaks HTTP by hand except the fetch of the document: every call is a generated
function, every body a generated model, every answer parsed by the generated code. The client is
generated once per distinct document (both databases serve the same one) into the session's
temporary directory, never into the repository. A generator warning about an operation the
journeys use fails the tests; the others are printed (docs/api.md, "Generating a client")."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# The operations the journeys call, as the document names them (method and path template).
JOURNEY = (
    "POST /v1/orders",
    "POST /v1/orders/{subject_id}/pay",
    "POST /v1/orders/{subject_id}/ship",
    "POST /v1/orders/{subject_id}/deliver",
    "GET /v1/orders/{order_id}",
    "POST /v1/after-sales",
    "GET /v1/after-sales/{case_id}",
    "POST /v1/after-sales/{subject_id}/approve",
    "POST /v1/after-sales/{subject_id}/ship-return",
    "POST /v1/after-sales/{subject_id}/confirm-receipt",
    "POST /v1/after-sales/{subject_id}/reject",
    "POST /v1/after-sales/{subject_id}/escalate",
    "GET /v1/disputes/{dispute_id}",
    "POST /v1/disputes/{subject_id}/rule",
    "POST /v1/disputes/{dispute_id}/appeals",
    "POST /v1/appeals/{appeal_id}/decide",
)
# A warning's first line names the operation it is about (openapi-python-client's wording).
_OPERATION_WARNING = re.compile(r"^(?:WARNING|ERROR) parsing (\w+) (\S+) within ", re.MULTILINE)
_DECLARED = re.compile(r'"method": "(\w+)",\s*"url": "([^"]+)"')
_BOILERPLATE = ("Warning(s) encountered while generating", "If you believe this was a mistake")


class Generated:
    """The generated package: its operations by method and path, its models, a client per caller."""

    def __init__(self, root: Path, package: str, warnings: list[str]) -> None:
        self.package, self.warnings = package, warnings
        self.models = importlib.import_module(f"{package}.models")
        self._client = importlib.import_module(f"{package}.client")
        # Each generated operation module states the method and path template it requests.
        self._modules = {}
        for module in (root / "api").glob("*/*.py"):
            declared = _DECLARED.search(module.read_text())
            if declared:
                key = f"{declared[1].upper()} {declared[2]}"
                self._modules[key] = f"{package}.api.{module.parent.name}.{module.stem}"

    def op(self, operation: str) -> ModuleType:
        """The generated module of `operation` ("POST /v1/orders"): sync_detailed, sync, asyncio..."""
        return importlib.import_module(self._modules[operation])

    def client(self, api: Any, role: str, sub: str, merchant_id: str | None = None) -> Any:
        # raise_on_unexpected_status: a status the document does not declare fails the journey.
        return self._client.AuthenticatedClient(
            base_url=api.base_url, token=api.token(role, sub, merchant_id), raise_on_unexpected_status=True
        )


def _warnings(stderr: str) -> list[str]:
    """The generator's warnings, one block each. It prints each as paragraphs: a header line, a
    detail, the offending part of the document as JSON; a header naming an operation, or any
    paragraph after a block's detail that is not its JSON, starts the next block."""
    blocks: list[list[str]] = []
    lines = [line for line in stderr.splitlines() if not line.startswith(_BOILERPLATE)]
    for paragraph in (p.strip() for p in "\n".join(lines).split("\n\n")):
        if not paragraph:
            continue
        continues = blocks and not _OPERATION_WARNING.match(paragraph)
        if continues and (paragraph.startswith("{") or len(blocks[-1]) == 1):
            blocks[-1].append(paragraph)
        else:
            blocks.append([paragraph])
    return ["\n\n".join(block) for block in blocks]


def _generate(document: dict[str, Any], into: Path) -> Generated:
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]
    package = f"aftersales_client_{digest}"
    source = into / f"{package}.json"
    source.write_text(json.dumps(document))
    # ruff, which formats the generated code, is in the same venv as the generator.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [GENERATOR, "generate", "--path", source, "--output-path", into / package, "--meta", "none"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, f"openapi-python-client failed:\n{run.stdout}\n{run.stderr}"
    sys.path.insert(0, str(into))
    return Generated(into / package, package, _warnings(run.stderr))


@pytest.fixture(scope="session")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[dict[str, Any]], Generated]]:
    """`generate(document)`: the client for that document, generated once per distinct document."""
    into = tmp_path_factory.mktemp("generated_client")
    done: dict[str, Generated] = {}

    def get(document: dict[str, Any]) -> Generated:
        key = json.dumps(document, sort_keys=True)
        if key not in done:
            done[key] = _generate(document, into)
        return done[key]

    yield get
    if str(into) in sys.path:
        sys.path.remove(str(into))


@pytest.fixture
def gen(api: Any, generate: Callable[[dict[str, Any]], Generated]) -> Generated:
    generated = generate(api.anonymous.get("/openapi.json").json())
    blocking, others = [], []
    for warning in generated.warnings:
        named = _OPERATION_WARNING.match(warning)
        # A warning naming no operation (a schema it skipped, say) may hit any of them.
        about_journey = named is None or f"{named[1]} {named[2]}" in JOURNEY
        (blocking if about_journey else others).append(warning)
    if others:
        print("openapi-python-client warnings on operations the journeys do not use:", *others, sep="\n\n")
    assert not blocking, "openapi-python-client warnings on the journeys' operations:\n\n" + "\n\n".join(blocking)
    missing = [operation for operation in JOURNEY if operation not in generated._modules]
    assert not missing, f"not generated: {missing}"
    return generated


def _ok(response: Any, model: type, status: int = 200) -> Any:
    """The parsed answer of a generated call, which must be `status` and a `model`."""
    assert response.status_code == status, f"{response.status_code} {response.content!r}"
    assert isinstance(response.parsed, model), type(response.parsed)
    return response.parsed


def _order(m: Any, order_id: str) -> Any:
    return m.OrderIn(
        id=order_id,
        buyer_id="b-1",
        merchant_id="m-1",
        payment_method=m.PaymentMethod.ONLINE,
        currency="CNY",
        shipping_fee=1000,
        items=[m.Item(sku="tea-250g", title="西湖龙井 250g", quantity=2, unit_price=9900)],
    )


def _delivered_order(gen: Generated, api: Any, order_id: str) -> Any:
    """The marketplace feeds an order and takes it to delivered, through the generated client."""
    m = gen.models
    market = gen.client(api, "integration", "marketplace")
    order = _ok(gen.op("POST /v1/orders").sync_detailed(client=market, body=_order(m, order_id)), m.Order, 201)
    assert order.status == m.OrderStatus.AWAITING_PAYMENT and order.total == 20800
    paid = gen.op("POST /v1/orders/{subject_id}/pay").sync_detailed(order_id, client=market)
    assert _ok(paid, m.Order).status == m.OrderStatus.STOCKING
    shipped = gen.op("POST /v1/orders/{subject_id}/ship").sync_detailed(
        order_id, client=market, body=m.OrderShip(carrier="SF", tracking_number=f"SF-{order_id}")
    )
    assert _ok(shipped, m.Order).status == m.OrderStatus.SHIPPED
    delivered = gen.op("POST /v1/orders/{subject_id}/deliver").sync_detailed(order_id, client=market)
    return _ok(delivered, m.Order)


def _file(gen: Generated, buyer: Any, order_id: str, kind: Any, **fields: Any) -> Any:
    m = gen.models
    body = m.CaseIn(order_id=order_id, type_=kind, reason=m.CaseReason.QUALITY_PROBLEM, description="茶叶受潮结块")
    response = gen.op("POST /v1/after-sales").sync_detailed(client=buyer, body=body, **fields)
    return response, _ok(response, m.Case, 201)


def test_return_refund_journey_buyer_and_merchant(gen, api):
    """File a return, approve it with an address, ship the goods back, confirm receipt: refunded."""
    m = gen.models
    assert _delivered_order(gen, api, "o-gen-1").status == m.OrderStatus.DELIVERED
    buyer = gen.client(api, "buyer", "b-1")
    merchant = gen.client(api, "merchant", "m-1-staff", "m-1")

    filing, case = _file(gen, buyer, "o-gen-1", m.CaseType.RETURN_REFUND, idempotency_key="file-o-gen-1")
    assert (case.status, case.type_, case.amount) == (m.CaseStatus.PENDING_MERCHANT, m.CaseType.RETURN_REFUND, 19800)
    # A retry under the same Idempotency-Key is the first answer again, not a second request.
    again, replayed = _file(gen, buyer, "o-gen-1", m.CaseType.RETURN_REFUND, idempotency_key="file-o-gen-1")
    assert replayed.id == case.id and again.headers["etag"] == filing.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in filing.headers

    approve = gen.op("POST /v1/after-sales/{subject_id}/approve")
    stale = approve.sync_detailed(
        case.id, client=merchant, body=m.AfterSaleApprove(return_address="杭州"), if_match=f'"{case.version + 7}"'
    )
    problem = _ok(stale, m.Problem, 412)
    assert (problem.status, problem.code) == (412, "precondition_failed")
    approved = approve.sync_detailed(
        case.id, client=merchant, body=m.AfterSaleApprove(return_address="杭州"), if_match=filing.headers["etag"]
    )
    approved_case = _ok(approved, m.Case)
    assert approved_case.status == m.CaseStatus.AWAITING_RETURN and approved_case.return_address == "杭州"
    assert approved.headers["etag"] == f'"{approved_case.version}"'

    shipped = gen.op("POST /v1/after-sales/{subject_id}/ship-return").sync_detailed(
        case.id, client=buyer, body=m.AfterSaleShipReturn(carrier="ZTO", tracking_number="ZT9")
    )
    shipped_case = _ok(shipped, m.Case)
    assert shipped_case.status == m.CaseStatus.RETURN_SHIPPED
    assert (shipped_case.return_shipment.carrier, shipped_case.return_shipment.tracking_number) == ("ZTO", "ZT9")

    received = gen.op("POST /v1/after-sales/{subject_id}/confirm-receipt").sync_detailed(case.id, client=merchant)
    assert _ok(received, m.Case).status == m.CaseStatus.REFUNDED

    seen = _ok(gen.op("GET /v1/after-sales/{case_id}").sync_detailed(case.id, client=buyer), m.Case)
    assert seen.status == m.CaseStatus.REFUNDED and seen.closed_at is not None
    order = _ok(gen.op("GET /v1/orders/{order_id}").sync_detailed("o-gen-1", client=buyer), m.Order)
    assert order.refunded_amount == 19800  # the goods, not the shipping


def test_dispute_journey_buyer_merchant_and_two_agents(gen, api):
    """Reject, escalate, rule for the buyer, the merchant appeals, another agent upholds."""
    m = gen.models
    _delivered_order(gen, api, "o-gen-2")
    buyer = gen.client(api, "buyer", "b-1")
    merchant = gen.client(api, "merchant", "m-1-staff", "m-1")
    ruler, reviewer = gen.client(api, "agent", "agent-1"), gen.client(api, "agent", "agent-2")

    _, case = _file(gen, buyer, "o-gen-2", m.CaseType.REFUND_ONLY)
    rejected = gen.op("POST /v1/after-sales/{subject_id}/reject").sync_detailed(
        case.id,
        client=merchant,
        body=m.AfterSaleReject(reason=m.RejectReason.NO_QUALITY_ISSUE, note="出厂检验合格"),
    )
    rejected_case = _ok(rejected, m.Case)
    assert (rejected_case.status, rejected_case.reject_reason) == (m.CaseStatus.REJECTED, "no_quality_issue")

    escalated = gen.op("POST /v1/after-sales/{subject_id}/escalate").sync_detailed(
        case.id, client=buyer, body=m.AfterSaleEscalate(statement="茶叶确实受潮，请平台介入")
    )
    escalated_case = _ok(escalated, m.Case)
    assert escalated_case.status == m.CaseStatus.IN_INTERVENTION and escalated_case.dispute_id
    dispute_id = escalated_case.dispute_id
    get_dispute = gen.op("GET /v1/disputes/{dispute_id}")
    assert _ok(get_dispute.sync_detailed(dispute_id, client=ruler), m.DisputeRead).status == m.DisputeStatus.OPEN

    rule = m.DisputeRule(
        outcome=m.RulingOutcome.REFUND,
        liable_party=m.LiableParty.MERCHANT,
        rationale="开箱照片显示受潮",
    )
    ruled = _ok(
        gen.op("POST /v1/disputes/{subject_id}/rule").sync_detailed(dispute_id, client=ruler, body=rule), m.Dispute
    )
    assert ruled.status == m.DisputeStatus.RULED
    assert (ruled.ruling.outcome, ruled.ruling.liable_party, ruled.ruling.ruled_by) == (
        m.RulingOutcome.REFUND,
        "merchant",
        "agent-1",
    )

    filed = gen.op("POST /v1/disputes/{dispute_id}/appeals").sync_detailed(
        dispute_id, client=merchant, body=m.DisputeAppeal(grounds="买家已开封饮用")
    )
    appeal = _ok(filed, m.Appeal, 201)
    assert appeal.status == m.AppealStatus.PENDING and appeal.grounds == "买家已开封饮用"
    appealed = _ok(get_dispute.sync_detailed(dispute_id, client=merchant), m.DisputeRead)
    assert appealed.status == m.DisputeStatus.APPEALED

    decide = gen.op("POST /v1/appeals/{appeal_id}/decide")
    body = m.AppealDecide(decision=m.AppealDecideDecision.UPHOLD, rationale="受潮证据充分")
    same_agent = _ok(decide.sync_detailed(appeal.id, client=ruler, body=body), m.Problem, 403)
    assert same_agent.code == "same_agent"
    decided = _ok(decide.sync_detailed(appeal.id, client=reviewer, body=body), m.Appeal)
    assert (decided.status, decided.decided_by) == (m.AppealStatus.UPHELD, "agent-2")
    final = _ok(get_dispute.sync_detailed(dispute_id, client=buyer), m.DisputeRead)
    assert final.status == m.DisputeStatus.FINAL and final.ruling.outcome == m.RulingOutcome.REFUND
    refunded = _ok(gen.op("GET /v1/after-sales/{case_id}").sync_detailed(case.id, client=buyer), m.Case)
    assert refunded.status == m.CaseStatus.REFUNDED


def test_another_tenants_case_is_a_problem_the_client_parses(gen, api):
    """An error answer comes back as the generated Problem model, with its stable code."""
    m = gen.models
    _delivered_order(gen, api, "o-gen-3")
    _, case = _file(gen, gen.client(api, "buyer", "b-1"), "o-gen-3", m.CaseType.RETURN_REFUND)
    stranger = gen.client(api, "buyer", "b-2")
    other_shop = gen.client(api, "merchant", "m-2-staff", "m-2")
    get_case = gen.op("GET /v1/after-sales/{case_id}")
    for caller in (stranger, other_shop):
        problem = _ok(get_case.sync_detailed(case.id, client=caller), m.Problem, 404)
        missing = _ok(get_case.sync_detailed("as_missing", client=caller), m.Problem, 404)
        assert (problem.status, problem.code, problem.title) == (missing.status, missing.code, missing.title)
        assert problem.code == "not_found"
        assert problem.type_.endswith(problem.code)


def test_an_action_whose_body_is_optional_can_be_called_without_one(gen, api):
    m = gen.models
    market = gen.client(api, "integration", "marketplace")
    _ok(gen.op("POST /v1/orders").sync_detailed(client=market, body=_order(m, "o-gen-4")), m.Order, 201)
    paid = gen.op("POST /v1/orders/{subject_id}/pay").sync_detailed("o-gen-4", client=market)
    assert _ok(paid, m.Order).status == m.OrderStatus.STOCKING
    # And the journeys' steps whose bodies are all optional, likewise.
    shipped = gen.op("POST /v1/orders/{subject_id}/ship").sync_detailed(
        "o-gen-4", client=market, body=m.OrderShip(carrier="SF", tracking_number="SF-4")
    )
    assert _ok(shipped, m.Order).status == m.OrderStatus.SHIPPED
    delivered = gen.op("POST /v1/orders/{subject_id}/deliver").sync_detailed("o-gen-4", client=market)
    assert _ok(delivered, m.Order).status == m.OrderStatus.DELIVERED
