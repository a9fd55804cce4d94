"""Carrier accounts (credentials sealed like a store's secrets), labels and the scans
passed on to Shopify."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fulfillbridge.core.carriers import ShippingError
from fulfillbridge.core.errors import ShippingErrorCode
from fulfillbridge.store.crypto import SecretBox
from fulfillbridge.store.models import (
    CarrierAccountRow,
    LabelRow,
    ShipmentRow,
    TrackingEventRow,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class CarrierAccounts:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self._session = session
        self._box = box

    async def add(
        self,
        *,
        name: str,
        carrier: str,
        credentials: Mapping[str, str],
        ship_from: dict[str, Any],
        store_id: int | None = None,
        account_number: str = "",
        base_url: str | None = None,
        test_mode: bool = False,
    ) -> CarrierAccountRow:
        if not _NAME.match(name):
            raise ShippingError(
                f"account name {name!r} must be 1-64 lowercase letters, digits, '-' or '_'"
            )
        if await self._session.scalar(
            select(CarrierAccountRow.id).where(CarrierAccountRow.name == name)
        ):
            raise ShippingError(
                f"a carrier account named {name!r} exists", code=ShippingErrorCode.CONFLICT
            )
        row = CarrierAccountRow(
            name=name,
            store_id=store_id,
            carrier=carrier,
            account_number=account_number,
            base_url=base_url,
            test_mode=test_mode,
            sealed_credentials=self._box.seal(dict(credentials)),
            ship_from=ship_from,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    def credentials(self, row: CarrierAccountRow) -> dict[str, str]:
        return self._box.open(row.sealed_credentials)

    async def usable(self, store_id: int) -> list[CarrierAccountRow]:
        """The store's own accounts first, then the global ones."""
        rows = await self._session.scalars(
            select(CarrierAccountRow)
            .where(
                or_(CarrierAccountRow.store_id == store_id, CarrierAccountRow.store_id.is_(None))
            )
            .order_by(CarrierAccountRow.store_id.is_(None), CarrierAccountRow.id)
        )
        return list(rows)

    async def listed(self) -> list[CarrierAccountRow]:
        return list(await self._session.scalars(select(CarrierAccountRow).order_by("id")))


async def labels_of(session: AsyncSession, work_id: int) -> list[LabelRow]:
    rows = await session.scalars(
        select(LabelRow).where(LabelRow.work_order_id == work_id).order_by(LabelRow.id)
    )
    return list(rows)


async def label_by_key(session: AsyncSession, work_id: int, package_key: str) -> LabelRow | None:
    return await session.scalar(
        select(LabelRow).where(
            LabelRow.work_order_id == work_id, LabelRow.package_key == package_key
        )
    )


async def events_of(session: AsyncSession, shipment_id: int) -> list[TrackingEventRow]:
    rows = await session.scalars(
        select(TrackingEventRow)
        .where(TrackingEventRow.shipment_id == shipment_id)
        .order_by(TrackingEventRow.happened_at, TrackingEventRow.id)
    )
    return list(rows)


async def due_shipments(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    ids = await session.scalars(
        select(ShipmentRow.id)
        .where(ShipmentRow.next_poll_at.is_not(None), ShipmentRow.next_poll_at <= now)
        .order_by(ShipmentRow.next_poll_at)
        .limit(limit)
    )
    return list(ids)


async def claim_poll(
    session: AsyncSession, shipment_id: int, seen: datetime, until: datetime
) -> bool:
    """Move the shipment's next poll from ``seen`` to ``until`` unless another worker did
    first (compare-and-set): the one whose update matched polls it."""
    result = await session.execute(
        update(ShipmentRow)
        .where(ShipmentRow.id == shipment_id, ShipmentRow.next_poll_at == seen)
        .values(next_poll_at=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
