"""Reviews 评价 of completed orders and the merchant's reply."""

from fastapi import APIRouter, Request

from ...services import reads, reviews
from ...services.kinds import KINDS
from .. import responses as out
from .. import schemas as s
from ..action_routes import add_action_routes
from ..actions import listing, perform, read, respond, timeline
from ..auth import CurrentActor
from ..views import review_view, shown

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


@router.post(
    "",
    status_code=201,
    summary="Review a completed order (its buyer, once, within the review window)",
    responses=out.ok(out.Review, 201),
)
def post_review(body: s.ReviewIn, request: Request, actor: CurrentActor):
    env, data = request.app.state.runtime.env, body.model_dump()
    return perform(
        request, actor, data, lambda uow: (201, shown(uow, review_view, reviews.post(uow, env, actor, data), actor))
    )


@router.get("", summary="Reviews the caller may see, newest first", responses=out.ok(out.ReviewPage))
def list_reviews(
    request: Request,
    actor: CurrentActor,
    order_id: str | None = None,
    merchant_id: str | None = None,
    cursor: s.Cursor = None,
    limit: s.Limit = 50,
):
    return listing(
        request,
        lambda uow: reads.review_list(
            uow, actor, order_id=order_id, merchant_id=merchant_id, cursor=cursor, limit=limit
        ),
        lambda r, names: review_view(r, actor, names),
    )


@router.get("/{review_id}", responses=out.ok(out.Review))
def get_review(review_id: str, request: Request, actor: CurrentActor):
    return respond(200, read(request, lambda uow: shown(uow, review_view, reviews.get(uow, actor, review_id), actor)))


@router.get("/{review_id}/events", responses=out.ok(out.Events))
def review_events(review_id: str, request: Request, actor: CurrentActor):
    return timeline(request, actor, "review", review_id)


add_action_routes(router, KINDS["review"], review_view, out.Review)
