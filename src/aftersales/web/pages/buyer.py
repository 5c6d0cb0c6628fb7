"""The buyer's pages, made for a phone: my orders; an order's page with what each item may still
get (from eligibility) and the after-sales form; complaining about a shop's conduct and reviewing
an order; and the buyer's part of the case page (the offer to answer, adding evidence, the
dispute's evidence and appeal). Every rule stays in services/: a refused form comes back with
the rule's answer in words and what was typed kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from ...api import schemas
from ...domain import complaints as complaint_rules
from ...domain import errors as e
from ...domain import labels, media
from ...domain import messages as message_rules
from ...domain import reviews as review_rules
from ...domain.cases import REASONS
from ...domain.disputes import DISPUTE_MACHINE
from ...domain.roles import BUYER
from ...services import cases, complaints, disputes, messages, negotiation, orders, parties, reads, reviews, rulings
from .. import flash, forms, uploads
from ..i18n import N_, translations
from ..reading import list_uow
from ..render import page
from ..session import PATH, Viewer, check_csrf, runtime_of, signed_in
from . import cases as case_pages

router = APIRouter(prefix=PATH, include_in_schema=False)
PAGE = 20  # orders a page lists: a phone's screenful or two
PHOTOS = "photos"  # the file input of every buyer form that takes pictures

REFUND_STATUS = {
    "pending": N_("Being paid back"),
    "succeeded": N_("Paid back"),
    "failed": N_("Not paid back yet: the platform is on it"),
}

# A review refused by the rules of reviews, in words.
REVIEW_REFUSALS = {
    "review_exists": N_("You have reviewed this order already."),
    "order_not_completed": N_("An order is reviewed once it is completed."),
    "review_period_over": N_("The time to review this order is over."),
}


def buyer(found: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    """These pages are the buyer's: anyone else finds nothing here (the same 404 as a missing page)."""
    if found.role != BUYER:
        raise e.NotFound("the buyer's pages")
    return found


Buyer = Annotated[Viewer, Depends(buyer)]


@router.get("/orders")
def my_orders(viewer: Buyer, request: Request, cursor: str | None = None) -> Response:
    with list_uow(request) as uow:
        found = reads.orders(uow, viewer.actor, cursor=cursor, limit=PAGE)
        names = parties.names(uow, found.items)
    return page(
        request, "console/buyer_orders.html", viewer, orders=found.items, next_cursor=found.next_cursor, names=names
    )


def _order(uow: Any, env: Any, viewer: Viewer, order_id: str) -> dict[str, Any]:
    """What the order page shows: the order, what each item may still get, its requests and refunds."""
    order = orders.get(uow, viewer.actor, order_id)
    eligible = cases.eligibility(uow, env, viewer.actor, order.id)
    claimable = [(i, item) for i, item in enumerate(eligible["items"]) if item["quantity_remaining"] and item["types"]]
    types = list(dict.fromkeys(t for _, item in claimable for t in item["types"]))
    reviewed = reads.review_list(uow, viewer.actor, order_id=order.id, limit=1).items
    return {
        "order": order,
        "eligible": eligible,
        "claimable": claimable,
        "types": types,
        "reasons": list(REASONS),
        "names": parties.names(uow, [order]),
        "requests": reads.cases(uow, viewer.actor, order_id=order.id, limit=50).items,
        "refunds": reads.refund_list(uow, viewer.actor, order_id=order.id),
        "refund_status": REFUND_STATUS,
        "review": reviewed[0] if reviewed else None,
    }


def _defaults(view: Mapping[str, Any]) -> dict[str, str]:
    """A fresh form: with one item left to claim, all of it; with several, the buyer picks."""
    claimable = view["claimable"]
    if len(claimable) == 1:
        i, item = claimable[0]
        return {f"quantity-{i}": str(item["quantity_remaining"])}
    return {}


@router.get("/orders/{order_id}")
def order_page(order_id: str, viewer: Buyer, request: Request) -> Response:
    runtime = runtime_of(request)
    with runtime.uow(read_only=True) as uow:
        view = _order(uow, runtime.env, viewer, order_id)
    return page(request, "console/buyer_order.html", viewer, values=_defaults(view), error=None, **view)


@router.post("/orders/{order_id}/after-sales")
async def file_request(order_id: str, viewer: Buyer, request: Request) -> Response:
    """The after-sales form: its photos stored as evidence in the same transaction as the
    request, so a refused request keeps none of them."""
    form = await request.form()
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    env = runtime.env
    try:
        with runtime.uow() as uow:
            eligible = cases.eligibility(uow, env, viewer.actor, order_id)
            data = _new_case(order_id, eligible, form)
            data["evidence"] = uploads.store(uow, env, viewer, form.getlist(PHOTOS))
            case = cases.file(uow, env, viewer.actor, forms.validated(schemas.CaseIn, data).model_dump())
            uow.commit()
    except e.NotFound:
        raise
    except e.DomainError as exc:
        with runtime.uow(read_only=True) as uow:
            view = _order(uow, env, viewer, order_id)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        sent_photos = any(getattr(f, "filename", None) for f in form.getlist(PHOTOS))
        return page(
            request,
            "console/buyer_order.html",
            viewer,
            status=422,
            values=values,
            error=_filing_problem(viewer, exc, view),
            photos_dropped=sent_photos,
            **view,
        )
    response = RedirectResponse(f"{PATH}/after-sales/{case.id}", status_code=303)
    flash.put(response, request, translations(viewer.lang).gettext("Your request was sent to the shop."))
    return response


def _new_case(order_id: str, eligible: Mapping[str, Any], form: Any) -> dict[str, Any]:
    """The request the form stands for: the items by their place on the order, a yuan amount."""
    items = []
    for i, item in enumerate(eligible["items"]):
        raw = str(form.get(f"quantity-{i}") or "").strip()
        if not raw:
            continue
        quantity = forms.whole_number(raw)
        if quantity is None:
            raise e.ValidationFailed("a quantity is a whole number", code="bad_quantity", fields=["items"], item=i)
        if quantity:
            items.append({"sku": item["sku"], "quantity": quantity})
    if not items:
        raise e.ValidationFailed("choose at least one item", code="no_items", fields=["items"])
    data: dict[str, Any] = {
        "order_id": order_id,
        "type": str(form.get("type") or ""),
        "reason": str(form.get("reason") or ""),
        "items": items,
        "description": str(form.get("description") or "").strip(),
    }
    amount = str(form.get("amount") or "").strip()
    if amount:
        data["amount"] = forms.yuan_to_fen(amount)
    new_price = str(form.get("new_price") or "").strip()
    if new_price and data["type"] == "price_protection":
        try:
            data["new_price"] = forms.yuan_to_fen(new_price)
        except e.ValidationFailed:
            raise e.ValidationFailed("a price is an amount", fields=["new_price"]) from None
    return data


def _filing_problem(viewer: Viewer, exc: e.DomainError, view: Mapping[str, Any]) -> str:
    """A refused request in the buyer's words: which item, how many, how much is the most."""
    gettext = translations(viewer.lang).gettext
    items = view["eligible"]["items"]
    titles = {item["sku"]: item["title"] for item in items}
    fields = set(exc.extra.get("fields") or ())
    if exc.code == "quantity_exceeds_remaining":
        return gettext("Only %(n)s of “%(item)s” can still be claimed.") % {
            "n": exc.extra.get("quantity_remaining", 0),
            "item": titles.get(exc.extra.get("sku"), exc.extra.get("sku")),
        }
    if exc.code == "bad_quantity":
        return gettext("The quantity of “%(item)s” must be a whole number.") % {
            "item": items[exc.extra["item"]]["title"]
        }
    if exc.code == "no_items":
        return gettext("Choose at least one item and how many of it.")
    if exc.code == "amount_exceeds_refundable":
        most = viewer.formats.money(exc.extra.get("refundable"), view["eligible"]["currency"])
        return gettext("The amount is more than the %(most)s these items may still get back.") % {"most": most}
    if "amount" in fields:
        return gettext("Type the amount in yuan, more than zero, like 99.50 (or leave it empty).")
    if "type" in fields or exc.code == "illegal_transition":
        return gettext("Choose what you want: this type of request is not possible on this order now.")
    if fields & {"new_price", "price_drop_id"}:
        return gettext("For price protection, choose one item and type the lower price you saw (add a photo of it).")
    by_field = {
        "items": N_("Check the items and how many of each (price protection takes one item)."),
        "reason": N_("Choose a reason."),
        "description": N_("The description is too long."),
        "evidence": N_("Too many photos, or a file that is not a photo or video."),
    }
    return _refusal(viewer, exc, by_field)


def _refusal(viewer: Viewer, exc: e.DomainError, by_field: Mapping[str, str], **params: Any) -> str:
    """A refused buyer form in words: the text (`params` filled in) of the first field of `by_field`
    the rule names, else the common refusals."""
    named = set(exc.extra.get("fields") or ())
    for field, text in by_field.items():
        if field in named:
            return translations(viewer.lang).gettext(text) % params
    return case_pages.problem_text(viewer, exc)


@router.get("/orders/{order_id}/complain")
def complaint_page(order_id: str, viewer: Buyer, request: Request) -> Response:
    return _order_form(request, viewer, order_id, "console/buyer_complain.html", _complaint_view)


def _complaint_view(order: Any, names: Any) -> dict[str, Any]:
    categories = [(c, labels.of(labels.COMPLAINT_CATEGORY, c)) for c in complaint_rules.BUYER_CATEGORIES]
    return {"order": order, "names": names, "categories": categories}


@router.post("/orders/{order_id}/complain")
async def complain(order_id: str, viewer: Buyer, request: Request) -> Response:
    """A complaint about the shop's conduct 投诉 on this order: the shop must answer it."""
    form = await request.form()
    check_csrf(viewer, form)
    data: dict[str, Any] = {
        "category": str(form.get("category") or ""),
        "description": str(form.get("description") or ""),
        "order_id": order_id,
    }
    try:
        _save_on_order(request, viewer, form, data, schemas.ComplaintIn, complaints.file)
    except e.NotFound:
        raise
    except e.DomainError as exc:
        by_field = {
            "category": N_("Choose what the complaint is about."),
            "description": N_("Say what happened (at most 4000 characters)."),
        }
        error = _refusal(viewer, exc, by_field)
        values = {k: str(v) for k, v in data.items() if k != "evidence"}
        return _order_form(request, viewer, order_id, "console/buyer_complain.html", _complaint_view, values, error)
    return _sent(
        request, viewer, order_id, N_("Your complaint was sent. The shop must answer it; the platform follows it up.")
    )


@router.get("/orders/{order_id}/review")
def review_page(order_id: str, viewer: Buyer, request: Request) -> Response:
    return _order_form(request, viewer, order_id, "console/buyer_review.html", _review_view)


def _review_view(order: Any, names: Any) -> dict[str, Any]:
    low, high = review_rules.RATINGS
    return {
        "order": order,
        "names": names,
        "ratings": list(range(high, low - 1, -1)),
        "text_max": review_rules.TEXT.max_length,
        "photos_max": review_rules.PHOTOS.max_items,
    }


@router.post("/orders/{order_id}/review")
async def review(order_id: str, viewer: Buyer, request: Request) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    rating = str(form.get("rating") or "").strip()
    data: dict[str, Any] = {"order_id": order_id, "text": str(form.get("text") or "")}
    try:
        stars = forms.whole_number(rating)
        if stars is None:
            raise e.ValidationFailed("rating must be a whole number", fields=["rating"])
        data["rating"] = stars
        _save_on_order(request, viewer, form, data, schemas.ReviewIn, reviews.post)
    except e.NotFound:
        raise
    except e.DomainError as exc:
        refused = REVIEW_REFUSALS.get(exc.code)
        by_field = {"rating": N_("Choose how many stars."), "evidence": N_("At most %(n)s photos.")}
        error = (
            translations(viewer.lang).gettext(refused)
            if refused
            else _refusal(viewer, exc, by_field, n=review_rules.PHOTOS.max_items)
        )
        values = {"rating": rating, "text": data["text"]}
        return _order_form(request, viewer, order_id, "console/buyer_review.html", _review_view, values, error)
    return _sent(request, viewer, order_id, N_("Thank you: your review is posted."))


def _order_form(
    request: Request,
    viewer: Viewer,
    order_id: str,
    template: str,
    view_of: Callable[[Any, Any], dict[str, Any]],
    values: Mapping[str, str] | None = None,
    error: str | None = None,
) -> Response:
    """A form about one of the buyer's orders (a complaint, a review): empty, or refused (422) with
    what was typed kept and the refusal in words."""
    with runtime_of(request).uow(read_only=True) as uow:
        order = orders.get(uow, viewer.actor, order_id)
        names = parties.names(uow, [order])
    status = 200 if error is None else 422
    return page(request, template, viewer, status=status, values=values or {}, error=error, **view_of(order, names))


def _save_on_order(
    request: Request,
    viewer: Viewer,
    form: Any,
    data: dict[str, Any],
    schema: type[BaseModel],
    save: Callable[[Any, Any, Any, dict[str, Any]], Any],
) -> None:
    """Saves a form about one of the buyer's orders with its photos as evidence, in one unit of work:
    the order must be the buyer's (else a 404), and a refusal stores nothing."""
    runtime = runtime_of(request)
    with runtime.uow() as uow:
        orders.get(uow, viewer.actor, data["order_id"])
        data["evidence"] = uploads.store(uow, runtime.env, viewer, form.getlist(PHOTOS))
        save(uow, runtime.env, viewer.actor, forms.validated(schema, data).model_dump())
        uow.commit()


def _sent(request: Request, viewer: Viewer, order_id: str, notice: str) -> Response:
    """Back to the order's page, saying what came of the form."""
    response = RedirectResponse(f"{PATH}/orders/{order_id}", status_code=303)
    flash.put(response, request, translations(viewer.lang).gettext(notice))
    return response


@router.post("/after-sales/{case_id}/evidence")
async def add_evidence(case_id: str, viewer: Buyer, request: Request) -> Response:
    """More evidence for the case: the files with a line saying what they show, posted as a
    message citing them (as the API adds evidence to a case), which the shop and the platform see."""
    form = await request.form()
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    env = runtime.env
    kind = str(form.get("kind") or "product_media")
    response = RedirectResponse(f"{PATH}/after-sales/{case_id}#evidence-h", status_code=303)
    gettext = translations(viewer.lang).gettext
    try:
        with runtime.uow() as uow:
            cases.get(uow, viewer.actor, case_id)
            ids = uploads.store(uow, env, viewer, form.getlist(PHOTOS), kind=kind)
            if not ids:
                raise e.ValidationFailed("choose a file", fields=["evidence"])
            data = {"body": str(form.get("body") or ""), "evidence": ids}
            messages.post(uow, env, viewer.actor, case_id, forms.validated(schemas.MessageIn, data).model_dump())
            uow.commit()
        flash.put(response, request, gettext("Evidence added."))
    except e.NotFound:
        raise
    except e.DomainError as exc:
        by_field = {
            "evidence": N_("Choose at least one file to add."),
            "body": N_("Say in a line what the files show."),
        }
        flash.put(response, request, _refusal(viewer, exc, by_field), ok=False)
    return response


def case_panel(uow: Any, viewer: Viewer, case: Any) -> dict[str, Any]:
    """The buyer's part of the case page: the offer to answer, the order (to review it once it
    completed, to complain about the shop), the dispute with its evidence form and the appeal."""
    order = orders.get(uow, viewer.actor, case.order_id)
    dispute = disputes.get(uow, viewer.actor, case.dispute_id) if case.dispute_id else None
    dispute_actions: list[dict[str, Any]] = []
    appeal = None
    appeals: list[dict[str, Any]] = []
    if dispute is not None:
        dispute_actions = case_pages.actions_for(viewer, dispute, DISPUTE_MACHINE)
        spec = DISPUTE_MACHINE.specs["appeal"]
        if "appeal" in DISPUTE_MACHINE.allowed_actions(dispute, viewer.role, viewer.actor):
            appeal = {"spec": spec, "fields": forms.fields(spec)}
        appeals = rulings.appeals_of(uow, viewer.actor, dispute.id)
    reviewed = reads.review_list(uow, viewer.actor, order_id=order.id, limit=1).items
    return {
        "order": order,
        "offer": negotiation.live_offer(case),
        "dispute": dispute,
        "dispute_actions": dispute_actions,
        "appeal": appeal,
        "appeals": appeals,
        "reviewable": order.status == "completed" and not reviewed,
        "takes_evidence": message_rules.takes_messages(case.status, [dispute.status] if dispute else []),
        "evidence_kinds": [(k, labels.EVIDENCE_KIND[k]) for k in media.EVIDENCE_KINDS],
    }


case_pages.PANELS[BUYER] = case_panel
