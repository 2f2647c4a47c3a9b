"""Pages of the crossing floor: the inspector's assigned inspections and result form, and the
supervisor's live board, alarm actions, four-eyes approvals and shift report (issue #8)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from manafidh.domain.clock import local_date
from manafidh.domain.errors import DomainError, Forbidden, NotFound, ValidationFailed
from manafidh.domain.evidence import MAX_DOCUMENTS, MAX_PHOTOS, Photo
from manafidh.domain.identity import Permission, User
from manafidh.domain.measurements import Measurement, parse_measure
from manafidh.services import (
    alarm_flow,
    console,
    floor,
    inspections,
    monitoring,
    risk_assignment,
    weights,
)
from manafidh.services.clearance import FraudKind
from manafidh.web import ui
from manafidh.web.declaration_form import DIGITS

router = APIRouter(include_in_schema=False)
# Form fields besides the photos; a request larger than the photos allow is refused unread.
FORM_OVERHEAD_BYTES = 256 * 1024


def _crossing(request: Request, user: User) -> tuple[list[Any], str]:
    """The crossings the user may pick and the one asked for (refused when not theirs)."""
    with ui.container(request).uow(readonly=True) as uow:
        crossings = console.crossings_of(uow=uow, actor=user)
    code = request.query_params.get("crossing") or (crossings[0].code if crossings else "")
    if code not in {x.code for x in crossings}:
        raise Forbidden(f"{user.username} is not posted at crossing {code}", crossing=code)
    return crossings, code


# -- inspector --------------------------------------------------------------------------------
@router.get("/inspections")
def my_inspections_page(request: Request) -> Response:
    """The inspections the system assigned to the signed-in inspector, oldest first."""

    def build(user: User) -> Response:
        with ui.container(request).uow(readonly=True) as uow:
            rows = inspections.my_inspections(uow=uow, actor=user)
            crossings = {x.code: x for x in uow.reference.crossings()}
        return ui.page(
            request,
            "inspections.html",
            user=user,
            rows=rows,
            crossings=crossings,
            done=request.query_params.get("done", "")[:40],
        )

    return ui.guarded(request, build)


def _inspection_page(
    request: Request,
    user: User,
    ref: str,
    *,
    error: DomainError | None = None,
    status: int = 200,
    typed: Mapping[str, str] | None = None,
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        seen = inspections.inspection(uow=uow, actor=user, declaration_id=ref)
        crossing = uow.reference.crossing(seen.declaration.crossing_code)
    return ui.page(
        request,
        "inspection.html",
        status=status,
        user=user,
        view=seen,
        decl=seen.declaration,
        crossing=crossing,
        fraud_kinds=[k.value for k in FraudKind],
        error=error,
        typed=typed or {},
        max_photos=MAX_PHOTOS,
        max_documents=MAX_DOCUMENTS,
        max_megabytes=ui.container(request).settings.evidence_max_photo_bytes // (1024 * 1024),
    )


@router.get("/inspections/{ref}")
def inspection_page(request: Request, ref: str) -> Response:
    """The result form of one inspection assigned to the signed-in inspector."""
    return ui.guarded(request, lambda user: _inspection_page(request, user, ref))


def _measurements(typed: Mapping[str, str]) -> list[Measurement]:
    found: dict[int, Measurement] = {}
    for name in typed:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "measured" and parts[1].isdigit():
            line = int(parts[1])
            if line not in found:
                q = typed.get(f"measured-{line}-quantity", "").translate(DIGITS)
                kg = typed.get(f"measured-{line}-gross_mass_kg", "").translate(DIGITS)
                found[line] = Measurement(
                    line,
                    parse_measure(q, field=f"measured-{line}-quantity"),
                    parse_measure(kg, field=f"measured-{line}-gross_mass_kg"),
                )
    return sorted(found.values(), key=lambda m: m.line_no)


def _extra_duty(typed: Mapping[str, str]) -> Decimal | None:
    text = typed.get("extra_duty_iqd", "").translate(DIGITS).strip()
    if not text:
        return None
    value = parse_measure(text, field="extra_duty_iqd")
    if value is None or value == 0:
        raise ValidationFailed("extra duty must be positive", field="extra_duty_iqd")
    return value


async def _photos(files: list[UploadFile], max_bytes: int) -> list[Photo]:
    """Read each chosen photo, never more than one byte past the limit (the check refuses it)."""
    out = []
    for f in files:
        if not f.filename and not f.size:
            continue  # the file input left empty
        out.append(Photo(await f.read(max_bytes + 1), f.filename or ""))
    return out


@router.post("/inspections/{ref}")
async def record_inspection(request: Request, ref: str) -> Response:
    """Record the result of an assigned inspection with its measures, extra duty and evidence."""
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, f"/inspections/{ref}")
    c = ui.container(request)
    limit = c.settings.evidence_max_photo_bytes
    declared = int(request.headers.get("content-length") or 0)
    typed: dict[str, str] = {}
    try:
        if declared > MAX_PHOTOS * limit + FORM_OVERHEAD_BYTES:
            raise ValidationFailed(
                f"the photos together are larger than {MAX_PHOTOS} x {limit} bytes",
                field="photos",
            )
        try:
            data = await request.form(max_files=MAX_PHOTOS + 1, max_fields=400)
        except HTTPException as refused_form:
            raise ValidationFailed(str(refused_form.detail), field="photos") from None
        typed = {k: v for k, v in data.items() if isinstance(v, str)}
        documents = [d for d in data.getlist("documents") if isinstance(d, str)]
        typed.update({f"documents-{n}": d for n, d in enumerate(documents[:2], start=1)})
        files = [f for f in data.getlist("photos") if isinstance(f, UploadFile)]
        found = typed.get("found") == "yes"
        kind = typed.get("fraud_kind", "")
        if kind and kind not in {k.value for k in FraudKind}:
            raise ValidationFailed("unknown kind of fraud", field="fraud_kind")
        photos = await _photos(files, limit)
        with c.uow() as uow:
            decl = inspections.record_result(
                uow=uow,
                actor=user,
                store=c.evidence(),
                declaration_id=ref,
                found=found,
                fraud_kind=FraudKind(kind) if kind and found else None,
                notes=typed.get("notes", "")[:2000],
                measurements=_measurements(typed),
                extra_duty_iqd=_extra_duty(typed),
                photos=photos,
                documents=documents,
                max_photo_bytes=limit,
            )
    except (Forbidden, NotFound) as error:
        return ui.refused(request, user, error)
    except DomainError as error:
        refusal = error
        return ui.guarded(
            request,
            lambda u: _inspection_page(
                request, u, ref, error=refusal, status=ui.status_of(refusal), typed=typed
            ),
        )
    return ui.redirect(request, f"/inspections?done={decl.reference}")


@router.get("/inspections/{ref}/photos/{sha256}")
def photo(request: Request, ref: str, sha256: str) -> Response:
    """A photo of an inspection, for staff who may read the declaration."""

    def build(user: User) -> Response:
        c = ui.container(request)
        with c.uow(readonly=True) as uow:
            data, media_type = inspections.photo(
                uow=uow, actor=user, store=c.evidence(), declaration_id=ref, sha256=sha256
            )
        response = Response(data, media_type=media_type)
        response.headers.update(ui.SECURITY_HEADERS)
        response.headers["Cache-Control"] = "private, max-age=86400, immutable"
        return response

    return ui.guarded(request, build)


# -- supervisor: the live board ---------------------------------------------------------------
def _board_context(request: Request, user: User) -> dict[str, Any]:
    crossings, code = _crossing(request, user)
    c = ui.container(request)
    with c.uow(readonly=True) as uow:
        buckets = floor.board(uow=uow, actor=user, crossing_code=code)
    return {
        "user": user,
        "buckets": buckets,
        "crossings": crossings,
        "crossing": code,
        "now": c.clock.now(),
    }


@router.get("/board")
def board_page(request: Request) -> Response:
    """The live board of a crossing: yard, weighbridge, waiting for payment, held."""
    return ui.guarded(
        request, lambda user: ui.page(request, "board.html", **_board_context(request, user))
    )


@router.get("/board/live")
def board_live(request: Request) -> Response:
    """The board's columns alone, which htmx fetches every 15 seconds."""
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, "/board")
    try:
        context = _board_context(request, user)
    except (Forbidden, NotFound):
        return ui.finish(request, Response(status_code=403))
    return ui.page(request, "_floor_board.html", **context)


# -- supervisor: acting with a reason ---------------------------------------------------------
def _act(
    request: Request,
    back: str,
    run: Callable[[User, Mapping[str, str]], object],
    typed: Mapping[str, str],
) -> Response:
    """Run a supervisor's action; a refusal comes back to the page with the reason shown."""
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, back)
    try:
        run(user, typed)
    except (Forbidden, NotFound) as error:
        return ui.refused(request, user, error)
    except DomainError as error:
        refusal, redraw = error, _REDRAW[back.split("?")[0]]
        return ui.guarded(request, lambda u: redraw(request, u, refusal, typed))
    sep = "&" if "?" in back else "?"
    return ui.redirect(request, f"{back}{sep}done=1")


async def _typed(request: Request) -> dict[str, str]:
    data = await request.form(max_files=0, max_fields=50)
    return {k: v[:2000] for k, v in data.items() if isinstance(v, str)}


@router.post("/alarms/{alarm_id}/{step}")
async def alarm_step(request: Request, alarm_id: str, step: str) -> Response:
    """Acknowledge or resolve an alarm, with the reason kept in its history."""
    typed = await _typed(request)
    steps = {"acknowledge": alarm_flow.acknowledge_alarm, "resolve": alarm_flow.resolve_alarm}

    def run(user: User, f: Mapping[str, str]) -> object:
        if step not in steps:
            raise NotFound(f"no alarm step {step}", step=step)
        with ui.container(request).uow() as uow:
            return steps[step](uow=uow, actor=user, alarm_id=alarm_id, reason=f.get("reason", ""))

    return _act(request, "/alarms", run, {**typed, "alarm": alarm_id, "step": step})


# -- supervisor: four eyes --------------------------------------------------------------------
def _approvals_page(
    request: Request,
    user: User,
    error: DomainError | None = None,
    typed: Mapping[str, str] | None = None,
) -> Response:
    ui.require(user, Permission.HOLD)
    crossings, code = _crossing(request, user)
    with ui.container(request).uow(readonly=True) as uow:
        found = floor.approvals(uow=uow, actor=user, crossing_code=code)
    return ui.page(
        request,
        "approvals.html",
        status=ui.status_of(error) if error else 200,
        user=user,
        found=found,
        crossings=crossings,
        crossing=code,
        error=error,
        typed=typed or {},
        done=request.query_params.get("done", ""),
    )


def _alarms_again(
    request: Request, user: User, error: DomainError, typed: Mapping[str, str]
) -> Response:
    from manafidh.web.console import alarms_context

    return ui.page(
        request,
        "alarms.html",
        status=ui.status_of(error),
        **alarms_context(request, user),
        error=error,
        typed=typed,
    )


_REDRAW: dict[str, Callable[[Request, User, DomainError, Mapping[str, str]], Response]] = {
    "/alarms": _alarms_again,
    "/approvals": _approvals_page,
}


@router.get("/approvals")
def approvals_page(request: Request) -> Response:
    """Manual weights awaiting a second supervisor; inspections that may be reassigned."""
    return ui.guarded(request, lambda user: _approvals_page(request, user))


def _back(request: Request, typed: Mapping[str, str]) -> str:
    code = request.query_params.get("crossing", "")
    return f"/approvals?crossing={code}" if code.isalnum() else "/approvals"


@router.post("/approvals/weights")
async def propose_weight(request: Request) -> Response:
    """A supervisor enters a weight by hand; it waits for a second supervisor."""
    typed = await _typed(request)

    def run(user: User, f: Mapping[str, str]) -> object:
        kg = f.get("kg", "").translate(DIGITS).strip()
        if not kg.isdigit():
            raise ValidationFailed("a weight is a whole number of kg", field="kg")
        with ui.container(request).uow() as uow:
            return weights.propose_manual_weight(
                uow=uow,
                actor=user,
                visit_id=f.get("visit_id", ""),
                which=f.get("which", ""),
                kg=int(kg),
                reason=f.get("reason", ""),
            )

    return _act(request, _back(request, typed), run, typed)


@router.post("/approvals/weights/{weight_id}")
async def decide_weight(request: Request, weight_id: str) -> Response:
    """A second supervisor approves or rejects a manual weight, saying why."""
    typed = await _typed(request)

    def run(user: User, f: Mapping[str, str]) -> object:
        decision = f.get("decision", "")
        if decision not in ("approve", "reject"):
            raise ValidationFailed("approve or reject", field="decision")
        with ui.container(request).uow() as uow:
            return weights.decide_manual_weight(
                uow=uow,
                actor=user,
                weight_id=weight_id,
                approve=decision == "approve",
                reason=f.get("reason", ""),
            )

    return _act(request, _back(request, typed), run, {**typed, "weight": weight_id})


@router.post("/approvals/inspections/{ref}")
async def reassign(request: Request, ref: str) -> Response:
    """A supervisor gives an inspection to another inspector, with a reason."""
    typed = await _typed(request)

    def run(user: User, f: Mapping[str, str]) -> object:
        with ui.container(request).uow() as uow:
            return risk_assignment.reassign(
                uow=uow,
                actor=user,
                declaration_id=ref,
                inspector_id=f.get("inspector_id", ""),
                reason=f.get("reason", ""),
            )

    return _act(request, _back(request, typed), run, {**typed, "inspection": ref})


# -- supervisor: shift and night report -------------------------------------------------------
@router.get("/shift")
def shift_page(request: Request) -> Response:
    """Hour by hour at a crossing: arrivals, weighings, checks, exits, alarms, and flags."""

    def build(user: User) -> Response:
        ui.require(user, Permission.HOLD)
        crossings, code = _crossing(request, user)
        c = ui.container(request)
        today = local_date(c.clock.now())
        asked = request.query_params.get("day", "")
        error = None
        try:
            day = date.fromisoformat(asked) if asked else today
        except ValueError:
            day, error = today, ValidationFailed(f"{asked[:20]!r} is not a date", field="day")
        with c.uow(readonly=True) as uow:
            rows = monitoring.shift_report(uow=uow, actor=user, crossing_code=code, day=day)
        return ui.page(
            request,
            "shift.html",
            status=422 if error else 200,
            user=user,
            rows=rows,
            crossings=crossings,
            crossing=code,
            day=day,
            error=error,
        )

    return ui.guarded(request, build)
