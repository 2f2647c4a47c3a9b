"""The administrator's pages for reference data: tariff imports and rollbacks, exemptions (and
their revocation by decree, previewed first), lane rules (tried against history first).

Same contract as ``admin_pages``: administrators only, every change through a journalled use
case, a refusal shown on the page with its reason and nothing changed.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePath

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from manafidh.adapters.tariff_files import read_measure_file
from manafidh.domain.clock import local_date
from manafidh.domain.declarations.model import Lane
from manafidh.domain.errors import DomainError, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.domain.risk.backtest import BacktestResult
from manafidh.domain.risk.lanes import LaneRule
from manafidh.domain.tariff.exemptions import BeneficiaryKind, ExemptionAction, ExemptionState
from manafidh.services import exemptions, risk_rules, tariff
from manafidh.services.ports import UnitOfWork
from manafidh.web import ui
from manafidh.web.admin_pages import Posted, act, done, posted, show

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 50 * 1024 * 1024  # a whole national tariff as CSV is about 10 MB
SUFFIXES = (".csv", ".json")
HISTORY_DAYS = 90  # the default history a rule is tried against


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(f"{name}: a date is YYYY-MM-DD", field=name) from None


# -- tariff -----------------------------------------------------------------------------------
def _tariff_page(
    request: Request,
    user: User,
    error: DomainError | None,
    form: Posted,
    status: int,
    checked: tuple[str, int] | None = None,
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        imports = list(reversed(tariff.list_imports(uow=uow, actor=user)))
    rows = error.details.get("rows", []) if error is not None else []
    return ui.page(
        request,
        "admin_tariff.html",
        status=status,
        user=user,
        imports=imports,
        error=error,
        bad_rows=rows,
        rejected=error.details.get("rejected", len(rows)) if error is not None else 0,
        form=form,
        done=done(request),
        checked=checked,
    )


@router.get("/admin/tariff")
def tariff_page(request: Request) -> Response:
    """The tariff imports, newest first; the form to upload a file of measures."""
    return show(
        request,
        Permission.MANAGE_REFERENCE,
        lambda u, e, f, s: _tariff_page(request, u, e, f, s),
    )


async def _upload(request: Request) -> tuple[str, bytes, str]:
    """The uploaded file's name (without its folders), its bytes, and the button pressed."""
    data = await request.form()
    step = data.get("step")
    upload = data.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "", b"", str(step or "")
    content = await upload.read(MAX_UPLOAD + 1)
    return PurePath(upload.filename.replace("\\", "/")).name, content, str(step or "")


@router.post("/admin/tariff/import")
async def import_tariff(request: Request) -> Response:
    """Check (``step=check``) or import a CSV or JSON file of measures: all of it, or nothing
    with every bad line listed."""
    name, content, step = await _upload(request)
    c = ui.container(request)

    def run(actor: User) -> str | Response:
        if not name:
            raise ValidationFailed("choose a tariff file to upload", field="file")
        if len(content) > MAX_UPLOAD:
            raise ValidationFailed("the file is larger than 50 MB", field="file")
        if PurePath(name).suffix.lower() not in SUFFIXES:
            raise ValidationFailed("a tariff file is .csv or .json", field="file")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(content)
            rows = read_measure_file(path)
        if step == "check":
            with c.uow(readonly=True) as uow:
                checked = tariff.check_measures(uow=uow, actor=actor, rows=rows, source=name)
            return _tariff_page(request, actor, None, Posted(), 200, checked=(name, len(checked)))
        with c.uow() as uow:
            tariff.import_measures(uow=uow, actor=actor, rows=rows, source=name)
        return "/admin/tariff?done=imported"

    return act(
        request,
        Permission.MANAGE_REFERENCE,
        Posted(),
        run,
        lambda u, e, f, s: _tariff_page(request, u, e, f, s),
        here="/admin/tariff",
    )


def _rollback_page(
    request: Request,
    user: User,
    import_id: str,
    error: DomainError | None,
    form: Posted,
    status: int,
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        chosen = next(
            (i for i in tariff.list_imports(uow=uow, actor=user) if i.id == import_id), None
        )
        if chosen is None:
            raise NotFound(f"no tariff import {import_id}", import_id=import_id)
        undone = tariff.roll_back(
            uow=uow, actor=user, since=chosen.imported_at, reason="", apply=False
        )
    return ui.page(
        request,
        "admin_rollback.html",
        status=status,
        user=user,
        chosen=chosen,
        undone=undone,
        error=error,
        form=form,
    )


@router.get("/admin/tariff/{import_id}/rollback")
def rollback_preview(request: Request, import_id: str) -> Response:
    """What rolling back to before an import would undo (it and every later import)."""
    return show(
        request,
        Permission.MANAGE_REFERENCE,
        lambda u, e, f, s: _rollback_page(request, u, import_id, e, f, s),
    )


@router.post("/admin/tariff/{import_id}/rollback")
async def rollback(request: Request, import_id: str) -> Response:
    """Undo an import and every later one, with a reason."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        with c.uow() as uow:
            chosen = next((i for i in uow.tariff.imports() if i.id == import_id), None)
            if chosen is None:
                raise NotFound(f"no tariff import {import_id}", import_id=import_id)
            if chosen.rolled_back_at is not None:
                raise ValidationFailed(f"import {import_id} is already rolled back")
            tariff.roll_back(
                uow=uow,
                actor=actor,
                since=chosen.imported_at,
                reason=form.get("reason"),
                apply=True,
            )
        return "/admin/tariff?done=rolled_back"

    return act(
        request,
        Permission.MANAGE_REFERENCE,
        form,
        run,
        lambda u, e, f, s: _rollback_page(request, u, import_id, e, f, s),
        here=f"/admin/tariff/{import_id}/rollback",
    )


# -- exemptions -------------------------------------------------------------------------------
def foregone_by_exemption(uow: UnitOfWork) -> dict[str, Decimal]:
    """Duty foregone so far through each exemption (by reference)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in uow.exemptions.foregone():
        totals[str(row["reference"])] += Decimal(row["foregone_iqd"])
    return totals


@router.get("/admin/exemptions")
def exemptions_page(request: Request) -> Response:
    """Every exemption with its state and the duty foregone through it so far."""

    def build(user: User, *_: object) -> Response:
        with ui.container(request).uow(readonly=True) as uow:
            found = sorted(uow.exemptions.all(), key=lambda e: e.reference)
            foregone = foregone_by_exemption(uow)
        return ui.page(
            request,
            "admin_exemptions.html",
            user=user,
            exemptions=found,
            foregone=foregone,
            done=done(request),
        )

    return show(request, Permission.MANAGE_EXEMPTIONS, build)


ALLOWED = {
    ExemptionState.ACTIVE: ("suspend", "revoke"),
    ExemptionState.SUSPENDED: ("revoke", "reinstate"),
    ExemptionState.REVOKED: ("reinstate",),
}


def _exemption_page(
    request: Request,
    user: User,
    reference: str,
    error: DomainError | None,
    form: Posted,
    status: int,
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        found, events = exemptions.get_exemption(uow=uow, actor=user, reference=reference)
        foregone = foregone_by_exemption(uow).get(found.reference, Decimal(0))
    return ui.page(
        request,
        "admin_exemption.html",
        status=status,
        user=user,
        e=found,
        events=events,
        foregone=foregone,
        allowed=ALLOWED[found.state],
        error=error,
        form=form,
        done=done(request),
    )


@router.get("/admin/exemptions/{reference}")
def exemption_page(request: Request, reference: str) -> Response:
    """One exemption, its recorded changes, and the forms to suspend, revoke or reinstate it."""
    return show(
        request,
        Permission.MANAGE_EXEMPTIONS,
        lambda u, e, f, s: _exemption_page(request, u, reference, e, f, s),
    )


@router.post("/admin/exemptions/{reference}")
async def change_exemption(request: Request, reference: str) -> Response:
    """Suspend, revoke or reinstate one exemption, with a reason and a legal reference."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        wanted = form.get("action")
        if wanted not in {"suspend", "revoke", "reinstate"}:
            raise ValidationFailed("choose suspend, revoke or reinstate", field="action")
        with c.uow() as uow:
            changed = exemptions.change_state(
                uow=uow,
                actor=actor,
                reference=reference,
                action=ExemptionAction(wanted),
                reason=form.get("reason"),
                legal_reference=form.get("legal_reference"),
            )
        return f"/admin/exemptions/{changed.reference}?done={wanted}"

    return act(
        request,
        Permission.MANAGE_EXEMPTIONS,
        form,
        run,
        lambda u, e, f, s: _exemption_page(request, u, reference, e, f, s),
        here=f"/admin/exemptions/{reference}",
    )


def _decree_page(
    request: Request,
    user: User,
    error: DomainError | None,
    form: Posted,
    status: int,
    preview: exemptions.RevocationPreview | None = None,
) -> Response:
    c = ui.container(request)
    with c.uow(readonly=True) as uow:
        foregone = foregone_by_exemption(uow)
    affected = preview.affected if preview else []
    return ui.page(
        request,
        "admin_decree.html",
        status=status,
        user=user,
        kinds=[k.value for k in BeneficiaryKind],
        today=local_date(c.clock.now()).isoformat(),
        preview=preview,
        foregone=foregone,
        total=sum((foregone.get(e.reference, Decimal(0)) for e in affected), Decimal(0)),
        error=error,
        form=form,
    )


def _decree(form: Posted) -> tuple[list[BeneficiaryKind], date, str, str]:
    kinds = []
    for value in form.many("kinds"):
        try:
            kinds.append(BeneficiaryKind(value))
        except ValueError:
            raise ValidationFailed(f"unknown beneficiary kind {value}", field="kinds") from None
    decree, reason = form.get("decree"), form.get("reason")
    if not decree or not reason:
        raise ValidationFailed("a revocation by decree needs the decree and a reason")
    return kinds, _day(form.get("as_of"), "as_of"), decree, reason


@router.get("/admin/exemptions-decree")
def decree_form(request: Request) -> Response:
    """The form of a bulk revocation by decree (previewed before it is confirmed)."""
    return show(
        request,
        Permission.MANAGE_EXEMPTIONS,
        lambda u, e, f, s: _decree_page(request, u, e, f, s),
    )


@router.post("/admin/exemptions-decree")
async def decree(request: Request) -> Response:
    """Preview what a decree revokes and the revenue foregone through it; apply on confirm."""
    form = await posted(request)
    c = ui.container(request)
    apply = form.get("confirm") == "yes"

    def run(actor: User) -> str | Response:
        kinds, as_of, decree_ref, reason = _decree(form)
        with c.uow(readonly=not apply) as uow:
            found = exemptions.revoke_by_decree(
                uow=uow,
                actor=actor,
                kinds=kinds,
                as_of=as_of,
                decree=decree_ref,
                reason=reason,
                apply=apply,
            )
        if not apply:
            return _decree_page(request, actor, None, form, 200, found)
        return f"/admin/exemptions?done=decree&revoked={len(found.affected)}"

    return act(
        request,
        Permission.MANAGE_EXEMPTIONS,
        form,
        run,
        lambda u, e, f, s: _decree_page(request, u, e, f, s),
        here="/admin/exemptions-decree",
    )


# -- lane rules -------------------------------------------------------------------------------
def _rule_of(form: Posted, today: date) -> LaneRule:
    try:
        lane = Lane(form.get("lane"))
    except ValueError:
        raise ValidationFailed("choose a lane", field="lane") from None
    text = form.get("min_customs_value_iqd").replace(",", "")
    try:
        minimum = Decimal(text) if text else None
    except InvalidOperation:
        raise ValidationFailed(
            "the minimum value is a number", field="min_customs_value_iqd"
        ) from None
    if minimum is not None and (not minimum.is_finite() or minimum < 0):
        raise ValidationFailed("the minimum value is a number", field="min_customs_value_iqd")
    start = form.get("valid_from")
    return LaneRule(
        id=0,
        name=form.get("name") or "what-if",
        lane=lane,
        valid_from=_day(start, "valid_from") if start else today,
        valid_to=None,
        hs_prefix=form.get("hs_prefix") or None,
        origin_country=form.get("origin_country").upper() or None,
        crossing_code=form.get("crossing_code") or None,
        importer_tax_id=form.get("importer_tax_id") or None,
        min_customs_value_iqd=minimum,
    )


def _rules_page(
    request: Request,
    user: User,
    error: DomainError | None,
    form: Posted,
    status: int,
    result: BacktestResult | None = None,
) -> Response:
    c = ui.container(request)
    today = local_date(c.clock.now())
    with c.uow(readonly=True) as uow:
        rules = uow.reference.lane_rules()
        crossings = uow.reference.crossings()
    return ui.page(
        request,
        "admin_rules.html",
        status=status,
        user=user,
        rules=rules,
        crossings=crossings,
        today=today,
        lanes=[Lane.YELLOW.value, Lane.RED.value],
        since=(today - timedelta(days=HISTORY_DAYS)).isoformat(),
        until=today.isoformat(),
        result=result,
        error=error,
        form=form,
        done=done(request),
    )


@router.get("/admin/rules")
def rules_page(request: Request) -> Response:
    """The lane rules with their validity; the form to try a rule on history and to add it."""
    return show(
        request,
        Permission.MANAGE_REFERENCE,
        lambda u, e, f, s: _rules_page(request, u, e, f, s),
    )


@router.post("/admin/rules")
async def add_or_try_rule(request: Request) -> Response:
    """``step=try``: how the rule would have done on past declarations; ``step=add``: add it."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str | Response:
        today = local_date(c.clock.now())
        rule = _rule_of(form, today)
        if form.get("step") == "try":
            since = _day(form.get("since"), "since")
            until = _day(form.get("until"), "until")
            with c.uow(readonly=True) as uow:
                result = risk_rules.backtest_rule(
                    uow=uow, actor=actor, rule=rule, since=since, until=until
                )
            return _rules_page(request, actor, None, form, 200, result)
        with c.uow() as uow:
            added = risk_rules.add_rule(uow=uow, actor=actor, rule=rule, reason=form.get("reason"))
        return f"/admin/rules?done=added&rule={added.id}"

    return act(
        request,
        Permission.MANAGE_REFERENCE,
        form,
        run,
        lambda u, e, f, s: _rules_page(request, u, e, f, s),
        here="/admin/rules",
    )


@router.post("/admin/rules/{rule_id}/end")
async def end_rule(request: Request, rule_id: int) -> Response:
    """Disable a rule after a last day (today by default), with a reason."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        text = form.get("last_day")
        last = _day(text, "last_day") if text else local_date(c.clock.now())
        with c.uow() as uow:
            risk_rules.end_rule(
                uow=uow, actor=actor, rule_id=rule_id, last_day=last, reason=form.get("end_reason")
            )
        return "/admin/rules?done=ended"

    return act(
        request,
        Permission.MANAGE_REFERENCE,
        form,
        run,
        lambda u, e, f, s: _rules_page(request, u, e, f, s),
        here="/admin/rules",
    )
