"""Generated requests (Schemathesis) against the real app over HTTP, on a marketplace seeded with
the demo, with the token of every role (and none), judged by every check Schemathesis has (its
`--checks all`): no 5xx, every response inside its own OpenAPI description (status code, content
type, headers, body schema), valid data accepted and invalid data refused, authentication not
ignored, 405s with their `Allow`.

The default run sends a few thousand requests, the same ones every time; `AFTERSALES_CHAOS=long`
(make chaos) many more, with a fresh random seed each time (AFTERSALES_CONTRACT_SEED repeats one,
AFTERSALES_CONTRACT_EXAMPLES sets the cases per operation)."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config._checks import PositiveDataAcceptanceConfig
from schemathesis.core.failures import Failure, FailureGroup

from aftersales import demo
from aftersales.services import webhooks
from aftersales.services.context import Actor
from aftersales.store import tables as t
from schemathesis_hooks import shape_accepted

LONG = os.environ.get("AFTERSALES_CHAOS") == "long"
# Generated cases per operation (about 70 operations): SQLite takes the bulk, PostgreSQL a sample.
EXAMPLES = {"sqlite": 40, "postgres": 16}
_N = int(os.environ.get("AFTERSALES_CONTRACT_EXAMPLES", "600"))  # per operation in the long run
EXAMPLES_LONG = {"sqlite": _N, "postgres": _N}

# Who calls: every role, two tenants where tenancy matters, and nobody.
CALLERS: dict[str, tuple[str, str, str | None] | None] = {
    "buyer b-1": ("buyer", "b-1", None),
    "buyer b-2": ("buyer", "b-2", None),
    "merchant m-1": ("merchant", "m-1-staff", "m-1"),
    "merchant m-2": ("merchant", "m-2-staff", "m-2"),
    "agent": ("agent", "agent-1", None),
    "agent 2": ("agent", "agent-2", None),
    "admin": ("admin", "admin-1", None),
    "integration": ("integration", "marketplace", None),
    "anonymous": None,
}

# Every check Schemathesis registers, as `--checks all` enables them (asserted below, so a check a
# new version adds is run too). The checks that judge only the coverage phase's cases (a missing
# required header, a method the path does not take) or a stateful run's (use after free) are
# no-ops on these fuzzed cases: docs/api.md "Contract" runs the whole CLI for those.


def _positive_acceptance() -> PositiveDataAcceptanceConfig:
    """Valid data may still be refused for what no schema says: another tenant's object (404, 403,
    already in Schemathesis's defaults) or a rule about values and the data they meet (a refusal
    without the evidence its reason needs, a complaint in another's name, an Idempotency-Key used for
    another body): 422 with that rule's own code. So 422 is expected as Schemathesis lets one
    configure it (and as schemathesis.toml says for the CLI), and `shape_accepted`
    (tests/schemathesis_hooks.py) fails a valid request refused as malformed
    (`validation_error`), which is the document and the service disagreeing."""
    # And 412 (a valid If-Match naming another version) and 415 (valid bytes of a type evidence
    # is not taken in) depend on the data too, as 409 does.
    statuses = [*PositiveDataAcceptanceConfig().expected_statuses, "412", "415", "422"]
    return PositiveDataAcceptanceConfig(expected_statuses=statuses)


@pytest.fixture(name="settings")
def _settings(settings: Any) -> Any:
    """`ignored_auth` sends each request again without its token: thousands of failed
    authentications from one address, which the limiter would soon answer 429 (as it should;
    tests/api/test_rate_limits.py). Here it is set out of reach, to judge the answers behind it."""
    return dataclasses.replace(settings, rate_limit_auth_failures="1000000/minute")


def _ids(runtime: Any) -> dict[str, list[str]]:
    """Real ids of the seeded marketplace, by the path parameter that takes them."""
    with runtime.engine.connect() as conn:

        def col(column: Any) -> list[str]:
            return sorted({str(v) for v in conn.execute(sa.select(column)).scalars() if v is not None})

        return {
            "order_id": col(t.orders.c.id),
            "case_id": col(t.after_sales.c.id),
            "dispute_id": col(t.disputes.c.id),
            "complaint_id": col(t.complaints.c.id),
            "review_id": col(t.reviews.c.id),
            "appeal_id": col(t.appeals.c.id),
            "evidence_id": col(t.evidence.c.id),
            "template_id": col(t.reply_templates.c.id),
            "endpoint_id": col(t.webhook_endpoints.c.id),
            "delivery_id": col(t.webhook_deliveries.c.id),
            "refund_id": col(t.refunds.c.id),
            "agent_id": [*col(t.agents.c.id), "agent-9"],
            "merchant_id": ["m-1", "m-2", "m-3"],
            "buyer_id": ["b-1", "b-2", "b-3"],
        }


# Query and body fields that name things, and the pool of real ids for each.
_BODY_IDS = {
    "order_id": "order_id",
    "after_sale_id": "case_id",
    "dispute_id": "dispute_id",
    "review_id": "review_id",
    "agent_id": "agent_id",
    "merchant_id": "merchant_id",
    "buyer_id": "buyer_id",
    "evidence": "evidence_id",
    "template_id": "template_id",
}


def _id_pool(path: str, name: str, ids: dict[str, list[str]]) -> list[str]:
    if name != "subject_id":
        return ids.get(name, [])
    # Action routes share one parameter name; the collection says what it names.
    for prefix, key in (
        ("/v1/orders/", "order_id"),
        ("/v1/after-sales/", "case_id"),
        ("/v1/disputes/", "dispute_id"),
        ("/v1/complaints/", "complaint_id"),
        ("/v1/reviews/", "review_id"),
    ):
        if path.startswith(prefix):
            return ids[key]
    return []


def _run_operation(
    operation: Any,
    base_url: str,
    tokens: dict[str, str | None],
    ids: dict[str, list[str]],
    count: int,
    seed: int | None,
    failures: Counter[str],
    examples: dict[str, str],
    sent: Counter[str],
) -> None:
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    session = requests.Session()
    callers = sorted(tokens)

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        case = data.draw(strategy)
        # Half the time, point each path parameter at something that exists.
        for name in list(case.path_parameters or {}):
            pool = _id_pool(operation.path, name, ids)
            if pool and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(pool))
        # And the ids a query or a JSON body names (filing a case on a real order reaches the money
        # rules); not in a negative case, where the replaced value may be the invalid part.
        negative = case.meta is not None and case.meta.generation.mode.is_negative
        for where in () if negative else (case.query, case.body):
            for name in [n for n in (where if isinstance(where, dict) else {}) if n in _BODY_IDS]:
                if data.draw(st.booleans()):
                    pool = ids[_BODY_IDS[name]]
                    where[name] = (
                        [data.draw(st.sampled_from(pool))] if name == "evidence" else data.draw(st.sampled_from(pool))
                    )
        # Round-robin over callers: Hypothesis would favour the first of a sampled list.
        caller = callers[sent[operation.label] % len(callers)]
        headers = {"Authorization": f"Bearer {tokens[caller]}"} if tokens[caller] else {}
        sent[operation.label] += 1
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        try:
            case.validate_response(
                response, additional_checks=[shape_accepted], headers=headers, transport_kwargs={"base_url": base_url}
            )
        except (FailureGroup, Failure) as exc:
            for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                what = f"{operation.label} as {caller}: HTTP {response.status_code}: {failure.title}"
                failures[what] += 1
                # One way to reproduce each kind of failure (the token is short-lived and for tests).
                examples.setdefault(what, f"{failure.message.strip()[:400]}\n    {case.as_curl_command(headers)}")

    if seed is not None:
        probe = hypothesis_seed(seed)(probe)
    probe()
    session.close()


def _webhook_endpoints(runtime: Any) -> None:
    """A webhook endpoint of shop m-1 and one of the platform, each with a dead delivery, for the
    generated requests to find (the demo has none)."""
    for actor in (Actor("merchant", "m-1-staff", "m-1"), Actor("admin", "admin-1")):
        new = webhooks.check(actor, {"url": "https://93.184.215.14/hooks", "events": ["*"]}, allow_private=False)
        with runtime.uow() as uow:
            endpoint = webhooks.create(uow, runtime.env, actor, new)
            uow.execute(
                t.webhook_deliveries.insert().values(
                    endpoint_id=endpoint["id"],
                    event_id=1,
                    message_id="msg_1",
                    type="after_sale.created",
                    subject="after_sale:as_1",
                    payload={},
                    status="dead",
                    attempts=3,
                    created_at=runtime.env.clock.now(),
                )
            )
            uow.commit()


def _generate(api: Any, runtime: Any, db_url: str, examples: dict[str, int], seed: int | None) -> None:
    assert demo.load(runtime)
    _webhook_endpoints(runtime)
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    # Every caller's token (or none) is sent below: Schemathesis is not to invent Authorization
    # headers from the declared bearer scheme, which would make a valid request count as negative.
    schema.config.generation.update(with_security_parameters=False)
    load_all_checks()
    schema.config.checks.update(included_check_names=["all"])
    schema.config.checks.positive_data_acceptance = _positive_acceptance()
    enabled = {name for name in CHECKS.get_all_names() if schema.config.checks.get_by_name(name=name).enabled}
    assert enabled == set(CHECKS.get_all_names()), "every check Schemathesis has runs"
    tokens = {
        name: (api.token(role, sub, mid) if who else None)
        for name, who in CALLERS.items()
        for role, sub, mid in [who or (None, None, None)]
    }
    ids = _ids(runtime)
    failures: Counter[str] = Counter()
    examples_of: dict[str, str] = {}
    sent: Counter[str] = Counter()
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 60, "the schema lost its operations"
    for operation in operations:
        _run_operation(operation, api.base_url, tokens, ids, examples[backend], seed, failures, examples_of, sent)
    total = sum(sent.values())
    print(f"\n{backend}: {total} generated requests over {len(operations)} operations (seed {seed})")
    assert total >= len(operations) * examples[backend] // 2
    report = "\n".join(f"{n:4d} x {line}\n    {examples_of[line]}" for line, n in failures.most_common(60))
    assert not failures, f"{sum(failures.values())} failed checks (seed {seed}):\n{report}"


def test_generated_requests_of_every_role_get_no_5xx_and_match_the_schema(api, runtime, db_url):
    """The same cases every run (derandomized), so CI is reproducible."""
    _generate(api, runtime, db_url, EXAMPLES, seed=None)


@pytest.mark.chaos
@pytest.mark.skipif(not LONG, reason="the long run is `make chaos` (AFTERSALES_CHAOS=long)")
def test_many_more_generated_requests_with_a_fresh_seed(api, runtime, db_url):
    seed = int(os.environ.get("AFTERSALES_CONTRACT_SEED") or int.from_bytes(os.urandom(4), "big"))
    _generate(api, runtime, db_url, EXAMPLES_LONG, seed=seed)
