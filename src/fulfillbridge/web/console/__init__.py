"""The operator's console: server-rendered pages (Jinja2 templates in ``web/templates``,
the stylesheet and one small script in ``web/static``, nothing from elsewhere). ``/`` is
its entry. ``pages`` reads, ``forms`` acts through ``flows.actions``, ``labels`` buys,
prints and ships labels through ``flows.shipping``, ``auth`` signs people in, ``charts``
draws SVG."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from fulfillbridge.web.console import forms, labels, pages

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
# Before forms: its /console/work/{id}/{action} would otherwise take the label posts.
router.include_router(labels.router)
router.include_router(forms.router)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
