"""Running the bridge as a long-lived process: the HTTP app and workers, stopped cleanly on
SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from functools import partial
from wsgiref.simple_server import WSGIServer

import uvicorn
from prometheus_client import CollectorRegistry, start_http_server

from fulfillbridge import metrics
from fulfillbridge.config import Settings
from fulfillbridge.store.database import Database
from fulfillbridge.store.health import backlog_engine, read_backlog
from fulfillbridge.web.app import create_app
from fulfillbridge.worker import run_worker


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not every loop can take signal handlers (Windows' loops raise NotImplementedError,
        # a loop outside the main thread RuntimeError); there Ctrl-C still ends the process.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def work_until_stopped(
    settings: Settings,
    *,
    once: bool = False,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    server = start_metrics_server(settings, metrics_host, metrics_port) if metrics_port else None
    try:
        await run_worker(settings, stop=stop, once=once)
    finally:
        metrics.WORKER_UP.set(0)
        if server is not None:
            server.shutdown()
            server.server_close()


def start_metrics_server(settings: Settings, host: str, port: int) -> WSGIServer:
    """prometheus_client's HTTP server in a thread: this process's figures and the
    database's backlog (the same as the HTTP app's /metrics shows)."""
    registry = CollectorRegistry()
    registry.register(metrics.ProcessMetrics())
    engine = backlog_engine(settings.effective_database_url)
    registry.register(metrics.BacklogCollector(partial(read_backlog, engine)))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


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
