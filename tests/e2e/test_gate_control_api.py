"""Gate control through the API: visits from plate reads, weight reconciliation, exit decisions,
alarms with their lifecycle and escalation, manual weights under four eyes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from tests.factories import payload

from manafidh.adapters import device_keys
from manafidh.adapters.db import tables as t
from manafidh.domain.devices.registry import DeviceKind, Position
from manafidh.services import alarm_flow, devices, gate_control, tariff

PLATE = "IR 12 B 345"
TARE = 15_000
DECLARED = 21_000  # five items of 4,200 kg gross


class Lane:
    """The four devices of lane L1 at Shalamcheh, sending signed events through the API."""

    def __init__(self, client, container, clock) -> None:
        self.client, self.clock = client, clock
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.seq: dict[str, int] = {}
        for name, kind, position in (
            ("IN-CAM", DeviceKind.ANPR_CAMERA, Position.ENTRY),
            ("IN-WB", DeviceKind.WEIGHBRIDGE, Position.ENTRY),
            ("OUT-CAM", DeviceKind.ANPR_CAMERA, Position.EXIT),
            ("OUT-GATE", DeviceKind.GATE_BARRIER, Position.EXIT),
        ):
            key = Ed25519PrivateKey.generate()
            with container.uow() as uow:
                devices.register_device(
                    uow=uow,
                    actor=None,
                    device_id=name,
                    crossing_code="SHL",
                    lane="L1",
                    kind=kind,
                    position=position,
                    public_key=device_keys.raw_public(key),
                    reason="installed",
                )
            self.keys[name], self.seq[name] = key, 0

    def send(self, device: str, kind: str, body: dict) -> dict:
        self.seq[device] += 1
        at = self.clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        event = device_keys.signed_event(
            self.keys[device],
            device_id=device,
            sequence=self.seq[device],
            device_time=at,
            kind=kind,
            payload=body,
        )
        r = self.client.post("/api/v1/devices/events", json=event)
        assert r.status_code == 201, r.text
        return r.json()

    def arrive(self, plate: str = PLATE, loaded_kg: int = TARE + DECLARED) -> None:
        self.send(
            "IN-CAM",
            "plate_read",
            {"plate": plate, "confidence_permille": 970, "image_sha256": "ab" * 32},
        )
        self.send("IN-WB", "weighing", {"plate": plate, "gross_kg": loaded_kg})


@pytest.fixture
def lane(client, container, clock):
    with container.uow() as uow:
        gate_control.register_tare(
            uow=uow, actor=None, plate=PLATE, tare_kg=TARE, reason="tare certificate 2026/114"
        )
    return Lane(client, container, clock)


def _released(client, auth, bank_confirm):
    trader, officer = auth("trader"), auth("officer", crossings=["SHL"])
    r = client.post("/api/v1/declarations", json=payload(n_items=5, plate=PLATE), headers=trader)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    assert r.json()["lane"] == "green"
    orders = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()
    bank_confirm(
        {
            "bank_transaction_id": f"TX-{ref}",
            "payment_reference": orders[0]["reference"],
            "amount": orders[0]["amount_iqd"],
            "paid_at": "2026-03-15T09:30:00+03:00",
        }
    )
    return ref, officer


def _alarms(container):
    with container.engine.connect() as conn:
        return conn.execute(select(t.alarms).order_by(t.alarms.c.raised_at)).all()


def test_a_released_truck_whose_weight_matches_is_let_out_and_exits(
    client, auth, bank_confirm, lane, container
):
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(n_items=5, plate=PLATE), headers=trader)
    ref = r.json()["reference"]
    lane.arrive(loaded_kg=TARE + DECLARED + 150)  # within 420 kg (2 % of 21,000)
    with container.engine.connect() as conn:
        visit = conn.execute(select(t.gate_visits)).one()
    assert visit.declaration_id == r.json()["id"]
    assert (visit.weight_state, visit.measured_kg) == ("reconciled", DECLARED + 150)
    orders = client.get(f"/api/v1/declarations/{ref}/payment-orders", headers=trader).json()
    bank_confirm(
        {
            "bank_transaction_id": f"TX-{ref}",
            "payment_reference": orders[0]["reference"],
            "amount": orders[0]["amount_iqd"],
            "paid_at": "2026-03-15T09:30:00+03:00",
        }
    )
    officer = auth("officer", crossings=["SHL"])
    q = {"crossing": "SHL", "lane": "L1", "plate": PLATE}
    assert (
        client.get("/api/v1/gate/decision", params=q, headers=officer).json()["decision"] == "deny"
    )
    client.post(f"/api/v1/declarations/{ref}/release", headers=officer)
    assert (
        client.get("/api/v1/gate/decision", params=q, headers=officer).json()["decision"] == "open"
    )
    d = client.post("/api/v1/gate/decisions", json=q, headers=officer)
    assert d.status_code == 201
    assert d.json()["decision"] == "open"
    lane.send(
        "OUT-CAM",
        "plate_read",
        {"plate": PLATE, "confidence_permille": 940, "image_sha256": "cd" * 32},
    )
    lane.send("OUT-GATE", "gate", {"action": "vehicle_passed", "plate": PLATE})
    assert client.get(f"/api/v1/declarations/{ref}", headers=trader).json()["state"] == "exited"
    assert _alarms(container) == []
    # The open decision was used by that truck: a second vehicle through raises the alarm.
    lane.send("OUT-GATE", "gate", {"action": "vehicle_passed", "plate": PLATE})
    assert [a.kind for a in _alarms(container)] == ["exit_without_release"]


def test_an_understated_weight_holds_the_declaration_and_raises_a_supervisor_alarm(
    client, auth, bank_confirm, lane, container
):
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(n_items=5, plate=PLATE), headers=trader)
    ref = r.json()["reference"]
    lane.arrive(loaded_kg=TARE + DECLARED + 3_000)  # 3 t more than declared
    assert client.get(f"/api/v1/declarations/{ref}", headers=trader).json()["state"] == "held"
    (alarm,) = _alarms(container)
    assert (alarm.kind, alarm.severity, alarm.crossing_code) == (
        "weight_mismatch",
        "warning",
        "SHL",
    )
    assert "measured cargo 24000 kg, declared 21000" in alarm.message
    officer = auth("officer", crossings=["SHL"])
    q = {"crossing": "SHL", "lane": "L1", "plate": PLATE}
    d = client.post("/api/v1/gate/decisions", json=q, headers=officer).json()
    assert d["decision"] == "deny"
    assert "held" in d["reason"]


def test_a_plate_read_at_the_exit_without_release_is_a_critical_alarm(lane, container):
    lane.send(
        "OUT-CAM",
        "plate_read",
        {"plate": "IR 99 Z 999", "confidence_permille": 910, "image_sha256": "ef" * 32},
    )
    (alarm,) = _alarms(container)
    assert (alarm.kind, alarm.severity, alarm.subject) == (
        "exit_without_release",
        "critical",
        "IR99Z999",
    )
    assert alarm.message.startswith("exit without clearance")


def test_a_vehicle_through_the_barrier_with_no_open_decision_is_a_critical_alarm(
    lane, container, client, auth
):
    officer = auth("officer", crossings=["SHL"])
    q = {"crossing": "SHL", "lane": "L1", "plate": PLATE}
    assert (
        client.post("/api/v1/gate/decisions", json=q, headers=officer).json()["decision"] == "deny"
    )
    lane.send("OUT-GATE", "gate", {"action": "vehicle_passed"})
    (alarm,) = _alarms(container)
    assert (alarm.kind, alarm.severity) == ("exit_without_release", "critical")
    assert "no open decision" in alarm.message


def test_supervisors_acknowledge_and_resolve_alarms_and_unresolved_ones_escalate(
    lane, container, client, auth, clock
):
    lane.send("OUT-GATE", "gate", {"action": "vehicle_passed"})
    (alarm,) = _alarms(container)
    officer = auth("officer", crossings=["SHL"])
    supervisor = auth("supervisor", crossings=["SHL"])
    other = auth("supervisor", crossings=["MND"])
    url = f"/api/v1/alarms/{alarm.id}"
    assert (
        client.post(f"{url}/acknowledge", json={"reason": "x"}, headers=officer).status_code == 403
    )
    assert client.post(f"{url}/acknowledge", json={"reason": "x"}, headers=other).status_code == 404
    assert (
        client.post(f"{url}/acknowledge", json={"reason": ""}, headers=supervisor).status_code
        == 422
    )
    r = client.post(f"{url}/acknowledge", json={"reason": "on my way"}, headers=supervisor)
    assert r.json()["state"] == "acknowledged"
    clock.advance(timedelta(minutes=29))
    with container.uow() as uow:
        assert alarm_flow.escalate_overdue(uow=uow) == []
    clock.advance(timedelta(minutes=1))
    with container.uow() as uow:
        assert [a.id for a in alarm_flow.escalate_overdue(uow=uow)] == [alarm.id]
    with container.uow() as uow:
        assert alarm_flow.escalate_overdue(uow=uow) == []  # once only
    r = client.post(
        f"{url}/resolve",
        json={"reason": "lorry stopped at checkpoint 2, goods returned"},
        headers=supervisor,
    )
    assert r.json()["state"] == "resolved"
    again = client.post(f"{url}/resolve", json={"reason": "again"}, headers=supervisor)
    assert again.status_code == 409
    steps = client.get(f"{url}/steps", headers=supervisor).json()
    assert [s["step"] for s in steps] == ["acknowledged", "escalated", "resolved"]
    assert steps[1]["actor"] == "system"


def test_a_manual_weight_takes_effect_only_when_a_second_supervisor_approves(
    lane, container, client, auth
):
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(n_items=5, plate=PLATE), headers=trader)
    ref = r.json()["reference"]
    lane.send(
        "IN-CAM",
        "plate_read",
        {"plate": PLATE, "confidence_permille": 970, "image_sha256": "ab" * 32},
    )
    with container.engine.connect() as conn:
        visit_id = conn.execute(select(t.gate_visits.c.id)).scalar_one()
    first, second = auth("supervisor", crossings=["SHL"]), auth("supervisor", crossings=["SHL"])
    officer = auth("officer", crossings=["SHL"])
    body = {"which": "entry", "kg": TARE + DECLARED + 5_000, "reason": "weighbridge 1 broken"}
    url = f"/api/v1/gate/visits/{visit_id}/manual-weights"
    assert client.post(url, json=body, headers=officer).status_code == 403
    m = client.post(url, json=body, headers=first)
    assert m.status_code == 201, m.text
    decide = f"/api/v1/gate/manual-weights/{m.json()['id']}/decision"
    with container.engine.connect() as conn:
        assert conn.execute(select(t.gate_visits.c.entry_gross_kg)).scalar_one() is None
    own = client.post(decide, json={"approve": True, "reason": "ok"}, headers=first)
    assert own.status_code == 403
    ok = client.post(decide, json={"approve": True, "reason": "seen the ticket"}, headers=second)
    assert ok.json()["approved"] is True
    with container.engine.connect() as conn:
        v = conn.execute(select(t.gate_visits)).one()
    assert (v.entry_gross_kg, v.weight_state) == (TARE + DECLARED + 5_000, "mismatch")
    assert client.get(f"/api/v1/declarations/{ref}", headers=trader).json()["state"] == "held"
    twice = client.post(decide, json={"approve": False, "reason": "no"}, headers=second)
    assert twice.status_code == 409


def test_the_shift_report_flags_a_night_pass_and_a_silent_weighbridge(
    lane, client, auth, clock, container
):
    clock.advance(timedelta(hours=17))  # 02:00 the next night in Baghdad
    lane.arrive()  # weighed
    clock.advance(timedelta(hours=1))  # 03:00: the weighbridge falls silent
    lane.send(
        "IN-CAM",
        "plate_read",
        {"plate": "IR 77 K 100", "confidence_permille": 930, "image_sha256": "01" * 32},
    )
    lane.send("OUT-GATE", "gate", {"action": "vehicle_passed"})  # a truck out, no decision
    supervisor = auth("supervisor", crossings=["SHL"])
    r = client.get(
        "/api/v1/monitoring/shift",
        params={"crossing": "SHL", "day": "2026-03-16"},
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    by_hour = {h["start"][11:13]: h for h in r.json()}
    assert len(by_hour) == 24
    assert (by_hour["02"]["arrivals"], by_hour["02"]["weighings"], by_hour["02"]["flags"]) == (
        1,
        1,
        [],
    )
    three = by_hour["03"]
    assert (three["arrivals"], three["weighings"], three["exits_without_clearance"]) == (1, 0, 1)
    assert three["flags"] == ["night_pass", "weighbridge_silent"]
    elsewhere = auth("supervisor", crossings=["MND"])
    r = client.get(
        "/api/v1/monitoring/shift",
        params={"crossing": "SHL", "day": "2026-03-16"},
        headers=elsewhere,
    )
    assert r.status_code == 404


def test_a_weight_mismatch_re_assesses_weight_based_duties_on_the_measured_mass(
    client, auth, lane, container
):
    # A specific duty on the tiles of the declaration: 10 IQD per kg of net mass, besides
    # the ad-valorem rate. Measured 24 t against 21 t declared: the duty follows the mass.
    with container.uow() as uow:
        tariff.import_measures(
            uow=uow,
            actor=None,
            rows=[
                (
                    2,
                    {
                        "code": "690721",
                        "measure_type": "import_duty",
                        "origin": "ALL",
                        "valid_from": "2026-01-01",
                        "valid_to": "",
                        "legal_reference": "Decision 12 of 2026 (test)",
                        "expression": "10.00 IQD / kg",
                    },
                )
            ],
            source="test.csv",
        )
    trader = auth("trader")
    r = client.post("/api/v1/declarations", json=payload(n_items=5, plate=PLATE), headers=trader)
    assert r.status_code == 201, r.text
    lane.arrive(loaded_kg=TARE + DECLARED + 3_000)
    (alarm,) = _alarms(container)
    d = alarm.details
    # 5 x 4,000 kg net declared. Measured: 24,000 kg gross, 4,800 kg a line, net at the same
    # 4,000/4,200 ratio = 4,571.429 kg to the gram, so 45,714.29 IQD a line.
    assert Decimal(d["duty_declared_iqd"]) == Decimal("200000")
    assert Decimal(d["duty_on_measured_iqd"]) == Decimal("228571.45")
    assert Decimal(d["duty_difference_iqd"]) == Decimal("28571.45")
    with container.engine.connect() as conn:
        versions = conn.execute(select(t.declaration_versions.c.number)).all()
    assert len(versions) == 1  # a calculation for the officer: the declaration is not rewritten
