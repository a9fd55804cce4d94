"""A worker process for the crash test (``python -m tests.e2e.worker_process``): the
rounds `fulfillbridge worker` runs, on the bridge's configured settings and database, with
the outbox sender on ``FAST_OUTBOX`` timings, so that the lease of a row it held when it
was killed lapses in seconds (the production lease is five minutes)."""

from __future__ import annotations

import asyncio
import os
import signal

from fulfillbridge.config import load_settings
from fulfillbridge.logs import setup_logging
from fulfillbridge.store.database import Database
from tests.e2e.harness import fast_rounds


async def _main() -> None:
    settings = load_settings()
    setup_logging("INFO")
    database = Database.from_settings(settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await fast_rounds(settings, database, stop, f"doomed-{os.getpid()}")
    finally:
        await database.close()


if __name__ == "__main__":
    asyncio.run(_main())
