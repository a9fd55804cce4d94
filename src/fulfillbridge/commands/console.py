"""What every command shares: its consoles, JSON output, exit codes and the one-line
error handler the whole command tree runs under.

Exit codes (also in ``fulfillbridge --help`` and the README):

- 0: done.
- 1: an error; nothing, or nothing more, was done (the message says why). A file whose
  every row was rejected is 1 too: nothing was done.
- 2: the command line was wrong (unknown option, a value that cannot be used as typed, a
  file named that does not exist).
- 3: done in part: some rows of a file were rejected (listed) and the others applied, or a
  store was connected with scopes missing.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from typing import Any

import typer
from rich.console import Console, ConsoleDimensions
from typer.core import TyperGroup

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 error (nothing done, e.g. every row rejected); 2 wrong command "
    "line (bad value, missing file); 3 done in part (some rows rejected, or scopes missing)."
)

# Width used when the output is not a terminal (a pipe, a file): wide enough that no URL,
# shop domain or reason is cut or folded; tables still size to their content.
PIPE_WIDTH = 400


class CommandConsole(Console):
    """A Rich console that, writing to a pipe or a file with no COLUMNS set, does not fold
    lines at 80 columns."""

    @property  # type: ignore[override]
    def size(self) -> ConsoleDimensions:
        wanted = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in os.environ:
            return ConsoleDimensions(PIPE_WIDTH, wanted.height)
        return wanted

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


def make_console(*, stderr: bool = False) -> Console:
    return CommandConsole(stderr=stderr)


out = make_console()
err = make_console(stderr=True)


def print_json(data: Any) -> None:
    """JSON for other programs: plain (no Rich markup or wrapping), times in ISO 8601."""

    def encode(value: Any) -> str:
        return value.isoformat() if isinstance(value, datetime) else str(value)

    typer.echo(json.dumps(data, indent=2, default=encode))


def examples(*lines: str) -> str:
    """A help epilog: example command lines, then the exit codes."""
    # "\b" keeps click from re-wrapping the paragraph: a command line stays one line.
    shown = "\n".join(f"  $ {line}" for line in lines)
    return f"\b\nExamples:\n{shown}\n\n{EXIT_CODES_HELP}"


def one_line(exc: BaseException) -> str | None:
    """The one line to print for a failure a user can act on, or None for a bug (which
    keeps its traceback)."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from fulfillbridge.core.errors import FulfillbridgeError
    from fulfillbridge.shopify import ShopifyError

    if isinstance(exc, FulfillbridgeError):
        return str(getattr(exc, "message", None) or exc)
    if isinstance(exc, ShopifyError):
        return str(exc)
    if isinstance(exc, DBAPIError | SQLAlchemyError):
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return (
            f"the database cannot be used: {first} "
            "(check database_url with `fulfillbridge config show`)"
        )
    if isinstance(exc, ConnectionError):
        return f"cannot connect: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    import httpx

    if isinstance(exc, httpx.TransportError):
        url = exc.request.url if exc._request is not None else "the server"
        return f"cannot reach {url}: {exc or type(exc).__name__}"
    return None


class OneLineErrors(TyperGroup):
    """The root command group: a failure a user can act on (a database that cannot be
    reached, a missing file, a refused connection) is one line on standard error and exit
    status 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Typer's own exits and usage errors are not ours to describe: one_line gives
            # None for them, and they go on to Typer unchanged.
            line = one_line(exc)
            if line is None:
                raise
            err.print(f"[bold red]error:[/] {line}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(EXIT_ERROR) from None


# A line and its units: ``NAME=UNITS`` or ``NAME:UNITS``, both spellings everywhere. With
# ``extras`` marks (``:`` for a condition, ``@`` for a warehouse) the name ends at the first
# separator followed by units; without, at the last one, so a SKU may itself hold ``:``.
_LINE_UNITS = re.compile(r"^(?P<name>.+)[=:](?P<units>\d+)$", re.DOTALL)
_LINE_UNITS_EXTRA = re.compile(
    r"^(?P<name>.+?)[=:](?P<units>\d+)(?:(?P<mark>[:@])(?P<extra>.*))?$", re.DOTALL
)


def split_line_units(text: str, *, extras: str = "") -> tuple[str, int, str | None]:
    """``(name, units, extra)`` from ``NAME=UNITS`` or ``NAME:UNITS`` (units a whole
    number), with an optional ``<mark>EXTRA`` when ``mark`` is one of ``extras``. Raises
    ValueError (in words) for anything else."""
    pattern = _LINE_UNITS_EXTRA if extras else _LINE_UNITS
    found = pattern.match(text.strip())
    if found is None or not found["name"].strip():
        raise ValueError(f"{text!r} is not NAME=UNITS or NAME:UNITS (units a whole number)")
    mark = found.groupdict().get("mark")
    if mark is not None and mark not in extras:
        raise ValueError(f"{text!r}: nothing may follow the units after {mark!r}")
    extra = found.groupdict().get("extra")
    if mark is not None and not (extra or "").strip():
        raise ValueError(f"{text!r}: nothing follows {mark!r}")
    return found["name"].strip(), int(found["units"]), extra.strip() if extra else None
