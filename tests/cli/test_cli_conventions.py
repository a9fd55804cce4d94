"""What every command keeps, through the real app (Typer's CliRunner on ``fulfillbridge.cli``)
or the real ``fulfillbridge`` entry point: examples in each --help and no ``<bool>``, the
exit codes, ``--json``, every API action as an ``orders`` command with ``#`` optional,
one-line errors, unfolded output in a pipe, ``store remove`` asking first, ``store add
--no-check`` contacting nobody, and the first hour's helpers (``sandbox seed``, ``sandbox
orders create``, the ``store add`` line ``sandbox serve`` prints, ``serve``'s port warning,
``store setup`` checking public_url)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer

from fulfillbridge.cli import app
from fulfillbridge.config import load_settings
from fulfillbridge.core.work import WorkState
from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN, DEFAULT_SHOP_DOMAIN
from fulfillbridge.serving import BackgroundServer
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from tests.api.seeding import add_store, add_work, outbox

COMMAND = str(Path(sys.executable).with_name("fulfillbridge"))


def _db(work):
    async def main():
        database = Database.from_settings(load_settings())
        try:
            return await work(database)
        finally:
            await database.close()

    return asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _leaf_commands() -> list[list[str]]:
    """Every command of the tree, as the words that reach it."""
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command, words: list[str]) -> None:
        children = getattr(command, "commands", None)
        if not children:
            found.append(words)
            return
        for name, child in children.items():
            walk(child, [*words, name])

    walk(root, [])
    return found


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FULFILLBRIDGE_", "COLUMNS"))}
    env.update(FULFILLBRIDGE_HOME=str(home), **extra)
    return env


# --- help, exit codes -------------------------------------------------------------------------


def test_every_command_has_examples_exit_codes_and_no_bool_metavar(cli) -> None:
    commands = _leaf_commands()
    assert len(commands) >= 35
    for words in commands:
        shown = cli(*words, "--help")
        assert shown.exit_code == 0, (words, shown.output)
        assert "Examples:" in shown.output, words
        assert "$ fulfillbridge " + " ".join(words) in shown.output, words
        flat = " ".join(shown.output.split())
        assert "Exit codes: 0 done; 1 error (nothing done" in flat, words
        assert "2 wrong command line (bad value, missing file); 3 done in part" in flat, words
        if " ORDER" in shown.output:
            # Every command that takes an order says how to name a work id unambiguously.
            assert "work:7" in flat and "ambiguous" in flat, words
        assert "<bool>" not in shown.output, words
    assert "Exit codes" in cli("--help").output


def test_every_api_action_is_an_orders_command(cli) -> None:
    names = {tuple(words) for words in _leaf_commands()}
    for action in (
        "stage",
        "hold",
        "release",
        "ship",
        "cancel",
        "fix",
        "retry",
        "give-up",
        "override",
        "delivered",
        "ready-for-pickup",
    ):
        assert ("orders", action) in names, action


# --- orders actions, # optional, --json ----------------------------------------------------------


@pytest.fixture
def work(cli) -> dict[str, int]:
    async def seed(database):
        acme = await add_store(database, "acme")
        return {
            "acme": acme,
            "1001": await add_work(database, acme, "acme", order_name="#1001"),
            "1003": await add_work(
                database,
                acme,
                "acme",
                order_name="#1003",
                state=WorkState.EXCEPTION,
                address=None,
                problems=["shipping address is missing"],
            ),
        }

    return _db(seed)


def test_actions_from_the_command_line_reach_the_outbox(cli, work) -> None:
    show = cli("orders", "show", "1001", "--json")  # no '#': found as #1001
    assert show.exit_code == 0, show.output
    assert json.loads(show.stdout)["id"] == work["1001"]

    staged = cli("orders", "stage", "1001", "picking", "--json")
    assert staged.exit_code == 0, staged.output
    body = json.loads(staged.stdout)
    assert body["work"]["stage"] == "picking" and body["queued"][0]["kind"] == "report_progress"

    held = cli("orders", "hold", "#1001", "--reason", "INCORRECT_ADDRESS", "--notes", "flat?")
    assert held.exit_code == 0 and "on hold" in held.output, held.output
    assert cli("orders", "release", "1001").exit_code == 0
    shipped = cli("orders", "ship", "1001", "--carrier", "UPS", "--tracking", "1Z1")
    assert shipped.exit_code == 0 and "now shipped" in shipped.output, shipped.output
    delivered = cli("orders", "delivered", "1001", "--json")
    assert json.loads(delivered.stdout)["work"]["state"] == "delivered"
    kinds = [kind for kind, _ in _db(lambda db: outbox(db, work["1001"]))]
    assert kinds == [
        "report_progress",
        "hold",
        "release_hold",
        "create_fulfillment",
        "fulfillment_event",
    ]


def test_exception_commands_and_their_broken_input(cli, work) -> None:
    no_fix = cli("orders", "fix", "1003")
    assert no_fix.exit_code == 2 and "--address" in no_fix.output
    bad_field = cli("orders", "fix", "1003", "--address", "planet=Mars")
    assert bad_field.exit_code == 2 and "FIELD=VALUE" in bad_field.output
    retried = cli("orders", "retry", "1003", "--json")
    assert retried.exit_code == 0
    assert json.loads(retried.stdout)["work"]["state"] == "exception"
    fixed = cli(
        "orders", "fix", "1003", "--address", "name=Ada Lovelace",
        "--address", "address1=1 Main St", "--address", "city=Ottawa",
        "--address", "zip=K1A 0A1", "--address", "country_code=CA",
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    assert "now accepted" in fixed.output
    gave_up = cli("orders", "give-up", "1003", "--reason", "blank out of stock")
    assert gave_up.exit_code == 0, gave_up.output
    again = cli("orders", "cancel", "1003", "--reason", "twice")
    assert again.exit_code == 1 and again.output.startswith("error: ")
    assert cli("orders", "hold", "1001", "--reason", "BORED").exit_code == 2
    assert cli("orders", "stage", "4242", "picking").exit_code == 1
    assert cli("orders", "override", "1001").exit_code == 2  # --reason is required


# --- stores ---------------------------------------------------------------------------------------


def _add_sandbox_store(cli, sandbox_url: str, *extra: str):
    return cli(
        "store", "add", "demo", "--shop", DEFAULT_SHOP_DOMAIN, "--token", DEFAULT_ACCESS_TOKEN,
        "--api-url", sandbox_url, *extra,
    )  # fmt: skip


def test_store_add_warns_without_webhook_secret_and_json_everywhere(cli, sandbox_url) -> None:
    added = _add_sandbox_store(cli, sandbox_url, "--json")
    assert added.exit_code == 0, added.output
    assert "warning: no --webhook-secret" in added.stderr
    body = json.loads(added.stdout)
    assert body["store"]["name"] == "demo" and body["check"]["ok"] is True
    listed = json.loads(cli("store", "list", "--json").stdout)
    assert [s["name"] for s in listed] == ["demo"]
    checked = json.loads(cli("store", "check", "demo", "--json").stdout)
    assert checked["shop"] == DEFAULT_SHOP_DOMAIN and checked["ok"] is True
    keys = cli("apikey", "create", "ops", "--json")
    assert json.loads(keys.stdout)["key"].startswith("fbk_")
    assert [k["name"] for k in json.loads(cli("apikey", "list", "--json").stdout)] == ["ops"]


def test_store_add_no_check_contacts_nobody(cli) -> None:
    # Nothing listens on this port: a single call would fail the command.
    nowhere = f"http://127.0.0.1:{_free_port()}"
    added = cli(
        "store", "add", "offline", "--shop", "offline.myshopify.com", "--token", "shpat_x",
        "--webhook-secret", "s", "--api-url", nowhere, "--no-check",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "not checked" in added.output
    assert "offline" in cli("store", "list").output


def test_store_remove_asks_and_says_it_deletes_history(cli, sandbox_url, work) -> None:
    shown = cli("store", "remove", "--help")
    assert "history" in shown.output and "--yes" in shown.output
    kept = cli("store", "remove", "acme", input="n\n")
    assert kept.exit_code == 1
    assert "delete its 2 work order(s)" in kept.output
    assert "acme" in cli("store", "list").output
    removed = cli("store", "remove", "acme", input="y\n")
    assert removed.exit_code == 0 and "2 work order(s)" in removed.output
    assert cli("store", "remove", "acme", "--yes").exit_code == 1  # gone now


def test_store_setup_checks_the_bridge_answers_at_public_url(
    cli, sandbox_url, fb_home, monkeypatch
) -> None:
    port = _free_port()
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", f"http://127.0.0.1:{port}")
    assert _add_sandbox_store(cli, sandbox_url, "--webhook-secret", "s").exit_code == 0
    configured = cli("store", "configure", "demo", "--mode", "fulfillment_service", "--json")
    assert configured.exit_code == 0, configured.output
    assert json.loads(configured.stdout)["settings"]["mode"] == "fulfillment_service"
    log = f"{sandbox_url}/__sandbox/shops/{DEFAULT_SHOP_DOMAIN}/requests"
    before = httpx.get(log, timeout=10).json()["requests"]
    nobody = cli("store", "setup", "demo")
    assert nobody.exit_code == 1
    assert f"nothing answers at http://127.0.0.1:{port}/healthz" in nobody.output
    assert "nothing was changed" in " ".join(nobody.output.split())
    # Checked before any registration: Shopify was not called at all.
    assert httpx.get(log, timeout=10).json()["requests"] == before
    skipped = cli("store", "setup", "demo", "--no-verify-url", "--json")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["public_url_answers"] is None

    with BackgroundServer(create_app(load_settings()), port=port):
        answered = cli("store", "setup", "demo", "--json")
    assert answered.exit_code == 0, answered.output
    body = json.loads(answered.stdout)
    assert body["public_url_answers"] is True and body["changed"] is False

    # A public_url the bridge does not answer at moves nothing that was registered.
    monkeypatch.setenv("FULFILLBRIDGE_PUBLIC_URL", f"http://127.0.0.1:{_free_port()}")
    before = httpx.get(log, timeout=10).json()["requests"]
    wrong = cli("store", "setup", "demo", "--json")
    assert wrong.exit_code == 1
    wrong_body = json.loads(wrong.stdout)
    assert wrong_body["public_url_answers"] is False and wrong_body["changed"] is False
    assert wrong_body["steps"] == [] and "nothing answers" in wrong_body["problem"]
    assert httpx.get(log, timeout=10).json()["requests"] == before


# --- the sandbox helpers -------------------------------------------------------------------


def test_sandbox_seed_and_orders_go_to_the_bridge(cli, sandbox_url, monkeypatch) -> None:
    monkeypatch.setenv("FULFILLBRIDGE_SANDBOX_URL", sandbox_url)
    early = cli("sandbox", "seed")
    assert early.exit_code == 1 and "store setup" in early.output
    assert "sandbox orders create" in cli("sandbox", "orders", "create", "--help").output
    assert cli("sandbox", "orders", "create", "0").exit_code == 2
    assert cli("sandbox", "seed", "--stock-at", "moon").exit_code == 2

    merchant = httpx.post(
        f"{sandbox_url}/admin/api/2026-07/graphql.json",
        json={"query": 'mutation { fulfillmentServiceCreate(name: "fulfillbridge") '
              "{ fulfillmentService { id } userErrors { message } } }"},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
    )  # fmt: skip
    assert merchant.json()["data"]["fulfillmentServiceCreate"]["userErrors"] == []
    seeded = cli("sandbox", "seed", "--products", "3", "--json")
    assert seeded.exit_code == 0, seeded.output
    assert json.loads(seeded.stdout)["settings"]["auto_submit_fulfillment_requests"] is True
    made = cli("sandbox", "orders", "create", "2", "--personalised", "--json")
    assert made.exit_code == 0, made.output
    body = json.loads(made.stdout)
    assert body["orders"] == 2 and len(body["service_fulfillment_order_ids"]) == 2
    said = cli("sandbox", "orders", "create", "1")
    assert "1 of 1 fulfillment order(s) assigned to the bridge" in said.output


def test_sandbox_commands_name_a_missing_sandbox(cli) -> None:
    nowhere = f"http://127.0.0.1:{_free_port()}"
    missing = cli("sandbox", "seed", "--url", nowhere)
    assert missing.exit_code == 1
    assert (
        missing.output.startswith("error: no sandbox at") and len(missing.output.splitlines()) == 1
    )


def test_the_sandbox_lists_its_controls(sandbox_url) -> None:
    listed = httpx.get(f"{sandbox_url}/__sandbox/")
    assert listed.status_code == 200
    paths = [c["path"] for c in listed.json()["controls"]]
    assert "/__sandbox/seed?shop={domain}" in paths and "/__sandbox/clock" in paths
    page = httpx.get(f"{sandbox_url}/__sandbox/", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<table>" in page.text and "/__sandbox/faults" in page.text
    assert httpx.get(f"{sandbox_url}/__sandbox/nothing-here").status_code == 404


# --- the real entry point ------------------------------------------------------------------


def test_sandbox_serve_prints_the_store_add_line(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [COMMAND, "sandbox", "serve", "--port", str(port)],
        env=_env(tmp_path / "home", PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "store add" in line:
                break
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert lines[-1].strip() == (
        f"fulfillbridge store add demo-shop --shop {DEFAULT_SHOP_DOMAIN} --api-url "
        f"http://127.0.0.1:{port} --token shpat_sandbox --webhook-secret sandbox-client-secret"
    )


def test_serve_warns_when_its_port_is_not_public_urls(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port)],
        env=_env(tmp_path / "home", PYTHONUNBUFFERED="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert first.startswith("warning: public_url is http://127.0.0.1:8000")
    assert f"listens on port {port}" in first


def test_a_database_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    env = _env(
        tmp_path / "home",
        FULFILLBRIDGE_DATABASE_URL=f"postgresql://nobody:pw@127.0.0.1:{_free_port()}/none",
    )
    for args in (["orders", "list"], ["store", "list"], ["apikey", "list"]):
        done = subprocess.run(
            [COMMAND, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("error: the database cannot be used"), done.stderr
        assert "pw" not in done.stderr


def test_piped_output_is_not_folded(tmp_path: Path) -> None:
    long_url = "http://127.0.0.1:9/" + "a-very-long-path-segment/" * 6
    env = _env(tmp_path / "home")
    added = subprocess.run(
        [COMMAND, "store", "add", "wide", "--shop", "a-shop-with-a-long-name.myshopify.com",
         "--token", "shpat_x", "--webhook-secret", "s", "--api-url", long_url, "--no-check"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = subprocess.run(
        [COMMAND, "store", "list"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert long_url.rstrip("/") in listed.stdout
    assert any(long_url.rstrip("/") in line for line in listed.stdout.splitlines())
