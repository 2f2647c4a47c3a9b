"""A simulated day of one lane's devices, over the HTTP API, with faults and attacks."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from manafidh.adapters import device_keys
from manafidh.domain.devices.registry import DeviceKind, Position
from manafidh.services import devices
from manafidh.simulation.devices_day import LANE_DEVICES, DeviceDay


@pytest.fixture
def day(client, container, clock, auth):
    keys = {}
    for role, kind, position in LANE_DEVICES:
        key = Ed25519PrivateKey.generate()
        with container.uow() as uow:
            devices.register_device(
                uow=uow,
                actor=None,
                device_id=f"SIM-L9-{role}",
                crossing_code="SHL",
                lane="L9",
                kind=DeviceKind(kind),
                position=Position(position),
                public_key=device_keys.raw_public(key),
                reason="simulation",
            )
        keys[f"SIM-L9-{role}"] = key
    tokens = {
        role: auth(role, crossings=None if role == "trader" else ["SHL"])["Authorization"][7:]
        for role in ("trader", "officer", "inspector", "supervisor")
    }
    return DeviceDay(
        client,
        crossing="SHL",
        lane="L9",
        devices=keys,
        tokens=tokens,
        bank_secret=container.settings.bank_hmac_secret,
        now=clock.now,
        advance=clock.advance,
        rng=random.Random(11),
        tag="SIM",
    )


def test_a_day_with_faults_loses_no_event_counts_none_twice_and_raises_the_expected_alarms(day):
    report = day.run(12, understated=2, sneaks=2)
    assert report.lost == 0
    assert report.doubled == 0
    assert report.alarms == {"weight_mismatch": 2, "exit_without_release": 4}
    assert report.alarms == report.expected_alarms
    assert report.exited == report.expected_exits == 8
    # The faults and attacks really happened, and each was answered as it should be.
    assert sum(report.bursts) == 2  # the weighbridge was offline for two trucks, then resent
    assert report.sent["duplicate"] == 4  # three resends and one exact replay
    assert report.sent["refused:bad_signature"] == 2  # the forged weighing, the altered replay
    assert report.sent["refused:timestamp_out_of_range"] == 1
    assert sum(len(s) for s in report.stored.values()) == sum(report.genuine.values())
    assert report.ok
