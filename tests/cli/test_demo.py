"""`fulfillbridge demo` as a user runs it: a real process, the sandbox, the bridge, a
worker and the simulated production line; the closing table shows Shopify's state."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path


def test_demo_runs_the_whole_job(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILLBRIDGE_")}
    home = tmp_path / "home"
    env.update(FULFILLBRIDGE_HOME=str(home), COLUMNS="200")
    # A user's database is never touched: the demo runs in a temporary home of its own.
    env["FULFILLBRIDGE_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/never-used"
    done = subprocess.run(
        [sys.executable, "-m", "fulfillbridge.cli", "demo", "--orders", "12"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout
    # Nothing left behind, and no link printed that is dead by the time it is read.
    assert not home.exists() and list(tmp_path.iterdir()) == []
    assert "look at:" not in output and "demo --keep" in output
    assert "time ran out" not in output
    # One shipped order comes back: received and restocked, reported to Shopify.
    assert "received and restocked in Shopify" in output
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
    # One order shipped with a label bought from the local UPS, followed to the door.
    assert "local UPS at http://127.0.0.1:" in output
    told = re.search(
        r"^(#\d+) shipped with a UPS label bought at the local UPS: (1Z\w+), ups_\w+, "
        r"([\d.]+) KB PDF; the worker followed the parcel and sent 3 events to Shopify "
        r"\(IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED\)$",
        output,
        re.MULTILINE,
    )
    assert told is not None, output
    order, number, kilobytes = told.groups()
    assert float(kilobytes) < 64  # a compact PDF, not megabytes
    # The closing table shows what Shopify has for it: the carrier, the number, the events.
    rows = output.splitlines()
    first = next(i for i, row in enumerate(rows) if row.startswith(f"│ {order} ") and number in row)
    below = itertools.takewhile(lambda row: row.startswith("│       │"), rows[first + 1 :])
    cells = [rows[first], *below]
    tracking = " ".join(" ".join(row.split("│")[5] for row in cells).split())
    assert tracking == (
        f"UPS {number} (label bought; Shopify events: IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED)"
    )


FULFILLMENT = """query($id: ID!) { fulfillment(id: $id) { trackingInfo(first: 5) { company number }
    events(first: 20) { nodes { status happenedAt } } } }"""


def test_demo_keep_keeps_its_links_up_until_interrupted(tmp_path: Path) -> None:
    import re
    import signal

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFILLBRIDGE_")}
    env.update(COLUMNS="400", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "fulfillbridge.cli", "demo", "--orders", "3", "--keep"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if "up until Ctrl-C" in line:
                break
        links = next(line for line in seen if line.startswith("look at:"))
        bridge = re.search(r"the dashboard (http://127\.0\.0\.1:\d+)/ ", links).group(1)
        controls = re.search(r"(http://127\.0\.0\.1:\d+/__sandbox/) ", links).group(1)
        key = re.search(r"password (fbk_[^\s),]+)", links).group(1)
        assert httpx.get(f"{bridge}/healthz").status_code == 200
        assert httpx.get(controls).status_code == 200
        api = httpx.Client(base_url=f"{bridge}/api/v1", headers={"Authorization": f"Bearer {key}"})
        listed = api.get("/work")
        assert listed.status_code == 200 and len(listed.json()["items"]) >= 3
        # The label bought at the local UPS, read back from the bridge ...
        labelled = [
            (work["id"], label)
            for work in listed.json()["items"]
            for label in api.get(f"/work/{work['id']}/labels").json()["labels"]
        ]
        ((work_id, label),) = labelled
        assert label["status"] == "bought" and label["company"] == "UPS"
        pdf = api.get(f"/work/{work_id}/labels/{label['id']}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert len(pdf.content) < 64 * 1024
        detail = api.get(f"/work/{work_id}").json()
        assert detail["state"] == "delivered"
        (shipment,) = detail["shipments"]
        # ... and from the sandbox's Shopify over its HTTP API, as a merchant's admin sees it:
        # the fulfillment carries the label's tracking number and every event the worker sent.
        sandbox = controls.removesuffix("/__sandbox/")
        answer = httpx.post(
            f"{sandbox}/admin/api/2026-07/graphql.json",
            headers={"X-Shopify-Access-Token": "shpat_sandbox"},
            json={"query": FULFILLMENT, "variables": {"id": shipment["fulfillment_id"]}},
        )
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        fulfillment = answer.json()["data"]["fulfillment"]
        assert fulfillment["trackingInfo"] == [
            {"company": "UPS", "number": label["tracking_number"]}
        ]
        events = fulfillment["events"]["nodes"]
        assert [e["status"] for e in events] == ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"]
        assert all(e["happenedAt"] for e in events)
        api.close()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert list(tmp_path.iterdir()) == []  # nothing left behind
