"""The console's pages pass axe-core (no serious or critical violation) in Chinese and English, on
a desktop and on a phone, and the case page's action forms are reached with the keyboard and show
where the focus is."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from aftersales import demo
from aftersales.runtime import Runtime
from api_builders import feed_order, file_case
from console_client import sign_in
from media_samples import PNG

pytestmark = [pytest.mark.browser, pytest.mark.accessibility]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}


@pytest.fixture(params=[(lang, vp) for lang in ("zh", "en") for vp in VIEWPORTS], ids=lambda p: "-".join(p))
def person(request: pytest.FixtureRequest, chromium: Any) -> Iterator[tuple[Any, str]]:
    """A fresh browser context in one language and one viewport; (page, "?lang=…")."""
    lang, viewport = request.param
    context = chromium.new_context(
        locale="zh-CN" if lang == "zh" else "en-GB", timezone_id="Asia/Shanghai", viewport=VIEWPORTS[viewport]
    )
    context.set_default_timeout(10_000)
    yield context.new_page(), f"?lang={lang}"
    context.close()


def _no_sideways_scroll(page: Any) -> None:
    wide = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            // A table that scrolls inside its own region (overflow-x) does not move the page.
            const scrolls = el => el.closest('.scroll');
            return [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > width + 1 && !scrolls(el))
                .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className
                     + ' ' + Math.round(el.getBoundingClientRect().right) + 'px');
        }"""
    )
    assert not wide, f"{page.url} is wider than the screen: {wide[:8]}"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), page.url


def _case_with_photo_and_message(api: Any) -> dict[str, Any]:
    """A pending return with a photo and a message: the case page with every part showing."""
    feed_order(api)
    buyer = api.as_("buyer", "b-1")
    photo = buyer.post(
        "/v1/evidence", files={"file": ("crushed.png", PNG, "image/png")}, data={"kind": "product_media"}
    )
    assert photo.status_code == 201, photo.text
    case = file_case(api, evidence=[photo.json()["id"]])
    said = buyer.post(f"/v1/after-sales/{case['id']}/messages", json={"body": "盒子压坏了"})
    assert said.status_code == 201, said.text
    return case


def test_the_token_sign_in_page_and_its_failure(api, person, assert_accessible):
    page, lang = person
    page.goto(f"{api.base_url}/console/sign-in{lang}")
    assert_accessible(page)
    page.fill("#token", "not-a-token")
    page.locator("form.action button[type=submit]").click()
    page.locator(".notice.error").wait_for()
    assert_accessible(page, "the failed sign-in")
    _no_sideways_scroll(page)


def test_the_demo_sign_in_page(settings, clock, engine, serve, person, assert_accessible):
    runtime = Runtime.build(dataclasses.replace(settings, demo=True), clock=clock, engine=engine)
    demo.load(runtime)
    api = serve(runtime)
    page, lang = person
    page.goto(f"{api.base_url}/console/sign-in{lang}")
    assert page.locator(".people form").count() > 3
    assert_accessible(page)
    _no_sideways_scroll(page)


def test_the_case_list_the_case_page_and_the_error_page(api, person, assert_accessible):
    case = _case_with_photo_and_message(api)
    page, lang = person
    for role, who in (("merchant", None), ("buyer", "b-1")):
        page.context.clear_cookies()
        sign_in(page, api, role, who)
        page.goto(f"{api.base_url}/console/after-sales{lang}")
        assert page.locator("table.list tbody tr").count() == 1
        assert_accessible(page, f"the {role}'s case list")
        _no_sideways_scroll(page)
        page.goto(f"{api.base_url}/console/after-sales/{case['id']}")
        assert page.locator("form.action").count() >= 2 and page.locator(".files img").count() == 1
        assert_accessible(page, f"the {role}'s case page")
        _no_sideways_scroll(page)
    page.goto(f"{api.base_url}/console/after-sales/as-missing")
    assert_accessible(page, "the not-found page")


def test_the_case_page_s_forms_are_reached_by_keyboard_with_a_visible_focus(api, browser_page):
    case = _case_with_photo_and_message(api)
    sign_in(browser_page, api, "merchant")
    browser_page.goto(f"{api.base_url}/console/after-sales/{case['id']}")
    reached: dict[str, str] = {}  # "approve-return_address" or "approve:button" -> its focus outline
    for _ in range(80):
        browser_page.keyboard.press("Tab")
        focused = browser_page.evaluate(
            """() => {
                const el = document.activeElement, form = el.closest('form[data-action]');
                if (!form) return null;
                const style = getComputedStyle(el);
                return {key: form.dataset.action + ':' + (el.id || el.tagName.toLowerCase()),
                        outline: style.outlineStyle + ' ' + style.outlineWidth};
            }"""
        )
        if focused:
            reached[focused["key"]] = focused["outline"]
    forms = browser_page.locator("form[data-action]").evaluate_all("fs => fs.map(f => f.dataset.action)")
    assert {"approve", "reject"} <= set(forms)
    for action in forms:  # every action form's controls: its fields and its button
        assert any(key.startswith(f"{action}:") for key in reached), (action, reached)
    assert "approve:approve-return_address" in reached and "approve:button" in reached, reached
    hidden = {key: outline for key, outline in reached.items() if outline.startswith("none") or " 0px" in outline}
    assert not hidden, f"controls focused without a visible outline: {hidden}"


def test_the_checker_fails_a_page_with_a_serious_violation(api, browser_page, assert_accessible):
    """The check itself can fail: an unlabelled field and grey-on-white text are caught, by name."""
    browser_page.goto(f"{api.base_url}/console/sign-in")
    browser_page.evaluate(
        """() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<input type="text" id="bare"><p style="color:#ccc;background:#fff">faint</p>')"""
    )
    with pytest.raises(AssertionError) as failed:
        assert_accessible(browser_page)
    assert "label" in str(failed.value) and "#bare" in str(failed.value)
    assert "color-contrast" in str(failed.value)


ROLE_PAGES = {
    ("buyer", "b-1", None): ["/console/orders", "{order}", "{order}/complain"],
    ("merchant", None, "m-1"): [
        "/console/after-sales",
        "/console/merchant/replies",
        "/console/merchant/standing",
        "/console/merchant/metrics",
    ],
    ("agent", "agent-1", None): [
        "/console/disputes",
        "{dispute}",
        "/console/appeals",
        "/console/complaints",
        "/console/merchants/m-1",
        "/console/policy",
        "/console/dashboard",
    ],
}


@pytest.mark.parametrize("lang,viewport", [("zh", "desktop"), ("en", "phone")])
def test_every_role_s_pages_on_the_demo_marketplace(
    settings, clock, engine, serve, chromium, assert_accessible, lang, viewport
):
    runtime = Runtime.build(dataclasses.replace(settings, demo=True), clock=clock, engine=engine)
    assert demo.load(runtime)
    api = serve(runtime)
    context = chromium.new_context(viewport=VIEWPORTS[viewport])
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        for (role, sub, shop), paths in ROLE_PAGES.items():
            context.clear_cookies()
            sign_in(page, api, role, sub, shop)
            page.goto(
                f"{api.base_url}/console/orders?lang={lang}"
                if role == "buyer"
                else f"{api.base_url}/console/disputes?lang={lang}"
            )
            first = {
                "order": page.locator("a[href^='/console/orders/o']").first.get_attribute("href")
                if role == "buyer"
                else None,
                "dispute": page.locator("a[href^='/console/disputes/']").first.get_attribute("href")
                if role == "agent"
                else None,
            }
            for path in paths:
                page.goto(api.base_url + path.format(**first))
                assert page.locator("main h1").count() == 1, page.url
                assert_accessible(page, f"{role}: {path}")
                _no_sideways_scroll(page)
    finally:
        context.close()
