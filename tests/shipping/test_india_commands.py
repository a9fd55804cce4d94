"""`fulfillbridge carrier add --carrier shiprocket|clickpost` and `orders label ...` against
the aggregators' twins, on the same database as the API."""

from __future__ import annotations

import json
from pathlib import Path

from tests.shipping.india import WAREHOUSE_MUMBAI, India
from tests.shipping.test_label_commands import cli


async def test_aggregator_accounts_and_labels_from_the_command_line(
    india: India, tmp_path: Path
) -> None:
    address = tmp_path / "mumbai.json"
    address.write_text(json.dumps(WAREHOUSE_MUMBAI))
    secrets = tmp_path / "clickpost.json"
    secrets.write_text(json.dumps({"username": india.twins.username, "key": "key-twin"}))
    code, shown = await cli(
        "carrier", "add", "cp-cli", "--carrier", "clickpost", "--store", "demo",
        "--credentials", str(secrets), "--ship-from", str(address),
        "--base-url", india.twins.clickpost.url,
    )  # fmt: skip
    assert code == 0 and "cp-cli (clickpost) added" in shown, shown
    code, shown = await cli("carrier", "list", "--json")
    assert {"parcels-in", "cp-parcels", "cp-cli"} <= {a["name"] for a in json.loads(shown)}

    work_id = await india.work((1,))
    ref = str(work_id)
    code, shown = await cli("orders", "label", "rates", ref, "--account", "cp-cli", "--json")
    assert code == 0, shown
    assert {r["service"] for r in json.loads(shown)} == {"cp_4", "cp_6"}
    code, shown = await cli(
        "orders", "label", "buy", ref, "-p", "box", "--account", "cp-cli", "--service", "cp_6",
        "--json",
    )  # fmt: skip
    assert code == 0, shown
    label = json.loads(shown)["label"]
    assert label["company"] == "Xpressbees"
    target = tmp_path / "label.pdf"
    code, shown = await cli("orders", "label", "print", ref, str(label["id"]), "--out", str(target))
    assert code == 0 and target.read_bytes().startswith(b"%PDF"), shown

    # Broken: a carrier the bridge has no adapter for, credentials missing, ZPL.
    code, shown = await cli(
        "carrier", "add", "x", "--carrier", "delhivery", "--credentials", str(secrets),
        "--ship-from", str(address),
    )  # fmt: skip
    assert code == 1 and "supported: ups, shiprocket, clickpost" in shown
    secrets.write_text(json.dumps({"email": "only@example.com"}))
    code, shown = await cli(
        "carrier", "add", "y", "--carrier", "shiprocket", "--credentials", str(secrets),
        "--ship-from", str(address),
    )  # fmt: skip
    assert code == 1 and "password" in shown
    code, shown = await cli(
        "orders", "label", "buy", ref, "-p", "zpl", "--account", "cp-cli", "--service", "cp_4",
        "--format", "ZPL",
    )  # fmt: skip
    assert code == 1 and "PDF only" in shown
    assert india.summary("clickpost")["purchases"] == 1
