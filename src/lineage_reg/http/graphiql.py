"""GraphiQL, served from the package: its page at ``/graphql`` and its scripts at ``/static/graphiql/…``.

Only with ``--dev``. Nothing comes from a CDN (a machine without internet, and many clusters, would get a blank
page), and the page's Content-Security-Policy lets it load and connect to this origin only: no inline script
or style, no eval. (GraphiQL's dialogs add one <style> element to lock scrolling: refused, and harmless, since
the page's own stylesheet never lets the body scroll.) The vendored files and how to update them:
``static/graphiql/README.md``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

PREFIX = "/static/graphiql/"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _dir() -> resources.abc.Traversable:
    return resources.files("lineage_reg.http").joinpath("static", "graphiql")


@cache
def assets() -> dict[str, tuple[bytes, str]]:
    """Every script and stylesheet the page may load: name -> (bytes, content type)."""
    out = {}
    for item in _dir().iterdir():
        kind = _TYPES.get("." + item.name.rsplit(".", 1)[-1])
        if kind is not None:
            out[item.name] = (item.read_bytes(), kind)
    return out


def content_security_policy(request: Request) -> str:
    # connect-src names the WebSocket origin too: older browsers do not count ws(s):// of this host as 'self'.
    host = request.headers.get("host", "")
    ws = f" ws://{host} wss://{host}" if host else ""
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
            f"connect-src 'self'{ws}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def page(request: Request) -> Response:
    html = _dir().joinpath("graphiql.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": content_security_policy(request),
                                       "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
                                       "Referrer-Policy": "no-referrer"})


async def asset(request: Request) -> Response:
    found = assets().get(request.path_params["name"])
    if found is None:
        return Response("not one of GraphiQL's files", status_code=404, media_type="text/plain")
    body, kind = found
    return Response(body, media_type=kind, headers={"X-Content-Type-Options": "nosniff",
                                                    "Cache-Control": "public, max-age=86400"})


def routes() -> list[Route]:
    return [Route(PREFIX + "{name}", asset, methods=["GET", "HEAD"])]
