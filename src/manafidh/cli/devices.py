"""``manafidh devices``: register, rotate keys, revoke and list weighbridges, cameras, gates."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from manafidh.adapters import device_keys
from manafidh.cli.common import console, container, err, one_line_errors
from manafidh.domain.devices.registry import Device, DeviceKind, Position
from manafidh.domain.errors import ValidationFailed
from manafidh.services import alarm_flow, devices, gate_control

app = typer.Typer(help="Weighbridges, plate cameras and gate barriers.", no_args_is_help=True)


def _public_key(public_key: str | None, generate_key: Path | None) -> bytes:
    """The public key given, read from a file, or of a key pair generated now."""
    if (public_key is None) == (generate_key is None):
        raise ValidationFailed("give exactly one of --public-key and --generate-key")
    if generate_key is not None:
        return device_keys.generate(generate_key)
    assert public_key is not None
    path = Path(public_key)
    text = path.read_text(encoding="utf-8") if path.is_file() else public_key
    return device_keys.parse_public(text)


def _show(device: Device) -> None:
    key = device.current_key()
    state = f"revoked {device.revoked_at:%Y-%m-%d %H:%M}" if device.revoked else "active"
    console.print(
        f"{device.id}: {device.kind.value} at {device.crossing_code} lane {device.lane} "
        f"({device.position.value}), {state}, key {key.key_id[:16] if key else '-'}",
        highlight=False,
    )


@app.command("register")
def register(
    device_id: str = typer.Argument(..., help="Device id, e.g. SHL-L1-WB"),
    crossing: str = typer.Option(..., help="Crossing code"),
    lane: str = typer.Option(..., help="Lane at the crossing"),
    kind: DeviceKind = typer.Option(..., help="What the device is"),
    position: Position = typer.Option(..., help="Where trucks come in, or where they leave"),
    public_key: str | None = typer.Option(
        None, help="Public key (PEM file, or raw 32 bytes in hex or base64)"
    ),
    generate_key: Path | None = typer.Option(
        None, help="Generate a key pair and write the private key to this file (mode 0600)"
    ),
    reason: str = typer.Option("registered", help="Why (kept in the audit log)"),
) -> None:
    """Register a device with its Ed25519 public key."""
    with one_line_errors():
        c = container()
        key = _public_key(public_key, generate_key)
        with c.uow() as uow:
            device = devices.register_device(
                uow=uow,
                actor=None,
                device_id=device_id,
                crossing_code=crossing,
                lane=lane,
                kind=kind,
                position=position,
                public_key=key,
                reason=reason,
            )
    _show(device)
    if generate_key is not None:
        console.print(f"private key written to {generate_key}", highlight=False)


@app.command("rotate")
def rotate(
    device_id: str = typer.Argument(...),
    reason: str = typer.Option(..., help="Why the key changes"),
    public_key: str | None = typer.Option(None, help="New public key (PEM file, hex, base64)"),
    generate_key: Path | None = typer.Option(None, help="Generate the new key pair here"),
) -> None:
    """Give a device a new key; the old key stays valid for events dated before now."""
    with one_line_errors():
        c = container()
        key = _public_key(public_key, generate_key)
        with c.uow() as uow:
            device = devices.rotate_key(
                uow=uow, actor=None, device_id=device_id, public_key=key, reason=reason
            )
    _show(device)


@app.command("revoke")
def revoke(
    device_id: str = typer.Argument(...),
    reason: str = typer.Option(..., help="Why the device is revoked"),
) -> None:
    """Revoke a device: everything it sends from now on is refused."""
    with one_line_errors():
        c = container()
        with c.uow() as uow:
            device = devices.revoke_device(uow=uow, actor=None, device_id=device_id, reason=reason)
    _show(device)


@app.command("list")
def list_(crossing: str | None = typer.Option(None, help="Only this crossing")) -> None:
    """List the registered devices."""
    c = container()
    with c.uow(readonly=True) as uow:
        found = devices.list_devices(uow=uow, crossing_code=crossing)
    table = Table("id", "kind", "crossing", "lane", "position", "state", "key id", "since")
    for d in found:
        key = d.current_key()
        table.add_row(
            d.id,
            d.kind.value,
            d.crossing_code,
            d.lane,
            d.position.value,
            "revoked" if d.revoked else "active",
            key.key_id[:16] if key else "-",
            f"{key.valid_from:%Y-%m-%d %H:%M}" if key else "-",
        )
    console.print(table)


@app.command("tare")
def tare(
    plate: str = typer.Argument(..., help="The vehicle's plate"),
    kg: int = typer.Argument(..., help="Empty weight in kg"),
    reason: str = typer.Option(..., help="Source: tare certificate, certified weighing"),
) -> None:
    """Register a vehicle's tare, used when the truck is not weighed empty at the exit."""
    with one_line_errors():
        c = container()
        with c.uow() as uow:
            gate_control.register_tare(uow=uow, actor=None, plate=plate, tare_kg=kg, reason=reason)
    console.print(f"tare of {plate}: {kg} kg", highlight=False)


@app.command("escalate-alarms")
def escalate_alarms() -> None:
    """Escalate critical alarms left unresolved too long to headquarters (run it every minute)."""
    c = container()
    with c.uow() as uow:
        due = alarm_flow.escalate_overdue(uow=uow)
    for a in due:
        console.print(f"escalated {a.id}: {a.crossing_code} {a.kind.value} {a.subject}")
    console.print(f"{len(due)} alarm(s) escalated")


@app.command("simulate")
def simulate(
    url: str = typer.Option("http://127.0.0.1:8000", help="The running Manafidh server"),
    trucks: int = typer.Option(20, min=4, max=500, help="Trucks through the simulated lane"),
    understated: int = typer.Option(2, min=0, help="Trucks carrying more than declared"),
    sneaks: int = typer.Option(2, min=0, help="Trucks driving out without release"),
    crossing: str = typer.Option("SHL", help="Crossing of the simulated lane"),
    seed: int = typer.Option(2026, help="Seed of the simulated traffic"),
) -> None:
    """Drive a running server over HTTP with one lane's signed device events for a day,
    with faults (offline burst, duplicates, out-of-order, clock skew) and attacks (forgery,
    replay, exit without release, understated weight); exit 1 if anything went missing."""
    import json
    import random
    import secrets

    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from manafidh.domain.clock import SystemClock
    from manafidh.domain.identity import Role
    from manafidh.services import identity
    from manafidh.simulation.devices_day import LANE_DEVICES, DeviceDay, SimulationError

    if understated + sneaks > trucks // 2:
        raise typer.BadParameter("at most half the trucks may be understated or sneak out")
    tag = f"S{secrets.token_hex(3).upper()}"  # a fresh lane, devices, plates and users per run
    password = secrets.token_urlsafe(18)
    keys: dict[str, Ed25519PrivateKey] = {}
    with one_line_errors():
        c = container()
        for role, kind, position in LANE_DEVICES:
            key = Ed25519PrivateKey.generate()
            with c.uow() as uow:
                devices.register_device(
                    uow=uow,
                    actor=None,
                    device_id=f"{tag}-{role}",
                    crossing_code=crossing,
                    lane=tag,
                    kind=DeviceKind(kind),
                    position=Position(position),
                    public_key=device_keys.raw_public(key),
                    reason="device simulation",
                )
            keys[f"{tag}-{role}"] = key
        for role in ("trader", "officer", "inspector", "supervisor"):
            with c.uow() as uow:
                identity.create_user(
                    uow=uow,
                    hasher=c.hasher,
                    actor=None,
                    username=f"{tag.lower()}.{role}",
                    full_name=f"Simulated {role}",
                    role=Role(role),
                    password=password,
                    crossings=[] if role == "trader" else [crossing],
                )
    clock = SystemClock()
    with httpx.Client(base_url=url, timeout=30) as http:
        tokens = {}
        for role in ("trader", "officer", "inspector", "supervisor"):
            r = http.post(
                "/api/v1/auth/token",
                json={"username": f"{tag.lower()}.{role}", "password": password},
            )
            if r.status_code != 200:
                err.print(f"error: cannot sign in at {url}: {r.status_code} {r.text}")
                raise typer.Exit(2)
            tokens[role] = r.json()["token"]
        day = DeviceDay(
            http,
            crossing=crossing,
            lane=tag,
            devices=keys,
            tokens=tokens,
            bank_secret=c.settings.bank_hmac_secret,
            now=clock.now,
            advance=lambda _delta: None,  # real time: the server's clock moves by itself
            rng=random.Random(seed),
            tag=tag,
        )
        try:
            report = day.run(trucks, understated=understated, sneaks=sneaks)
        except SimulationError as exc:
            err.print(f"error: {exc}", highlight=False)
            raise typer.Exit(1) from None
    typer.echo(json.dumps(report.as_json()))
    if not report.ok:
        raise typer.Exit(1)
