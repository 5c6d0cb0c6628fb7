"""After-sales cases in the console: the list, the case page every role shares (facts, what is
pending and what happens when it runs out, timeline, evidence, messages, and the forms of the
actions this viewer may take), the one POST that takes any action, and evidence files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...api import requests as api_requests
from ...api.action_routes import model_prefix
from ...api.routes import case_files
from ...api.routes.evidence import serve
from ...domain import errors as e
from ...domain.cases import CASE_MACHINE
from ...domain.disputes import DISPUTE_MACHINE
from ...domain.machine import Machine
from ...services import cases, evidence, messages, parties, reads, rulings
from ...services.kinds import KINDS
from .. import flash, forms, uploads
from ..i18n import N_, translations
from ..reading import list_uow
from ..render import page
from ..session import PATH, Viewer, check_csrf, runtime_of, safe_next, signed_in

router = APIRouter(prefix=PATH, include_in_schema=False)
SignedIn = Annotated[Viewer, Depends(signed_in)]

# What happens when the pending deadline of a case runs out, by the system action it fires.
LAPSES = {
    "auto_approve": N_("If the merchant does not answer in time, the request is approved automatically."),
    "offer_lapsed": N_("If the buyer does not answer the offer in time, the request goes back to the merchant."),
    "auto_close": N_("If nothing happens in time, the request is closed."),
    "auto_confirm_receipt": N_(
        "If the merchant does not confirm receipt in time, receipt is confirmed automatically and the refund is made."
    ),
    "advance_compensation": N_(
        "If the merchant does not upload the refund voucher in time, the platform compensates the buyer first."
    ),
    "auto_complete": N_("If nothing is reported in time, the request is completed."),
    "ruling_overdue": N_("The platform must rule by then."),
}


# A role's own parts, registered by its page module: its list in place of the generic one, and
# what its panel of the case page needs (`choices` for the action forms' free fields among it).
ListPage = Callable[[Viewer, Request], Response]
Panel = Callable[[Any, Viewer, Any], dict[str, Any]]
LIST_PAGES: dict[str, ListPage] = {}
PANELS: dict[str, Panel] = {}


def actions_for(viewer: Viewer, case: Any, machine: Machine = CASE_MACHINE) -> list[dict[str, Any]]:
    """The forms of the actions this viewer may take on the case (or another subject of
    `machine`) now, from their specs."""
    specs = machine.specs
    offered = []
    for name in machine.allowed_actions(case, viewer.role, viewer.actor):
        spec = specs[name]
        if spec.posted:
            offered.append({"spec": spec, "fields": forms.fields(spec)})
    return offered


@router.get("/after-sales")
def case_list(viewer: SignedIn, request: Request, status: str | None = None, cursor: str | None = None) -> Response:
    own = LIST_PAGES.get(viewer.role)
    if own is not None:
        return own(viewer, request)
    with list_uow(request) as uow:
        found = reads.cases(uow, viewer.actor, status=status, cursor=cursor, limit=50)
        names = parties.names(uow, found.items)
    return page(request, "console/cases.html", viewer, cases=found.items, next_cursor=found.next_cursor, names=names)


@router.get("/after-sales/{case_id}")
def case_page(case_id: str, viewer: SignedIn, request: Request) -> Response:
    runtime = runtime_of(request)
    with runtime.uow(read_only=True) as uow:
        case = cases.get(uow, viewer.actor, case_id)
        names = parties.names(uow, [case])
        events = reads.timeline(uow, viewer.actor, "after_sale", case.id)
        talk = messages.listing(uow, viewer.actor, case.id, limit=200).items
        files = [_file(uow, viewer, ev_id) for ev_id in case.evidence]
        panel = PANELS[viewer.role](uow, viewer, case) if viewer.role in PANELS else {}
    return page(
        request,
        "console/case.html",
        viewer,
        case=case,
        names=names,
        events=events,
        messages=talk,
        files=[f for f in files if f is not None],
        actions=actions_for(viewer, case),
        lapses=LAPSES,
        choices=panel.get("choices", {}),
        panel=panel,
    )


def _file(uow: Any, viewer: Viewer, evidence_id: str) -> dict[str, Any] | None:
    try:
        return evidence.get(uow, viewer.actor, evidence_id)
    except e.NotFound:
        return None


@router.post("/act/{kind}/{subject_id}/{action}")
async def act(kind: str, subject_id: str, action: str, viewer: SignedIn, request: Request) -> Response:
    """Any posted action of any kind, from its form: CSRF, the version the page showed (a second
    click of the same button finds the subject changed), then the kind's own use case."""
    form = await request.form()
    check_csrf(viewer, form)
    entry = KINDS.get(kind)
    spec = entry.machine.specs.get(action) if entry else None
    if entry is None or spec is None or not spec.posted:
        raise e.NotFound("no such action")
    return submit(
        request,
        viewer,
        form,
        spec,
        model_prefix(entry),
        lambda uow, env, inputs, expected: entry.act(
            uow, env, viewer.actor, subject_id, spec.name, inputs, expected, None
        ),
    )


Run = Callable[[Any, Any, Any, int | None], Any]  # (uow, env, the action's inputs, version shown)


def submit(
    request: Request, viewer: Viewer, form: Any, spec: Any, prefix: str, run: Run, back: str | None = None
) -> Response:
    """A submitted action form (CSRF checked) taken by `run` in one transaction, its uploads
    stored first: back to `back` (else the page it came from), with a notice of what came of it."""
    back = back or safe_next(str(form.get("back") or ""))
    runtime = runtime_of(request)
    env = runtime.env
    response = RedirectResponse(back, status_code=303)
    try:
        with runtime.uow() as uow:
            uploaded = uploads.for_spec(uow, env, viewer, form, spec)
            inputs = api_requests.inputs(spec, forms.body(spec, prefix, form, uploaded))
            run(uow, env, inputs, forms.version(form))
            uow.commit()
        flash.put(response, request, viewer.formats.label(spec.label) + " ✓")
    except e.NotFound:
        raise
    except e.DomainError as exc:
        flash.put(response, request, problem_text(viewer, exc), ok=False)
    return response


def problem_text(viewer: Viewer, exc: e.DomainError) -> str:
    """What a person reads when an action was refused: the common cases in words, else the rule's."""
    gettext = translations(viewer.lang).gettext
    if isinstance(exc, e.PreconditionFailed | e.VersionConflict):
        return gettext("The request changed meanwhile; here is its latest state.")
    if isinstance(exc, e.DeadlinePassed):
        return gettext("The time for this step has run out.")
    if isinstance(exc, e.IllegalTransition):
        return gettext("This step is no longer possible in the request's current state.")
    return gettext("Not done: %(detail)s") % {"detail": exc.detail}


@router.post("/disputes/{dispute_id}/appeals")
async def file_appeal(dispute_id: str, viewer: SignedIn, request: Request) -> Response:
    """The appeal form of a case page, the buyer's or the merchant's: filed on the dispute's
    appeals (rulings.appeal, which decides who may appeal), not through the generic POST."""
    form = await request.form()
    check_csrf(viewer, form)
    spec = DISPUTE_MACHINE.specs["appeal"]
    return submit(
        request,
        viewer,
        form,
        spec,
        model_prefix(KINDS["dispute"]),
        lambda uow, env, inputs, expected: rulings.appeal(uow, env, viewer.actor, dispute_id, inputs, expected),
    )


@router.post("/after-sales/{case_id}/messages")
async def post_message(case_id: str, viewer: SignedIn, request: Request) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    response = RedirectResponse(f"{PATH}/after-sales/{case_id}#messages", status_code=303)
    data: dict[str, Any] = {"body": str(form.get("body") or "")}
    if form.get("template_id"):
        data = {"template_id": str(form.get("template_id"))}
    try:
        with runtime.uow() as uow:
            messages.post(uow, runtime.env, viewer.actor, case_id, data)
            uow.commit()
    except e.NotFound:
        raise
    except e.DomainError as exc:
        flash.put(response, request, problem_text(viewer, exc), ok=False)
    return response


@router.get("/after-sales/{case_id}/case-file.pdf")
def case_file_pdf(case_id: str, viewer: SignedIn, request: Request) -> Response:
    """The case file to take to outside help, in the viewer's language and timezone."""
    return case_files.pdf_download(request, viewer.actor, case_id, viewer.lang, viewer.formats.tz.key)  # type: ignore[arg-type]


@router.get("/after-sales/{case_id}/case-file.json")
def case_file_json(case_id: str, viewer: SignedIn, request: Request) -> Response:
    return case_files.json_download(request, viewer.actor, case_id)


@router.get("/evidence/{evidence_id}")
def evidence_file(
    evidence_id: str,
    viewer: SignedIn,
    request: Request,
    variant: Annotated[str | None, Query(pattern="^(thumbnail|original|stripped)$")] = None,
    inline: bool = False,
) -> Response:
    """A file as the viewer may have it: the API's own serving, authorised by the session."""
    response: Response = serve(request, viewer.actor, evidence_id, variant, "inline" if inline else "attachment")
    return response
