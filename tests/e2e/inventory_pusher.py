"""A process pushing inventory (``python -m tests.e2e.inventory_pusher SKU_FILE ROUNDS``):
the operation's counts for every SKU in SKU_FILE, ``ROUNDS`` times with new quantities
each time (so every round writes), through ``flows.inventory.push`` on the bridge's
configured settings and database, as `fulfillbridge inventory push` does. Prints one JSON
line per round."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from fulfillbridge.config import load_settings
from fulfillbridge.core.inventory import RawRow
from fulfillbridge.flows import inventory
from fulfillbridge.store.database import Database
from tests.e2e.harness import STORE


async def _main(sku_file: Path, rounds: int) -> None:
    skus = sku_file.read_text().split()
    settings = load_settings()
    database = Database.from_settings(settings)
    try:
        for round_ in range(rounds):
            rows = [RawRow(i + 2, STORE, sku, "", 100 + round_) for i, sku in enumerate(skus)]
            report = await inventory.push(database, settings, rows)
            print(
                json.dumps(
                    {
                        "round": round_,
                        "applied": sum(r["result"] == "applied" for r in report.accepted),
                        "rejected": [r.as_dict() for r in report.rejected],
                        "calls": report.calls,
                    }
                ),
                flush=True,
            )
    finally:
        await database.close()


if __name__ == "__main__":
    asyncio.run(_main(Path(sys.argv[1]), int(sys.argv[2])))
