"""The dashboard at / over real HTTP: sign-in with an API key, store scoping, exceptions
with a working retry button."""

from __future__ import annotations

import re

import httpx

from fulfillbridge.core.work import Address, Mode, WorkState
from tests.api.seeding import add_key, add_store, add_work


def _form(page: httpx.Response, origin: str) -> dict:
    """What the page's own form sends: its csrf_token, from this bridge's origin."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text
    return {"data": {"csrf_token": token.group(1)}, "headers": {"Origin": origin}}


async def test_dashboard_needs_a_key_and_shows_only_the_keys_stores(server, database) -> None:
    acme = await add_store(database, "acme")
    globex = await add_store(database, "globex")
    await add_work(database, acme, "acme", order_name="#1001")
    await add_work(
        database,
        acme,
        "acme",
        order_name="#1002",
        state=WorkState.EXCEPTION,
        mode=Mode.ORDER_MANAGEMENT,
        problems=["shipping address is missing"],
        address=None,
    )
    await add_work(database, globex, "globex", order_name="#9001")
    acme_key = await add_key(database, "acme-only", ["acme"])

    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        anonymous = await http.get("/")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        wrong = await http.get("/", auth=("ops", "fbk_nope_nope"))
        assert wrong.status_code == 401
        page = await http.get("/", auth=("ops", acme_key))
        assert page.status_code == 200
        assert "acme.myshopify.com" in page.text
        assert "#1002" in page.text and "shipping address is missing" in page.text
        assert "globex" not in page.text and "#9001" not in page.text

        # A broken-input retry: unknown work and work outside the key's stores are refused.
        form = _form(page, server.url)
        assert (
            await http.post("/dashboard/work/999999/retry", auth=("ops", acme_key), **form)
        ).status_code == 404
        assert (
            await http.post("/dashboard/work/abc/retry", auth=("ops", acme_key))
        ).status_code == 422


async def test_retry_button_revalidates_the_exception(server, database) -> None:
    acme = await add_store(database, "acme", mode="order_management")
    broken = await add_work(
        database,
        acme,
        "acme",
        order_name="#2001",
        state=WorkState.EXCEPTION,
        mode=Mode.ORDER_MANAGEMENT,
        problems=["shipping address is missing"],
        address=Address(address1="1 Main St", city="Ottawa", country_code="CA"),
    )
    key = await add_key(database, "all")
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        form = _form(await http.get("/", auth=("ops", key)), server.url)
        done = await http.post(
            f"/dashboard/work/{broken}/retry", auth=("ops", key), follow_redirects=False, **form
        )
        assert done.status_code == 303
        work = await http.get(f"/api/v1/work/{broken}", headers={"Authorization": f"Bearer {key}"})
        assert work.json()["state"] == "accepted"
        page = await http.get("/", auth=("ops", key))
        assert "no exceptions" in page.text
        assert "dashboard:all" in page.text  # the event log names who retried
