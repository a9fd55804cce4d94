"""The README's "Try it with the sandbox" walkthrough, run as a newcomer would: every line
of its ``console`` block through the real ``fulfillbridge`` command, in an empty directory.

Lines marked "keeps running" (``sandbox serve``, ``serve``) start in the background and are
waited for. Ports are the only change made to the README's lines: the sandbox and the
bridge get free ports (the README's 8765 and 8000, and ``public_url`` set to match) so the
test never collides with anything else on the machine. A line that fails is tried again
for a few seconds, as a person would after the bridge took its orders in. At the end the
order was shipped, and Shopify (the sandbox) has the fulfillment with its tracking.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Try it with the sandbox"
KEEPS_RUNNING = "# keeps running"
COMMAND = str(Path(sys.executable).with_name("fulfillbridge"))
README_SANDBOX_PORT = "8765"
README_BRIDGE_PORT = "8000"


def walkthrough_lines(readme: str) -> list[str]:
    """The ``$ `` lines of the first ``console`` block under the walkthrough's heading."""
    section = readme.split(HEADING, 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", section, re.S)
    assert block, f"no ```console block under {HEADING!r} in README.md"
    lines = [line[2:] for line in block.group(1).splitlines() if line.startswith("$ ")]
    assert lines and all(line.startswith("fulfillbridge ") for line in lines), lines
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} stopped: {process.stdout and ''}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url} within {seconds} s")


class Walkthrough:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sandbox_port = _free_port()
        self.bridge_port = _free_port()
        kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
        self.env = {key: os.environ[key] for key in kept if key in os.environ}
        self.env.update(
            PATH=f"{Path(COMMAND).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            FULFILLBRIDGE_PUBLIC_URL=f"http://127.0.0.1:{self.bridge_port}",
            FULFILLBRIDGE_SANDBOX_URL=f"http://127.0.0.1:{self.sandbox_port}",
            PYTHONUNBUFFERED="1",
        )
        self.background: list[subprocess.Popen[str]] = []
        self.outputs: list[tuple[str, str]] = []

    def localise(self, line: str) -> list[str]:
        """The README's line as arguments, on this run's ports."""
        command = line.split(" #", 1)[0].strip()
        command = command.replace(
            f"127.0.0.1:{README_SANDBOX_PORT}", f"127.0.0.1:{self.sandbox_port}"
        )
        args = shlex.split(command)
        if args[1:3] == ["sandbox", "serve"]:
            args += ["--port", str(self.sandbox_port)]
        elif args[1:2] == ["serve"]:
            args += ["--port", str(self.bridge_port)]
        return args

    def start(self, line: str) -> None:
        args = self.localise(line)
        log = (self.directory / f"{args[1]}-{len(self.background)}.log").open("w")
        process = subprocess.Popen(
            args,
            cwd=self.directory,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.background.append(process)
        if args[1] == "sandbox":
            _wait_for(f"http://127.0.0.1:{self.sandbox_port}/__sandbox/", process)
        else:
            _wait_for(f"http://127.0.0.1:{self.bridge_port}/healthz", process)

    def run(self, line: str, *, patience: float = 20) -> str:
        args = self.localise(line)
        deadline = time.monotonic() + patience
        while True:
            done = subprocess.run(
                args,
                cwd=self.directory,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.outputs.append((line, done.stdout + done.stderr))
        assert done.returncode == 0, f"$ {line}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout

    def stop(self) -> None:
        for process in self.background:
            process.terminate()
        for process in self.background:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def walkthrough(tmp_path: Path) -> Iterator[Walkthrough]:
    running = Walkthrough(tmp_path)
    yield running
    running.stop()


def test_the_readme_walkthrough_ships_an_order(walkthrough: Walkthrough) -> None:
    lines = walkthrough_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    assert sum(KEEPS_RUNNING in line for line in lines) == 2
    last = ""
    for line in lines:
        if KEEPS_RUNNING in line:
            walkthrough.start(line)
        else:
            last = walkthrough.run(line)

    # The README's last line shows the work as JSON: the order arrived and was shipped.
    import json

    shown = json.loads(last)
    assert shown["order_name"] == "#1001"
    assert shown["state"] == "shipped"
    assert [p["number"] for s in shown["shipments"] for p in s["packages"]] == [
        "1Z999AA10123456784"
    ]
    assert any(line.get("properties") for line in shown["lines"])  # --personalised

    # Shopify has the fulfillment with its tracking once the worker sent it.
    query = """{ orders(first: 5, query: "name:#1001") { nodes { name fulfillmentOrders(first: 5)
        { nodes { status fulfillments(first: 5) { nodes { trackingInfo { number } } } } } } } }"""
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.post(
            f"http://127.0.0.1:{walkthrough.sandbox_port}/admin/api/2026-07/graphql.json",
            json={"query": query},
            headers={"X-Shopify-Access-Token": "shpat_sandbox"},
            timeout=10,
        ).json()
        (order,) = [o for o in answer["data"]["orders"]["nodes"] if o["name"] == "#1001"]
        (fulfillment_order,) = order["fulfillmentOrders"]["nodes"]
        numbers = [
            info["number"]
            for f in fulfillment_order["fulfillments"]["nodes"]
            for info in f["trackingInfo"]
        ]
        if fulfillment_order["status"] == "CLOSED" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert fulfillment_order["status"] == "CLOSED", answer
    assert numbers == ["1Z999AA10123456784"]
    # Everything the walkthrough wrote stayed in its own directory.
    assert (walkthrough.directory / ".fulfillbridge").is_dir()


def test_the_walkthrough_block_is_found_and_complete() -> None:
    lines = walkthrough_lines((ROOT / "README.md").read_text(encoding="utf-8"))
    joined = "\n".join(lines)
    for needed in ("sandbox serve", "store add", "--api-url", "--webhook-secret", "store setup"):
        assert needed in joined, needed
    with pytest.raises(AssertionError):
        walkthrough_lines("# nothing\n\n## Try it with the sandbox\n\nno block here\n")
