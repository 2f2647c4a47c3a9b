"""Public revenue pages: a printable receipt with a QR code, its verification, transparency.

None needs a sign-in and none shows personal data. A receipt's number is random, so holding
it is what lets one see the receipt; the transparency page shows money per crossing and month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from manafidh.bootstrap import Container
from manafidh.domain.clock import local_date
from manafidh.domain.errors import NotFound
from manafidh.services import receipts, revenue_reports
from manafidh.web import i18n
from manafidh.web.pages import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)
MONTHS_SHOWN = 12


def _container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> Response:
    c = _container(request)
    language = i18n.language_of(request, c.settings.default_language)
    response = HTMLResponse(i18n.render(template, language, **context), status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if i18n.requested_language(request):
        i18n.remember_language(response, language, secure=c.settings.session_cookie_secure)
    return response


def _crossing_names(c: Container, language: str) -> dict[str, str]:
    with c.uow(readonly=True) as uow:
        return {x.code: x.name(language) for x in uow.reference.crossings()}


def qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG, drawn here (no external service)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#111"))


@router.get("/receipts/{number}")
def receipt_page(request: Request, number: str) -> Response:
    """A printable receipt whose QR code links to its public verification."""
    c = _container(request)
    try:
        with c.uow(readonly=True) as uow:
            receipt = receipts.get(uow=uow, number=number)
    except NotFound:
        return _page(request, "receipt_unknown.html", status=404, number=number[:40])
    language = i18n.language_of(request, c.settings.default_language)
    verify_url = str(request.url_for("verify_page", number=receipt.number))
    return _page(
        request,
        "receipt.html",
        receipt=receipt,
        crossing=_crossing_names(c, language).get(receipt.crossing_code, receipt.crossing_code),
        paid_day=local_date(receipt.paid_at),
        verify_url=verify_url,
        qr=qr_svg(verify_url),
    )


@router.get("/verify/{number}", name="verify_page")
def verify_page(request: Request, number: str) -> Response:
    """Anyone can check a receipt: its number, amount, date and crossing, nothing personal."""
    c = _container(request)
    try:
        with c.uow(readonly=True) as uow:
            receipt = receipts.get(uow=uow, number=number)
    except NotFound:
        return _page(request, "receipt_unknown.html", status=404, number=number[:40])
    language = i18n.language_of(request, c.settings.default_language)
    return _page(
        request,
        "verify.html",
        receipt=receipt,
        paid_day=local_date(receipt.paid_at),
        crossing=_crossing_names(c, language).get(receipt.crossing_code, receipt.crossing_code),
    )


@dataclass(frozen=True)
class Bar:
    """One month's bar of the chart, in SVG user units."""

    month: str
    x: float
    y: float
    height: float
    amount: Decimal


def bars(months: list[str], totals: dict[str, Decimal], *, height: float = 160) -> list[Bar]:
    """Bars scaled to the largest month (the chart is drawn in the template as SVG)."""
    top = max((totals.get(m, Decimal(0)) for m in months), default=Decimal(0)) or Decimal(1)
    out = []
    for i, m in enumerate(months):
        v = totals.get(m, Decimal(0))
        h = float(v / top) * height
        out.append(Bar(m, 10 + i * 40, 10 + height - h, h, v))
    return out


def last_months(today: date, n: int) -> list[str]:
    """The ``n`` months up to ``today``'s, oldest first, as YYYY-MM."""
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        out.append(f"{y}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


@router.get("/transparency")
def transparency_page(request: Request) -> Response:
    """Revenue collected per crossing and month, and its trend: public, no sign-in."""
    c = _container(request)
    language = i18n.language_of(request, c.settings.default_language)
    today = local_date(c.clock.now())
    months = last_months(today, MONTHS_SHOWN)
    since = date.fromisoformat(months[0] + "-01")
    with c.uow(readonly=True) as uow:
        per_crossing = revenue_reports.public_monthly(uow=uow, since=since, until=today)
    names = _crossing_names(c, language)
    totals: dict[str, Decimal] = {}
    for by_month in per_crossing.values():
        for m, v in by_month.items():
            totals[m] = totals.get(m, Decimal(0)) + v
    rows = [
        (names.get(code, code), [per_crossing[code].get(m, Decimal(0)) for m in months])
        for code in sorted(per_crossing, key=lambda k: names.get(k, k))
        if code in names
    ]
    return _page(
        request,
        "transparency.html",
        months=months,
        rows=rows,
        totals=[totals.get(m, Decimal(0)) for m in months],
        bars=bars(months, totals),
        chart_width=20 + 40 * len(months),
    )
