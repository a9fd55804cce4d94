"""The operator's console over real HTTP: sign-in sessions bound to their key, the work
list's filters, search and pages, every action as a form with its result shown, bulk
actions, the exceptions queue, stores' health, inventory rejections, outgoing webhooks,
charts, the page policy and the offline API pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fulfillbridge.core.work import Address, Mode, WorkState
from fulfillbridge.flows import store_signals
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.api_keys import ApiKeyRepository
from fulfillbridge.store.models import InventoryLevelRow, WorkOrderRow
from tests.api.seeding import add_key, add_store, add_work
from tests.console.client import flash, signed_in
from tests.console.seeding import add_personalised_work


async def test_sign_in_sets_a_strict_session_that_ends_with_its_key(server, database) -> None:
    await add_store(database, "acme")
    key = await add_key(database, "ops")
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        first = await http.get("/console/work?state=accepted")
        assert first.status_code == 303
        assert first.headers["location"] == "/signin?next=%2Fconsole%2Fwork%3Fstate%3Daccepted"
        form = await http.get(first.headers["location"])
        assert form.status_code == 200 and 'name="key"' in form.text
        wrong = await http.post("/signin", data={"key": "fbk_nope"}, headers={"Origin": server.url})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        assert "fb_session" not in wrong.cookies
        elsewhere = await http.post(
            "/signin", data={"key": key}, headers={"Origin": "https://evil.example"}
        )
        assert elsewhere.status_code == 403 and "fb_session" not in elsewhere.cookies
        # An open redirect through next= is not possible: only this site's paths.
        done = await http.post(
            "/signin",
            data={"key": key, "next": "//evil.example/x"},
            headers={"Origin": server.url},
        )
        assert done.status_code == 303 and done.headers["location"] == "/"
        cookie = done.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # public_url is http here
        assert key not in cookie  # the key itself never travels in the cookie
        page = await http.get("/")
        assert page.status_code == 200 and "Overview" in page.text
        # A tampered cookie is nobody.
        value = http.cookies["fb_session"]
        http.cookies.set("fb_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
        assert (await http.get("/")).status_code == 303
        http.cookies.set("fb_session", value)
        assert (await http.get("/")).status_code == 200
        # Revoking the key ends the session at once.
        async with database.transaction() as session:
            await ApiKeyRepository(session).revoke("ops")
        ended = await http.get("/")
        assert ended.status_code == 303 and ended.headers["location"].startswith("/signin")


async def test_the_session_cookie_is_secure_behind_https(settings, database) -> None:
    from fulfillbridge.web.app import create_app

    key = await add_key(database, "ops")
    app = create_app(settings.model_copy(update={"public_url": "https://bridge.example"}))
    with BackgroundServer(app) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=20) as http:
            done = await http.post(
                "/signin", data={"key": key}, headers={"Origin": "https://bridge.example"}
            )
    await app.state.database.close()
    assert done.status_code == 303
    assert "Secure" in done.headers["set-cookie"]


async def test_sign_out_needs_the_token_and_ends_the_session(server, database) -> None:
    key = await add_key(database, "ops")
    console = await signed_in(server.url, key)
    async with console:
        forged = await console.http.post("/signout", headers={"Origin": server.url})
        assert forged.status_code == 403
        out = await console.post("/signout")
        assert out.status_code == 303 and out.headers["location"] == "/signin"
        assert "signed out" in flash(out)
        assert (await console.http.get("/")).status_code == 303


async def test_work_list_filters_search_and_pages(server, database) -> None:
    acme = await add_store(database, "acme")
    globex = await add_store(database, "globex")
    grace = Address(name="Grace Hopper", address1="1 Navy Way", city="Arlington", country_code="US")
    await add_personalised_work(database, acme, "acme", order_name="#7001", address=grace)
    broken = await add_work(
        database, acme, "acme", order_name="#7002", state=WorkState.EXCEPTION,
        problems=["SKU NOPE-1 is not in the catalogue"], lines=[("NOPE-1", 1)],
    )  # fmt: skip
    for n in range(55):
        await add_work(database, acme, "acme", order_name=f"#8{n:03d}", lines=[("BULK-SKU", 1)])
    await add_work(database, globex, "globex", order_name="#9001", lines=[("SECRET-SKU", 1)])
    late = await add_work(database, acme, "acme", order_name="#7003")
    async with database.transaction() as session:
        row = await session.get(WorkOrderRow, late)
        row.fulfill_by = datetime.now(UTC) - timedelta(hours=2)
    key = await add_key(database, "acme-only", ["acme"])
    console = await signed_in(server.url, key)
    async with console:

        async def orders(**params) -> list[str]:
            page = await console.get("/console/work", params=params)
            assert page.status_code == 200, page.text
            return re.findall(r'<a href="/console/work/\d+">(#\d+)</a>', page.text)

        assert await orders(q="7001") == ["#7001"]
        assert await orders(q="mug-engraved") == ["#7001"]  # a SKU, any case
        assert await orders(q="grace hop") == ["#7001"]  # the customer's name
        assert await orders(q="ada@example.test") == ["#7001"]  # the customer's e-mail
        assert await orders(q="SECRET-SKU") == []  # another store's work stays hidden
        assert await orders(q="100%_") == []  # LIKE wildcards are taken literally
        assert await orders(exception="true") == ["#7002"]
        assert await orders(state="exception") == ["#7002"]
        assert await orders(overdue="true") == ["#7003"]
        assert await orders(store="globex") == []
        first = await orders()
        assert len(first) == 50
        second = await orders(page="2")
        assert len(second) == 8 and not set(first) & set(second)
        page = await console.get("/console/work", params={"page": "2"})
        assert "page 2 of 2 (58)" in page.text
        bad = await console.get("/console/work", params={"state": "lost"})
        assert bad.status_code == 422 and "state &#39;lost&#39; is not one of" in bad.text
        for params in ({"page": "0"}, {"page": "x"}, {"q": "x" * 201}):
            assert (await console.get("/console/work", params=params)).status_code == 422
        # The exception's reason is on the list and on its page.
        page = await console.get(f"/console/work/{broken}")
        assert "SKU NOPE-1 is not in the catalogue" in page.text


async def test_every_action_is_a_form_with_its_result_shown(server, database) -> None:
    acme = await add_store(database, "acme")
    work = await add_personalised_work(database, acme, "acme", order_name="#7101")
    broken = await add_work(
        database, acme, "acme", order_name="#7102", state=WorkState.EXCEPTION,
        mode=Mode.FULFILLMENT_SERVICE, problems=["shipping address is missing"], address=None,
    )  # fmt: skip
    other = await add_work(database, acme, "acme", order_name="#7103")
    cancelled = await add_work(database, acme, "acme", order_name="#7104")
    key = await add_key(database, "ops")
    api = {"Authorization": f"Bearer {key}"}
    console = await signed_in(server.url, key)
    async with console as http:

        async def state(work_id: int) -> dict:
            return (await http.get(f"/api/v1/work/{work_id}", headers=api)).json()

        page = await console.get(f"/console/work/{work}")
        assert "Engraving" in page.text and "For Ada, with love" in page.text
        # The variant is named once: intake's title already holds it.
        assert "<b>Engraved mug - Blue</b>" in page.text and "Blue / Blue" not in page.text
        assert "- Blue</b> / Blue" not in page.text
        assert 'src="https://cdn.example.test/mug.png"' in page.text  # the thumbnail
        assert "Happy birthday, Ada!" in page.text
        line_ids = re.findall(r'name="qty:([^"]+)"', page.text)
        assert len(line_ids) == 2

        answer = await console.post(f"/console/work/{work}/stage", {"stage": "printing"})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/console/work/{work}"
        assert "#7101: stage reported; now in_progress" in flash(answer)
        assert (await state(work))["stage"] == "printing"
        shown = await console.get(f"/console/work/{work}")
        assert "stage reported" in shown.text  # the flash, shown once
        assert "stage reported" not in (await console.get(f"/console/work/{work}")).text

        refused = await console.post(f"/console/work/{work}/stage", {"stage": "gluing"})
        assert "error|stage: unknown stage 'gluing'" in flash(refused)

        answer = await console.post(
            f"/console/work/{work}/hold", {"reason": "AWAITING_PAYMENT", "notes": "card"}
        )
        assert "put on hold; now on_hold" in flash(answer)
        page = await console.get(f"/console/work/{work}")
        assert "AWAITING_PAYMENT" in page.text and "held by fulfillbridge" in page.text
        answer = await console.post(f"/console/work/{work}/release")
        assert "hold released; now in_progress" in flash(answer)

        bad_qty = await console.post(f"/console/work/{work}/ship", [(f"qty:{line_ids[0]}", "two")])
        assert "error|ship: quantity 'two' is not a whole number" in flash(bad_qty)
        none = await console.post(f"/console/work/{work}/ship", [(f"qty:{line_ids[0]}", "0")])
        assert "nothing to ship" in flash(none)
        answer = await console.post(
            f"/console/work/{work}/ship",
            [
                (f"qty:{line_ids[0]}", "2"),
                (f"qty:{line_ids[1]}", "1"),
                ("company", "UPS"),
                ("number", "1Z999AA10123456784"),
                ("url", "https://track.example/1Z999AA10123456784"),
                ("notify", "1"),
            ],
        )
        assert "shipment recorded; now shipped" in flash(answer)
        view = await state(work)
        assert view["shipments"][0]["packages"][0]["number"] == "1Z999AA10123456784"
        page = await console.get(f"/console/work/{work}")
        assert '<a href="https://track.example/1Z999AA10123456784"' in page.text
        found = await console.get("/console/work", params={"q": "1Z999AA1012"})
        assert "#7101" in found.text  # found by its tracking number

        shipment = view["shipments"][0]["id"]
        answer = await console.post(
            f"/console/work/{work}/tracking",
            {"shipment_id": str(shipment), "company": "DHL", "number": "JD0001"},
        )
        assert "tracking replaced" in flash(answer)
        assert (await state(work))["shipments"][0]["packages"][0]["company"] == "DHL"
        answer = await console.post(f"/console/work/{work}/delivered")
        assert "marked delivered; now delivered" in flash(answer)

        answer = await console.post(
            f"/console/work/{broken}/fix",
            {"ship:address1": "1 Main St", "ship:city": "Ottawa", "ship:country_code": "CA"},
        )
        assert "corrected and validated again; now accepted" in flash(answer)

        answer = await console.post(f"/console/work/{other}/move", {"warehouse": "east"})
        assert "moved" in flash(answer)
        assert (await state(other))["warehouse"] == "east"
        answer = await console.post(f"/console/work/{other}/give-up", {"reason": "out of ink"})
        assert "given up" in flash(answer)
        no_reason = await console.post(f"/console/work/{cancelled}/cancel", {"reason": ""})
        assert flash(no_reason).startswith("error|cancel:")
        answer = await console.post(f"/console/work/{cancelled}/cancel", {"reason": "duplicate"})
        assert "cancelled (given up)" in flash(answer)

        unknown = await console.post(f"/console/work/{work}/explode")
        assert unknown.status_code == 404 and "unknown action" in unknown.text
        missing = await console.post("/console/work/999999/retry")
        assert missing.status_code == 404 and "no work order 999999" in missing.text
        for bad in ("0", "abc", "99999999999"):
            assert (await console.post(f"/console/work/{bad}/retry")).status_code in (404, 422)
        # The timeline names who did it.
        page = await console.get(f"/console/work/{work}")
        assert "dashboard:ops" in page.text and "<time datetime=" in page.text


async def test_bulk_actions_on_a_selection(server, database) -> None:
    acme = await add_store(database, "acme")
    first = await add_work(database, acme, "acme", order_name="#7201")
    second = await add_work(database, acme, "acme", order_name="#7202")
    shipped = await add_work(database, acme, "acme", order_name="#7203", state=WorkState.SHIPPED)
    key = await add_key(database, "ops")
    console = await signed_in(server.url, key)
    async with console:
        await console.get("/console/work")
        answer = await console.post(
            "/console/work/bulk",
            [("ids", str(first)), ("ids", str(second)), ("do", "stage"), ("stage", "printing")],
        )
        assert "ok|stage printing: 2 done (#7201, #7202)" in flash(answer)
        partly = await console.post(
            "/console/work/bulk",
            [("ids", str(shipped)), ("ids", "x"), ("do", "stage"), ("stage", "packing")],
        )
        message = flash(partly)
        assert message.startswith("error|stage packing: 0 done; refused:")
        assert "'x' is not a work id" in message
        nothing = await console.post("/console/work/bulk", {"do": "stage"})
        assert "select at least one order" in flash(nothing)
        pdf = await console.post(
            "/console/work/bulk", [("ids", str(first)), ("ids", str(second)), ("do", "picklist")]
        )
        assert pdf.status_code == 303
        assert pdf.headers["location"] == f"/console/work/picklist.pdf?ids={first}%2C{second}"
        body = await console.http.get(pdf.headers["location"])
        assert body.headers["content-type"] == "application/pdf" and body.content[:5] == b"%PDF-"
        slips = await console.post("/console/work/bulk", [("ids", str(first)), ("do", "slips")])
        body = await console.http.get(slips.headers["location"])
        assert body.content[:5] == b"%PDF-"
        bad = await console.http.get("/console/work/picklist.pdf", params={"ids": "1,x"})
        assert bad.status_code == 422 and "&#39;x&#39; is not a work id" in bad.text


async def test_exceptions_stores_inventory_and_deliveries_pages(server, database) -> None:
    acme = await add_store(database, "acme")
    await add_work(
        database, acme, "acme", order_name="#7301", state=WorkState.EXCEPTION,
        problems=["SKU GHOST is not in the catalogue"],
    )  # fmt: skip
    await store_signals.record_reconcile_failure(database, acme, "ShopifyError: 503 from Shopify")
    await store_signals.record_reconcile_failure(database, acme, "ShopifyError: 503 from Shopify")
    async with database.transaction() as session:
        for n in range(60):
            session.add(
                InventoryLevelRow(
                    store_id=acme, item_id=f"i{n}", location_id="l", sku=f"SKU-{n:02d}",
                    warehouse="main", status="rejected", reason=f"reason {n}",
                )
            )  # fmt: skip
    key = await add_key(database, "ops")
    console = await signed_in(server.url, key)
    async with console as http:
        # A forged webhook naming the store is counted for it.
        forged = await http.post(
            "/webhooks/shopify",
            content=b"{}",
            headers={
                "X-Shopify-Shop-Domain": "acme.myshopify.com",
                "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk",
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Webhook-Id": "w-1",
            },
        )
        assert forged.status_code == 401
        queue = await console.get("/console/exceptions")
        assert "#7301" in queue.text and "SKU GHOST is not in the catalogue" in queue.text
        stores = await console.get("/console/stores")
        assert "2 in a row" in stores.text and "503 from Shopify" in stores.text
        assert re.search(r"webhooks refused \(401\)</dt><dd><span class=\"bad\">1,", stores.text)
        assert "set-up never ran" in stores.text
        overview = await console.get("/")
        assert "needs a look" in overview.text and "2 failed poll(s) in a row" in overview.text
        inventory = await console.get("/console/inventory")
        assert "SKU-00" in inventory.text and "reason 49" in inventory.text
        assert "SKU-50" not in inventory.text and "page 1 of 2 (60)" in inventory.text
        later = await console.get("/console/inventory", params={"page": "2"})
        assert "SKU-59" in later.text and "SKU-00" not in later.text

        # A shipment queues a webhook to the operation; the page lists it and sends it again.
        work = await add_work(database, acme, "acme", order_name="#7302")
        page = await console.get(f"/console/work/{work}")
        quantities = re.findall(r'name="(qty:[^"]+)" value="(\d+)"', page.text)
        shipped = await console.post(
            f"/console/work/{work}/ship", [*quantities, ("company", "UPS"), ("number", "1")]
        )
        assert "shipment recorded" in flash(shipped)
        listed = await console.get("/console/deliveries")
        ids = re.findall(r'action="/console/deliveries/(\d+)/redeliver"', listed.text)
        assert ids and "<td>shipped</td>" in listed.text
        again = await console.post(f"/console/deliveries/{ids[0]}/redeliver")
        assert f"delivery {ids[0]} queued to send again" in flash(again)
        missing = await console.post("/console/deliveries/999999/redeliver")
        assert missing.status_code == 404
        bad = await console.get("/console/deliveries", params={"status": "lost"})
        assert bad.status_code == 400 and "status &#39;lost&#39; is not one of" in bad.text


async def test_pages_have_a_strict_policy_and_load_only_their_own_files(server, database) -> None:
    acme = await add_store(database, "acme")
    await add_work(database, acme, "acme", order_name="#7401")
    key = await add_key(database, "ops")
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        page = await http.get("/", auth=("ops", key))  # HTTP Basic still works for scripts
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert "<script>" not in page.text and " style=" not in page.text
        assert '<svg class="chart"' in page.text and "Orders in and shipped per hour" in page.text
        for source in re.findall(r'(?:src|href)="([^"#]+)"', page.text):
            assert source.startswith("/"), source  # nothing from elsewhere
        for asset in ("/static/console.css", "/static/console.js"):
            answer = await http.get(asset)
            assert answer.status_code == 200 and len(answer.content) > 500
        assert (await http.get("/static/../app.py")).status_code == 404
        for path in ("/docs", "/redoc"):
            answer = await http.get(path)
            assert answer.status_code == 200
            for source in re.findall(r'(?:src|href)="([^"]+)"', answer.text):
                assert source.startswith("/"), (path, source)
        js = await http.get("/docs-assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000


@pytest.mark.parametrize("path", ["/console/work/1", "/console/stores", "/console/exceptions"])
async def test_pages_need_a_viewer(server, path: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        answer = await http.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
        assert (await http.get(path, auth=("ops", "fbk_wrong"))).status_code == 401
