"""The trader's and broker's portal: own declarations, lodging, amending, the HS code search."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response

from manafidh.domain.declarations.model import Content, Regime
from manafidh.domain.errors import DomainError, Forbidden, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services import console, declarations, nomenclature
from manafidh.services.declarations import validate_content
from manafidh.web import declaration_form as forms
from manafidh.web import ui
from manafidh.web.declaration_form import DeclarationForm, FieldError

router = APIRouter(include_in_schema=False)
CURRENCIES = ("USD", "EUR", "IQD", "IRR", "AED", "TRY", "CNY")
AMEND_REASON = "amended in the portal"


def _form_page(
    request: Request,
    user: User,
    form: DeclarationForm,
    *,
    action: str,
    draft_key: str,
    reference: str | None = None,
    status: int = 200,
) -> Response:
    c = ui.container(request)
    with c.uow(readonly=True) as uow:
        crossings = uow.reference.crossings()
    return ui.page(
        request,
        "declare.html",
        status=status,
        user=user,
        form=form,
        action=action,
        draft_key=draft_key,
        reference=reference,
        crossings=crossings,
        currencies=CURRENCIES,
        regimes=[r.value for r in Regime],
        item_fields=forms.ITEM_FIELDS,
    )


async def _posted(request: Request) -> Mapping[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


@router.get("/my")
def my_declarations(request: Request) -> Response:
    """The trader's own declarations, newest first."""

    def build(user: User) -> Response:
        with ui.container(request).uow(readonly=True) as uow:
            found = console.own_declarations(uow=uow, actor=user)
        return ui.page(request, "my.html", user=user, declarations=found)

    return ui.guarded(request, build)


@router.get("/declare")
def new_declaration(request: Request) -> Response:
    """An empty declaration form (restored from this device if a session ended mid-way)."""

    def build(user: User) -> Response:
        user.require(Permission.LODGE)
        defaults = {"regime": "import", "invoice_currency": "USD", "importer_name": user.full_name}
        if user.tax_id:
            defaults["importer_tax_id"] = user.tax_id
        return _form_page(request, user, forms.empty(defaults), action="/declare", draft_key="new")

    return ui.guarded(request, build)


def _checked(request: Request, form: DeclarationForm) -> Content | None:
    """Parse the form and check it against the reference data, as lodging would."""
    content = forms.parse(form)
    if content is None:
        return None
    try:
        with ui.container(request).uow(readonly=True) as uow:
            validate_content(uow, form.value("crossing_code"), content)
    except ValidationFailed as error:
        forms.attach(form, error)
        return None
    return content


@router.post("/declare")
async def post_declaration(request: Request) -> Response:
    """Save the declaration as a draft, or lodge it (assessment, lane and payment order)."""
    data = await _posted(request)
    user = ui.signed_in_user(request)
    if user is None:
        # What was typed is kept in the browser; it comes back after signing in again.
        return ui.to_signin(request, "/declare")
    form = forms.read(data)
    c = ui.container(request)
    content = _checked(request, form)
    if content is None:
        return _form_page(request, user, form, action="/declare", draft_key="new", status=422)
    try:
        with c.uow() as uow:
            if data.get("intent") == "lodge":
                decl = declarations.submit(
                    uow=uow,
                    actor=user,
                    crossing_code=form.value("crossing_code"),
                    content=content,
                    rng=c.rng,
                )
            else:
                decl = declarations.create_draft(
                    uow=uow, actor=user, crossing_code=form.value("crossing_code"), content=content
                )
    except ValidationFailed as error:
        forms.attach(form, error)
        return _form_page(request, user, form, action="/declare", draft_key="new", status=422)
    except DomainError as error:
        forms.attach(form, error)
        return _form_page(
            request, user, form, action="/declare", draft_key="new", status=ui.status_of(error)
        )
    return ui.redirect(request, f"/declarations/{decl.reference}?saved=new")


@router.post("/declare/check")
async def check_declaration(request: Request) -> Response:
    """Inline validation while typing: the list of problems, as the services see them."""
    data = await _posted(request)
    user = ui.signed_in_user(request)
    if user is None:
        return ui.page(request, "_form_errors.html", form=None, expired=True)
    form = forms.read(data)
    _checked(request, form)
    return ui.page(request, "_form_errors.html", form=form, expired=False)


@router.get("/hs/options")
def hs_options(request: Request) -> Response:
    """<option>s of HS subheadings matching what is typed in an item's HS code field."""
    if ui.signed_in_user(request) is None:
        # No suggestions, and no error: the trader may be typing on after the session ended
        # (the draft is kept in the browser); saving or lodging sends them to sign in again.
        return ui.page(request, "_hs_options.html", lines=[])
    query = next((v for k, v in request.query_params.items() if k.endswith("hs_code")), "")
    query = request.query_params.get("q", query)[:60]
    with ui.container(request).uow(readonly=True) as uow:
        found = nomenclature.search_hs(uow=uow, query=query)
    return ui.page(request, "_hs_options.html", lines=found)


@router.get("/declarations/{ref}/amend")
def amend_form(request: Request, ref: str) -> Response:
    """The declaration's current version in the form, to make a new version."""

    def build(user: User) -> Response:
        with ui.container(request).uow(readonly=True) as uow:
            seen = console.view(uow=uow, actor=user, declaration_id=ref)
        decl = seen.declaration
        if "amend" not in seen.actions:
            raise_forbidden(user)
        form = forms.from_content(decl.crossing_code, decl.content)
        return _form_page(
            request,
            user,
            form,
            action=f"/declarations/{decl.reference}/amend",
            draft_key=decl.reference,
            reference=decl.reference,
        )

    return ui.guarded(request, build)


def raise_forbidden(user: User) -> None:
    """Refuse a page the user's role or the declaration's state does not allow."""
    raise Forbidden(f"{user.username} may not amend this declaration now")


@router.post("/declarations/{ref}/amend")
async def post_amend(request: Request, ref: str) -> Response:
    """Record a new version of the declaration (re-assessed at once when lodged)."""
    data = await _posted(request)
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, f"/declarations/{ref}/amend")
    form = forms.read(data)
    c = ui.container(request)
    action = f"/declarations/{ref}/amend"
    content = _checked(request, form)
    if not form.reason:
        form.errors["reason"] = FieldError("required")
    if content is None or form.errors:
        return _form_page(
            request, user, form, action=action, draft_key=ref, reference=ref, status=422
        )
    try:
        with c.uow() as uow:
            decl = declarations.amend(
                uow=uow,
                actor=user,
                declaration_id=ref,
                content=content,
                reason=form.reason,
                rng=c.rng,
            ).declaration
    except ValidationFailed as error:
        forms.attach(form, error)
        return _form_page(
            request, user, form, action=action, draft_key=ref, reference=ref, status=422
        )
    except DomainError as error:
        forms.attach(form, error)
        return _form_page(
            request,
            user,
            form,
            action=action,
            draft_key=ref,
            reference=ref,
            status=ui.status_of(error),
        )
    return ui.redirect(request, f"/declarations/{decl.reference}?saved={decl.reference}")
