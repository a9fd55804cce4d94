"""Signing in to the console over real HTTP and posting its forms as a browser would:
the session cookie, the page's CSRF token, Origin and Referer."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlencode

import httpx


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def flash(answer: httpx.Response) -> str:
    """The one-line result a form post leaves for the next page."""
    cookie = answer.cookies.get("fb_flash")
    assert cookie is not None, (answer.status_code, answer.text)
    return unquote(cookie)


class Console:
    def __init__(self, http: httpx.AsyncClient, origin: str) -> None:
        self.http = http
        self.origin = origin
        self.csrf = ""
        self.page = "/"

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.http

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs) -> httpx.Response:
        answer = await self.http.get(path, **kwargs)
        self.page = path  # the page the next form is posted from
        if 'name="csrf_token"' in answer.text:
            self.csrf = token(answer)
        return answer

    async def post(self, path: str, data: dict | list | None = None) -> httpx.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        return await self.http.post(
            path,
            content=urlencode([("csrf_token", self.csrf), *fields]),
            headers={
                "Origin": self.origin,
                "Referer": self.origin + self.page,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            follow_redirects=False,
        )


async def signed_in(url: str, key: str) -> Console:
    """A console session for ``key`` on the app at ``url``, on its overview page."""
    http = httpx.AsyncClient(base_url=url, timeout=20)
    answer = await http.post("/signin", data={"key": key, "next": "/"}, headers={"Origin": url})
    assert answer.status_code == 303, answer.text
    console = Console(http, url)
    await console.get("/")
    return console
