"""What a browser is protected from: cross-site form posts to the dashboard (CSRF), being
framed, sniffing, leaking URLs through Referer; and /metrics behind its token. The real
app under uvicorn, a real SQLite file."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from fulfillbridge.config import Settings
from fulfillbridge.core.work import Address, Mode, WorkState
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web import csrf
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_key, add_store, add_work, api_settings


@pytest.fixture
def settings(fb_home: Path) -> Settings:
    return api_settings(fb_home, f"sqlite:///{fb_home.parent / 'browser.db'}").model_copy(
        update={"metrics_token": None}
    )


def _serve(settings: Settings) -> BackgroundServer:
    return BackgroundServer(create_app(settings))


async def _exception(settings: Settings) -> tuple[int, str]:
    database = Database.from_settings(settings)
    try:
        store = await add_store(database, "acme", mode="order_management")
        work = await add_work(
            database, store, "acme", order_name="#3001", state=WorkState.EXCEPTION,
            mode=Mode.ORDER_MANAGEMENT, problems=["shipping address is missing"],
            address=Address(address1="1 Main St", city="Ottawa", country_code="CA"),
        )  # fmt: skip
        return work, await add_key(database, "ops")
    finally:
        await database.close()


@pytest.fixture
async def world(settings: Settings) -> tuple[int, str]:
    return await _exception(settings)


@pytest.fixture
def served(settings: Settings, world: tuple[int, str]) -> Iterator[BackgroundServer]:
    with _serve(settings) as server:
        yield server


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def test_a_cross_site_form_post_is_refused_and_changes_nothing(
    served: BackgroundServer, world: tuple[int, str]
) -> None:
    work, key = world
    auth = ("ops", key)
    api = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=served.url, timeout=20) as http:
        token = _token(http.get("/", auth=auth).text)
        retry = f"/dashboard/work/{work}/retry"
        attempts = [
            # The attack as found: a form on another site, the browser adds Basic credentials.
            {"headers": {"Origin": "https://evil.example"}, "data": {}},
            # Even with a token it somehow learned, another origin is refused.
            {"headers": {"Origin": "https://evil.example"}, "data": {"csrf_token": token}},
            {"headers": {"Referer": "https://evil.example/page"}, "data": {"csrf_token": token}},
            {"headers": {"Origin": "null"}, "data": {"csrf_token": token}},
            # No Origin and no Referer at all: refused.
            {"headers": {}, "data": {"csrf_token": token}},
            # Our own origin without the token, or with a wrong one.
            {"headers": {"Origin": served.url}, "data": {}},
            {"headers": {"Origin": served.url}, "data": {"csrf_token": "forged"}},
        ]
        for attempt in attempts:
            answer = http.post(retry, auth=auth, follow_redirects=False, **attempt)
            assert answer.status_code == 403, (attempt, answer.text)
        assert http.get(f"/api/v1/work/{work}", headers=api).json()["state"] == "exception"
        # The page's own form, from the page's own origin, works.
        done = http.post(
            retry, auth=auth, follow_redirects=False,
            headers={"Origin": served.url}, data={"csrf_token": token},
        )  # fmt: skip
        assert done.status_code == 303, done.text
        assert http.get(f"/api/v1/work/{work}", headers=api).json()["state"] == "accepted"
        # A Referer from the bridge's own pages does as well as Origin.
        again = http.post(
            "/dashboard/deliveries/999999/redeliver", auth=auth, follow_redirects=False,
            headers={"Referer": served.url + "/"}, data={"csrf_token": token},
        )  # fmt: skip
        assert again.status_code == 404


def test_every_answer_carries_the_security_headers(served: BackgroundServer, world) -> None:
    _, key = world
    with httpx.Client(base_url=served.url, timeout=20) as http:
        answers = [
            http.get("/", auth=("ops", key)),
            http.get("/"),
            http.get("/healthz"),
            http.get("/api/v1/work", headers={"Authorization": f"Bearer {key}"}),
            http.get("/api/v1/work"),
            http.post("/webhooks/shopify", content=b"{}"),
            http.get("/nowhere"),
            http.get("/openapi.json"),
        ]
    for answer in answers:
        headers = answer.headers
        assert headers["x-frame-options"] == "DENY", answer.url
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    # The dashboard's own page has the stricter policy: nothing loaded, no script.
    assert "default-src 'none'" in answers[0].headers["content-security-policy"]


def test_metrics_behind_their_token(settings: Settings, world) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("m3trics")})
    with _serve(guarded) as server, httpx.Client(base_url=server.url, timeout=20) as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        basic = base64.b64encode(b"x:m3trics").decode()
        assert http.get("/metrics", headers={"Authorization": f"Basic {basic}"}).status_code == 401
        fine = http.get("/metrics", headers={"Authorization": "Bearer m3trics"})
        assert fine.status_code == 200 and "fulfillbridge" in fine.text
    with _serve(settings) as server:  # no token set: open, as before
        assert httpx.get(server.url + "/metrics", timeout=20).status_code == 200


def test_the_token_is_bound_to_the_session_and_the_origin_check_is_strict() -> None:
    secret = b"k" * 32
    one, two = csrf.session_token(secret, "apikey:1:a"), csrf.session_token(secret, "apikey:2:b")
    assert one != two and one == csrf.session_token(secret, "apikey:1:a")
    public = "https://bridge.example"
    assert csrf.same_origin({"origin": public}, host="internal:8000", public_url=public)
    assert csrf.same_origin(
        {"origin": "http://internal:8000"}, host="internal:8000", public_url=public
    )
    for headers in (
        {"origin": "https://bridge.example.evil.test"},
        {"origin": "https://evil.test", "referer": public + "/"},
        {"referer": "javascript:alert(1)"},
        {"origin": "https://user@evil.test"},
        {},
    ):
        assert not csrf.same_origin(headers, host="internal:8000", public_url=public), headers
