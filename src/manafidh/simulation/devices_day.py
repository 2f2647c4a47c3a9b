"""A day of traffic as the lane's devices see it, sent to a running server over HTTP.

Trucks arrive (entry camera, entry weighbridge), are cleared (trader, bank, officer,
inspector), and leave (exit decision, exit camera, barrier). Faults and attacks are seeded:
the entry weighbridge goes offline and resends its buffer in one shuffled burst; events are
sent twice; a camera's clock jumps ahead and is refused until it resyncs; an attacker forges a
weighing and replays a plate read; some trucks carry more than declared; some drive out
without release. The report compares what the server stored and raised with what was sent.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from manafidh.adapters import bank, device_keys

LANE_DEVICES = (
    ("IN-CAM", "anpr_camera", "entry"),
    ("IN-WB", "weighbridge", "entry"),
    ("OUT-CAM", "anpr_camera", "exit"),
    ("OUT-GATE", "gate_barrier", "exit"),
)
TILE_KG = 4200  # gross mass of one declared item (a pallet lot of ceramic tiles)


class SimulationError(RuntimeError):
    """The server answered something the simulation did not expect."""


@dataclass
class SimDevice:
    """A device of the simulated lane: its key, next sequence number and clock error."""

    id: str
    key: Ed25519PrivateKey
    seq: int = 0
    skew: timedelta = timedelta()
    offline: bool = False
    buffer: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Truck:
    """One truck of the day and what the simulation made of it."""

    plate: str
    items: int
    tare_kg: int
    extra_kg: int = 0  # carried on top of the declared mass (an understated declaration)
    sneaks: bool = False  # drives out without release
    reference: str | None = None


@dataclass
class DayReport:
    """What was sent, what the server answered, stored and raised, and what was expected."""

    sent: Counter[str] = field(default_factory=Counter)  # accepted, duplicate, refused:<code>
    genuine: dict[str, int] = field(default_factory=dict)  # device -> events it generated
    stored: dict[str, list[int]] = field(default_factory=dict)  # device -> stored sequences
    alarms: Counter[str] = field(default_factory=Counter)
    expected_alarms: Counter[str] = field(default_factory=Counter)
    exited: int = 0
    expected_exits: int = 0
    bursts: list[int] = field(default_factory=list)  # events per offline burst

    @property
    def lost(self) -> int:
        """Genuine events the server does not have."""
        return sum(
            len(set(range(1, n + 1)) - set(self.stored.get(d, []))) for d, n in self.genuine.items()
        )

    @property
    def doubled(self) -> int:
        """Events stored more than once, or stored though never genuinely sent."""
        extra = 0
        for d, seqs in self.stored.items():
            extra += len(seqs) - len(set(seqs))
            extra += len(set(seqs) - set(range(1, self.genuine.get(d, 0) + 1)))
        return extra

    @property
    def ok(self) -> bool:
        """No event lost or doubled, exactly the expected alarms, every cleared truck out."""
        return (
            self.lost == 0
            and self.doubled == 0
            and self.alarms == self.expected_alarms
            and self.exited == self.expected_exits
        )

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON."""
        return {
            "sent": dict(self.sent),
            "genuine_events": self.genuine,
            "stored_events": {d: len(s) for d, s in self.stored.items()},
            "lost": self.lost,
            "doubled": self.doubled,
            "alarms": dict(self.alarms),
            "expected_alarms": dict(self.expected_alarms),
            "exited": self.exited,
            "expected_exits": self.expected_exits,
            "bursts": self.bursts,
            "ok": self.ok,
        }


class DeviceDay:
    """Drives one lane of one crossing through the HTTP API."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        crossing: str,
        lane: str,
        devices: dict[str, Ed25519PrivateKey],
        tokens: dict[str, str],
        bank_secret: str,
        now: Callable[[], datetime],
        advance: Callable[[timedelta], None],
        rng: random.Random,
        tag: str,
    ) -> None:
        self.http = http
        self.crossing, self.lane = crossing, lane
        self.devices = {name: SimDevice(did, key) for name, (did, key) in _named(devices).items()}
        self.tokens = tokens
        self.bank_secret = bank_secret
        self.now, self.advance = now, advance
        self.rng = rng
        self.tag = tag
        self.report = DayReport()
        self.sent_events: list[dict[str, Any]] = []

    # -- devices ------------------------------------------------------------------------------
    def _event(self, name: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        d = self.devices[name]
        d.seq += 1
        self.report.genuine[d.id] = d.seq
        return self._signed(d, d.seq, kind, payload, d.skew)

    def _signed(
        self, d: SimDevice, seq: int, kind: str, payload: dict[str, Any], skew: timedelta
    ) -> dict[str, Any]:
        at = (self.now() + skew).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return device_keys.signed_event(
            d.key, device_id=d.id, sequence=seq, device_time=at, kind=kind, payload=payload
        )

    def emit(self, name: str, kind: str, payload: dict[str, Any]) -> None:
        """A device records an event: sent now, or buffered while the device is offline."""
        event = self._event(name, kind, payload)
        d = self.devices[name]
        if d.offline:
            d.buffer.append(event)
            return
        self._send(event, expect="accepted")

    def _send(self, event: dict[str, Any], *, expect: str) -> str:
        r = self.http.post("/api/v1/devices/events", json=event)
        status = {201: "accepted", 200: "duplicate"}.get(r.status_code)
        outcome = status or f"refused:{r.json()['error']['code']}"
        self.report.sent[outcome] += 1
        if outcome != expect:
            raise SimulationError(f"event {event['device_id']}:{event['sequence']}: {r.text}")
        if status == "accepted":
            self.sent_events.append(event)
        return outcome

    def reconnect(self, name: str) -> None:
        """The device comes back and resends its buffer in one shuffled burst."""
        d = self.devices[name]
        d.offline = False
        burst, d.buffer = d.buffer, []
        self.rng.shuffle(burst)  # out-of-order delivery
        if not burst:
            return
        self.report.bursts.append(len(burst))
        r = self.http.post("/api/v1/devices/events/batch", json={"events": burst})
        if r.status_code != 200:
            raise SimulationError(f"burst refused: {r.text}")
        for result, event in zip(r.json()["results"], burst, strict=True):
            self.report.sent[result["status"]] += 1
            if result["status"] != "accepted":
                raise SimulationError(f"burst event refused: {result}")
            self.sent_events.append(event)

    # -- people -------------------------------------------------------------------------------
    def _api(self, role: str, method: str, url: str, **kw: Any) -> Any:
        r = self.http.request(
            method, url, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw
        )
        if r.status_code >= 400:
            raise SimulationError(f"{method} {url} as {role}: {r.status_code} {r.text}")
        return r.json()

    def lodge(self, truck: Truck) -> dict[str, Any]:
        """The trader declares the truck's goods (five-item limit, 4.2 t per item)."""
        items = [
            {
                "hs_code": "690721",
                "description": f"Glazed ceramic floor tiles, lot {n}",
                "origin_country": "IR",
                "quantity": "1200",
                "unit": "MTK",
                "net_mass_kg": "4000",
                "gross_mass_kg": str(TILE_KG),
                "invoice_value": "3100.50",
            }
            for n in range(1, truck.items + 1)
        ]
        body = {
            "crossing_code": self.crossing,
            "regime": "import",
            "importer_name": "Al-Rafidain Building Materials Co.",
            "importer_tax_id": "IQ-100200300",
            "vehicle_plates": [truck.plate],
            "driver_name": "Hossein Karimi",
            "driver_document": "P12345678",
            "dispatch_country": "IR",
            "origin_country": "IR",
            "invoice_currency": "USD",
            "freight": "200.00",
            "insurance": "15.00",
            "items": items,
        }
        decl: dict[str, Any] = self._api("trader", "POST", "/api/v1/declarations", json=body)
        truck.reference = decl["reference"]
        return decl

    def clear(self, truck: Truck, lane: str) -> None:
        """Pay, do the lane's checks and release."""
        ref = truck.reference
        if lane == "yellow":
            self._api(
                "officer",
                "POST",
                f"/api/v1/declarations/{ref}/document-check",
                json={"found": False},
            )
        elif lane == "red":
            self._api(
                "inspector",
                "POST",
                f"/api/v1/declarations/{ref}/inspection",
                json={"found": False, "notes": "seals intact, goods as declared"},
            )
        orders = self._api("trader", "GET", f"/api/v1/declarations/{ref}/payment-orders")
        for order in orders:
            if order["state"] != "open":
                continue
            raw = json.dumps(
                {
                    "bank_transaction_id": f"SIM-{ref}-{order['reference']}",
                    "payment_reference": order["reference"],
                    "amount": order["amount_iqd"],
                    "paid_at": self.now().isoformat(),
                }
            ).encode()
            r = self.http.post(
                "/api/v1/bank/confirmations",
                content=raw,
                headers={
                    "Content-Type": "application/json",
                    bank.SIGNATURE_HEADER: bank.sign(self.bank_secret, raw),
                },
            )
            if r.status_code != 200:
                raise SimulationError(f"bank confirmation: {r.text}")
        self._api("officer", "POST", f"/api/v1/declarations/{ref}/release")

    # -- the day ------------------------------------------------------------------------------
    def plate_read(self, name: str, plate: str) -> None:
        """A camera reads a plate."""
        self.emit(
            name,
            "plate_read",
            {
                "plate": plate,
                "confidence_permille": self.rng.randint(900, 999),
                "image_sha256": self.rng.randbytes(32).hex(),
            },
        )

    def run(self, trucks: int, *, understated: int = 2, sneaks: int = 2) -> DayReport:
        """Simulate ``trucks`` trucks with the seeded faults and attacks; return the report."""
        fleet = [
            Truck(
                plate=f"{self.tag} {n:04d}",
                items=self.rng.randint(2, 5),
                tare_kg=self.rng.randint(13_000, 17_000),
            )
            for n in range(trucks)
        ]
        picks = self.rng.sample(range(trucks), min(trucks, understated + sneaks))
        for n in picks[:understated]:
            fleet[n].extra_kg = self.rng.randint(2_000, 6_000)
        for n in picks[understated:]:
            fleet[n].sneaks = True
        # The entry weighbridge is offline for a run of ordinary trucks a third into the day.
        ordinary = [n for n in range(trucks) if n not in picks]
        first = len(ordinary) // 3
        offline = set(ordinary[first : first + max(2, trucks // 5)])

        lanes: dict[str, str] = {}
        for n, truck in enumerate(fleet):
            self.advance(timedelta(minutes=3))
            lanes[truck.plate] = self.lodge(truck)["lane"]
            self._api(
                "supervisor",
                "POST",
                f"/api/v1/vehicles/{truck.plate}/tare",
                json={"kg": truck.tare_kg, "reason": "tare certificate"},
            )
            self.devices["IN-WB"].offline = n in offline
            self.plate_read("IN-CAM", truck.plate)
            loaded = truck.tare_kg + truck.items * TILE_KG + truck.extra_kg
            loaded += self.rng.randint(-60, 60)  # the scale's noise, well inside tolerance
            if truck.extra_kg and n == picks[0]:
                self._forge(truck, loaded)
            self.emit("IN-WB", "weighing", {"plate": truck.plate, "gross_kg": loaded})
            if self.devices["IN-WB"].offline and (n + 1) not in offline:
                self.reconnect("IN-WB")
        self.reconnect("IN-WB")
        self._duplicates()

        for truck in fleet:
            self.advance(timedelta(minutes=2))
            if truck.extra_kg:
                self.report.expected_alarms["weight_mismatch"] += 1
                continue  # held: it stays
            if truck.sneaks:
                self.report.expected_alarms["exit_without_release"] += 2
                self.emit("OUT-GATE", "gate", {"action": "vehicle_passed"})
                self.plate_read("OUT-CAM", truck.plate)
                continue
            self.clear(truck, lanes[truck.plate])
            q = {"crossing": self.crossing, "lane": self.lane, "plate": truck.plate}
            decision = self._api("officer", "POST", "/api/v1/gate/decisions", json=q)
            if decision["decision"] != "open":
                raise SimulationError(f"{truck.plate} denied: {decision['reason']}")
            if truck is fleet[-1]:
                self._skewed_plate_read(truck.plate)
            else:
                self.plate_read("OUT-CAM", truck.plate)
            self.emit("OUT-GATE", "gate", {"action": "vehicle_passed", "plate": truck.plate})
            self.report.expected_exits += 1
        self._replay()
        self._collect(fleet)
        return self.report

    # -- faults and attacks -------------------------------------------------------------------
    def _forge(self, truck: Truck, loaded: int) -> None:
        """An attacker sends a lighter weighing under the weighbridge's name: refused."""
        d = self.devices["IN-WB"]
        fake = SimDevice(d.id, Ed25519PrivateKey.generate())
        body = {"plate": truck.plate, "gross_kg": loaded - truck.extra_kg}
        self._send(
            self._signed(fake, d.seq + 1, "weighing", body, timedelta()),
            expect="refused:bad_signature",
        )

    def _duplicates(self) -> None:
        """A few events are delivered twice (a lost acknowledgement): stored once."""
        for event in self.rng.sample(self.sent_events, min(3, len(self.sent_events))):
            self._send(event, expect="duplicate")

    def _skewed_plate_read(self, plate: str) -> None:
        """The exit camera's clock jumps ten minutes ahead: refused; it resyncs and resends."""
        d = self.devices["OUT-CAM"]
        payload = {"plate": plate, "confidence_permille": 955, "image_sha256": "5a" * 32}
        seq = d.seq + 1
        self._send(
            self._signed(d, seq, "plate_read", payload, timedelta(minutes=10)),
            expect="refused:timestamp_out_of_range",
        )
        d.seq = seq
        self.report.genuine[d.id] = seq
        self._send(self._signed(d, seq, "plate_read", payload, timedelta()), expect="accepted")

    def _replay(self) -> None:
        """An old entry plate read replayed exactly (stored once), then altered (refused)."""
        old = next(e for e in self.sent_events if e["device_id"] == self.devices["IN-CAM"].id)
        self._send(old, expect="duplicate")
        altered = {**old, "payload": {**old["payload"], "plate": f"{self.tag} 9999"}}
        self._send(altered, expect="refused:bad_signature")

    def _collect(self, fleet: list[Truck]) -> None:
        """Read back what the server stored and raised."""
        for d in self.devices.values():
            events = self._api(
                "supervisor",
                "GET",
                "/api/v1/devices/events",
                params={"device_id": d.id, "limit": 1000},
            )
            self.report.stored[d.id] = [e["sequence"] for e in events]
        plates = {t.plate.replace(" ", "") for t in fleet}
        for a in self._api("supervisor", "GET", "/api/v1/alarms"):
            if a["subject"] in plates or a["subject"] == self.lane:
                self.report.alarms[a["kind"]] += 1
        for t in fleet:
            d = self._api("supervisor", "GET", f"/api/v1/declarations/{t.reference}")
            self.report.exited += d["state"] == "exited"


def _named(devices: dict[str, Ed25519PrivateKey]) -> dict[str, tuple[str, Ed25519PrivateKey]]:
    """Map the lane roles (IN-CAM, ...) to (device id, key); ids end with the role."""
    out = {}
    for role, _kind, _position in LANE_DEVICES:
        (device_id,) = [d for d in devices if d.endswith(role)]
        out[role] = (device_id, devices[device_id])
    return out
