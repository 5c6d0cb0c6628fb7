"""The demo console: pick who you are from the list, move the simulated clock forward, and watch
the merchant's silence approve the request."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from aftersales import demo
from aftersales.runtime import Runtime
from api_builders import feed_order, file_case


@pytest.fixture
def demo_api(serve, settings, engine):
    runtime = Runtime.build(dataclasses.replace(settings, simulated_clock=True, demo=True), engine=engine)
    assert runtime.sim_clock is not None
    runtime.sim_clock.initialise()
    assert demo.load(runtime)
    return serve(runtime)


@pytest.mark.browser
def test_the_demo_clock_moves_and_the_silent_merchant_s_request_is_approved(demo_api, browser_page):
    feed_order(demo_api, "o-demo-1")
    case = file_case(demo_api, "o-demo-1", type="refund_only", reason="damaged")
    page = browser_page
    page.goto(f"{demo_api.base_url}/console/after-sales/{case['id']}")
    page.get_by_role("button", name="张伟").click()  # the demo's sign-in: pick a buyer
    page.wait_for_url(f"**/console/after-sales/{case['id']}")
    assert page.locator("h1 .status").inner_text() == "待商家处理"
    page.get_by_role("button", name="+48 h").click()
    page.wait_for_load_state()
    assert "时间已前进 48 小时" in page.locator(".notice.ok").inner_text()
    assert page.locator("h1 .status").inner_text() != "待商家处理"
    assert "超时自动同意" in page.locator(".timeline").inner_text()


def test_the_demo_clock_takes_only_its_steps_and_exists_only_in_the_demo(demo_api, api):
    http = httpx.Client(base_url=demo_api.base_url, follow_redirects=False)
    http.post("/console/sign-in", data={"who": "buyer:b-1"})
    page = http.get("/console/after-sales").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    before = demo_api.runtime.env.clock.now()
    for hours in ("2", "-48", "48.5", "", "9" * 40):
        r = http.post("/console/demo/clock", data={"csrf": csrf, "hours": hours})
        assert r.status_code == 303
    assert (demo_api.runtime.env.clock.now() - before).total_seconds() < 60
    assert http.post("/console/demo/clock", data={"hours": "48"}).status_code == 403  # no CSRF token
    # Off the demo (the plain test server): no such control.
    other = httpx.Client(base_url=api.base_url, follow_redirects=False)
    other.post("/console/sign-in", data={"token": api.token("buyer", "b-1")})
    token = other.get("/console/after-sales").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert other.post("/console/demo/clock", data={"csrf": token, "hours": "48"}).status_code == 404
