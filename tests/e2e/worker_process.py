"""A worker process for the crash tests and the chaos suite (``python -m
tests.e2e.worker_process [--worker-id ID] [--metrics-port N]``): the rounds `fulfillbridge
worker` runs, on the bridge's configured settings and database, with the outbox sender on
``FAST_OUTBOX`` timings, so that the lease of a row it held when it was killed lapses in
seconds (the production lease is five minutes). With ``--metrics-port`` it serves the same
Prometheus metrics as `fulfillbridge worker --metrics-port`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from fulfillbridge import metrics
from fulfillbridge.config import load_settings
from fulfillbridge.logs import setup_logging
from fulfillbridge.runtime import start_metrics_server
from fulfillbridge.store.database import Database
from tests.e2e.harness import fast_rounds


async def _main(worker_id: str, metrics_port: int | None) -> None:
    settings = load_settings()
    setup_logging("INFO")
    database = Database.from_settings(settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = start_metrics_server(settings, "127.0.0.1", metrics_port) if metrics_port else None
    metrics.WORKER_UP.set(1)
    try:
        await fast_rounds(settings, database, stop, worker_id)
    finally:
        if server is not None:
            server.shutdown()
        await database.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker-id", default=f"doomed-{os.getpid()}")
    parser.add_argument("--metrics-port", type=int, default=None)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.worker_id, arguments.metrics_port))
