"""Shared by the floor pages' HTTP and browser tests: a real PNG, a red declaration, an alarm."""

from __future__ import annotations

import random
import struct
import uuid
import zlib

from manafidh.bootstrap import Container
from manafidh.domain.alarms import AlarmKind, Severity
from manafidh.domain.declarations.model import Declaration
from manafidh.domain.devices.gate import normalise_plate
from manafidh.domain.devices.visits import Visit
from manafidh.domain.identity import User
from manafidh.services import declarations, gate_control, journal
from tests.factories import content, item


def png(width: int = 4, height: int = 3, shade: int = 90) -> bytes:
    """A real (tiny, grey) PNG image: what a phone camera would send, only smaller."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def red_declaration(c: Container, trader: User, crossing: str, plate: str) -> Declaration:
    """Cigarettes (HS 240220): red by the chapter 24 rule, so an inspector is drawn."""
    goods = content(items=[item(1, hs_code="240220")], vehicle_plates=[plate])
    with c.uow() as uow:
        return declarations.submit(
            uow=uow, actor=trader, crossing_code=crossing, content=goods, rng=random.Random(5)
        )


def inspector_of(c: Container, declaration_id: str) -> str:
    """The inspector the system (or a supervisor) gave the inspection to."""
    with c.uow(readonly=True) as uow:
        return str(uow.risk.assignments_of(declaration_id)[-1]["inspector_id"])


def raise_weight_alarm(c: Container, decl: Declaration) -> str:
    """A weight mismatch alarm about ``decl``, as reconciliation raises it; returns its id."""
    with c.uow() as uow:
        alarm = gate_control.raise_alarm(
            uow,
            who=("system", "system"),
            crossing=decl.crossing_code,
            kind=AlarmKind.WEIGHT_MISMATCH,
            severity=Severity.WARNING,
            subject=journal.declaration_subject(decl.id),
            message="measured cargo 24100 kg, declared 20000 kg",
            details={},
        )
        uow.commit()
    return alarm.id


def open_visit(c: Container, crossing: str, plate: str, declaration_id: str | None) -> str:
    """A truck in the yard whose weighbridge has not reported: a manual weight may be needed."""
    visit = Visit(
        id=uuid.uuid4().hex,
        crossing_code=crossing,
        lane="1",
        plate=normalise_plate(plate),
        opened_at=c.clock.now(),
        opened_by="anpr-test:1",
        declaration_id=declaration_id,
    )
    with c.uow() as uow:
        uow.gate_control.add_visits([visit])
        uow.commit()
    return visit.id
