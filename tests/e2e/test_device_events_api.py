"""POST /api/v1/devices/events: every refusal stores nothing; duplicates are stored once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from tests.conftest import START

from manafidh.adapters import device_keys
from manafidh.adapters.db import tables as t
from manafidh.domain.devices.registry import DeviceKind, Position
from manafidh.services import devices

WB = "SHL-L1-WB"


def stamp(delta: timedelta = timedelta()) -> str:
    return (START + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def key(container):
    """A weighbridge at Shalamcheh lane 1, and its private key."""
    private = Ed25519PrivateKey.generate()
    with container.uow() as uow:
        devices.register_device(
            uow=uow,
            actor=None,
            device_id=WB,
            crossing_code="SHL",
            lane="L1",
            kind=DeviceKind.WEIGHBRIDGE,
            position=Position.ENTRY,
            public_key=device_keys.raw_public(private),
            reason="installed",
        )
    return private


def weighing(key, seq=1, *, kg=38_400, at=None, device_id=WB, plate="12345 BGD"):
    return device_keys.signed_event(
        key,
        device_id=device_id,
        sequence=seq,
        device_time=at or stamp(),
        kind="weighing",
        payload={"plate": plate, "gross_kg": kg, "axle_kg": [7100, 15600, 15700]},
    )


def stored(container) -> tuple[int, int]:
    """(events stored, audit entries about device events)."""
    with container.engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(t.device_events)).scalar_one()
        entries = conn.execute(
            select(func.count())
            .select_from(t.audit_entries)
            .where(t.audit_entries.c.action == "device.events_recorded")
        ).scalar_one()
    return events, entries


def test_it_stores_a_signed_weighing_and_journals_it(client, container, key):
    r = client.post("/api/v1/devices/events", json=weighing(key))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["payload"]["gross_kg"] == 38_400
    assert (body["crossing_code"], body["lane"]) == ("SHL", "L1")
    assert stored(container) == (1, 1)


def test_it_accepts_an_exact_duplicate_once(client, container, key):
    event = weighing(key)
    first = client.post("/api/v1/devices/events", json=event)
    again = client.post("/api/v1/devices/events", json=event)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert stored(container) == (1, 1)


def _refused(client, container, body, status, code, before=(0, 0)):
    r = client.post("/api/v1/devices/events", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert stored(container) == before


def test_it_rejects_a_forged_signature(client, container, key):
    forged = weighing(Ed25519PrivateKey.generate())
    _refused(client, container, forged, 401, "bad_signature")


def test_it_rejects_an_altered_weight(client, container, key):
    event = weighing(key)
    event["payload"]["gross_kg"] = 20_000  # understated after signing
    _refused(client, container, event, 401, "bad_signature")


def test_it_rejects_an_unknown_device(client, container, key):
    _refused(client, container, weighing(key, device_id="NOPE-1"), 401, "unknown_device")


def test_it_rejects_a_revoked_device(client, container, key):
    with container.uow() as uow:
        devices.revoke_device(uow=uow, actor=None, device_id=WB, reason="seal broken")
    _refused(client, container, weighing(key), 403, "device_revoked")


def test_it_rejects_a_replayed_sequence_number(client, container, key):
    assert client.post("/api/v1/devices/events", json=weighing(key, 5)).status_code == 201
    _refused(client, container, weighing(key, 5, kg=12_000), 409, "replayed_sequence", (1, 1))


def test_it_rejects_a_clock_too_far_ahead_or_too_old(client, container, key, clock):
    clock.advance(timedelta(days=2))  # the device has been registered for two days
    now = timedelta(days=2)
    _refused(
        client,
        container,
        weighing(key, at=stamp(now + timedelta(minutes=3))),
        422,
        "timestamp_out_of_range",
    )
    _refused(
        client,
        container,
        weighing(key, at=stamp(now - timedelta(days=1, seconds=1))),
        422,
        "timestamp_out_of_range",
    )
    # Inside the limits (2 minutes ahead, one day old) both are accepted.
    ahead = weighing(key, 1, at=stamp(now + timedelta(minutes=2)))
    old = weighing(key, 2, at=stamp(now - timedelta(hours=23)))
    assert client.post("/api/v1/devices/events", json=ahead).status_code == 201
    assert client.post("/api/v1/devices/events", json=old).status_code == 201


def test_it_rejects_a_key_used_after_rotation(client, container, key, clock):
    new = Ed25519PrivateKey.generate()
    clock.advance(timedelta(minutes=10))
    with container.uow() as uow:
        devices.rotate_key(
            uow=uow,
            actor=None,
            device_id=WB,
            public_key=device_keys.raw_public(new),
            reason="yearly rotation",
        )
    # The old key still vouches for an event dated before the rotation (an offline buffer).
    assert client.post("/api/v1/devices/events", json=weighing(key, 1)).status_code == 201
    _refused(
        client,
        container,
        weighing(key, 2, at=stamp(timedelta(minutes=11))),
        401,
        "bad_signature",
        (1, 1),
    )
    r = client.post(
        "/api/v1/devices/events", json=weighing(new, 2, at=stamp(timedelta(minutes=11)))
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"payload": {"plate": "12345 BGD", "gross_kg": -5}}, "malformed_event"),
        ({"payload": {"plate": "12345 BGD", "gross_kg": 38400.0}}, "malformed_event"),
        ({"kind": "plate_read"}, "malformed_event"),
        ({"signature": "zz"}, "malformed_event"),
        ({"sequence": "1"}, "validation_failed"),
        ({"device_time": "15/03/2026 09:00"}, "malformed_event"),
    ],
)
def test_it_rejects_a_malformed_event(client, container, key, change, code):
    _refused(client, container, weighing(key) | change, 422, code)


def test_a_batch_stores_the_good_events_and_refuses_the_bad_ones_alone(client, container, key):
    good = [weighing(key, n) for n in (3, 1, 2)]  # out of order, as a buffer may resend
    forged = weighing(Ed25519PrivateKey.generate(), 4)
    r = client.post("/api/v1/devices/events/batch", json={"events": [*good, forged, good[0]]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["status"] for x in body["results"]] == [
        "accepted",
        "accepted",
        "accepted",
        "refused",
        "duplicate",
    ]
    assert body["results"][3]["error"]["code"] == "bad_signature"
    assert (body["accepted"], body["duplicates"], body["refused"]) == (3, 1, 1)
    assert stored(container) == (3, 1)
    # The whole burst again: nothing new.
    again = client.post("/api/v1/devices/events/batch", json={"events": good}).json()
    assert again["duplicates"] == 3
    assert stored(container) == (3, 1)


def test_staff_list_devices_and_events_of_their_crossing(client, container, key, auth):
    client.post("/api/v1/devices/events", json=weighing(key))
    officer = auth("officer", crossings=["SHL"])
    elsewhere = auth("officer", crossings=["MND"])
    assert [d["id"] for d in client.get("/api/v1/devices", headers=officer).json()] == [WB]
    assert client.get("/api/v1/devices", headers=elsewhere).json() == []
    events = client.get("/api/v1/devices/events", headers=officer).json()
    assert [e["sequence"] for e in events] == [1]
    assert client.get("/api/v1/devices", headers=auth("trader")).status_code == 403
