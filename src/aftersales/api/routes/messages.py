"""Messages on a case 协商记录 and merchants' quick replies 话术 (docs/api.md "Messages")."""

from fastapi import APIRouter, Request, Response

from ...services import messages, reply_templates
from .. import responses as out
from .. import schemas as s
from ..actions import listing, perform, read_replica
from ..auth import CurrentActor
from ..views import row_view

router = APIRouter(prefix="/v1", tags=["messages"])


@router.post(
    "/after-sales/{case_id}/messages",
    status_code=201,
    summary="Post a message on a case (its buyer, its merchant, customer service)",
    responses=out.ok(out.Message, 201),
)
def post_message(case_id: str, body: s.MessageIn, request: Request, actor: CurrentActor):
    env, data = request.app.state.runtime.env, body.model_dump()
    return perform(request, actor, data, lambda uow: (201, row_view(messages.post(uow, env, actor, case_id, data))))


@router.get(
    "/after-sales/{case_id}/messages",
    summary="The case's messages, oldest first: the negotiation record",
    responses=out.ok(out.MessagePage),
)
def list_messages(case_id: str, request: Request, actor: CurrentActor, cursor: s.Cursor = None, limit: s.Limit = 50):
    return listing(
        request, lambda uow: messages.listing(uow, actor, case_id, cursor=cursor, limit=limit), lambda m, _: row_view(m)
    )


@router.get(
    "/merchants/{merchant_id}/reply-templates",
    summary="The shop's quick replies (the merchant itself)",
    responses=out.ok(out.ReplyTemplates),
)
def list_templates(merchant_id: str, request: Request, actor: CurrentActor):
    return read_replica(
        request, lambda uow: {"items": [row_view(r) for r in reply_templates.listing(uow, actor, merchant_id)]}
    )


@router.post(
    "/merchants/{merchant_id}/reply-templates",
    status_code=201,
    summary="Keep a quick reply (the merchant itself)",
    responses=out.ok(out.ReplyTemplate, 201),
)
def create_template(merchant_id: str, body: s.ReplyTemplateIn, request: Request, actor: CurrentActor):
    env, data = request.app.state.runtime.env, body.model_dump()
    return perform(
        request, actor, data, lambda uow: (201, row_view(reply_templates.create(uow, env, actor, merchant_id, data)))
    )


@router.delete(
    "/merchants/{merchant_id}/reply-templates/{template_id}",
    status_code=204,
    summary="Delete a quick reply (the merchant itself); messages posted from it keep their text",
)
def delete_template(merchant_id: str, template_id: str, request: Request, actor: CurrentActor):
    with request.app.state.runtime.uow() as uow:
        reply_templates.delete(uow, actor, merchant_id, template_id)
        uow.commit()
    return Response(status_code=204)
