"""The HTML pages: sign-in, sign-out and the dashboard of today's trucks and duty."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from manafidh.bootstrap import Container
from manafidh.domain.declarations.model import Lane
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import Forbidden, Unauthenticated
from manafidh.domain.identity import User
from manafidh.services import dashboard, identity
from manafidh.services.dashboard import Dashboard
from manafidh.web import i18n, ui
from manafidh.web.deps import SESSION_COOKIE

router = APIRouter(include_in_schema=False)

# The columns of the dashboard, in the order a truck goes through them.
STATES = (
    State.LODGED,
    State.ASSESSED,
    State.LANE_SELECTED,
    State.INSPECTED,
    State.PAID,
    State.RELEASED,
    State.EXITED,
    State.HELD,
)
LANES = (Lane.GREEN, Lane.YELLOW, Lane.RED)
SESSION_MAX_AGE = int(identity.SESSION_LIFETIME.total_seconds())
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


@dataclass
class Totals:
    """The sums across the crossings shown on the dashboard."""

    by_state: dict[str, int] = field(default_factory=dict)
    by_lane: dict[str, int] = field(default_factory=dict)
    trucks: int = 0
    duty_assessed_iqd: Decimal = Decimal("0.000")
    duty_collected_iqd: Decimal = Decimal("0.000")


def totals_of(board: Dashboard) -> Totals:
    """Add up the dashboard's rows."""
    totals = Totals(
        trucks=sum(row.trucks for row in board.crossings),
        duty_assessed_iqd=board.total_assessed_iqd,
        duty_collected_iqd=board.total_collected_iqd,
    )
    for row in board.crossings:
        for key, count in row.by_state.items():
            totals.by_state[key] = totals.by_state.get(key, 0) + count
        for key, count in row.by_lane.items():
            totals.by_lane[key] = totals.by_lane.get(key, 0) + count
    return totals


# -- helpers ----------------------------------------------------------------------------------
def _container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def _language(request: Request) -> str:
    return i18n.language_of(request, _container(request).settings.default_language)


def _finish(request: Request, response: Response, language: str) -> Response:
    """Add the security headers, and the language cookie when ``?lang=`` chose one."""
    response.headers.update(SECURITY_HEADERS)
    if i18n.requested_language(request):
        secure = _container(request).settings.session_cookie_secure
        i18n.remember_language(response, language, secure=secure)
    return response


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    return ui.page(request, template, status=status, **context)


def _redirect(request: Request, url: str) -> Response:
    return _finish(request, RedirectResponse(url, status_code=303), _language(request))


def _board_context(request: Request, user: User) -> dict[str, Any]:
    """What the dashboard templates need; raises Forbidden for roles without a dashboard."""
    c = _container(request)
    with c.uow(readonly=True) as uow:
        board = dashboard.today(uow=uow, actor=user)
    return {
        "user": user,
        "board": board,
        "totals": totals_of(board),
        "states": [s.value for s in STATES],
        "lanes": [lane.value for lane in LANES],
        "updated_at": c.clock.now(),
    }


# -- routes -----------------------------------------------------------------------------------
@router.get("/")
def home(request: Request) -> Response:
    """Send the visitor to the dashboard, or to the sign-in page first."""
    user = ui.signed_in_user(request)
    return _redirect(request, ui.home_of(user) if user else "/signin")


@router.get("/signin")
def signin_form(request: Request) -> Response:
    """The sign-in form (or the dashboard, for someone already signed in)."""
    user = ui.signed_in_user(request)
    if user:
        return _redirect(request, ui.home_of(user))
    next_path = ui.safe_next(request.query_params.get("next")) or ""
    return _page(request, "signin.html", error=False, username="", next_path=next_path)


@router.post("/signin")
def signin(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check the password, open a session and go to the dashboard; else show the form again."""
    c = _container(request)
    try:
        with c.uow() as uow:
            issued = identity.sign_in(
                uow=uow, hasher=c.hasher, username=username, password=password, kind="session"
            )
    except Unauthenticated:
        return _page(
            request,
            "signin.html",
            status=401,
            error=True,
            username=username,
            next_path=ui.safe_next(next_path) or "",
        )
    response = _redirect(request, ui.safe_next(next_path) or ui.home_of(issued.user))
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=SESSION_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=c.settings.session_cookie_secure,
    )
    return response


@router.post("/signout")
def signout(request: Request) -> Response:
    """End the session and go back to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with _container(request).uow() as uow:
            identity.sign_out(uow=uow, token=token)
    response = _redirect(request, "/signin")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/dashboard")
def dashboard_page(request: Request) -> Response:
    """Today's trucks per crossing by state and lane, and the duty assessed and collected."""
    user = ui.signed_in_user(request)
    if user is None:
        return _redirect(request, "/signin")
    try:
        context = _board_context(request, user)
    except Forbidden:
        return _page(request, "forbidden.html", status=403, user=user)
    return _page(request, "dashboard.html", **context)


@router.get("/dashboard/table")
def dashboard_table(request: Request) -> Response:
    """The dashboard's table alone, which htmx fetches every 30 seconds."""
    user = ui.signed_in_user(request)
    if user is None:
        response = Response(status_code=401, headers={"HX-Redirect": "/signin"})
        return _finish(request, response, _language(request))
    try:
        context = _board_context(request, user)
    except Forbidden:
        return _finish(request, Response(status_code=403), _language(request))
    return _page(request, "_board.html", **context)
