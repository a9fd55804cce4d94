"""`fulfillbridge worker --metrics-port N`: a real worker process serving Prometheus metrics
(its own loop and the database's backlog), and the option's bad values."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx

from tests.e2e.harness import WorkerProcess, free_port, fulfillbridge_command, write_config
from tests.web.test_health_and_metrics import samples


async def test_a_worker_serves_its_metrics_and_the_backlog(fb_home: Path) -> None:
    write_config(fb_home, "http://127.0.0.1:9")
    port = free_port()
    worker = WorkerProcess(
        fulfillbridge_command("worker", "--metrics-port", str(port)), fb_home / "worker.log"
    ).start()
    try:
        found: dict = {}
        for _ in range(150):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            found = samples(response.text)
            if found.get(("fulfillbridge_worker_up", ())) == 1:
                break
            await asyncio.sleep(0.1)
        assert found.get(("fulfillbridge_worker_up", ())) == 1, worker.log()
        first = found[("fulfillbridge_worker_last_round_timestamp_seconds", ())]
        assert first > 0
        assert found[("fulfillbridge_database_up", ())] == 1
        assert ("fulfillbridge_request_to_accepted_seconds_count", ()) in found
        await asyncio.sleep(0.5)  # the loop goes on: its last round moves forward
        later = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        assert later[("fulfillbridge_worker_last_round_timestamp_seconds", ())] > first
        assert await worker.stop() == 0, worker.log()
    finally:
        worker.ensure_stopped()


def test_bad_metrics_ports_are_refused(cli) -> None:
    for bad in ("0", "70000", "http"):
        result = cli("worker", "--once", "--metrics-port", bad)
        assert result.exit_code == 2, result.output
        assert "--metrics-port" in result.output


def test_a_metrics_port_in_use_is_one_line(cli, fb_home: Path) -> None:
    write_config(fb_home, "http://127.0.0.1:9")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("worker", "--once", "--metrics-port", str(port))
    assert result.exit_code == 1
    assert "Address already in use" in result.output or "address" in result.output.lower()
    assert "Traceback" not in result.output
