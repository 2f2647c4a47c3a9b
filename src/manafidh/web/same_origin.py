"""Refuse cross-site form posts that ride on the session cookie (CSRF).

The session cookie is SameSite=Lax, which already keeps it off most cross-site requests; this
check is the second lock, as OWASP recommends: a state-changing request that authenticates by
cookie must come from a page of this site, as its ``Origin`` (or, failing that, ``Referer``)
header says. Requests with a bearer token are not cookie-authenticated and pass; so do requests
that send neither header (not a browser's cross-site request).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SameOriginMiddleware:
    """Answer 403 to a cookie-authenticated unsafe request from another origin."""

    def __init__(self, app: ASGIApp, cookie: str) -> None:
        self.app = app
        self.cookie = cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then hand it on (or answer 403)."""
        if scope["type"] == "http":
            request = Request(scope)
            if _cross_site(request, self.cookie):
                response = JSONResponse(
                    {
                        "error": {
                            "code": "cross_site_request",
                            "message": "refused: the request did not come from this site",
                            "details": {"origin": _source(request)},
                        }
                    },
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _source(request: Request) -> str:
    return request.headers.get("origin") or request.headers.get("referer") or ""


def _cross_site(request: Request, cookie: str) -> bool:
    if request.method in SAFE_METHODS or cookie not in request.cookies:
        return False
    if request.headers.get("authorization"):
        return False
    source = _source(request)
    if not source:
        return False
    # The host alone is compared: behind a proxy that ends TLS the app sees http while the
    # browser says https, and a cross-site page cannot make the browser lie about the Host.
    # An opaque origin ("null") has no host and never matches.
    host = request.headers.get("host", "")
    return not host or urlsplit(source).netloc.lower() != host.lower()
