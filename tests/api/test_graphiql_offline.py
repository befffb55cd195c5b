"""GraphiQL works without internet: its page loads only same-origin files, each served from the package.

A real server (``--dev``) over HTTP; the page is parsed as a browser would find its subresources.
"""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from conftest import LiveServer

from lineage_reg.config import Settings

EXPECTED_TYPE = {"script": "text/javascript", "stylesheet": "text/css"}


class Subresources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, url)
        self.inline: list[str] = []  # <script> with a body, <style>: what a strict CSP refuses
        self._tag: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.found.append(("script", a["src"] or ""))
        elif tag == "link" and a.get("href"):
            self.found.append((a.get("rel") or "link", a["href"] or ""))
        elif tag in ("img", "iframe", "source") and a.get("src"):
            self.found.append((tag, a["src"] or ""))
        self._tag = tag
        if tag == "style" or any(name == "style" or name.startswith("on") for name in a):
            self.inline.append(tag)

    def handle_data(self, data: str) -> None:
        if self._tag == "script" and data.strip():
            self.inline.append(f"script: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        self._tag = None


@pytest.mark.dialects("sqlite")
async def test_graphiql_loads_nothing_but_its_own_files(settings: Settings, dialect: str) -> None:
    with LiveServer(dataclasses.replace(settings, dev=True)) as server:
        async with httpx.AsyncClient() as http:
            page_url = f"{server.url}/graphql"
            page = await http.get(page_url, headers={"Accept": "text/html"})
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
            parser = Subresources()
            parser.feed(page.text)
            kinds = {kind for kind, _ in parser.found}
            assert {"script", "stylesheet"} <= kinds, parser.found

            origin = urlsplit(server.url).netloc
            for kind, ref in parser.found:
                if ref.startswith("data:"):
                    continue  # in the page itself (the empty favicon)
                url = urljoin(page_url, ref)
                assert urlsplit(url).netloc == origin, f"{kind} {ref} comes from another origin"
                got = await http.get(url)
                assert got.status_code == 200, (ref, got.status_code)
                assert got.content, ref
                if kind in EXPECTED_TYPE:
                    assert got.headers["content-type"].split(";")[0] == EXPECTED_TYPE[kind], (ref, got.headers)
                    assert got.headers["x-content-type-options"] == "nosniff"
            assert not parser.inline, f"inline script or style (the CSP refuses it): {parser.inline}"
            names = {urlsplit(urljoin(page_url, ref)).path.rsplit("/", 1)[-1] for _, ref in parser.found}
            assert {"graphiql.min.js", "react.production.min.js", "react-dom.production.min.js",
                    "graphiql.min.css"} <= names, names

            # The page may load and connect to its own origin only: no CDN, no inline code, no eval.
            csp = dict((d.strip().split(" ", 1) + [""])[:2] for d in page.headers["content-security-policy"].split(";"))
            assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
            everything = " ".join(csp.values())
            assert "unsafe" not in everything and "https:" not in everything and "*" not in everything, csp
            assert set(csp["connect-src"].split()) <= {"'self'", f"ws://{origin}", f"wss://{origin}"}, csp

    # Without --dev there is no page, and no GraphiQL files either.
    with LiveServer(settings) as server:
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{server.url}/static/graphiql/graphiql.min.js")).status_code == 404
