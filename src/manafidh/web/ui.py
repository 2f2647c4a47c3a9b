"""What every HTML page shares: the signed-in user, navigation by role, rendering, refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from manafidh.bootstrap import Container
from manafidh.domain.errors import DomainError, Forbidden, NotFound, Unauthenticated
from manafidh.domain.identity import Permission, Role, User
from manafidh.services import identity
from manafidh.web import i18n
from manafidh.web.deps import SESSION_COOKIE

# Everything is served from this origin; htmx is told not to inject inline styles or eval.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class NavItem:
    """A link of the main navigation: its key (for the label), its path."""

    key: str
    href: str


# Each role's pages, its home first. Labels are in _nav.html, so they go through the catalogues.
NAV: dict[Role, tuple[NavItem, ...]] = {
    Role.TRADER: (NavItem("mine", "/my"), NavItem("declare", "/declare")),
    Role.OFFICER: (NavItem("dashboard", "/dashboard"), NavItem("queue", "/queue")),
    Role.INSPECTOR: (
        NavItem("inspections", "/inspections"),
        NavItem("dashboard", "/dashboard"),
        NavItem("queue", "/queue"),
    ),
    Role.SUPERVISOR: (
        NavItem("dashboard", "/dashboard"),
        NavItem("board", "/board"),
        NavItem("queue", "/queue"),
        NavItem("held", "/held"),
        NavItem("alarms", "/alarms"),
        NavItem("approvals", "/approvals"),
        NavItem("shift", "/shift"),
    ),
    Role.ANALYST: (
        NavItem("dashboard", "/dashboard"),
        NavItem("queue", "/queue"),
        NavItem("reports", "/reports"),
    ),
    Role.AUDITOR: (NavItem("audit", "/audit"), NavItem("dashboard", "/dashboard")),
    Role.ADMIN: (
        NavItem("dashboard", "/dashboard"),
        NavItem("audit", "/audit"),
        NavItem("users", "/admin/users"),
        NavItem("crossings", "/admin/crossings"),
        NavItem("devices", "/admin/devices"),
        NavItem("tariff", "/admin/tariff"),
        NavItem("exemptions", "/admin/exemptions"),
        NavItem("rules", "/admin/rules"),
        NavItem("reports", "/reports"),
    ),
    Role.FINANCE: (
        NavItem("exceptions", "/finance/exceptions"),
        NavItem("statements", "/finance/statements"),
        NavItem("reports", "/reports"),
    ),
}


def nav_for(user: User) -> tuple[NavItem, ...]:
    """The navigation of ``user``'s role."""
    return NAV[user.role]


def home_of(user: User) -> str:
    """Where ``user`` lands after signing in."""
    return nav_for(user)[0].href


def container(request: Request) -> Container:
    """The app's container."""
    c: Container = request.app.state.container
    return c


def language(request: Request) -> str:
    """The request's UI language."""
    return i18n.language_of(request, container(request).settings.default_language)


def finish(request: Request, response: Response, lang: str | None = None) -> Response:
    """Add the security headers, and the language cookie when ``?lang=`` chose one."""
    response.headers.update(SECURITY_HEADERS)
    if i18n.requested_language(request):
        secure = container(request).settings.session_cookie_secure
        i18n.remember_language(response, lang or language(request), secure=secure)
    return response


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    """Render ``template`` in the request's language, with the user's navigation."""
    lang = language(request)
    user = context.get("user")
    if isinstance(user, User):
        context.setdefault("nav", nav_for(user))
    context.setdefault("path", request.url.path)
    html = i18n.render(template, lang, **context)
    return finish(request, HTMLResponse(html, status_code=status), lang)


def redirect(request: Request, url: str) -> Response:
    """A 303 redirect (after a form, the browser GETs the target)."""
    return finish(request, RedirectResponse(url, status_code=303))


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def to_signin(request: Request, next_path: str | None = None) -> Response:
    """Send the visitor to sign in, then back to ``next_path`` (default: this page)."""
    target = safe_next(next_path) or request.url.path
    if request.headers.get("HX-Request"):
        response = Response(status_code=401, headers={"HX-Redirect": "/signin"})
        return finish(request, response)
    return redirect(request, f"/signin?next={quote(target, safe='/')}")


def signed_in_user(request: Request) -> User | None:
    """The user of the session cookie, or None when there is none or it is no longer valid."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        with container(request).uow(readonly=True) as uow:
            return identity.authenticate(uow=uow, token=token)
    except Unauthenticated:
        return None


def refused(request: Request, user: User, error: DomainError) -> Response:
    """The 403 or 404 page for a refusal of the services' permission checks."""
    status = 404 if isinstance(error, NotFound) else 403
    template = "not_found.html" if status == 404 else "denied.html"
    return page(request, template, status=status, user=user, error=error)


def guarded(
    request: Request, build: Callable[[User], Response], *, next_path: str | None = None
) -> Response:
    """Run ``build`` for the signed-in user; refusals become 403/404 pages, never a 500."""
    user = signed_in_user(request)
    if user is None:
        return to_signin(request, next_path)
    try:
        return build(user)
    except (Forbidden, NotFound) as error:
        return refused(request, user, error)


def require(user: User, *permissions: Permission) -> None:
    """Raise Forbidden unless ``user`` holds one of ``permissions``."""
    if not any(user.can(p) for p in permissions):
        raise Forbidden(f"role {user.role.value} may not see this page", role=user.role.value)


STATUS_OF_KIND = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "unauthenticated": 401,
}


def status_of(error: DomainError) -> int:
    """The HTTP status of a refused action."""
    return STATUS_OF_KIND.get(error.kind, 422)
