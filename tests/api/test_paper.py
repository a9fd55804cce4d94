"""Pick lists and packing slips through the API: real PDFs, read back with pypdf."""

from __future__ import annotations

import io

import pypdf
from reportlab.lib.units import mm

from tests.api.conftest import World
from tests.api.seeding import add_work
from tests.console.barcodes import read_code128
from tests.console.seeding import add_personalised_work


def _text(body: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(body))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


async def test_a_pick_list_groups_by_warehouse_and_sku(world: World) -> None:
    first = await add_personalised_work(world.database, world.acme_id, "acme", order_name="#5001")
    second = await add_personalised_work(
        world.database, world.acme_id, "acme", order_name="#5002", warehouse="east"
    )
    third = await add_work(
        world.database, world.acme_id, "acme", order_name="#5003", lines=[("MUG-ENGRAVED", 3)]
    )
    async with world.client() as http:
        answer = await http.get(
            "/api/v1/work/picklist.pdf", params={"ids": f"{first},{second}", "ids_": ""}
        )
        assert answer.status_code == 422  # an unknown parameter is named, not ignored
        answer = await http.get(
            "/api/v1/work/picklist.pdf", params=[("ids", f"{first},{second}"), ("ids", third)]
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    pages, text = _text(answer.content)
    assert pages == 1
    assert "Pick list" in text and "#5001, #5002, #5003" in text
    east, main = text.split("Warehouse east")[1].split("Warehouse main")
    flat = " ".join(main.split())
    # In main: 2 engraved mugs of #5001 and 3 of #5003 picked together (5), and the tee.
    assert "MUG-ENGRAVED Engraved mug - Blue 5 #5001 x2, #5003 x3" in flat
    assert "TEE-L T-shirt - L 1 #5001 x1" in flat
    assert "MUG-ENGRAVED Engraved mug - Blue 2 #5002 x2" in " ".join(east.split())
    assert "#5001" not in east
    # Each SKU's barcode reads back as the SKU (east first, then main).
    drawn = pypdf.PdfReader(io.BytesIO(answer.content)).pages[0].get_contents().get_data()
    assert read_code128(drawn, 9 * mm) == ["MUG-ENGRAVED", "TEE-L", "MUG-ENGRAVED", "TEE-L"]


async def test_a_packing_slip_shows_personalisation_gift_message_and_note(world: World) -> None:
    work = await add_personalised_work(
        world.database, world.acme_id, "acme", order_name="#5101", engraving="Zoë & Max <3"
    )
    async with world.client() as http:
        answer = await http.get(f"/api/v1/work/{work}/packing-slip.pdf")
    assert answer.status_code == 200, answer.text
    pages, text = _text(answer.content)
    assert pages == 1
    assert "Packing slip #5101" in text
    assert "Ada Lovelace" in text and "1 Analytical Way" in text
    assert "Engraving: Zoë & Max <3" in text
    assert "_recipe" not in text  # a storefront app's own property is not for the packer
    assert "Colour: Blue" in text
    assert "Engraved mug - Blue" in text and "Blue / Blue" not in " ".join(text.split())
    assert "Gift message" in text and "Happy birthday, Ada!" in text
    assert "Leave with the neighbour" in text
    # The order's barcode reads back as the order name.
    reader = pypdf.PdfReader(io.BytesIO(answer.content))
    assert read_code128(reader.pages[0].get_contents().get_data(), 12 * mm) == ["#5101"]


async def test_paper_refuses_bad_ids_and_other_stores_work(world: World) -> None:
    ours = await add_personalised_work(world.database, world.acme_id, "acme")
    theirs = await add_work(world.database, world.globex_id, "globex", order_name="#7001")
    async with world.client() as http:
        for params, status, said in [
            ({}, 422, "ids"),
            ({"ids": ""}, 422, "at least one work id"),
            ({"ids": "1,abc"}, 422, "'abc' is not a work id"),
            ({"ids": "0"}, 422, "'0' is not a work id"),
            ({"ids": "99999999999"}, 422, "is not a work id"),
            ({"ids": ",".join(str(i) for i in range(1, 252))}, 422, "at most 250"),
            ({"ids": f"{ours},{theirs}"}, 404, f"no work order {theirs}"),
            ({"ids": "999999"}, 404, "no work order 999999"),
        ]:
            answer = await http.get("/api/v1/work/picklist.pdf", params=params)
            assert answer.status_code == status, (params, answer.text)
            assert said in answer.text, (params, answer.text)
        slip = await http.get(f"/api/v1/work/{theirs}/packing-slip.pdf")
        assert slip.status_code == 404
        for bad in ("0", "abc", "99999999999"):
            assert (await http.get(f"/api/v1/work/{bad}/packing-slip.pdf")).status_code == 422
        assert (await http.get(f"/api/v1/work/{ours}/packing-slip.pdf?x=1")).status_code == 422
    async with world.client("fbk_not_a_key") as http:
        assert (await http.get(f"/api/v1/work/{ours}/packing-slip.pdf")).status_code == 401
        assert (await http.get("/api/v1/work/picklist.pdf?ids=1")).status_code == 401
    # The API document describes both.
    async with world.client() as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    assert "/api/v1/work/picklist.pdf" in paths
    assert "/api/v1/work/{work_id}/packing-slip.pdf" in paths
