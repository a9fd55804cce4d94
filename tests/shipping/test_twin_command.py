"""`fulfillbridge sandbox carrier-twin`: a carrier's twin on its own, with `/__twin/`
listing its controls."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from fulfillbridge.carrier_twins import clickpost, shiprocket, ups
from fulfillbridge.cli import app


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_ups_twin_runs_on_its_own_and_lists_its_controls() -> None:
    port = _free_port()
    command = "from fulfillbridge.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", command, "sandbox", "carrier-twin", "ups", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        listed = None
        for _ in range(100):
            try:
                listed = httpx.get(f"{url}/__twin/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert listed is not None and listed.status_code == 200
        body = listed.json()
        assert body["credentials"] == {"client_id": "twin-client", "client_secret": "twin-secret"}
        paths = {c["path"] for c in body["controls"]}
        assert {"/__twin/summary", "/__twin/packages/{number}/scan"} <= paths
        # What it lists is there.
        assert httpx.get(f"{url}/__twin/summary", timeout=5).json()["purchases"] == 0
        token = httpx.post(
            f"{url}/security/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("twin-client", "twin-secret"),
            timeout=5,
        )
        assert token.status_code == 200, token.text
        page = httpx.get(f"{url}/__twin/", headers={"Accept": "text/html"}, timeout=5)
        assert "<table>" in page.text and "/__twin/summary" in page.text
    finally:
        process.terminate()
        printed, _ = process.communicate(timeout=20)
    assert "carrier add ups-twin --carrier ups" in printed and f"--base-url {url}" in printed


@pytest.mark.parametrize("make", [shiprocket.create_app, clickpost.create_app, ups.create_app])
async def test_every_twin_lists_only_routes_it_has(make) -> None:
    twin = make()
    transport = httpx.ASGITransport(app=twin)
    async with httpx.AsyncClient(transport=transport, base_url="http://twin.test") as client:
        body = (await client.get("/__twin/")).json()
    routes = {route.path for route in twin.routes}
    assert {c["path"] for c in body["controls"]} <= routes
    assert body["credentials"] and all(body["credentials"].values())


@pytest.mark.parametrize(
    ("args", "words"),
    [(["fedex"], "'fedex' is not one of ups, shiprocket, clickpost"), (["ups", "--port", "0"], "")],
)
def test_a_wrong_twin_or_port_is_a_usage_error(args: list[str], words: str) -> None:
    result = CliRunner().invoke(app, ["sandbox", "carrier-twin", *args])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split())
