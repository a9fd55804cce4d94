"""`fulfillbridge demo` as a user runs it: a real process, the sandbox, the bridge, a
worker and the simulated production line; the closing table shows Shopify's state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_the_whole_job(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILLBRIDGE_")}
    env.update(FULFILLBRIDGE_HOME=str(tmp_path / "home"), COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "fulfillbridge.cli", "demo", "--orders", "12"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout
    assert "time ran out" not in output
    assert "rejected: shipping address is missing" in output
    assert "CANCELLATION_ACCEPTED" in output and "CANCELLATION_REJECTED" in output
    outcome = next(line for line in output.splitlines() if line.startswith("outcome:"))
    assert "accepted" in outcome and "rejected" in outcome
    # Every accepted fulfillment order was shipped: none is left open at our location.
    ours = [line for line in output.splitlines() if "│ fulfillbridge │" in line]
    assert ours and not any("│ ACCEPTED " in line and "CLOSED" not in line for line in ours)
    assert "Traceback" not in done.stderr
    # The personalised print order: its engraving reached the operation, and it shipped.
    made = next(line for line in ours if "Engraving: For " in line)
    assert "CLOSED" in made and "UPS 1Z" in made
    # The merchant's hold stopped the work until released; then it shipped.
    held = next(i for i, line in enumerate(output.splitlines()) if "held in Shopify" in line)
    assert "CLOSED" in output.splitlines()[held]
    cell = " ".join(" ".join(output.splitlines()[held : held + 4]).replace("│", " ").split())
    assert "High risk of fraud" in cell and "released, then shipped" in cell
