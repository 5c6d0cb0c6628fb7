"""The demo's time controls: with the simulated clock on (`serve --demo`), anyone signed in may
move time forward and watch what the deadlines do (the request approved for a silent merchant,
the refund for an unconfirmed return). Off the demo the route does not exist (404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ...domain.errors import NotFound
from ...worker import sim_time
from .. import flash, forms
from ..i18n import translations
from ..render import TIME_STEPS
from ..session import PATH, Viewer, check_csrf, runtime_of, safe_next, signed_in

router = APIRouter(prefix=PATH, include_in_schema=False)


@router.post("/demo/clock")
async def advance(viewer: Annotated[Viewer, Depends(signed_in)], request: Request) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    hours = str(form.get("hours") or "")
    if not runtime.settings.demo or runtime.sim_clock is None:
        raise NotFound("the simulated clock is off")
    response = RedirectResponse(safe_next(str(form.get("back") or "")), status_code=303)
    gettext = translations(viewer.lang).gettext
    step = forms.whole_number(hours)
    if step is None or step not in TIME_STEPS:
        flash.put(response, request, gettext("Pick one of the offered steps."), ok=False)
        return response
    moved = sim_time.advance(runtime, timedelta(hours=step), worker_id="demo-console")
    flash.put(
        response,
        request,
        gettext("Time moved %(hours)s h forward; %(fired)s deadlines fired.")
        % {"hours": hours, "fired": moved["fired"]},
    )
    return response
