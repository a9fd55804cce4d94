"""Running the bridge as a long-lived process: the HTTP app and workers, stopped cleanly on
SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import uvicorn

from fulfillbridge.config import Settings
from fulfillbridge.store.database import Database
from fulfillbridge.web.app import create_app
from fulfillbridge.worker import run_worker


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not every loop can take signal handlers (Windows' loops raise NotImplementedError,
        # a loop outside the main thread RuntimeError); there Ctrl-C still ends the process.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def work_until_stopped(settings: Settings, *, once: bool = False) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    await run_worker(settings, stop=stop, once=once)


async def serve_forever(
    settings: Settings, *, host: str | None = None, port: int | None = None, with_worker: bool
) -> None:
    """uvicorn and (optionally) a worker in one event loop, sharing one database handle."""
    database = Database.from_settings(settings)
    app = create_app(settings, database=database)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(server.serve(), name="http")]
    if with_worker:
        tasks.append(
            asyncio.create_task(run_worker(settings, stop=stop, database=database), name="worker")
        )
    try:
        # uvicorn handles SIGINT/SIGTERM itself; when it returns, the worker stops too.
        await tasks[0]
    finally:
        stop.set()
        await asyncio.gather(*tasks[1:], return_exceptions=True)
        await database.close()
