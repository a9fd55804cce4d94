"""`fulfillbridge workers`: every worker's heartbeat, alive or stopped, as a table or JSON;
bad options get one clear line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from fulfillbridge.cli import app
from fulfillbridge.config import load_settings
from fulfillbridge.store import queues
from fulfillbridge.store.database import Database


@pytest.fixture
def run(fb_home, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["workers", *args], catch_exceptions=False)


def _beats(*beats: tuple[queues.Beat, datetime]) -> None:
    async def main() -> None:
        database = Database.from_settings(load_settings())
        try:
            for worker, at in beats:
                async with database.transaction() as session:
                    await queues.beat(session, worker, now=at, lease_seconds=15)
        finally:
            await database.close()

    asyncio.run(main())


def test_no_workers(run) -> None:
    result = run()
    assert result.exit_code == 0
    assert "no workers are running" in result.output
    listed = run("--json")
    assert (listed.exit_code, json.loads(listed.output)) == (0, [])


def test_workers_alive_and_stopped(run) -> None:
    now = datetime.now(UTC)
    _beats(
        (
            queues.Beat("box-1-aa", "box", 101, now - timedelta(minutes=5), "acme", 2, 40),
            now - timedelta(seconds=1),
        ),
        (queues.Beat("box-2-bb", "box", 102, now - timedelta(hours=1)), now - timedelta(minutes=3)),
    )
    shown = run()
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[1]: line for line in shown.output.splitlines() if "box-" in line}
    assert "alive" in lines["box-1-aa"] and "acme" in lines["box-1-aa"]
    assert "stopped beating" in lines["box-2-bb"]

    listed = json.loads(run("--json").output)
    assert [(w["worker_id"], w["alive"], w["current_store"]) for w in listed] == [
        ("box-1-aa", True, "acme"),
        ("box-2-bb", False, None),
    ]
    assert listed[0]["pid"] == 101 and listed[0]["stores_held"] == 2 and listed[0]["rounds"] == 40
    assert 170 < listed[1]["seconds_since_beat"] < 200
    # A wider limit calls the quiet one alive again.
    wide = json.loads(run("--json", "--stale-after", "600").output)
    assert [w["alive"] for w in wide] == [True, True]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--stale-after", "-1"), "--stale-after must be between 0 and 86400 seconds"),
        (("--stale-after", "0"), "--stale-after must be between 0 and 86400 seconds"),
        (("--stale-after", "1e9"), "--stale-after must be between 0 and 86400 seconds"),
        (("--stale-after", "soon"), "Invalid value for '--stale-after'"),
        (("--json", "extra"), "Got unexpected extra argument"),
        (("--colour",), "No such option"),
    ],
)
def test_bad_options_get_one_clear_error(run, args, message) -> None:
    result = CliRunner().invoke(app, ["workers", *args])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
