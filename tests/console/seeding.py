"""Work with everything a packing slip shows (personalisation, a thumbnail, a gift
message, a note), written the way intake leaves it."""

from __future__ import annotations

from fulfillbridge.core.details import OrderDetails
from fulfillbridge.core.work import Address, Mode, WorkLine, WorkOrder, WorkState
from fulfillbridge.store.database import Database
from fulfillbridge.store.work import WorkRepository
from tests.api.seeding import ADDRESS

_counter = iter(range(50_000, 1_000_000))


async def add_personalised_work(
    database: Database,
    store_id: int,
    store: str,
    *,
    order_name: str = "#5001",
    warehouse: str = "main",
    state: WorkState = WorkState.ACCEPTED,
    engraving: str = "For Ada, with love",
    gift: str = "Happy birthday, Ada!",
    note: str = "Leave with the neighbour",
    address: Address = ADDRESS,
) -> int:
    n = next(_counter)
    order = WorkOrder(
        store=store,
        remote_id=f"gid://shopify/FulfillmentOrder/{n}",
        order_name=order_name,
        mode=Mode.FULFILLMENT_SERVICE,
        lines=(
            WorkLine(
                line_id=f"gid://shopify/FulfillmentOrderLineItem/{n}1",
                sku="MUG-ENGRAVED",
                quantity=2,
                title="Engraved mug - Blue",  # intake's title names the variant
                variant_title="Blue",
                options=(("Colour", "Blue"),),
                image_url="https://cdn.example.test/mug.png",
                properties=(("Engraving", engraving), ("_recipe", "r-17")),
            ),
            WorkLine(
                line_id=f"gid://shopify/FulfillmentOrderLineItem/{n}2",
                sku="TEE-L",
                quantity=1,
                title="T-shirt - L",
                variant_title="L",
            ),
        ),
        state=state,
        warehouse=warehouse,
        shipping_address=address,
        details=OrderDetails(
            note=note, note_attributes=(("Gift message", gift),), email="ada@example.test"
        ),
    )
    async with database.transaction() as session:
        row = await WorkRepository(session).create(
            store_id,
            order,
            order_remote_id=f"gid://shopify/Order/{n}",
            location_remote_id="gid://shopify/Location/1",
            actor="intake",
        )
        return row.id
