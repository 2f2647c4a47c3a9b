"""The HTTP API under /api/v1: every use case of the clearance path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, status

from manafidh.adapters import bank
from manafidh.domain.errors import BadSignature, NotFound
from manafidh.domain.identity import Permission, User
from manafidh.services import clearance, dashboard, declarations, identity, payments
from manafidh.services.access import load_for
from manafidh.web.api.schemas import (
    AlarmOut,
    AmendIn,
    AssessmentOut,
    BankConfirmationIn,
    ConfirmationOut,
    CrossingOut,
    DeclarationIn,
    DeclarationOut,
    DocumentCheckIn,
    ExitIn,
    ExitOut,
    InspectionIn,
    LodgedOut,
    PaymentOrderOut,
    ReasonIn,
    TokenIn,
    TokenOut,
    TransitionOut,
    UserChangeIn,
    UserIn,
    UserOut,
)
from manafidh.web.deps import ContainerDep, UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)


# -- identity ---------------------------------------------------------------------------------
@router.post("/auth/token", tags=["auth"])
def issue_token(body: TokenIn, uow: UowDep, c: ContainerDep) -> TokenOut:
    """Exchange a username and password for an API token."""
    issued = identity.sign_in(
        uow=uow, hasher=c.hasher, username=body.username, password=body.password, kind="api"
    )
    return TokenOut(token=issued.token, username=issued.user.username, role=issued.user.role.value)


@router.get("/me", tags=["auth"])
def me(user: UserDep) -> UserOut:
    """Who the token belongs to."""
    return _user_out(user)


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role.value,
        crossings=user.crossings,
        active=user.active,
    )


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_user(body: UserIn, user: UserDep, uow: UowDep, c: ContainerDep) -> UserOut:
    """Create a user (administrators only)."""
    role = body.role
    created = identity.create_user(
        uow=uow,
        hasher=c.hasher,
        actor=user,
        username=body.username,
        full_name=body.full_name,
        role=role,
        password=body.password,
        crossings=body.crossings,
        tax_id=body.tax_id,
    )
    return _user_out(created)


@router.patch("/users/{username}", tags=["admin"])
def change_user(username: str, body: UserChangeIn, user: UserDep, uow: UowDep) -> UserOut:
    """Change a user's role, crossings or active flag, with the reason (administrators only)."""
    changed = identity.change_user(
        uow=uow,
        actor=user,
        username=username,
        reason=body.reason,
        role=body.role,
        crossings=body.crossings,
        active=body.active,
    )
    return _user_out(changed)


# -- reference --------------------------------------------------------------------------------
@router.get("/crossings", tags=["reference"])
def list_crossings(uow: UowDep, user: UserDep) -> list[CrossingOut]:
    """The crossings Manafidh knows."""
    return [
        CrossingOut(
            code=c.code,
            name_en=c.name_en,
            name_ar=c.name_ar,
            name_ckb=c.name_ckb,
            governorate_en=c.governorate_en,
            partner_name_en=c.partner_name_en,
            partner_country=c.partner_country,
            region=c.region.value,
        )
        for c in uow.reference.crossings()
    ]


# -- declarations -----------------------------------------------------------------------------
@router.post("/declarations", status_code=status.HTTP_201_CREATED, tags=["declarations"])
def create_declaration(
    body: DeclarationIn, user: UserDep, uow: UowDep, c: ContainerDep
) -> LodgedOut:
    """Create a declaration; by default it is lodged, assessed and laned at once, and the
    answer carries the payment order to pay."""
    content = body.to_domain()
    if not body.lodge:
        decl = declarations.create_draft(
            uow=uow, actor=user, crossing_code=body.crossing_code, content=content
        )
        return LodgedOut.lodged(decl, None)
    done = declarations.submit_lodgement(
        uow=uow, actor=user, crossing_code=body.crossing_code, content=content, rng=c.rng
    )
    return LodgedOut.lodged(done.declaration, done.order)


@router.get("/declarations", tags=["declarations"])
def list_declarations(
    user: UserDep,
    uow: UowDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    crossing: Annotated[str | None, Query(max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[DeclarationOut]:
    """Declarations the user may see, newest first."""
    crossings: list[str] | None = None
    declarant: str | None = None
    if user.can(Permission.READ_ALL):
        crossings = [crossing] if crossing else None
    elif user.can(Permission.READ_CROSSING):
        crossings = [crossing] if crossing and crossing in user.crossings else list(user.crossings)
        if crossing and crossing not in user.crossings:
            crossings = []
    else:
        declarant = user.id
        crossings = [crossing] if crossing else None
    found = uow.declarations.search(
        crossing_codes=crossings, declarant_id=declarant, state=state, limit=limit, offset=offset
    )
    return [DeclarationOut.of(d) for d in found]


@router.get("/declarations/{ref}", tags=["declarations"])
def get_declaration(ref: str, user: UserDep, uow: UowDep) -> DeclarationOut:
    """One declaration, by reference or id."""
    return DeclarationOut.of(load_for(uow, user, ref))


@router.get("/declarations/{ref}/history", tags=["declarations"])
def declaration_history(ref: str, user: UserDep, uow: UowDep) -> list[TransitionOut]:
    """Every state change, with who, when and why."""
    decl = load_for(uow, user, ref)
    return [
        TransitionOut(
            at=t.at,
            actor=t.actor,
            action=t.action.value,
            from_state=t.from_state.value,
            to_state=t.to_state.value,
            reason=t.reason,
        )
        for t in uow.declarations.transitions(decl.id)
    ]


@router.post("/declarations/{ref}/lodge", tags=["declarations"])
def lodge(ref: str, user: UserDep, uow: UowDep, c: ContainerDep) -> LodgedOut:
    """Lodge a draft: it is assessed and laned at once; the answer carries the payment order."""
    done = declarations.lodge(uow=uow, actor=user, declaration_id=ref, rng=c.rng)
    return LodgedOut.lodged(done.declaration, done.order)


@router.post("/declarations/{ref}/amend", tags=["declarations"])
def amend(ref: str, body: AmendIn, user: UserDep, uow: UowDep, c: ContainerDep) -> LodgedOut:
    """Add a new version of the content (the old one stays on record); a lodged declaration is
    re-assessed, and the answer carries the order for what is still due, if anything."""
    done = declarations.amend(
        uow=uow,
        actor=user,
        declaration_id=ref,
        content=body.content.to_domain(),
        reason=body.reason,
        rng=c.rng,
    )
    return LodgedOut.lodged(done.declaration, done.order)


@router.post("/declarations/{ref}/cancel", tags=["declarations"])
def cancel(ref: str, body: ReasonIn, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Withdraw a declaration before lane selection."""
    return DeclarationOut.of(
        declarations.cancel(uow=uow, actor=user, declaration_id=ref, reason=body.reason)
    )


@router.get("/declarations/{ref}/assessment", tags=["declarations"])
def assessment(ref: str, user: UserDep, uow: UowDep) -> AssessmentOut:
    """The latest assessment with its explanation per line."""
    decl = load_for(uow, user, ref)
    found = uow.declarations.latest_assessment(decl.id)
    if found is None:
        raise NotFound("this declaration has not been assessed yet", declaration=decl.reference)
    return AssessmentOut.of(found)


@router.get("/declarations/{ref}/payment-orders", tags=["payments"])
def payment_orders(ref: str, user: UserDep, uow: UowDep) -> list[PaymentOrderOut]:
    """Payment orders of the declaration (superseded ones included)."""
    decl = load_for(uow, user, ref)
    return [PaymentOrderOut.of(o) for o in uow.payments.orders_for(decl.id)]


# -- at the crossing --------------------------------------------------------------------------
@router.post("/declarations/{ref}/document-check", tags=["crossing"])
def document_check(ref: str, body: DocumentCheckIn, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Record the yellow lane's document check."""
    return DeclarationOut.of(
        clearance.record_document_check(
            uow=uow, actor=user, declaration_id=ref, found=body.found, notes=body.notes
        )
    )


@router.post("/declarations/{ref}/inspection", tags=["crossing"])
def inspection(ref: str, body: InspectionIn, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Record the red lane's physical inspection."""
    decl = clearance.record_inspection(
        uow=uow,
        actor=user,
        declaration_id=ref,
        found=body.found,
        fraud_kind=body.fraud_kind,
        notes=body.notes,
    )
    return DeclarationOut.of(decl)


@router.post("/declarations/{ref}/hold", tags=["crossing"])
def hold(ref: str, body: ReasonIn, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Stop a declaration (supervisor)."""
    return DeclarationOut.of(
        clearance.hold(uow=uow, actor=user, declaration_id=ref, reason=body.reason)
    )


@router.post("/declarations/{ref}/unhold", tags=["crossing"])
def unhold(ref: str, body: ReasonIn, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Lift a hold (supervisor)."""
    return DeclarationOut.of(
        clearance.unhold(uow=uow, actor=user, declaration_id=ref, reason=body.reason)
    )


@router.post("/declarations/{ref}/dismiss-finding", tags=["crossing"])
def dismiss_finding(ref: str, body: ReasonIn, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Close a finding without a supplementary declaration (supervisor, with a reason)."""
    decl = clearance.dismiss_finding(uow=uow, actor=user, declaration_id=ref, reason=body.reason)
    return DeclarationOut.of(decl)


@router.post("/declarations/{ref}/release", tags=["crossing"])
def release(ref: str, user: UserDep, uow: UowDep) -> DeclarationOut:
    """Release the goods (paid, checks done)."""
    return DeclarationOut.of(clearance.release(uow=uow, actor=user, declaration_id=ref))


@router.post("/crossings/{code}/exits", tags=["crossing"])
def record_exit(code: str, body: ExitIn, user: UserDep, uow: UowDep) -> ExitOut:
    """Let a truck out; refused (and an alarm raised) without a released declaration."""
    decl = clearance.record_exit(
        uow=uow, actor=user, crossing_code=code, plate=body.plate, declaration_ref=body.declaration
    )
    return ExitOut(declaration=decl.reference, state=decl.state.value, plate=body.plate)


@router.get("/alarms", tags=["crossing"])
def alarms(
    user: UserDep,
    uow: UowDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> list[AlarmOut]:
    """Alarms at the user's crossings (all crossings for headquarters roles)."""
    if not (user.can(Permission.READ_ALL) or user.can(Permission.READ_CROSSING)):
        raise NotFound("no alarms for this role")
    scope = None if user.can(Permission.READ_ALL) else list(user.crossings)
    return [
        AlarmOut(
            id=a.id,
            crossing_code=a.crossing_code,
            kind=a.kind.value,
            severity=a.severity.value,
            raised_at=a.raised_at,
            subject=a.subject,
            message=a.message,
            state=a.state,
        )
        for a in uow.gate.alarms(scope, state)
    ]


@router.get("/dashboard", tags=["reports"])
def dashboard_today(user: UserDep, uow: UowDep) -> dict[str, object]:
    """Today's trucks per crossing by state and lane, duty assessed and collected."""
    board = dashboard.today(uow=uow, actor=user)
    return {
        "day": board.day.isoformat(),
        "currency": "IQD",
        "total_assessed_iqd": str(board.total_assessed_iqd),
        "total_collected_iqd": str(board.total_collected_iqd),
        "crossings": [
            {
                "code": row.crossing.code,
                "trucks": row.trucks,
                "by_state": row.by_state,
                "by_lane": row.by_lane,
                "duty_assessed_iqd": str(row.duty_assessed_iqd),
                "duty_collected_iqd": str(row.duty_collected_iqd),
            }
            for row in board.crossings
        ],
    }


# -- the bank ---------------------------------------------------------------------------------
async def verified_bank_body(
    request: Request,
    c: ContainerDep,
    x_manafidh_signature: Annotated[str | None, Header()] = None,
) -> None:
    """Refuse a confirmation whose HMAC signature does not match its body."""
    body = await request.body()
    if not bank.verify(c.settings.bank_hmac_secret, body, x_manafidh_signature):
        raise BadSignature("bank confirmation signature is missing or wrong")


@router.post("/bank/confirmations", tags=["payments"], dependencies=[Depends(verified_bank_body)])
def bank_confirmation(body: BankConfirmationIn, uow: UowDep) -> ConfirmationOut:
    """The bank confirms a credit; idempotent on the bank's transaction id."""
    result = payments.confirm_bank_payment(
        uow=uow,
        confirmation=payments.Confirmation(
            bank_transaction_id=body.bank_transaction_id,
            payment_reference=body.payment_reference,
            amount_iqd=body.amount,
            paid_at=body.paid_at,
        ),
    )
    return ConfirmationOut(
        payment_reference=result.order.reference,
        declaration=result.declaration_reference,
        order_state=result.order.state.value,
        paid_iqd=result.order.paid_iqd,
        duplicate=result.duplicate,
    )
