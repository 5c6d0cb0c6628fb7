"""What the OpenAPI document says beyond FastAPI's derivation, for a client generated from it:
short stable operation ids, optional bodies a generator can leave out, the domain's closed sets as
named components, and the links from a created resource to what may be done with it (what a
stateful test walks, and what tells a reader where an id goes next)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

from ..domain import cases, complaints, disputes, orders, reviews, sanctions, webhooks
from ..domain.media import EVIDENCE_KINDS, MEDIA_TYPES


def operation_id(route: APIRoute) -> str:
    """A route's operationId is its name: the endpoint function's (`list_orders`), or for a
    generated action route `<action>_<kind>` (`approve_after_sale`; api/action_routes.py)."""
    return route.name


# The domain's closed sets that more than one schema uses, each one named component: a generated
# client has one `CaseType`, not a `CaseType` and a `CaseInType` of the same values.
ENUMS: dict[str, tuple[str, ...]] = {
    "CaseType": cases.TYPES,
    "CaseReason": tuple(cases.REASONS),
    "CaseStatus": cases.STATUSES,
    "RejectReason": tuple(cases.REJECT_REASONS),
    "OrderStatus": orders.STATUSES,
    "PaymentMethod": ("online", "cod"),
    "DisputeKind": disputes.KINDS,
    "DisputeStatus": disputes.STATUSES,
    "RulingOutcome": disputes.OUTCOMES,
    "LiableParty": disputes.LIABLE_PARTIES,
    "ComplaintCategory": complaints.CATEGORIES,
    "ComplaintStatus": complaints.STATUSES,
    "ReviewStatus": reviews.STATUSES,
    "ViolationKind": sanctions.KINDS,
    "EvidenceKind": EVIDENCE_KINDS,
    "MediaType": MEDIA_TYPES,
    "WebhookDeliveryStatus": webhooks.DELIVERY_STATUSES,
    "WebhookEndpointStatus": (webhooks.ENABLED, webhooks.DISABLED),
}
_BY_VALUES = {frozenset(values): name for name, values in ENUMS.items()}
_KEPT = ("description", "default")  # what a node keeps beside its $ref


def refine(document: dict[str, Any]) -> None:
    _form_titles(document)
    _optional_bodies(document)
    _named_enums(document)
    _links(document)


def _form_titles(document: dict[str, Any]) -> None:
    """FastAPI names a form body's schema `Body_<operationId>`, which generators turn into class
    names like `BodyUploadEvidence`: it is the operation's `…Form` (`UploadEvidenceForm`)."""
    schemas = document["components"]["schemas"]
    renamed = {}
    for name in [n for n in schemas if n.startswith("Body_")]:
        title = "".join(part.title() for part in name.removeprefix("Body_").split("_")) + "Form"
        schemas[title] = {**schemas.pop(name), "title": title}
        renamed[f"#/components/schemas/{name}"] = f"#/components/schemas/{title}"
    for operation in _operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            if (ref := media.get("schema", {}).get("$ref")) in renamed:
                media["schema"]["$ref"] = renamed[ref]


def _optional_bodies(document: dict[str, Any]) -> None:
    """A body every field of which is optional is declared as its model, not required: pydantic's
    `Model | None` would say `anyOf [Model, null]`, for which a generator sends a null or its own
    "unset" marker when the caller leaves the body out, instead of no body."""
    for operation in _operations(document):
        body = operation.get("requestBody")
        if not body:
            continue
        for media in body["content"].values():
            variants = media["schema"].get("anyOf")
            if variants and len(variants) == 2 and {"type": "null"} in variants:
                media["schema"] = next(v for v in variants if v != {"type": "null"})
                body["required"] = False


def _named_enums(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    used: set[str] = set()

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(v) for v in node]
        if not isinstance(node, dict):
            return node
        name = _BY_VALUES.get(frozenset(node["enum"])) if "enum" in node else None
        if name is not None:
            used.add(name)
            return {"$ref": f"#/components/schemas/{name}", **{k: node[k] for k in _KEPT if k in node}}
        return {k: visit(v) for k, v in node.items()}

    document["paths"] = visit(document["paths"])
    document["components"]["schemas"] = {k: visit(v) for k, v in schemas.items()}
    for name in sorted(used):
        document["components"]["schemas"][name] = {"title": name, "type": "string", "enum": list(ENUMS[name])}


_ITEM = re.compile(r"^(?P<base>.+)/\{(?P<param>\w+)\}(?P<rest>/.*)?$")


def _links(document: dict[str, Any]) -> None:
    """Each `201` that answers a resource with an `id` links to every operation on that resource's
    own URL (`/v1/after-sales/{case_id}`, its events, its actions `/v1/after-sales/{subject_id}/...`),
    the id going into the path parameter; and each listing's `200` likewise, from its first item.
    The resource's URL is the one whose read answers the same schema (or its `…Read` form: a
    dispute read with its messages)."""
    reads: dict[str, str] = {}  # schema name -> the collection whose item read answers it
    for path, operations in document["paths"].items():
        found = _ITEM.match(path)
        if found and not found["rest"] and (schema := _answer(operations.get("get"), "200")):
            reads.setdefault(schema.removesuffix("Read"), found["base"])
    schemas = document["components"]["schemas"]
    for operation in _operations(document):
        # A 201 answers the resource it created; a listing's 200 the page whose first item is one.
        for status, pointer in (("201", "/id"), ("200", "/items/0/id")):
            schema = _answer(operation, status)
            if status == "200" and schema is not None:
                schema = _item_of(schemas[schema])
            base = reads.get(schema or "")
            if schema is None or base is None or "id" not in schemas[schema].get("properties", {}):
                continue
            operation["responses"][status]["links"] = _links_to(document, base, f"$response.body#{pointer}")


def _item_of(page: dict[str, Any]) -> str | None:
    """The component a listing's `items` are, if the schema is a page of one."""
    ref = page.get("properties", {}).get("items", {}).get("items", {}).get("$ref", "")
    return ref.rsplit("/", 1)[1] if ref else None


def _links_to(document: dict[str, Any], base: str, expression: str) -> dict[str, Any]:
    links = {}
    for target, target_operations in document["paths"].items():
        found = _ITEM.match(target)
        if not found or found["base"] != base:
            continue
        for target_operation in target_operations.values():
            links[target_operation["operationId"]] = {
                "operationId": target_operation["operationId"],
                "parameters": {found["param"]: expression},
            }
    return links


def _answer(operation: dict[str, Any] | None, status: str) -> str | None:
    """The component name of what `operation` answers with `status`, if it is one."""
    response = (operation or {}).get("responses", {}).get(status, {})
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[1] if ref else None


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for operations in document["paths"].values() for operation in operations.values()]
