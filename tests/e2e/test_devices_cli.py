"""``manafidh devices register | rotate | revoke | list`` run for real on a SQLite file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy import create_engine, select
from tests.e2e.test_cli import AUDIT_KEY, _one_audit_key, manafidh, ok  # noqa: F401 (fixture)

from manafidh.adapters import device_keys
from manafidh.adapters.db import tables as t


def test_a_device_is_registered_rotated_and_revoked_with_who_when_why(tmp_path, sqlite_template):
    db = tmp_path / "m.db"
    shutil.copyfile(sqlite_template, db)
    key_file = tmp_path / "wb.pem"
    out = ok(
        manafidh(
            "devices",
            "register",
            "SHL-L1-WB",
            "--crossing",
            "SHL",
            "--lane",
            "L1",
            "--kind",
            "weighbridge",
            "--position",
            "entry",
            "--generate-key",
            str(key_file),
            db=db,
            cwd=tmp_path,
        )
    )
    assert "SHL-L1-WB: weighbridge at SHL lane L1 (entry), active" in out
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = device_keys.raw_public(device_keys.load_private(key_file))

    again = manafidh(
        "devices",
        "register",
        "SHL-L1-WB",
        "--crossing",
        "SHL",
        "--lane",
        "L1",
        "--kind",
        "weighbridge",
        "--position",
        "entry",
        "--public-key",
        first.hex(),
        db=db,
        cwd=tmp_path,
    )
    assert again.returncode == 2
    assert "already registered" in again.stderr
    no_key = manafidh(
        "devices",
        "register",
        "X1",
        "--crossing",
        "SHL",
        "--lane",
        "L1",
        "--kind",
        "weighbridge",
        "--position",
        "entry",
        db=db,
        cwd=tmp_path,
    )
    assert no_key.returncode == 2
    assert "exactly one of" in no_key.stderr

    ok(
        manafidh(
            "devices",
            "rotate",
            "SHL-L1-WB",
            "--reason",
            "yearly rotation",
            "--generate-key",
            str(tmp_path / "wb2.pem"),
            db=db,
            cwd=tmp_path,
        )
    )
    ok(manafidh("devices", "revoke", "SHL-L1-WB", "--reason", "seal broken", db=db, cwd=tmp_path))
    listing = ok(manafidh("devices", "list", db=db, cwd=tmp_path))
    assert "SHL-L1-WB" in listing
    assert "revoked" in listing

    engine = create_engine(f"sqlite+pysqlite:///{db}")
    with engine.connect() as conn:
        keys = conn.execute(select(t.device_keys).order_by(t.device_keys.c.valid_from)).all()
        device = conn.execute(select(t.devices)).one()
        actions = [
            r.action
            for r in conn.execute(
                select(t.audit_entries.c.action).where(
                    t.audit_entries.c.subject == "device:SHL-L1-WB"
                )
            )
        ]
    engine.dispose()
    assert bytes(keys[0].public_key) == first
    assert keys[0].valid_to is not None
    assert keys[1].reason == "yearly rotation"
    assert keys[1].valid_to is not None
    assert device.revoke_reason == "seal broken"
    assert device.revoked_by == "cli"
    assert actions == ["device.registered", "device.key_rotated", "device.revoked"]


def test_the_simulator_drives_a_running_server_over_http(tmp_path, sqlite_template):
    db = tmp_path / "m.db"
    shutil.copyfile(sqlite_template, db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANAFIDH_")}
    env |= {
        "MANAFIDH_DATABASE_URL": f"sqlite+pysqlite:///{db}",
        "MANAFIDH_AUDIT_KEY_FILE": str(AUDIT_KEY["path"]),
        "MANAFIDH_FAST_PASSWORD_HASHING": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "manafidh.cli.main", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            time.sleep(0.1)
        out = ok(
            manafidh(
                "devices",
                "simulate",
                "--url",
                f"http://127.0.0.1:{port}",
                "--trucks",
                "10",
                "--seed",
                "5",
                db=db,
                cwd=tmp_path,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["ok"] is True
    assert (report["lost"], report["doubled"]) == (0, 0)
    assert report["alarms"] == {"weight_mismatch": 2, "exit_without_release": 4}
    assert report["sent"]["refused:bad_signature"] == 2
