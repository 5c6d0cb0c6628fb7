"""Speaking to the console as a person does: signed in with the marketplace's token, sending the
forms its pages render (with their CSRF token and version), over real HTTP or in Chromium."""

from __future__ import annotations

import re
from typing import Any

import httpx

from live_server import Api

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """One person's browser without the browser: cookies kept, redirects not followed."""

    def __init__(self, api: Api, role: str, sub: str | None = None, merchant_id: str | None = None) -> None:
        sub = sub or {"merchant": f"{merchant_id or 'm-1'}-staff"}.get(role, f"{role}-1")
        merchant_id = merchant_id or ("m-1" if role == "merchant" else None)
        self.api = api
        self.http = httpx.Client(base_url=api.base_url, timeout=30, follow_redirects=False)
        signed = self.http.post("/console/sign-in", data={"token": api.token(role, sub, merchant_id)})
        assert signed.status_code == 303, signed.text

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def csrf(self, path: str = "/console/after-sales") -> str:
        page = self.get(path)
        found = CSRF.search(page.text)
        assert found, f"no form on {path}: {page.status_code}"
        return found.group(1)

    def act(
        self, kind: str, subject_id: str, action: str, *, version: int | None = None, **fields: Any
    ) -> httpx.Response:
        """Post an action's form as its page would (`version`: the one the page showed)."""
        data = {"csrf": self.csrf(), "back": f"/console/after-sales/{subject_id}", **fields}
        if version is not None:
            data["version"] = str(version)
        return self.http.post(f"/console/act/{kind}/{subject_id}/{action}", data=data)

    def close(self) -> None:
        self.http.close()


def sign_in(page: Any, api: Api, role: str, sub: str | None = None, merchant_id: str | None = None) -> None:
    """Sign a Playwright page in the way a marketplace hands a person over: with their token."""
    sub = sub or {"merchant": f"{merchant_id or 'm-1'}-staff"}.get(role, f"{role}-1")
    merchant_id = merchant_id or ("m-1" if role == "merchant" else None)
    page.goto(f"{api.base_url}/console/sign-in")
    page.fill("#token", api.token(role, sub, merchant_id))
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


# What fails a page: axe-core's two worst impacts (moderate and minor ones are for a reviewer).
BLOCKING = ("serious", "critical")


def assert_accessible(page: Any, axe_script: str, context: str = "") -> None:
    """Run axe-core on the page as it is now and fail on any serious or critical violation,
    listing each (rule, what it asks, the elements' selectors). `axe_script` is the
    `axe_script` fixture's (tests/conftest.py); mark the test `accessibility`.

    The console's CSP (script-src 'self') refuses inline scripts, so `page.add_script_tag`
    cannot put axe into the page. `page.evaluate` goes through the DevTools protocol, which CSP
    does not govern: the page keeps its real headers, and its own scripts run as they would for a
    person (a context with `bypass_csp` would test a page nobody sees)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_script)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }"""
    )
    blocking = [v for v in found if v["impact"] in BLOCKING]
    lines = [f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['targets'][:5])}" for v in blocking]
    where = context or page.url
    assert not blocking, f"accessibility violations on {where}:\n" + "\n".join(lines)
