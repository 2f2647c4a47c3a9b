"""The canonical encoding of device events and the Ed25519 round trip (docs/device-events.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from manafidh.adapters import device_keys
from manafidh.domain.devices import events as ev
from manafidh.domain.devices.registry import Device, DeviceKey, DeviceKind, Position
from manafidh.domain.errors import BadSignature

KEY = Ed25519PrivateKey.generate()
T0 = datetime(2026, 3, 15, 6, 0, tzinfo=UTC)

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


def _device(kind: DeviceKind = DeviceKind.WEIGHBRIDGE) -> Device:
    raw = device_keys.raw_public(KEY)
    key = DeviceKey("k1", raw, T0 - timedelta(days=1), None, "tests", "registered")
    return Device("SHL-L1-WB", "SHL", "L1", kind, Position.ENTRY, T0, "tests", [key])


@given(payload=st.dictionaries(texts, json_values, max_size=6))
def test_the_encoding_is_the_same_whatever_the_key_order_and_spacing(payload):
    body = {"device_id": "D1", "sequence": 7, "device_time": "2026-03-15T06:00:00Z", "kind": "gate"}
    message = ev.signed_message(**body, payload=payload)
    # A device that built the same object in another order, and sent it with spaces, signs
    # the same bytes: the server re-encodes what it parsed.
    shuffled = dict(reversed(list(payload.items())))
    parsed = json.loads(json.dumps({**body, "payload": shuffled}, indent=2))
    assert ev.signed_message(**parsed) == message
    assert message.startswith(ev.MESSAGE_PREFIX)
    # Decoding gives the object back: the encoding loses nothing.
    assert json.loads(message[len(ev.MESSAGE_PREFIX) :]) == {**body, "payload": payload}


@given(
    a=st.dictionaries(texts, json_values, max_size=4),
    b=st.dictionaries(texts, json_values, max_size=4),
)
def test_different_payloads_never_share_an_encoding(a, b):
    base = {"device_id": "D1", "sequence": 1, "device_time": "2026-03-15T06:00:00Z", "kind": "gate"}
    if a != b:
        assert ev.signed_message(**base, payload=a) != ev.signed_message(**base, payload=b)


def test_the_encoding_matches_the_documented_example():
    message = ev.signed_message(
        device_id="SHL-L1-WB",
        sequence=42,
        device_time="2026-03-15T06:00:00.250Z",
        kind="weighing",
        payload={"plate": "12345 BGD", "gross_kg": 38400, "axle_kg": [7100, 15600, 15700]},
    )
    assert message == (
        b"manafidh-device-event-v1\n"
        b'{"device_id":"SHL-L1-WB","device_time":"2026-03-15T06:00:00.250Z","kind":"weighing",'
        b'"payload":{"axle_kg":[7100,15600,15700],"gross_kg":38400,"plate":"12345 BGD"},'
        b'"sequence":42}'
    )


gross = st.integers(1, ev.MAX_GROSS_KG)
plates = st.from_regex(r"[0-9]{3,6} ?[A-Z]{2,3}", fullmatch=True)


@settings(max_examples=60)
@given(seq=st.integers(1, ev.MAX_SEQUENCE), kg=gross, plate=plates, ms=st.integers(0, 999))
def test_a_signed_event_verifies_and_any_changed_field_does_not(seq, kg, plate, ms):
    at = (T0 + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = device_keys.signed_event(
        KEY,
        device_id="SHL-L1-WB",
        sequence=seq,
        device_time=at,
        kind="weighing",
        payload={"plate": plate, "gross_kg": kg},
    )
    device = _device()
    checked = ev.check_format(ev.SubmittedEvent(**body))
    assert ev.check_origin(checked, device, device_keys.verify) == "k1"
    for tampered in (
        {**body, "sequence": seq + 1 if seq < ev.MAX_SEQUENCE else seq - 1},
        {**body, "payload": {"plate": plate, "gross_kg": kg + 1 if kg < ev.MAX_GROSS_KG else 1}},
        {**body, "device_time": at.replace("06:00", "06:01")},
    ):
        with pytest.raises(BadSignature):
            ev.check_origin(
                ev.check_format(ev.SubmittedEvent(**tampered)), device, device_keys.verify
            )


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("weighing", {"gross_kg": 1000}),
        ("weighing", {"plate": "123 BGD", "gross_kg": 0}),
        ("weighing", {"plate": "123 BGD", "gross_kg": 1000.5}),
        ("weighing", {"plate": "123 BGD", "gross_kg": True}),
        ("weighing", {"plate": "123 BGD", "gross_kg": 1000, "axle_kg": []}),
        ("weighing", {"plate": "123 BGD", "gross_kg": 1000, "colour": "red"}),
        ("plate_read", {"plate": "123 BGD", "confidence_permille": 1001, "image_sha256": "0" * 64}),
        ("plate_read", {"plate": "123 BGD", "confidence_permille": 900, "image_sha256": "XY"}),
        ("plate_read", {"plate": " - ", "confidence_permille": 900, "image_sha256": "0" * 64}),
        ("gate", {"action": "smash"}),
        ("teleport", {}),
    ],
)
def test_a_malformed_payload_is_refused(kind, payload):
    e = ev.SubmittedEvent("D1", 1, "2026-03-15T06:00:00Z", kind, payload, "00" * 64)
    with pytest.raises(ev.MalformedEvent):
        ev.check_format(e)


@pytest.mark.parametrize(
    "when", ["2026-03-15 06:00:00", "2026-03-15T06:00:00", "yesterday", "2026-13-15T06:00:00Z"]
)
def test_a_device_time_without_offset_or_not_rfc3339_is_refused(when):
    e = ev.SubmittedEvent("D1", 1, when, "gate", {"action": "open"}, "00" * 64)
    with pytest.raises(ev.MalformedEvent):
        ev.check_format(e)


def test_an_old_key_verifies_events_dated_inside_its_validity_only():
    device = _device()
    new_key = Ed25519PrivateKey.generate()
    device.rotate(
        DeviceKey("k2", device_keys.raw_public(new_key), T0 + timedelta(hours=1), None, "t", "lost")
    )

    def checked(key, minutes):
        at = (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        body = device_keys.signed_event(
            key,
            device_id=device.id,
            sequence=1,
            device_time=at,
            kind="weighing",
            payload={"plate": "1 A", "gross_kg": 9},
        )
        return ev.check_format(ev.SubmittedEvent(**body))

    assert ev.check_origin(checked(KEY, 30), device, device_keys.verify) == "k1"
    assert ev.check_origin(checked(new_key, 90), device, device_keys.verify) == "k2"
    with pytest.raises(BadSignature):  # the old key after its rotation
        ev.check_origin(checked(KEY, 90), device, device_keys.verify)
