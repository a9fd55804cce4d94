"""What routes receive through FastAPI's ``Depends``: the app's one ``Database``.

``create_app`` opens the database (or takes the one it is given) and keeps it on
``app.state.database``; every router reads it from there, never opens its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fulfillbridge.store.database import Database


def app_database(request: Request) -> Database:
    """The database of the app serving the request."""
    database: Database = request.app.state.database
    return database


AppDatabase = Annotated[Database, Depends(app_database)]
