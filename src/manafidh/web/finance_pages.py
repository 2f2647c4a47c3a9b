"""The finance officer's pages: import bank statements, work the reconciliation exceptions queue.

Importing reads the file with the same reader as the API (camt.053 XML or CSV) and shows what
the import did; a file that cannot be read changes nothing and says why. Each exception is
closed through the reconciliation service, which refuses a resolution without a reason.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from manafidh.adapters.statements import MAX_BYTES, digest, read_statement_file
from manafidh.domain.errors import DomainError, Forbidden, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.revenue.statements import EXCEPTIONS, Resolution
from manafidh.services import bank_statements, reconciliation
from manafidh.services.reconciliation import ImportResult
from manafidh.web import ui

router = APIRouter(include_in_schema=False)
RESOLUTIONS = (Resolution.ALLOCATE, Resolution.RETURN, Resolution.ACCEPT)
PAGE_SIZE = 100


def _names(request: Request, ids: set[str]) -> dict[str, str]:
    with ui.container(request).uow(readonly=True) as uow:
        found = {i: uow.users.get(i) for i in ids}
    return {i: u.full_name for i, u in found.items() if u is not None}


def _statements_page(
    request: Request,
    user: User,
    *,
    result: ImportResult | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> Response:
    ui.require(user, Permission.READ_REVENUE)
    with ui.container(request).uow(readonly=True) as uow:
        rows = bank_statements.recent(uow=uow, actor=user, limit=PAGE_SIZE)
        summary = reconciliation.summary(uow=uow, actor=user)
    return ui.page(
        request,
        "finance_statements.html",
        status=status,
        user=user,
        statements=rows,
        summary=summary,
        result=result,
        error=error,
        names=_names(request, {r.imported_by for r in rows}),
        can_import=user.can(Permission.RECONCILE),
        max_mib=MAX_BYTES // (1024 * 1024),
    )


@router.get("/finance/statements")
def statements_page(request: Request) -> Response:
    """Statements imported so far, how reconciliation stands, and the upload form."""
    return ui.guarded(request, lambda user: _statements_page(request, user))


@router.post("/finance/statements")
async def upload_statement(request: Request) -> Response:
    """Import an uploaded statement file and show what the import did."""
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, "/finance/statements")
    if not user.can(Permission.RECONCILE):
        return ui.refused(request, user, Forbidden("only finance officers import statements"))
    size = request.headers.get("content-length", "")
    try:
        if size.isdigit() and int(size) > MAX_BYTES + 64 * 1024:
            raise ValidationFailed("the statement file is larger than 50 MiB", field="file")
        form = await request.form(max_part_size=MAX_BYTES + 1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("choose a statement file to import", field="file")
        raw = await upload.read(MAX_BYTES + 1)
        if not raw.strip():
            raise ValidationFailed("the statement file is empty", field="file")
        statements = read_statement_file(raw)
        with ui.container(request).uow() as uow:
            result = reconciliation.import_statements(
                uow=uow, actor=user, statements=statements, digest=digest(raw)
            )
    except (Forbidden, NotFound) as refusal:
        return ui.refused(request, user, refusal)
    except DomainError as refusal:
        return _statements_page(request, user, error=refusal, status=ui.status_of(refusal))
    return _statements_page(request, user, result=result, status=201 if result.changed else 200)


def _exceptions_page(
    request: Request,
    user: User,
    *,
    error: DomainError | None = None,
    failed: int | None = None,
    typed: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    ui.require(user, Permission.READ_REVENUE)
    state = request.query_params.get("state", "open")
    state = state if state in ("open", "resolved") else "open"
    kind = request.query_params.get("kind", "")
    kinds = sorted(o.value for o in EXCEPTIONS)
    c = ui.container(request)
    with c.uow(readonly=True) as uow:
        found = reconciliation.exceptions(
            uow=uow,
            actor=user,
            state=state,
            kind=kind if kind in kinds else None,
            limit=PAGE_SIZE,
        )
        crossings = {x.code: x for x in uow.reference.crossings()}
    visible = [
        x for x in found if x.crossing_code not in crossings or user.works_at(x.crossing_code)
    ]
    return ui.page(
        request,
        "finance_exceptions.html",
        status=status,
        user=user,
        exceptions=visible,
        state=state,
        kind=kind if kind in kinds else "",
        kinds=kinds,
        resolutions=[r.value for r in RESOLUTIONS],
        crossings=crossings,
        names=_names(request, {x.resolved_by for x in visible if x.resolved_by}),
        can_resolve=user.can(Permission.RECONCILE),
        error=error,
        failed=failed,
        typed=typed or {},
        resolved=request.query_params.get("resolved", ""),
    )


@router.get("/finance/exceptions")
def exceptions_page(request: Request) -> Response:
    """The reconciliation exceptions queue, oldest first; open ones carry a resolve form."""
    return ui.guarded(request, lambda user: _exceptions_page(request, user))


@router.post("/finance/exceptions/{exception_id}/resolve")
async def resolve(request: Request, exception_id: int) -> Response:
    """Close one exception with a resolution and a reason; a refusal keeps what was typed."""
    data = await request.form()
    typed = {k: v for k, v in data.items() if isinstance(v, str)}
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, "/finance/exceptions")
    try:
        resolution = typed.get("resolution", "")
        if resolution not in {r.value for r in RESOLUTIONS}:
            raise ValidationFailed("choose how to resolve the exception", field="resolution")
        with ui.container(request).uow() as uow:
            reconciliation.resolve_exception(
                uow=uow,
                actor=user,
                exception_id=exception_id,
                resolution=Resolution(resolution),
                reason=typed.get("reason", "").strip(),
                order_reference=typed.get("order_reference", "").strip() or None,
            )
    except Forbidden as refusal:
        return ui.refused(request, user, refusal)
    except DomainError as refusal:
        failed = refusal

        def again(u: User) -> Response:
            return _exceptions_page(
                request,
                u,
                error=failed,
                failed=exception_id,
                typed=typed,
                status=ui.status_of(failed),
            )

        return ui.guarded(request, again)
    return ui.redirect(request, f"/finance/exceptions?resolved={exception_id}")
