"""Replays every recorded capture (tests/fixtures/captures/*.json) against the sandbox over
real HTTP and counts how much of what Shopify answered the sandbox answers too.

One scenario per capture file. A scenario recreates its setup with the sandbox's own GraphQL
mutations, sends the recorded requests (captured ids mapped onto the sandbox's) and compares
each answer with the recorded one, point by point. The pytest tests
(``test_capture_replay_*.py``, ``test_conformance.py``) and ``make sandbox-conformance``
(``python -m tests.sandbox.conformance``) run the same scenarios.

A **point** is one check of one recorded answer:
- every leaf value (string, number, boolean, null) in the recorded ``data``;
- the key set of every recorded object and the length of every recorded list;
- for top-level ``errors``: their presence, their count, and each error's message, path and
  ``extensions.code`` (where recorded).

Values that cannot match are compared loosely, each still one point: timestamps (null-ness
and ISO-8601 form), cursors (null-ness), ids (paired: the first time a captured id meets a
sandbox id they are bound, and every later occurrence must agree, so "the same object"
relations are checked), order names (paired the same way), job ids (kind only), and
captured ids inside messages (mapped before comparing). Where a document was not recorded,
the scenario's own document selects what the answer holds (``subset``: extra keys the
document selects are not counted).

Parts of a capture the sandbox cannot reproduce are excluded, each with its reason
(``KNOWN_EXCLUSIONS`` below and docs/sandbox.md); their leaves are counted as excluded, not
compared. A scenario is ok when every compared point matched.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fulfillbridge.sandbox.shops import DEFAULT_ACCESS_TOKEN

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
GRAPHQL = "/admin/api/2026-07/graphql.json"
TIMESTAMPS = {
    "createdAt",
    "updatedAt",
    "fulfillAt",
    "closedAt",
    "cancelledAt",
    "processedAt",
    "sentAt",
}
CURSORS = {"startCursor", "endCursor"}
_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/([^?]+)(\?.*)?$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

Ignore = Callable[[list[str]], bool]


def _never(_path: list[str]) -> bool:
    return False


def load_capture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CAPTURES / name).read_text(encoding="utf-8"))
    return loaded


def payload_of(recorded: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL body of a recorded response, whatever envelope the capture used."""
    for key in ("payload", "body"):
        if key in recorded:
            inner: dict[str, Any] = recorded[key]
            return inner
    return recorded


def _key(value: Any) -> str | None:
    match = _GID.match(value) if isinstance(value, str) else None
    if not match or match.group(1) == "Job":
        return None
    return f"{match.group(1)}/{match.group(2)}"


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_leaves(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_leaves(v) for v in value)
    return 1


@dataclass
class Tally:
    """The points of one scenario."""

    scenario: str
    matched: int = 0
    compared: int = 0
    excluded: int = 0
    differences: list[str] = field(default_factory=list)
    failure: str | None = None  # an exception that stopped the scenario

    @property
    def ok(self) -> bool:
        return self.failure is None and self.compared > 0 and self.matched == self.compared


class Replay:
    """Sends captured requests to the sandbox and scores the answers."""

    def __init__(self, client: httpx.AsyncClient, tally: Tally) -> None:
        self.client = client
        self.tally = tally
        self.ids: dict[str, str] = {}  # captured "Kind/123" -> sandbox "Kind/456"
        self.names: dict[str, str] = {}  # captured order name -> sandbox order name

    # -- points -------------------------------------------------------------------------
    def check(self, ok: bool, where: str, detail: str) -> bool:
        self.tally.compared += 1
        if ok:
            self.tally.matched += 1
        else:
            self.tally.differences.append(f"{where}: {detail}")
        return ok

    def exclude(self, recorded: Any) -> None:
        """Leave a recorded value out of the comparison (its leaves counted as excluded)."""
        self.tally.excluded += _leaves(recorded)

    # -- state --------------------------------------------------------------------------
    async def reset(self) -> None:
        """A fresh sandbox (between the independent cases of one capture)."""
        response = await self.client.post("/__sandbox/reset")
        response.raise_for_status()
        self.ids.clear()
        self.names.clear()

    def pair(self, captured: str, actual: str) -> bool:
        key_c, key_a = _key(captured), _key(actual)
        if not key_c or not key_a:
            return False
        known = self.ids.get(key_c)
        if known not in (None, key_a):
            return False
        self.ids[key_c] = key_a
        return True

    def sandbox_id(self, captured: str) -> str:
        key = _key(captured)
        assert key is not None and key in self.ids, f"{captured} was never paired"
        return f"gid://shopify/{self.ids[key]}"

    async def pair_default_location(self, captured_gid: str) -> None:
        data = (await self.send("{ location { id } }"))["data"]
        assert self.pair(captured_gid, data["location"]["id"])

    async def add_location(self, captured_gid: str, name: str, online: bool = True) -> str:
        """A merchant location named like the captured one, made with locationAdd."""
        added = await self.send(
            """mutation($input: LocationAddInput!) { locationAdd(input: $input) {
                 location { id } userErrors { field message } } }""",
            {
                "input": {
                    "name": name,
                    "address": {"countryCode": "CA", "city": "Ottawa"},
                    "fulfillsOnlineOrders": online,
                }
            },
        )
        answer = added["data"]["locationAdd"]
        assert answer["userErrors"] == [], answer
        location: str = answer["location"]["id"]
        assert self.pair(captured_gid, location)
        return location

    async def stocked_variant(self, captured_variant: str, location_gid: str) -> str:
        """A tracked variant stocked only at ``location_gid`` (made with GraphQL)."""
        created = await self.send(
            """mutation($product: ProductCreateInput!) { productCreate(product: $product) {
                 product { variants(first: 1) { nodes { id inventoryItem { id } } } }
                 userErrors { field message } } }""",
            {"product": {"title": "Replay item"}},
        )
        variant = created["data"]["productCreate"]["product"]["variants"]["nodes"][0]
        item = variant["inventoryItem"]["id"]
        updated = await self.send(
            """mutation($id: ID!) { inventoryItemUpdate(id: $id, input: {tracked: true}) {
                 userErrors { field message } } }""",
            {"id": item},
        )
        assert updated["data"]["inventoryItemUpdate"]["userErrors"] == []
        activated = await self.send(
            """mutation($item: ID!, $location: ID!) {
                 inventoryActivate(inventoryItemId: $item, locationId: $location, available: 50)
                 @idempotent(key: "replay-activate") { userErrors { field message } } }""",
            {"item": item, "location": location_gid},
        )
        assert activated["data"]["inventoryActivate"]["userErrors"] == []
        assert self.pair(captured_variant, variant["id"])
        return str(variant["id"])

    # -- requests -----------------------------------------------------------------------
    async def send(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(
            GRAPHQL,
            json={"query": query, "variables": self.map_in(variables or {})},
            headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def replay(
        self,
        query: str,
        variables: dict[str, Any] | None,
        recorded: dict[str, Any],
        *,
        ignore: Ignore = _never,
        subset: bool = False,
        label: str = "",
    ) -> dict[str, Any]:
        actual = await self.send(query, variables)
        self.compare_body(payload_of(recorded), actual, ignore, subset=subset, label=label)
        return actual

    def map_in(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.map_in(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.map_in(v) for v in value]
        if isinstance(value, str):
            key = _key(value)
            if key and key in self.ids:
                suffix = self.map_text(_GID.match(value).group(3) or "")  # type: ignore[union-attr]
                return f"gid://shopify/{self.ids[key]}{suffix}"
        return value

    def map_text(self, text: str) -> str:
        """Captured numeric ids inside a text, replaced by the sandbox's."""
        numbers = {c.split("/")[1]: a.split("/")[1] for c, a in self.ids.items()}
        return re.sub(r"\d{6,}", lambda m: numbers.get(m.group(0), m.group(0)), text)

    # -- comparison ---------------------------------------------------------------------
    def compare_body(
        self,
        expected: dict[str, Any],
        actual: dict[str, Any],
        ignore: Ignore = _never,
        *,
        subset: bool = False,
        label: str = "",
    ) -> None:
        where = label or "body"
        if not self.check(
            ("errors" in expected) == ("errors" in actual),
            f"{where}.errors",
            f"recorded {'errors' if 'errors' in expected else 'none'}, got "
            f"{actual.get('errors')!r}",
        ):
            return
        if "errors" in expected:
            self.compare_errors(expected["errors"], actual["errors"], where)
        if "data" in expected:
            self.compare(expected["data"], actual.get("data"), [where, "data"], ignore, subset)
        elif "errors" in expected:
            self.check("data" not in actual, f"{where}.data", f"unexpected {actual.get('data')}")

    def compare_errors(
        self, expected: list[dict[str, Any]], actual: list[dict[str, Any]], where: str
    ) -> None:
        if not self.check(
            len(expected) == len(actual), f"{where}.errors", f"{expected!r} vs {actual!r}"
        ):
            return
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            at = f"{where}.errors.{i}"
            message = self.map_text(want["message"])
            self.check(message == got["message"], f"{at}.message", f"{message!r} vs {got!r}")
            if "path" in want:
                self.check(want["path"] == got.get("path"), f"{at}.path", f"{got.get('path')}")
            code = (want.get("extensions") or {}).get("code")
            if code:
                got_code = (got.get("extensions") or {}).get("code")
                self.check(got_code == code, f"{at}.code", f"{code!r} vs {got_code!r}")

    def compare(
        self, want: Any, got: Any, path: list[str], ignore: Ignore = _never, subset: bool = False
    ) -> None:
        where = ".".join(path)
        if ignore(path):
            self.exclude(want)
            return
        if isinstance(want, dict):
            if not isinstance(got, dict):
                self.check(False, where, f"expected an object, got {got!r}")
                return
            if subset:
                missing = sorted(set(want) - set(got))
                if not self.check(not missing, where, f"missing keys {missing}"):
                    return
            elif not self.check(
                set(want) == set(got), where, f"keys {sorted(want)} != {sorted(got)}"
            ):
                return
            for key in want:
                self.compare_field(key, want[key], got[key], [*path, key], ignore, subset)
            return
        if isinstance(want, list):
            if not self.check(
                isinstance(got, list) and len(want) == len(got),
                where,
                f"{len(want)} items expected, got {got!r}",
            ):
                return
            for index, (w, g) in enumerate(zip(want, got, strict=True)):
                self.compare(w, g, [*path, str(index)], ignore, subset)
            return
        if isinstance(want, str) and _key(want):
            same = isinstance(got, str) and bool(_key(got)) and self.pair(want, got)
            if same:
                suffix_want = self.map_text(_GID.match(want).group(3) or "")  # type: ignore[union-attr]
                same = suffix_want == (_GID.match(got).group(3) or "")  # type: ignore[union-attr]
            self.check(
                same, where, f"id {want!r} vs {got!r} (paired {self.ids.get(_key(want) or '')})"
            )
            return
        self.check(want == got, where, f"expected {want!r}, got {got!r}")

    def compare_field(
        self,
        key: str,
        want: Any,
        got: Any,
        path: list[str],
        ignore: Ignore,
        subset: bool,
    ) -> None:
        where = ".".join(path)
        if ignore(path):
            self.exclude(want)
            return
        if key in TIMESTAMPS:
            ok = (want is None) == (got is None)
            if ok and got is not None:
                ok = isinstance(got, str) and bool(_ISO.match(got))
                if key == "fulfillAt":
                    ok = ok and got.endswith(":00:00Z")
            self.check(ok, where, f"{want!r} vs {got!r}")
            return
        if key in CURSORS:
            self.check((want is None) == (got is None), where, f"{want!r} vs {got!r}")
            return
        if key == "name" and isinstance(want, str) and re.fullmatch(r"#\d+(\.\d+)?", want):
            base_want = want.split(".")[0]
            base_got = got.split(".")[0] if isinstance(got, str) else None
            known = self.names.setdefault(base_want, base_got or "")
            self.check(known == base_got, where, f"order {want} was {known}, now {got}")
            return
        if key == "id" and isinstance(want, str) and want.startswith("gid://shopify/Job/"):
            ok = isinstance(got, str) and got.startswith("gid://shopify/Job/")
            self.check(ok, where, f"{got!r} is not a job id")
            return
        if key == "message" and isinstance(want, str):
            message = self.map_text(want)
            self.check(message == got, where, f"{message!r} vs {got!r}")
            return
        self.compare(want, got, path, ignore, subset)


Scenario = Callable[[Replay], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {}
# capture file -> what is excluded and why (also in docs/sandbox.md).
KNOWN_EXCLUSIONS: dict[str, list[str]] = {}


def scenario(capture: str, *exclusions: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        assert capture not in SCENARIOS, capture
        SCENARIOS[capture] = fn
        if exclusions:
            KNOWN_EXCLUSIONS[capture] = list(exclusions)
        return fn

    return register


async def run_scenario(base_url: str, capture: str) -> Tally:
    """One capture replayed on a freshly reset sandbox at ``base_url``."""
    tally = Tally(capture)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        replay = Replay(client, tally)
        await replay.reset()
        try:
            await SCENARIOS[capture](replay)
        except AssertionError as exc:
            tally.failure = f"AssertionError: {exc}"
    return tally


async def run_all(base_url: str) -> list[Tally]:
    from tests.sandbox import conformance_scenarios  # noqa: F401  (registers the scenarios)

    missing = sorted(p.name for p in CAPTURES.glob("*.json") if p.name not in SCENARIOS)
    assert not missing, f"captures without a scenario: {missing}"
    return [await run_scenario(base_url, capture) for capture in sorted(SCENARIOS)]


def table(tallies: list[Tally]) -> str:
    rows = [("scenario (capture file)", "matched points", "compared points", "ok")]
    rows += [
        (t.scenario, str(t.matched), str(t.compared), "yes" if t.ok else "NO") for t in tallies
    ]
    total_m = sum(t.matched for t in tallies)
    total_c = sum(t.compared for t in tallies)
    rows.append(
        ("total", str(total_m), str(total_c), "yes" if all(t.ok for t in tallies) else "NO")
    )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in (1, 2, 3)]
        lines.append(" | ".join(cells))
        if index == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def details(tallies: list[Tally]) -> str:
    """What differed, what stopped a scenario, and what each scenario leaves out and why."""
    out = []
    for t in tallies:
        if t.failure:
            out.append(f"{t.scenario}: stopped: {t.failure}")
        out += [f"{t.scenario}: differs at {d}" for d in t.differences]
        reasons = KNOWN_EXCLUSIONS.get(t.scenario, [])
        if reasons:
            out.append(f"{t.scenario}: {t.excluded} recorded points excluded:")
            out += [f"  - {reason}" for reason in reasons]
    return "\n".join(out)


def main() -> int:
    from fulfillbridge.sandbox.server import SandboxServer

    with SandboxServer() as server:
        tallies = asyncio.run(run_all(server.url))
    print(table(tallies))
    extra = details(tallies)
    if extra:
        print()
        print(extra)
    return 0 if all(t.ok for t in tallies) else 1


if __name__ == "__main__":
    # Run as a script this file is ``__main__``; the scenarios register with the module
    # under its own name, so that one runs.
    from tests.sandbox import conformance

    sys.exit(conformance.main())
