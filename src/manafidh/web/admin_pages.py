"""The administrator's pages: users and their access, crossings and their devices.

Every page needs the administrator's permission (other roles get the 403 page); every form goes
through a service use case, which journals it. A refused action shows the service's reason on the
page it came from, with what was typed, and changes nothing (the use case commits or not at all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response

from manafidh.adapters import device_keys
from manafidh.domain.devices.registry import Device, DeviceKind, Position
from manafidh.domain.errors import DomainError, Forbidden, NotFound, ValidationFailed
from manafidh.domain.identity import CROSSING_SCOPED, Permission, Role, User
from manafidh.services import devices, identity
from manafidh.web import ui

router = APIRouter(include_in_schema=False)
E = TypeVar("E", Role, DeviceKind, Position)


# -- what every administrator page shares -----------------------------------------------------
@dataclass
class Posted:
    """A submitted form: single values, and every value of the repeated fields."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """The value of ``name``, stripped; ``default`` when absent."""
        return self.values.get(name, default).strip()

    def many(self, name: str) -> list[str]:
        """Every non-empty value of the repeated field ``name``."""
        return [v.strip() for v in self.lists.get(name, []) if v.strip()]


async def posted(request: Request) -> Posted:
    """The form of a POST, text fields only (uploads are read by their own handlers)."""
    data = await request.form()
    form = Posted()
    for key, value in data.multi_items():
        if isinstance(value, str):
            form.values[key] = value
            form.lists.setdefault(key, []).append(value)
    return form


Build = Callable[[User, DomainError | None, Posted, int], Response]


def act(
    request: Request,
    permission: Permission,
    form: Posted,
    run: Callable[[User], str | Response],
    again: Build,
    *,
    here: str,
) -> Response:
    """Run an administrator's action; redirect to the path ``run`` returns (or show the page it
    returns, e.g. a preview), or show the refusal.

    Without the permission: the 403 page. A refusal of the action itself (including a Forbidden
    such as an administrator changing their own access): the page again, with the reason.
    """
    user = ui.signed_in_user(request)
    if user is None:
        return ui.to_signin(request, here)
    try:
        ui.require(user, permission)
    except Forbidden as error:
        return ui.refused(request, user, error)
    try:
        target = run(user)
    except DomainError as error:
        refusal = error
        return ui.guarded(request, lambda u: again(u, refusal, form, ui.status_of(refusal)))
    return target if isinstance(target, Response) else ui.redirect(request, target)


def show(
    request: Request, permission: Permission, build: Build, *, here: str | None = None
) -> Response:
    """A GET page of the administrator: 403 page without ``permission``."""

    def checked(user: User) -> Response:
        ui.require(user, permission)
        return build(user, None, Posted(), 200)

    return ui.guarded(request, checked, next_path=here)


def done(request: Request) -> str:
    """The action just completed (``?done=``), to confirm it on the page."""
    return request.query_params.get("done", "")[:40]


def public_key(text: str) -> bytes:
    """An Ed25519 public key pasted into a form: PEM, or 32 bytes in hex or base64."""
    if not text.strip():
        raise ValidationFailed("paste the device's public key", field="public_key")
    return device_keys.parse_public(text)


def choice(kind: type[E], value: str, name: str) -> E:
    """The enum member named by a form's ``value``, or a refusal naming the field."""
    try:
        return kind(value)
    except ValueError:
        raise ValidationFailed(f"choose a {name}", field=name) from None


# -- users ------------------------------------------------------------------------------------
def _users_page(
    request: Request, user: User, error: DomainError | None, form: Posted, status: int
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        users = sorted(uow.users.all(), key=lambda u: u.username)
        crossings = uow.reference.crossings()
    return ui.page(
        request,
        "admin_users.html",
        status=status,
        user=user,
        users=users,
        crossings=crossings,
        roles=[r.value for r in Role],
        scoped=[r.value for r in CROSSING_SCOPED],
        error=error,
        form=form,
        done=done(request),
    )


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    """Every user with role, crossings and whether active; the form to create one."""
    return show(
        request,
        Permission.MANAGE_USERS,
        lambda u, e, f, s: _users_page(request, u, e, f, s),
    )


@router.post("/admin/users")
async def create_user(request: Request) -> Response:
    """Create a user with a role, crossings and a first password."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        role = choice(Role, form.get("role"), "role")
        with c.uow() as uow:
            made = identity.create_user(
                uow=uow,
                hasher=c.hasher,
                actor=actor,
                username=form.get("username"),
                full_name=form.get("full_name"),
                role=role,
                password=form.values.get("password", ""),
                crossings=form.many("crossings"),
                tax_id=form.get("tax_id") or None,
            )
        return f"/admin/users/{made.username}?done=created"

    return act(
        request,
        Permission.MANAGE_USERS,
        form,
        run,
        lambda u, e, f, s: _users_page(request, u, e, f, s),
        here="/admin/users",
    )


def _user_page(
    request: Request,
    user: User,
    username: str,
    error: DomainError | None,
    form: Posted,
    status: int,
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        subject = uow.users.by_username(username.strip().lower())
        if subject is None:
            raise NotFound(f"no user {username}", username=username)
        crossings = uow.reference.crossings()
    return ui.page(
        request,
        "admin_user.html",
        status=status,
        user=user,
        subject=subject,
        crossings=crossings,
        roles=[r.value for r in Role],
        error=error,
        form=form,
        done=done(request),
        own=subject.id == user.id,
    )


@router.get("/admin/users/{username}")
def user_page(request: Request, username: str) -> Response:
    """One user's access, and the form to change it with a reason."""
    return show(
        request,
        Permission.MANAGE_USERS,
        lambda u, e, f, s: _user_page(request, u, username, e, f, s),
    )


@router.post("/admin/users/{username}")
async def change_user(request: Request, username: str) -> Response:
    """Change a user's role, crossings or whether the account is active, saying why."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        role = choice(Role, form.get("role"), "role")
        with c.uow() as uow:
            changed = identity.change_user(
                uow=uow,
                actor=actor,
                username=username,
                reason=form.get("reason"),
                role=role,
                crossings=form.many("crossings"),
                active=form.get("active") == "yes",
            )
        return f"/admin/users/{changed.username}?done=changed"

    return act(
        request,
        Permission.MANAGE_USERS,
        form,
        run,
        lambda u, e, f, s: _user_page(request, u, username, e, f, s),
        here=f"/admin/users/{username}",
    )


# -- crossings and devices --------------------------------------------------------------------
@router.get("/admin/crossings")
def crossings_page(request: Request) -> Response:
    """The crossings (reference data, read-only) with the devices registered at each."""

    def build(user: User, *_: Any) -> Response:
        with ui.container(request).uow(readonly=True) as uow:
            crossings = uow.reference.crossings()
            found = devices.list_devices(uow=uow)
        by_crossing: dict[str, list[Device]] = {}
        for d in found:
            by_crossing.setdefault(d.crossing_code, []).append(d)
        return ui.page(
            request, "admin_crossings.html", user=user, crossings=crossings, devices=by_crossing
        )

    return show(request, Permission.MANAGE_REFERENCE, build)


def _devices_page(
    request: Request, user: User, error: DomainError | None, form: Posted, status: int
) -> Response:
    wanted = request.query_params.get("crossing", "")[:8]
    with ui.container(request).uow(readonly=True) as uow:
        crossings = uow.reference.crossings()
        found = devices.list_devices(uow=uow, crossing_code=wanted or None)
    return ui.page(
        request,
        "admin_devices.html",
        status=status,
        user=user,
        devices=found,
        crossings=crossings,
        names={x.code: x.name for x in crossings},
        wanted=wanted,
        kinds=[k.value for k in DeviceKind],
        positions=[p.value for p in Position],
        error=error,
        form=form,
        done=done(request),
    )


@router.get("/admin/devices")
def devices_page(request: Request) -> Response:
    """The registered devices (of one crossing, when chosen); the form to register one."""
    return show(
        request,
        Permission.MANAGE_REFERENCE,
        lambda u, e, f, s: _devices_page(request, u, e, f, s),
    )


@router.post("/admin/devices")
async def register_device(request: Request) -> Response:
    """Register a device at a crossing and lane with its first public key."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        kind = choice(DeviceKind, form.get("kind"), "kind")
        position = choice(Position, form.get("position"), "position")
        key = public_key(form.values.get("public_key", ""))
        with c.uow() as uow:
            device = devices.register_device(
                uow=uow,
                actor=actor,
                device_id=form.get("device_id"),
                crossing_code=form.get("crossing_code"),
                lane=form.get("lane"),
                kind=kind,
                position=position,
                public_key=key,
                reason=form.get("reason"),
            )
        return f"/admin/devices/{device.id}?done=registered"

    return act(
        request,
        Permission.MANAGE_REFERENCE,
        form,
        run,
        lambda u, e, f, s: _devices_page(request, u, e, f, s),
        here="/admin/devices",
    )


def _device_page(
    request: Request,
    user: User,
    device_id: str,
    error: DomainError | None,
    form: Posted,
    status: int,
) -> Response:
    with ui.container(request).uow(readonly=True) as uow:
        device = uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"no device {device_id}", device=device_id)
        crossing = uow.reference.crossing(device.crossing_code)
    return ui.page(
        request,
        "admin_device.html",
        status=status,
        user=user,
        device=device,
        crossing=crossing,
        error=error,
        form=form,
        done=done(request),
    )


@router.get("/admin/devices/{device_id}")
def device_page(request: Request, device_id: str) -> Response:
    """One device with its keys; the forms to rotate its key or revoke it."""
    return show(
        request,
        Permission.MANAGE_REFERENCE,
        lambda u, e, f, s: _device_page(request, u, device_id, e, f, s),
    )


def _rotate(c: Any, actor: User, form: Posted, device_id: str) -> Device:
    key = public_key(form.values.get("public_key", ""))
    with c.uow() as uow:
        return devices.rotate_key(
            uow=uow, actor=actor, device_id=device_id, public_key=key, reason=form.get("reason")
        )


def _revoke(c: Any, actor: User, form: Posted, device_id: str) -> Device:
    with c.uow() as uow:
        return devices.revoke_device(
            uow=uow, actor=actor, device_id=device_id, reason=form.get("reason")
        )


DEVICE_ACTIONS: Mapping[str, Callable[[Any, User, Posted, str], Device]] = {
    "rotate": _rotate,
    "revoke": _revoke,
}


@router.post("/admin/devices/{device_id}/{action}")
async def device_action(request: Request, device_id: str, action: str) -> Response:
    """Rotate a device's key or revoke the device, with a reason."""
    form = await posted(request)
    c = ui.container(request)

    def run(actor: User) -> str:
        if action not in DEVICE_ACTIONS:
            raise NotFound(f"no action {action}", action=action)
        device = DEVICE_ACTIONS[action](c, actor, form, device_id)
        return f"/admin/devices/{device.id}?done={action}"

    return act(
        request,
        Permission.MANAGE_REFERENCE,
        form,
        run,
        lambda u, e, f, s: _device_page(request, u, device_id, e, f, s),
        here=f"/admin/devices/{device_id}",
    )
