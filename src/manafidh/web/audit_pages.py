"""The auditor's pages: the audit log by subject, actor and time; tree heads; verify; prove."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from manafidh.domain.clock import IRAQ_TZ
from manafidh.domain.errors import DomainError, ValidationFailed
from manafidh.domain.identity import User
from manafidh.services import audit
from manafidh.web import ui

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"not a date: {text}", field=field) from None


def _start(day: date | None, *, end: bool = False) -> datetime | None:
    """Midnight in Baghdad opening ``day`` (or closing it, for ``end``)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=IRAQ_TZ)


def _log_page(request: Request, user: User, **extra: object) -> Response:
    audit.require_auditor(user)
    q = request.query_params
    c = ui.container(request)
    filters = {k: q.get(k, "").strip()[:100] for k in ("subject", "actor", "since", "until")}
    error: DomainError | None = None
    entries: list[audit.AuditEntry] = []
    offset = max(0, int(q["offset"])) if q.get("offset", "").isdigit() else 0
    with c.uow(readonly=True) as uow:
        heads = list(reversed(uow.audit.tree_heads()))
        try:
            entries = audit.entries(
                uow=uow,
                actor=user,
                subject=filters["subject"] or None,
                by=filters["actor"] or None,
                since=_start(_day(filters["since"], "since")),
                until=_start(_day(filters["until"], "until"), end=True),
                limit=PAGE_SIZE,
                offset=offset,
            )
        except ValidationFailed as refused:
            error = refused
    return ui.page(
        request,
        "audit.html",
        status=422 if error else 200,
        user=user,
        entries=entries,
        heads=heads,
        filters=filters,
        error=error,
        offset=offset,
        page_size=PAGE_SIZE,
        key_id=c.audit_keys.key_id,
        **extra,
    )


@router.get("/audit")
def audit_log(request: Request) -> Response:
    """Entries of the audit log, filtered, and the signed tree heads."""
    return ui.guarded(request, lambda user: _log_page(request, user))


@router.post("/audit/verify")
def verify(request: Request) -> Response:
    """Recompute the whole log and check it against its signed heads and the records."""

    def build(user: User) -> Response:
        audit.require_auditor(user)
        c = ui.container(request)
        with c.uow(readonly=True) as uow:
            report = audit.verify_log(uow=uow, keys=c.audit_keys)
        return ui.page(request, "audit_verify.html", user=user, report=report)

    return ui.guarded(request, build, next_path="/audit")


@router.post("/audit/checkpoint")
def checkpoint(request: Request) -> Response:
    """Sign a tree head for the log as it stands now."""

    def build(user: User) -> Response:
        audit.require_auditor(user)
        with ui.container(request).uow() as uow:
            audit.checkpoint(uow=uow)
        return ui.redirect(request, "/audit")

    return ui.guarded(request, build, next_path="/audit")


@router.get("/audit/proof/{index}")
def proof(request: Request, index: int) -> Response:
    """The inclusion proof of one entry in the latest signed tree head covering it."""

    def build(user: User) -> Response:
        audit.require_auditor(user)
        c = ui.container(request)
        try:
            with c.uow(readonly=True) as uow:
                found = audit.prove(uow=uow, keys=c.audit_keys, index=index)
        except DomainError as error:
            if error.kind == "forbidden":
                raise
            return ui.page(
                request,
                "audit_proof.html",
                status=ui.status_of(error),
                user=user,
                proof=None,
                error=error,
                index=index,
            )
        return ui.page(request, "audit_proof.html", user=user, proof=found, error=None, index=index)

    return ui.guarded(request, build)
