"""SQLAlchemy models: the durable state of the bridge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time: SQLite hands timestamps back without a zone (they
    were written in UTC), and callers may give times in another zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class StoreRow(Base):
    """A connected Shopify store. Secrets are sealed (see store.crypto), never plain."""

    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255), unique=True)
    api_base_url: Mapped[str | None] = mapped_column(String(500))
    auth_kind: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[str | None] = mapped_column(String(255))
    sealed_secrets: Mapped[str] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    granted_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    shop_name: Mapped[str | None] = mapped_column(String(255))
    plan_name: Mapped[str | None] = mapped_column(String(255))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class InboxEventRow(Base):
    """Something Shopify told us (webhook, fulfillment-service callback, poll result),
    stored before Shopify gets its 200 and processed later by a worker."""

    __tablename__ = "inbox_events"
    __table_args__ = (UniqueConstraint("store_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # webhook | callback | poll | backfill
    topic: Mapped[str] = mapped_column(String(100))
    # X-Shopify-Webhook-Id for webhooks; a synthetic key for the other sources.
    delivery_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON)
    triggered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class WorkOrderRow(Base):
    """One Shopify fulfillment order as the operation works it (see core.work)."""

    __tablename__ = "work_orders"
    __table_args__ = (UniqueConstraint("store_id", "remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str] = mapped_column(String(255))  # FulfillmentOrder gid
    order_remote_id: Mapped[str] = mapped_column(String(255), index=True)  # Order gid
    order_name: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    stage: Mapped[str | None] = mapped_column(String(64))
    warehouse: Mapped[str | None] = mapped_column(String(64))
    location_remote_id: Mapped[str | None] = mapped_column(String(255))
    lines: Mapped[list] = mapped_column(JSON)
    shipping_address: Mapped[dict | None] = mapped_column(JSON)
    billing_address: Mapped[dict | None] = mapped_column(JSON)
    held_from: Mapped[str | None] = mapped_column(String(32))
    hold_reason: Mapped[str | None] = mapped_column(String(64))
    held_by: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict | None] = mapped_column(JSON)
    flags: Mapped[list | None] = mapped_column(JSON)
    fulfill_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    deadline_notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    problems: Mapped[list] = mapped_column(JSON, default=list)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_cancellation: Mapped[str | None] = mapped_column(String(255))
    # What Shopify last said, and when: older news never moves a work order backwards.
    remote_status: Mapped[str | None] = mapped_column(String(32))
    remote_request_status: Mapped[str | None] = mapped_column(String(32))
    remote_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, index=True
    )

    __mapper_args__ = {"version_id_col": version}


class WorkTransitionRow(Base):
    """Every change of a work order's state or stage, with who did it and when."""

    __tablename__ = "work_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxRow(Base):
    """A write to Shopify (target ``shopify``) or a notification to the operation (target
    ``operation``), stored in the same transaction as the change that caused it and sent
    later, in id order per work order, exactly once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    target: Mapped[str] = mapped_column(String(16), default="shopify")
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    # pending | sending | unknown (sent, outcome not known) | done | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ShipmentRow(Base):
    """A package (or several) that left for one work order, and its Shopify fulfillment."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    lines: Mapped[dict] = mapped_column(JSON)  # line id -> quantity
    tracking: Mapped[list] = mapped_column(JSON)  # [{company, number, url}]
    remote_fulfillment_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Following the parcel (migration 0011): the carrier's latest status, when to ask the
    # carrier next (None: not polled: no label of ours, or the journey is over), and how
    # many answers in a row brought nothing new.
    tracking_status: Mapped[str | None] = mapped_column(String(32))
    next_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    quiet_polls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CarrierAccountRow(Base):
    """An account at a carrier, for one store or (store_id None) for all; its credentials
    sealed like a store's secrets."""

    __tablename__ = "carrier_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str] = mapped_column(String(32))
    account_number: Mapped[str] = mapped_column(String(64), default="")
    base_url: Mapped[str | None] = mapped_column(String(500))
    test_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sealed_credentials: Mapped[str] = mapped_column(Text)
    ship_from: Mapped[dict] = mapped_column(JSON)  # the address labels are sent from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelRow(Base):
    """One package's label. The row is written (status ``buying``) before the carrier is
    asked, so a retried purchase finds it and looks the label up instead of buying twice."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("work_order_id", "package_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(
        ForeignKey("work_orders.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("carrier_accounts.id", ondelete="SET NULL")
    )
    package_key: Mapped[str] = mapped_column(String(128))  # the operation's name for the box
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # ours, kept by the carrier
    status: Mapped[str] = mapped_column(String(16))  # buying|bought|failed|voided
    service: Mapped[str] = mapped_column(String(64))
    company: Mapped[str] = mapped_column(String(64))  # as Shopify names the carrier
    lines: Mapped[dict] = mapped_column(JSON)  # line id -> units in this package
    parcel: Mapped[dict] = mapped_column(JSON)  # weight and dimensions
    label_format: Mapped[str] = mapped_column(String(8), default="PDF")
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    carrier_shipment_id: Mapped[str | None] = mapped_column(String(64))
    label_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    customs_form: Mapped[bytes | None] = mapped_column(LargeBinary)
    amount: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(8))
    error: Mapped[str | None] = mapped_column(Text)
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipments.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    bought_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrackingEventRow(Base):
    """A scan passed on to Shopify as a fulfillment event (once: the unique key), with the
    outbox row that sends it."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "tracking_number", "status", "happened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    tracking_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))  # core.tracking.ParcelStatus
    happened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(Text, default="")
    estimated_delivery_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(16))  # carrier | operation
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKeyRow(Base):
    """A key for the operation's API; only its hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    # Scoped by store id: a store removed and another added under its name is not in scope.
    store_ids: Mapped[list] = mapped_column(JSON)
    all_stores: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecordRow(Base):
    """The answer given to a POST with an ``Idempotency-Key``, replayed on a repeat."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CheckpointRow(Base):
    """Where a periodic job got to for a store (e.g. reconciliation's updated_at mark)."""

    __tablename__ = "checkpoints"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ThrottleStateRow(Base):
    """The last throttle reading per store, shared by every worker process."""

    __tablename__ = "throttle_state"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    available: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)
    restore_rate: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    # Points of requests sent and not answered yet, by every process: kept apart from the
    # reading, which Shopify may have taken before they reached it.
    reserved: Mapped[float] = mapped_column(Float, default=0.0)
    reserved_at: Mapped[float] = mapped_column(Float, default=0.0)  # the last reservation


class InventorySkuRow(Base):
    """SKU -> Shopify inventory item of one store, as last read from the store's variants.
    ``item_ids`` lists every item carrying the SKU (more than one: the SKU is ambiguous)."""

    __tablename__ = "inventory_skus"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(String(255), primary_key=True)
    item_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    # Locations where the (single) item is stocked, with the quantities read: {loc: {name: q}}.
    levels: Mapped[dict] = mapped_column(JSON, default=dict)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InventoryItemRow(Base):
    """One inventory item (one variant) of a store, as last read from Shopify, with its
    product: the source of ``inventory_skus`` (several items with one SKU make it ambiguous).
    Kept per item so one product's variants can be replaced when a webhook says it changed.
    ``product_id`` is null for items carried over from before this table existed."""

    __tablename__ = "inventory_items"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sku: Mapped[str] = mapped_column(String(255), index=True)
    tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    levels: Mapped[dict] = mapped_column(JSON, default=dict)  # {location: {name: quantity}}
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InventoryLevelRow(Base):
    """A level the operation asked for, and the last value we know Shopify holds."""

    __tablename__ = "inventory_levels"
    __table_args__ = (UniqueConstraint("store_id", "item_id", "location_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(255))
    location_id: Mapped[str] = mapped_column(String(255))
    sku: Mapped[str] = mapped_column(String(255))
    warehouse: Mapped[str] = mapped_column(String(64))
    wanted: Mapped[int | None] = mapped_column(Integer)
    known: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|in_sync|rejected
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class InventorySyncRow(Base):
    """One push to one store: when, what it did, and the rows refused with their reasons."""

    __tablename__ = "inventory_syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    rejections: Mapped[list[dict]] = mapped_column(JSON, default=list)


class InventoryLockRow(Base):
    """Who is pushing levels to a store now: one push per store at a time, across every
    process on the database. A lease (``claimed_until``) frees it when its holder died."""

    __tablename__ = "inventory_locks"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InventoryFeedRow(Base):
    """A store's inventory feed (the URL the worker polls): when it was last claimed and
    fetched, what came back, and the validators of the content last applied.
    ``url_hash`` says which URL those are for (the URL itself stays in the store's
    settings: it may carry credentials)."""

    __tablename__ = "inventory_feeds"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    url_hash: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    http_status: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class ReturnWorkRow(Base):
    """A return customers send back for work the operation shipped (see core.returns)."""

    __tablename__ = "return_work"
    __table_args__ = (UniqueConstraint("store_id", "remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    remote_id: Mapped[str] = mapped_column(String(255))  # Return gid
    order_remote_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(64))
    order_name: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), index=True)
    lines: Mapped[list] = mapped_column(JSON)
    tracking: Mapped[list] = mapped_column(JSON, default=list)
    decline_reason: Mapped[str | None] = mapped_column(String(64))
    decline_note: Mapped[str | None] = mapped_column(Text)
    exchange_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # When the return became expected and when its first unit arrived: its age.
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    __mapper_args__ = {"version_id_col": version}


class ReturnTransitionRow(Base):
    """Every change of a return's state or lines, with who did it and when."""

    __tablename__ = "return_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    return_id: Mapped[int] = mapped_column(
        ForeignKey("return_work.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkerHeartbeatRow(Base):
    """A worker process and its last sign of life (``fulfillbridge workers``). A worker
    writes its row every few seconds while it runs and deletes it when it stops cleanly;
    a row whose ``beat_at`` is old belongs to a worker that died (its claims ran out)."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # The store whose queues the worker is working on now (its name), if any.
    current_store: Mapped[str | None] = mapped_column(String(64))
    # How many stores' queues it holds, and how many it has worked since it started.
    stores_held: Mapped[int] = mapped_column(Integer, default=0)
    rounds: Mapped[int] = mapped_column(Integer, default=0)


class StoreQueueRow(Base):
    """Per store, who works its queues (inbox and outbox) now, and how far the pulls of its
    assigned fulfillment orders got: one worker at a time per store (the lease
    ``store.leases.STORE_QUEUE``), and one pull answers every request ping received before
    it started, whichever process received or handles them."""

    __tablename__ = "store_queues"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When a worker last took the queues: the store waiting longest goes first.
    worked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Every request ping (callback, request webhook) with an inbox id up to this one is
    # answered by a pull of the assigned fulfillment orders already applied.
    pulled_through: Mapped[int] = mapped_column(Integer, default=0)
    # A reconciliation is wanted soon (a processing failure, the end of a busy spell).
    reconcile_wanted: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the newest inbox event the queue saw was received (the quiet period's start).
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
