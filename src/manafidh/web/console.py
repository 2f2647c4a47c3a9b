"""Pages at the crossing and for every role that reads declarations: queue, one declaration on
one screen with the actions its state allows, held declarations, alarms."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from manafidh.domain.declarations.model import Declaration, Lane
from manafidh.domain.declarations.states import State
from manafidh.domain.errors import DomainError, Forbidden, NotFound
from manafidh.domain.identity import Permission, Role, User
from manafidh.services import clearance, console, declarations, floor
from manafidh.services.clearance import FraudKind
from manafidh.services.ports import UnitOfWork
from manafidh.web import ui

router = APIRouter(include_in_schema=False)

# The steps a truck goes through, shown as the declaration's progress.
PROGRESS = (
    State.LODGED,
    State.ASSESSED,
    State.LANE_SELECTED,
    State.INSPECTED,
    State.PAID,
    State.RELEASED,
    State.EXITED,
)


def _declaration_page(
    request: Request,
    user: User,
    ref: str,
    *,
    error: DomainError | None = None,
    status: int = 200,
    typed: Mapping[str, str] | None = None,
) -> Response:
    c = ui.container(request)
    with c.uow(readonly=True) as uow:
        seen = console.view(uow=uow, actor=user, declaration_id=ref)
        crossing = uow.reference.crossing(seen.declaration.crossing_code)
        on_floor = floor.facts(uow=uow, actor=user, declaration=seen.declaration)
        names = _names(
            uow,
            [t.actor for t in seen.transitions]
            + [str(k["actor"]) for k in seen.checks]
            + ([on_floor.inspector] if on_floor.inspector else []),
        )
    return ui.page(
        request,
        "declaration.html",
        status=status,
        user=user,
        view=seen,
        decl=seen.declaration,
        crossing=crossing,
        progress=[s.value for s in PROGRESS],
        reached=_reached(seen),
        fraud_kinds=[k.value for k in FraudKind],
        error=error,
        typed=typed or {},
        names=names,
        saved=request.query_params.get("saved", ""),
        own=seen.declaration.declarant_id == user.id,
        floor=on_floor,
    )


def _names(uow: UnitOfWork, ids: list[str]) -> dict[str, str]:
    """Full names of the users behind actor ids (the system and the bank keep their ids)."""
    out: dict[str, str] = {}
    for actor in set(ids):
        found = uow.users.get(actor)
        if found is not None:
            out[actor] = found.full_name
    return out


def _reached(seen: console.DeclarationView) -> set[str]:
    return {t.to_state.value for t in seen.transitions} | {seen.declaration.state.value}


@router.get("/declarations/{ref}")
def declaration_page(request: Request, ref: str) -> Response:
    """One declaration: items, assessment, lane and reasons, payment, checks, history."""
    return ui.guarded(request, lambda user: _declaration_page(request, user, ref))


ActionFn = Callable[[UnitOfWork, User, str, Mapping[str, str]], Declaration]


def _fraud(form: Mapping[str, str]) -> FraudKind | None:
    kind = form.get("fraud_kind", "")
    return FraudKind(kind) if kind in {k.value for k in FraudKind} else None


ACTIONS: dict[str, ActionFn] = {
    "document_check": lambda uow, user, ref, f: clearance.record_document_check(
        uow=uow,
        actor=user,
        declaration_id=ref,
        found=f.get("found") == "yes",
        notes=f.get("notes", ""),
    ),
    "inspection": lambda uow, user, ref, f: clearance.record_inspection(
        uow=uow,
        actor=user,
        declaration_id=ref,
        found=f.get("found") == "yes",
        fraud_kind=_fraud(f) if f.get("found") == "yes" else None,
        notes=f.get("notes", ""),
    ),
    "release": lambda uow, user, ref, f: clearance.release(uow=uow, actor=user, declaration_id=ref),
    "hold": lambda uow, user, ref, f: clearance.hold(
        uow=uow, actor=user, declaration_id=ref, reason=f.get("reason", "")
    ),
    "unhold": lambda uow, user, ref, f: clearance.unhold(
        uow=uow, actor=user, declaration_id=ref, reason=f.get("reason", "")
    ),
    "dismiss_finding": lambda uow, user, ref, f: clearance.dismiss_finding(
        uow=uow, actor=user, declaration_id=ref, reason=f.get("reason", "")
    ),
    "cancel": lambda uow, user, ref, f: declarations.cancel(
        uow=uow, actor=user, declaration_id=ref, reason=f.get("reason", "")
    ),
}


@router.post("/declarations/{ref}/do/{action}")
async def act(request: Request, ref: str, action: str) -> Response:
    """Run one action through its service; a refusal shows the service's reason on the page."""
    data = await request.form()
    typed = {k: v for k, v in data.items() if isinstance(v, str)}
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, f"/declarations/{ref}")
    c = ui.container(request)
    try:
        if action == "lodge":
            with c.uow() as uow:
                decl = declarations.lodge(
                    uow=uow, actor=user, declaration_id=ref, rng=c.rng
                ).declaration
        elif action in ACTIONS:
            with c.uow() as uow:
                decl = ACTIONS[action](uow, user, ref, typed)
        else:
            raise NotFound(f"no action {action}", action=action)
    except (Forbidden, NotFound) as error:
        return ui.refused(request, user, error)
    except DomainError as error:
        refusal = error
        return ui.guarded(
            request,
            lambda u: _declaration_page(
                request, u, ref, error=refusal, status=ui.status_of(refusal), typed=typed
            ),
        )
    return ui.redirect(request, f"/declarations/{decl.reference}?done={action}")


# -- queues -----------------------------------------------------------------------------------
def _queue_page(request: Request, user: User, *, held_only: bool) -> Response:
    c = ui.container(request)
    wanted_state = request.query_params.get("state", "")
    wanted_lane = request.query_params.get("lane", "")
    if not wanted_state and not wanted_lane and user.role is Role.INSPECTOR and not held_only:
        # Inspectors see the trucks waiting for them: red lane, checks not yet recorded.
        wanted_state, wanted_lane = State.LANE_SELECTED.value, Lane.RED.value
    with c.uow(readonly=True) as uow:
        crossings = console.crossings_of(uow=uow, actor=user)
        code = request.query_params.get("crossing") or (crossings[0].code if crossings else "")
        if code and code not in {x.code for x in crossings}:
            raise Forbidden(f"{user.username} is not posted at crossing {code}", crossing=code)
        rows = console.queue(uow=uow, actor=user, crossing_code=code) if code else []
    if held_only:
        rows = [d for d in rows if d.state is State.HELD or d.finding_open]
    if wanted_state:
        rows = [d for d in rows if d.state.value == wanted_state]
    if wanted_lane:
        rows = [d for d in rows if d.lane is not None and d.lane.value == wanted_lane]
    return ui.page(
        request,
        "queue.html",
        user=user,
        rows=rows,
        crossings=crossings,
        crossing=code,
        held_only=held_only,
        wanted_state=wanted_state,
        wanted_lane=wanted_lane,
        states=[s.value for s in console.QUEUE_STATES],
        lanes=[lane.value for lane in Lane],
        now=c.clock.now(),
        here=f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path,
    )


@router.get("/queue")
def queue_page(request: Request) -> Response:
    """The queue of trucks at a crossing by state and lane, oldest first."""
    return ui.guarded(request, lambda user: _queue_page(request, user, held_only=False))


@router.get("/held")
def held_page(request: Request) -> Response:
    """Held declarations and open findings at the supervisor's crossing."""

    def build(user: User) -> Response:
        ui.require(user, Permission.HOLD)
        return _queue_page(request, user, held_only=True)

    return ui.guarded(request, build)


@router.get("/alarms")
def alarms_page(request: Request) -> Response:
    """Alarms at the user's crossings, newest first."""

    def build(user: User) -> Response:
        return ui.page(
            request,
            "alarms.html",
            **alarms_context(request, user),
            error=None,
            typed={},
        )

    return ui.guarded(request, build)


def alarms_context(request: Request, user: User) -> dict[str, object]:
    """The alarms page's data: the alarms, crossings, and whether the user may act on them."""
    with ui.container(request).uow(readonly=True) as uow:
        found = console.alarms(uow=uow, actor=user)
        crossings = {x.code: x for x in uow.reference.crossings()}
    return {
        "user": user,
        "alarms": found,
        "crossings": crossings,
        "can_act": user.can(Permission.HOLD),
        "done": request.query_params.get("done", ""),
    }
