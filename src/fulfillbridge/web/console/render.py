"""Rendering the console's pages: Jinja2 templates from ``web/templates`` (autoescaped),
filters for times and ages, and the page's security policy. Times are written as UTC in a
``<time datetime>`` element; the console's own script shows them in the viewer's zone,
and without it the UTC text stays readable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from fulfillbridge import __version__
from fulfillbridge.web.console import auth

# Only the console's own script and stylesheet; product thumbnails may come from the
# store's image host (https). Nothing inline, no framing, forms post only here.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def when(moment: datetime | str | None, empty: str = "never") -> Markup:
    """A time (or an ISO 8601 text, as the flows' JSON-ready views give it) for people."""
    if moment is None:
        return Markup(escape(empty))
    at = _as_utc(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
    return Markup('<time datetime="{}">{}</time>').format(
        at.isoformat(timespec="seconds"), at.strftime("%Y-%m-%d %H:%M UTC")
    )


def age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(seconds, 0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def duration(seconds: float | None) -> str:
    return "" if seconds is None else age(seconds)


def since(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return age((datetime.now(UTC) - _as_utc(moment)).total_seconds())


def query(base: dict[str, Any], **changes: Any) -> str:
    """The query string of a link: the current filters with some changed."""
    merged = {**base, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})


def readable(detail: dict[str, Any], names: dict[str, str]) -> str:
    """A transition's details in words: counts of lines by SKU (``names``: line id to
    what a person knows the line by) rather than raw ids."""
    parts = []
    for key in sorted(detail):
        value = detail[key]
        if isinstance(value, dict):
            shown = ", ".join(f"{n} \u00d7 {names.get(str(k), k)}" for k, n in value.items())
        elif isinstance(value, list | tuple):
            shown = ", ".join(str(item) for item in value)
        else:
            shown = str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


_environment = Environment(
    loader=PackageLoader("fulfillbridge.web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(when=when, age=age, duration=duration, since=since, readable=readable)
_environment.globals.update(query=query, version=__version__)


def page(
    request: Request,
    template: str,
    *,
    viewer: auth.Viewer | None,
    csrf: str = "",
    status: int = 200,
    refresh: int | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page of the console, with the flash message of the last form post, if any."""
    response = HTMLResponse("", status_code=status)
    shown = auth.take_flash(request, response)
    body = _environment.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf=csrf,
        flash=shown,
        refresh=refresh,
        path=request.url.path,
        **context,
    )
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    response.headers["content-security-policy"] = PAGE_POLICY
    response.headers["cache-control"] = "no-store"
    return response
