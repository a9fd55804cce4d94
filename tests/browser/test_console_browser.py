"""The console in a real browser (Chromium through Playwright), against the bridge, a worker
and the sandbox over real HTTP: sign in, find an order, ship it and see the fulfillment
with its tracking in Shopify, resolve an exception, a cross-site form refused, every page
usable 400 px wide, times in the viewer's zone; and /docs and /redoc rendering with no
request leaving this machine. Each page is saved as a screenshot (see conftest)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from fulfillbridge.serving import BackgroundServer
from fulfillbridge.web.app import create_app
from tests.api.seeding import api_settings
from tests.browser.conftest import Outside
from tests.e2e.conftest import connect_store
from tests.e2e.harness import Bridge, Merchant, worker

NARROW = {"width": 400, "height": 860}
PAGES = (
    "/",
    "/console/work",
    "/console/exceptions",
    "/console/stores",
    "/console/inventory",
    "/console/deliveries",
)


def _evil_site(target: str) -> BackgroundServer:
    """Another origin whose page posts a form to the console (a forged hold)."""

    async def page(_request) -> HTMLResponse:
        return HTMLResponse(
            f'<form method="post" action="{target}"><input name="reason" value="OTHER">'
            '<input name="csrf_token" value="guessed"><button id="go">win a prize</button></form>'
        )

    return BackgroundServer(Starlette(routes=[Route("/", page)]))


async def _submit(page, selector: str) -> None:
    """Click what sends a form (or follows a link) and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.click(selector)


async def _no_horizontal_scroll(page, path: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"{path} scrolls sideways at 400 px ({width} px wide)"


async def test_an_operator_works_orders_in_the_console(
    bridge: Bridge, merchant: Merchant, sandbox_url: str, browser, artifacts: Path
) -> None:
    await merchant.seed_catalogue("merchant", products=2)
    managed = (await merchant.locations())["Shop location"]
    report = await connect_store(bridge, sandbox_url, mode="order_management", locations=[managed])
    assert report is not None
    stocked = await merchant.stocked_at()
    here = [v for v, where in stocked.items() if where == {managed}]
    good = await merchant.order([(here[0], 2)])
    bad = await merchant.order([(here[1], 1)], address=None)
    good_fo, bad_fo = good["fulfillment_orders"][0]["id"], bad["fulfillment_orders"][0]["id"]
    key = await bridge.api_key()
    outside = Outside()
    problems: list[str] = []
    async with worker(bridge):
        await bridge.wait_state(good_fo, "accepted")
        await bridge.wait_state(bad_fo, "exception")
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo", locale="en-US"
        )
        await outside.watch(context)
        context.set_default_timeout(10_000)
        page = await context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        # Sign in: the console sends a browser without a session to the form.
        await page.goto(bridge.url + "/")
        assert page.url.startswith(bridge.url + "/signin")
        await page.screenshot(path=artifacts / "01-signin.png")
        await page.fill("input[name=key]", "fbk_wrong_wrong")
        await _submit(page, "button:text-is('Sign in')")
        assert "not valid" in await page.inner_text(".flash.error")
        await page.fill("input[name=key]", key)
        await _submit(page, "button:text-is('Sign in')")
        await page.wait_for_url(bridge.url + "/")
        assert "Overview" in await page.inner_text("h1")
        # Times are shown in the viewer's zone (Tokyo here), the UTC text kept as a title.
        first_time = page.locator("time").first
        assert "GMT+9" in (await first_time.inner_text())
        assert "UTC" in (await first_time.get_attribute("title") or "")
        await page.screenshot(path=artifacts / "02-overview.png", full_page=True)

        # Find the order by its name and ship it with tracking.
        await page.fill("input[name=q]", good["name"])
        await page.press("input[name=q]", "Enter")
        await page.wait_for_url("**/console/work?q=*")
        await page.screenshot(path=artifacts / "03-search.png", full_page=True)
        await _submit(page, f"a:text-is('{good['name']}')")
        await page.wait_for_selector("#ship")
        await page.fill("#ship input[name=company]", "UPS")
        await page.fill("#ship input[name=number]", "1ZCONSOLE0001")
        await page.fill("#ship input[name=url]", "https://track.example/1ZCONSOLE0001")
        await _submit(page, "#ship button")
        flash = await page.inner_text(".flash")
        assert "shipment recorded; now shipped" in flash, flash
        link = page.locator("a[href='https://track.example/1ZCONSOLE0001']")
        assert await link.inner_text() == "1ZCONSOLE0001"
        await page.screenshot(path=artifacts / "04-work-shipped.png", full_page=True)

        # Shopify has the fulfillment with the tracking.
        await bridge.wait_sent(good_fo)
        shopify = await merchant.fulfillment_order(good_fo)
        assert shopify["status"] == "CLOSED"
        (fulfillment,) = shopify["fulfillments"]
        assert fulfillment["numbers"] == ["1ZCONSOLE0001"]
        assert fulfillment["companies"] == ["UPS"]
        assert fulfillment["urls"] == ["https://track.example/1ZCONSOLE0001"]

        # The exception: its reason in the queue, fixed on its page.
        await page.goto(bridge.url + "/console/exceptions")
        assert "shipping address" in await page.inner_text("table")
        await page.screenshot(path=artifacts / "05-exceptions.png", full_page=True)
        await _submit(page, f"a:text-is('{bad['name']}')")
        fix = {"name": "Ada Lovelace", "address1": "1 Analytical Way", "city": "London",
               "zip": "N1 1AA", "country_code": "GB"}  # fmt: skip
        for name, value in fix.items():
            await page.fill(f"input[name='ship:{name}']", value)
        await page.screenshot(path=artifacts / "06-exception-fix.png", full_page=True)
        await _submit(page, "button:text-is('Fix')")
        flash = await page.inner_text(".flash")
        assert "corrected and validated again; now accepted" in flash, flash
        assert (await bridge.state_of(bad_fo)) == "accepted"
        bad_id = page.url.rstrip("/").rsplit("/", 1)[1]

        # Auto-refresh can be paused.
        await page.goto(bridge.url + "/console/work")
        toggle = page.locator("#refresh-toggle")
        assert (await toggle.inner_text()).startswith("pause refresh")
        await toggle.click()
        assert await toggle.inner_text() == "resume refresh"

        # A form on another site posting to the console is refused, and changes nothing.
        with _evil_site(f"{bridge.url}/console/work/{bad_id}/hold") as evil:
            await page.goto(evil.url + "/")
            await _submit(page, "#go")
            assert "refused" in await page.inner_text("body")
            await page.screenshot(path=artifacts / "07-csrf-refused.png")
        assert (await bridge.state_of(bad_fo)) == "accepted"

        # Every page is usable 400 px wide: nothing scrolls sideways.
        narrow = await browser.new_context(viewport=NARROW, timezone_id="Europe/Berlin")
        await outside.watch(narrow)
        await narrow.add_cookies(await context.cookies())
        small = await narrow.new_page()
        small.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        work_id = (await bridge.work_for(good_fo)).id
        for n, path in enumerate((*PAGES, f"/console/work/{work_id}"), start=8):
            await small.goto(bridge.url + path)
            await _no_horizontal_scroll(small, path)
            name = path.strip("/").replace("/", "-") or "overview"
            await small.screenshot(path=artifacts / f"{n:02d}-400px-{name}.png", full_page=True)
        await narrow.close()
        await context.close()
    # No page broke its own policy, and nothing but product thumbnails was asked of
    # another host (the console loads its script and styles from itself).
    assert not [p for p in problems if "Content Security Policy" in p], problems
    assert all(kind == "image" for kind, _ in outside.attempts), outside.attempts


async def test_api_documentation_renders_offline(fb_home, browser, artifacts: Path) -> None:
    app = create_app(api_settings(fb_home, f"sqlite:///{fb_home.parent / 'docs.db'}"))
    outside = Outside()
    with BackgroundServer(app) as server:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await outside.watch(context)
        page = await context.new_page()
        await page.goto(server.url + "/docs")
        await page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        paths = await page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/v1/work" in paths and "/api/v1/work/picklist.pdf" in paths
        await page.screenshot(path=artifacts / "15-docs-swagger.png")
        await page.goto(server.url + "/redoc")
        await page.locator("h2", has_text="List work orders").first.wait_for(timeout=20_000)
        await page.screenshot(path=artifacts / "16-docs-redoc.png")
        await context.close()
    await app.state.database.close()
    assert outside.attempts == []  # not one request left 127.0.0.1
