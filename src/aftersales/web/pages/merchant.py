"""The merchant's console 售后单管理: the queue by urgency with filters and bulk approval, the
merchant's panel of the case page (its address book for approvals, the appeal of a ruling, quick
replies 话术), the shop's reply templates, and its violations and standing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ...domain import errors as e
from ...domain.cases import CASE_MACHINE, REASONS, REJECT_REASONS, STATUSES, TYPES
from ...domain.roles import MERCHANT
from ...services import cases, disputes, parties, reads, reply_templates, rulings
from ...services.kinds import KINDS
from ...services.reads import ALL, DUE_WITHIN, OPEN, QueueFilters
from .. import flash, forms
from ..i18n import N_, translations
from ..reading import list_uow
from ..render import next_page, page
from ..session import PATH, Viewer, check_csrf, runtime_of, safe_next, signed_in
from . import cases as case_pages

router = APIRouter(prefix=PATH, include_in_schema=False)
PAGE_SIZE = 50
NOTICE_ROOM = 280  # a flash notice holds 300 characters: the bulk result names cases up to here

DUE_LABELS = {"4h": N_("Under 4 hours"), "24h": N_("Under 24 hours")}
assert DUE_LABELS.keys() == DUE_WITHIN.keys()  # a label for each of the read's choices
STATUS_CHOICES = {OPEN: N_("Open requests"), ALL: N_("All requests")}
APPEAL = KINDS["dispute"].machine.specs["appeal"]
DISPUTE_MACHINE = KINDS["dispute"].machine


def merchant(viewer: Viewer = Depends(signed_in)) -> Viewer:
    """The merchant's own pages: anyone else finds nothing here."""
    if viewer.role != MERCHANT:
        raise e.NotFound("no such page")
    return viewer


Merchant = Annotated[Viewer, Depends(merchant)]


# The queue -----------------------------------------------------------------------------------


def queue(viewer: Viewer, request: Request) -> Response:
    """/console/after-sales for a merchant: its cases by urgency, filtered, paged by a cursor."""
    q = request.query_params
    filters = QueueFilters(
        status=q.get("status") or OPEN,
        type=q.get("type") or None,
        reason=q.get("reason") or None,
        due=q.get("due") or None,
    )
    limit = forms.whole_number(q.get("limit") or str(PAGE_SIZE))
    if limit is None or limit > 999:
        raise e.ValidationFailed("limit must be a whole number", fields=["limit"])
    with list_uow(request) as uow:
        found = reads.case_queue(uow, viewer.actor, viewer.now, filters, q.get("cursor") or None, limit)
        names = parties.names(uow, found.items)
    approvable = {c.id for c in found.items if "approve" in CASE_MACHINE.allowed_actions(c, viewer.role, viewer.actor)}
    asked = {"status": filters.status, "type": filters.type, "reason": filters.reason, "due": filters.due}
    more = next_page({**asked, "limit": q.get("limit")}, found.next_cursor)
    return page(
        request,
        "console/merchant_queue.html",
        viewer,
        cases=found.items,
        names=names,
        approvable=approvable,
        filters=filters,
        more=more,
        status_choices=STATUS_CHOICES,
        statuses=STATUSES,
        types=TYPES,
        reasons=tuple(REASONS),
        due_labels=DUE_LABELS,
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.post("/after-sales/bulk-approve")
async def bulk_approve(viewer: Merchant, request: Request) -> Response:
    """Approve the ticked cases, each through the case's own use case in its own transaction, at
    the version the queue showed: a refund as it is, a return to the shop's default address."""
    form = await request.form()
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    entry = KINDS["after_sale"]
    done: list[str] = []
    refused: list[tuple[str, str]] = []
    for ticked in dict.fromkeys(form.getlist("case")):  # a case ticked twice is tried once
        case_id, _, version = str(ticked).partition("@")
        try:
            with runtime.uow() as uow:
                inputs = cases.default_approval(uow, viewer.actor, case_id)
                entry.act(uow, runtime.env, viewer.actor, case_id, "approve", inputs, _version(version), None)
                uow.commit()
            done.append(case_id)
        except e.DomainError as exc:
            refused.append((case_id, _refusal(viewer, exc)))
    response = RedirectResponse(safe_next(str(form.get("back") or f"{PATH}/after-sales")), status_code=303)
    flash.put(response, request, _bulk_notice(viewer, request, done, refused), ok=not refused)
    return response


def _version(text: str) -> int | None:
    return forms.version({"version": text})


def _refusal(viewer: Viewer, exc: e.DomainError) -> str:
    if isinstance(exc, e.NotFound):
        return translations(viewer.lang).gettext("not found")
    if exc.code == "no_default_return_address":
        return translations(viewer.lang).gettext("no address in the shop's book")
    return case_pages.problem_text(viewer, exc)


def _bulk_notice(viewer: Viewer, request: Request, done: list[str], refused: list[tuple[str, str]]) -> str:
    """One notice for the whole batch: how many were approved, and each refused case with why
    (named by buyer and amount, as the queue shows them), as many as the notice holds."""
    gettext = translations(viewer.lang).gettext
    if not done and not refused:
        return gettext("Tick the requests to approve first.")
    text = gettext("Approved: %(n)d.") % {"n": len(done)}
    if refused:
        runtime = runtime_of(request)
        with runtime.uow(read_only=True) as uow:
            found = {c.id: c for c in _visible(uow, viewer, [cid for cid, _ in refused])}
            names = parties.names(uow, found.values())
        text += " " + gettext("Not approved: %(n)d —") % {"n": len(refused)}
        for i, (case_id, why) in enumerate(refused):
            case = found.get(case_id)
            who = (
                f"{names.buyer(case.buyer_id) or case.buyer_id} {viewer.formats.money(case.amount, case.currency)}"
                if case
                else case_id[-8:]
            )
            item = f" {who}: {why};"
            if len(text) + len(item) > NOTICE_ROOM:
                text += " " + gettext("and %(n)d more.") % {"n": len(refused) - i}
                break
            text += item
    return text


def _visible(uow: Any, viewer: Viewer, case_ids: list[str]) -> list[Any]:
    out = []
    for case_id in case_ids:
        try:
            out.append(cases.get(uow, viewer.actor, case_id))
        except e.NotFound:
            continue
    return out


# The merchant's panel of the case page --------------------------------------------------------


def panel(uow: Any, viewer: Viewer, case: Any) -> dict[str, Any]:
    """What the case page adds for the shop: its book's addresses to approve with (the default
    preselected), the ruling and its appeal when this merchant may appeal, its quick replies."""
    profile = parties.merchant_profile(uow, case.merchant_id)
    book = profile.return_addresses if profile else ()
    choices = {"return_address_id": [(a.id, a.text, i == 0) for i, a in enumerate(book)]} if book else {}
    out: dict[str, Any] = {
        "choices": choices,
        "reply_templates": reply_templates.listing(uow, viewer.actor, case.merchant_id),
    }
    if "reject" in CASE_MACHINE.allowed_actions(case, viewer.role, viewer.actor):
        out["needs_proof"] = [r.label for r in REJECT_REASONS.values() if r.evidence_required]
    if case.dispute_id:
        dispute = disputes.get(uow, viewer.actor, case.dispute_id)
        out["dispute"] = dispute
        out["appeals"] = rulings.appeals_of(uow, viewer.actor, dispute.id)
        if "appeal" in DISPUTE_MACHINE.allowed_actions(dispute, viewer.role, viewer.actor):
            out["appeal"] = {"spec": APPEAL, "fields": forms.fields(APPEAL)}
    return out


# Quick replies 话术 ---------------------------------------------------------------------------


@router.get("/merchant/replies")
def replies(viewer: Merchant, request: Request) -> Response:
    with list_uow(request) as uow:
        found = reply_templates.listing(uow, viewer.actor, _shop(viewer))
    return page(request, "console/merchant_replies.html", viewer, templates=found)


@router.post("/merchant/replies")
async def add_reply(viewer: Merchant, request: Request) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    data = {"title": str(form.get("title") or ""), "body": str(form.get("body") or "")}
    return _keep(request, viewer, lambda uow, env: reply_templates.create(uow, env, viewer.actor, _shop(viewer), data))


@router.post("/merchant/replies/{template_id}/delete")
async def delete_reply(template_id: str, viewer: Merchant, request: Request) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    return _keep(
        request, viewer, lambda uow, env: reply_templates.delete(uow, viewer.actor, _shop(viewer), template_id)
    )


def _keep(request: Request, viewer: Viewer, change: Any) -> Response:
    runtime = runtime_of(request)
    response = RedirectResponse(f"{PATH}/merchant/replies", status_code=303)
    try:
        with runtime.uow() as uow:
            change(uow, runtime.env)
            uow.commit()
        flash.put(response, request, translations(viewer.lang).gettext("Saved."))
    except e.NotFound:
        raise
    except e.DomainError as exc:
        flash.put(response, request, case_pages.problem_text(viewer, exc), ok=False)
    return response


def _shop(viewer: Viewer) -> str:
    assert viewer.actor.merchant_id is not None  # a merchant's session names its shop
    return viewer.actor.merchant_id


# Violations and standing -----------------------------------------------------------------------


@router.get("/merchant/standing")
def standing(viewer: Merchant, request: Request) -> Response:
    runtime = runtime_of(request)
    with runtime.uow(read_only=True) as uow:
        found = reads.violations(uow, viewer.actor, _shop(viewer))
        held = reads.standing(uow, runtime.env, viewer.actor, _shop(viewer))
    found.reverse()  # the newest first
    return page(request, "console/merchant_standing.html", viewer, violations=found, standing=held)


case_pages.LIST_PAGES[MERCHANT] = queue
case_pages.PANELS[MERCHANT] = panel
