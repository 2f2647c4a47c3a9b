"""The revenue API under /api/v1/revenue: bank statements, the exceptions queue, the books.

Finance officers import statements and resolve exceptions; finance, analysts and auditors
read. Every other role gets 403.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field

from manafidh.adapters.exports import FORMATS, export
from manafidh.adapters.gateway import SignedCallbackGateway
from manafidh.adapters.statements import MAX_BYTES, digest, read_statement_file
from manafidh.domain.errors import ValidationFailed
from manafidh.domain.identity import Permission
from manafidh.domain.revenue.refunds import Refund
from manafidh.domain.revenue.statements import ReconciliationException, Resolution
from manafidh.services import epayment, ledger, reconciliation, refunds, revenue_reports
from manafidh.services.revenue_reports import Report
from manafidh.web.deps import ContainerDep, UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/revenue", tags=["revenue"], responses=ERROR_RESPONSES)
MAX_ID = (1 << 62) - 1

STATEMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "An ISO 20022 camt.053 document, or a CSV with the columns "
        "statement_id, account, entry_ref, booking_date, value_date, amount, currency, "
        "direction (CRDT/DBIT), remittance.",
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


class ImportOut(BaseModel):
    """What an import did; ``changed`` is false when everything was already recorded."""

    statements: list[str]
    new_entries: int
    known_entries: int
    outcomes: dict[str, int]
    exceptions_opened: int
    changed: bool


class ExceptionOut(BaseModel):
    """An entry of the exceptions queue."""

    id: int
    kind: str
    state: str
    entry_ref: str
    remittance: str
    amount_iqd: Decimal
    held_iqd: Decimal
    reference: str | None
    crossing: str
    opened_at: datetime
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    reason: str | None

    @classmethod
    def of(cls, x: ReconciliationException) -> ExceptionOut:
        """Build from the domain record."""
        return cls(
            id=x.id,
            kind=x.kind.value,
            state=x.state,
            entry_ref=x.entry_ref,
            remittance=x.remittance,
            amount_iqd=x.amount_iqd,
            held_iqd=x.held_iqd,
            reference=x.reference,
            crossing=x.crossing_code,
            opened_at=x.opened_at,
            resolution=x.resolution.value if x.resolution else None,
            resolved_by=x.resolved_by,
            resolved_at=x.resolved_at,
            reason=x.reason,
        )


class ResolveIn(BaseModel):
    """How to close an exception, and why."""

    resolution: Literal["allocate", "return", "accept"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    order_reference: Annotated[str | None, Field(max_length=40)] = None


class SummaryOut(BaseModel):
    """Outcomes of credits, the open queue, and the automatic match rate."""

    outcomes: dict[str, int]
    credits: int
    open_exceptions: int
    needing_officer: int
    held_iqd: Decimal
    auto_match_rate: float


class TrialBalanceOut(BaseModel):
    """Every account's balance (debit positive); ``balanced`` when they add up to zero."""

    balances: dict[str, Decimal]
    total: Decimal
    balanced: bool
    revenue_iqd: Decimal
    postings: int


async def statement_body(request: Request) -> bytes:
    """The raw request body (a statement file), refused above 50 MiB."""
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > MAX_BYTES:
        raise ValidationFailed("the statement file is larger than 50 MiB")
    return await request.body()


@router.post("/statements", openapi_extra=STATEMENT_BODY, status_code=201)
def import_statement(
    raw: Annotated[bytes, Depends(statement_body)], user: UserDep, uow: UowDep
) -> ImportOut:
    """Import a bank statement (camt.053 or CSV); importing it again changes nothing."""
    user.require(Permission.RECONCILE)
    statements = read_statement_file(raw)
    r = reconciliation.import_statements(
        uow=uow, actor=user, statements=statements, digest=digest(raw)
    )
    return ImportOut(
        statements=r.statements,
        new_entries=r.new_entries,
        known_entries=r.known_entries,
        outcomes=dict(r.outcomes),
        exceptions_opened=r.exceptions_opened,
        changed=r.changed,
    )


@router.get("/exceptions")
def list_exceptions(
    user: UserDep,
    uow: UowDep,
    state: Literal["open", "resolved"] | None = "open",
    kind: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[ExceptionOut]:
    """The exceptions queue, oldest first."""
    found = reconciliation.exceptions(
        uow=uow, actor=user, state=state, kind=kind, limit=limit, offset=offset
    )
    return [ExceptionOut.of(x) for x in found]


@router.post("/exceptions/{exception_id}/resolve")
def resolve_exception(
    exception_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ResolveIn,
    user: UserDep,
    uow: UowDep,
) -> ExceptionOut:
    """Close an exception: allocate held money to an order, return it, or accept; with a reason."""
    x = reconciliation.resolve_exception(
        uow=uow,
        actor=user,
        exception_id=exception_id,
        resolution=Resolution(body.resolution),
        reason=body.reason,
        order_reference=body.order_reference,
    )
    return ExceptionOut.of(x)


@router.get("/reconciliation")
def reconciliation_summary(user: UserDep, uow: UowDep) -> SummaryOut:
    """How reconciliation stands."""
    s = reconciliation.summary(uow=uow, actor=user)
    return SummaryOut(
        outcomes=s.outcomes,
        credits=s.credits,
        open_exceptions=s.open_exceptions,
        needing_officer=s.needing_officer,
        held_iqd=s.held_iqd,
        auto_match_rate=s.auto_match_rate,
    )


@router.get("/trial-balance")
def trial_balance(user: UserDep, uow: UowDep) -> TrialBalanceOut:
    """The books' balances, recomputed from every posting line."""
    tb = ledger.trial_balance(uow=uow, actor=user)
    return TrialBalanceOut(
        balances=tb.balances,
        total=tb.total,
        balanced=tb.balanced,
        revenue_iqd=tb.revenue,
        postings=tb.postings,
    )


# -- reports --------------------------------------------------------------------------------
Format = Literal["json", "csv", "xlsx", "parquet"]
MonthText = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")]
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The report as JSON, or as a CSV, XLSX or Parquet file (``format``).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            FORMATS["parquet"]: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class ReportOut(BaseModel):
    """A report as a table: amounts are strings, exact to the fils."""

    name: str
    columns: list[str]
    rows: list[list[str | int | None]]


def _answer(report: Report, fmt: str) -> ReportOut | Response:
    if fmt == "json":
        return ReportOut(
            name=report.name,
            columns=list(report.columns),
            rows=[
                [v if v is None or isinstance(v, int) else str(v) for v in row]
                for row in report.rows
            ],
        )
    return Response(
        export(report, fmt),
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{report.name}.{fmt}"'},
    )


@router.get("/reports/crossing-month", responses=FILE_RESPONSES, response_model=ReportOut)
def report_crossing_month(
    user: UserDep,
    uow: UowDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    format: Format = "json",
) -> ReportOut | Response:
    """Assessed and collected revenue per crossing and month, with the same month a year before."""
    return _answer(revenue_reports.by_crossing_and_month(uow=uow, actor=user, year=year), format)


@router.get("/reports/by/{dimension}", responses=FILE_RESPONSES, response_model=ReportOut)
def report_by_dimension(
    dimension: Literal["chapter", "origin", "trader"],
    user: UserDep,
    uow: UowDep,
    since: MonthText,
    until: MonthText,
    crossing: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    format: Format = "json",
) -> ReportOut | Response:
    """Assessed duty by HS chapter, origin or trader over a range of months."""
    report = revenue_reports.by_dimension(
        uow=uow,
        actor=user,
        dimension=dimension,
        since=since,
        until=until,
        crossing_code=crossing,
        limit=limit,
    )
    return _answer(report, format)


@router.get("/reports/daily-close", responses=FILE_RESPONSES, response_model=ReportOut)
def report_daily_close(
    user: UserDep,
    uow: UowDep,
    day: date,
    crossing: Annotated[str | None, Query(max_length=8)] = None,
    format: Format = "json",
) -> ReportOut | Response:
    """What moved at each crossing on one day."""
    report = revenue_reports.daily_close(uow=uow, actor=user, day=day, crossing_code=crossing)
    return _answer(report, format)


@router.get("/reports/crossing-month-foregone", responses=FILE_RESPONSES, response_model=ReportOut)
def report_crossing_month_foregone(
    user: UserDep,
    uow: UowDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    format: Format = "json",
) -> ReportOut | Response:
    """Revenue per crossing and month with the duty foregone through exemptions beside it."""
    report = revenue_reports.by_crossing_and_month_with_foregone(uow=uow, actor=user, year=year)
    return _answer(report, format)


# -- e-payment gateway ----------------------------------------------------------------------
class GatewayNoticeOut(BaseModel):
    """What a gateway notice did: ``applied`` is false for a declined or pending payment."""

    applied: bool
    duplicate: bool = False
    payment_reference: str | None = None
    order_state: str | None = None


GATEWAY_BODY = {
    "requestBody": {
        "required": True,
        "description": "JSON {transaction_id, reference, amount, paid_at, status}, signed with "
        "the header X-Gateway-Signature: sha256=<HMAC-SHA256 of the raw body>.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


async def raw_body(request: Request) -> bytes:
    """The exact bytes the gateway signed."""
    return await request.body()


@router.post("/gateway/notices", openapi_extra=GATEWAY_BODY)
def gateway_notice(
    raw: Annotated[bytes, Depends(raw_body)],
    uow: UowDep,
    c: ContainerDep,
    x_gateway_signature: Annotated[str | None, Header()] = None,
) -> GatewayNoticeOut:
    """A payment gateway's signed notice; idempotent on its transaction id."""
    gateway = SignedCallbackGateway(
        name="gateway", secret=c.settings.gateway_hmac_secret, checkout_base="/"
    )
    r = epayment.receive_notice(uow=uow, gateway=gateway, body=raw, signature=x_gateway_signature)
    if r is None:
        return GatewayNoticeOut(applied=False)
    return GatewayNoticeOut(
        applied=True,
        duplicate=r.duplicate,
        payment_reference=r.order.reference,
        order_state=r.order.state.value,
    )


# -- refunds ----------------------------------------------------------------------------------
class RefundIn(BaseModel):
    """Propose refunding what a reduced assessment no longer asks for."""

    declaration: Annotated[str, Field(min_length=1, max_length=40)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class ApprovalIn(BaseModel):
    """Approve a refund (a second finance officer), with a reason."""

    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class RefundOut(BaseModel):
    """A refund and who proposed and approved it."""

    id: str
    amount_iqd: Decimal
    state: str
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None
    approved_at: datetime | None

    @classmethod
    def of(cls, r: Refund) -> RefundOut:
        """Build from the domain record."""
        return cls(
            id=r.id,
            amount_iqd=r.amount_iqd,
            state=r.state,
            proposed_by=r.proposed_by,
            proposed_at=r.proposed_at,
            approved_by=r.approved_by,
            approved_at=r.approved_at,
        )


@router.post("/refunds", status_code=201)
def propose_refund(body: RefundIn, user: UserDep, uow: UowDep) -> RefundOut:
    """Propose a refund after a reduced assessment (finance)."""
    r = refunds.propose(uow=uow, actor=user, declaration_ref=body.declaration, reason=body.reason)
    return RefundOut.of(r)


@router.post("/refunds/{refund_id}/approve")
def approve_refund(
    refund_id: Annotated[str, Path(max_length=32)], body: ApprovalIn, user: UserDep, uow: UowDep
) -> RefundOut:
    """Approve a refund: only a finance officer other than its proposer."""
    return RefundOut.of(
        refunds.approve(uow=uow, actor=user, refund_id=refund_id, reason=body.reason)
    )
