"""`fulfillbridge orders label ...` and `fulfillbridge carrier ...` on the same database as
the API, against the UPS twin."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from fulfillbridge.cli import app
from fulfillbridge.core import work as core
from tests.shipping.conftest import WAREHOUSE, Shop


async def cli(*args: str) -> tuple[int, str]:
    # The CLI runs its own event loop: give it a thread of its own.
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


async def test_labels_from_the_command_line(shop: Shop, tmp_path: Path) -> None:
    work_id, _ = await shop.work((1,))
    ref = str(work_id)
    code, shown = await cli("carrier", "list", "--json")
    assert code == 0 and json.loads(shown)[0]["name"] == "ups-main"

    code, shown = await cli("orders", "label", "rates", ref, "--json")
    assert code == 0, shown
    assert "ups_ground" in {r["service"] for r in json.loads(shown)}

    code, shown = await cli("orders", "label", "buy", ref, "-p", "box-1", "--json")
    assert code == 0, shown
    label = json.loads(shown)["label"]
    code, again = await cli("orders", "label", "buy", ref, "-p", "box-1")
    assert code == 0 and "already bought" in again
    # The hint names the order, quoted for a shell ('#' would start a comment), and works
    # as printed once a shell has split it.
    hint = shlex.split(" ".join(again.split()).split("`")[1])
    assert hint[:4] == ["fulfillbridge", "orders", "label", "print"]
    assert hint[4].startswith("#") and f"'{hint[4]}'" in again
    assert hint[5] == str(label["id"])
    code, shown = await cli(*hint[1:], "--out", str(tmp_path / "hinted.pdf"))
    assert code == 0, shown
    assert shop.twin_summary()["purchases"] == 1

    target = tmp_path / "label.pdf"
    code, shown = await cli("orders", "label", "print", ref, str(label["id"]), "--out", str(target))
    assert code == 0, shown
    assert target.read_bytes().startswith(b"%PDF")

    code, shown = await cli("orders", "label", "void", ref, str(label["id"]))
    assert code == 0 and "voided" in shown

    bought = json.loads((await cli("orders", "label", "buy", ref, "-p", "box-2", "--json"))[1])
    code, shown = await cli("orders", "label", "ship", ref, str(bought["label"]["id"]), "--json")
    assert code == 0, shown
    (shipment_id,) = json.loads(shown)["shipments"]
    code, shown = await cli(
        "orders", "label", "event", ref, str(shipment_id), "IN_TRANSIT", "--at", "2026-12-01T10:00Z"
    )
    assert code == 0 and "recorded" in shown
    # In `orders show` the scan is an event on the shipped order, not a shipped -> shipped
    # change; the ship-to line names the province.
    code, shown = await cli("orders", "show", ref)
    assert code == 0, shown
    rows = [" ".join(r.replace("│", " ").split()) for r in shown.splitlines()]
    assert not [r for r in rows if re.search(r"\d shipped shipped", r)], shown
    assert [r for r in rows if "(still shipped) tracking IN_TRANSIT" in r], shown
    assert "ship to: Ann Smith, 5 Elm St, Austin, TX, 78701, US" in shown


async def test_broken_command_lines_get_one_line(shop: Shop, tmp_path: Path) -> None:
    work_id, _ = await shop.work((1,))
    ref = str(work_id)
    usage = [  # what the user typed is wrong: exit 2
        (("orders", "label", "buy", ref, "--line", "MUG"), "must be SKU=units"),
        (("orders", "label", "buy", ref, "--line", "X:0"), "must be SKU=units"),
        (("orders", "label", "buy", ref, "--dims", "10x20"), "LxWxH"),
        (("orders", "label", "buy", ref, "--format", "PNG"), "PDF or ZPL"),
        (("orders", "label", "event", ref, "1", "TELEPORTED"), "TELEPORTED"),
        (("orders", "label", "event", ref, "1", "DELIVERED", "--at", "noon"), "ISO 8601"),
        (("orders", "label", "rates", ref, "--dims", "30x20"), "LxWxH"),
    ]
    for args, words in usage:
        code, shown = await cli(*args)
        assert code == 2, (args, shown)
        assert words in shown and "Traceback" not in shown, (args, shown)
    cases = [  # well formed, but refused: exit 1
        (("orders", "label", "buy", ref, "--line", "X:1"), "X"),
        (("orders", "label", "buy", ref, "--service", "ups_rocket"), "ups_rocket"),
        (("orders", "label", "buy", "99999"), "no work order 99999 and no order #99999"),
        (("orders", "label", "print", ref, "42"), "no label 42"),
        (("orders", "label", "void", ref, "42"), "no label 42"),
    ]
    for args, words in cases:
        code, shown = await cli(*args)
        assert code == 1, (args, shown)
        assert words in shown and "Traceback" not in shown, (args, shown)

    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"client_id": "x"}')
    address = tmp_path / "from.json"
    address.write_text(json.dumps(WAREHOUSE))
    code, shown = await cli(
        "carrier", "add", "other", "--carrier", "ups",
        "--credentials", str(secrets), "--ship-from", str(address),
    )  # fmt: skip
    assert code == 1 and "client_secret" in shown
    secrets.write_text("not json")
    code, shown = await cli(
        "carrier", "add", "other", "--carrier", "ups",
        "--credentials", str(secrets), "--ship-from", str(address),
    )  # fmt: skip
    assert code == 2 and "is not JSON" in shown
    code, shown = await cli(
        "carrier", "add", "other", "--carrier", "ups",
        "--credentials", str(tmp_path / "nope.json"), "--ship-from", str(address),
    )  # fmt: skip
    assert code == 2 and "nope.json" in shown and "does not exist" in shown
    assert shop.twin_summary()["purchases"] == 0


CANADA = core.Address(
    name="Lee Tremblay",
    address1="100 Queen St W",
    city="Toronto",
    province_code="ON",
    zip="M5H 2N2",
    country_code="CA",
)


async def test_every_service_rates_offer_can_be_bought(shop: Shop) -> None:
    work_id, _ = await shop.work((1,), address=CANADA, service=None)
    ref = f"work:{work_id}"
    code, shown = await cli("orders", "label", "rates", ref, "--json")
    assert code == 0, shown
    offered = json.loads(shown)
    services = [rate["service"] for rate in offered]
    # UPS Worldwide Express (code 07) among them, under the name buy takes.
    assert "ups_worldwide_express" in services and len(services) == len(set(services))
    for rate in offered:
        assert rate["name"].startswith("UPS ") and rate["name"] != rate["service"], rate
    for n, service in enumerate(services):
        code, bought = await cli(
            "orders", "label", "buy", ref, "-p", f"box-{n}", "--service", service, "--json"
        )
        assert code == 0, (service, bought)
        assert json.loads(bought)["label"]["service"] == service
    assert shop.twin_summary()["purchases"] == len(services)
