"""The audit log on SQLite and PostgreSQL: every change has its entry, and tampering is named."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select, update
from tests.factories import content, item

from manafidh.adapters import audit_keys
from manafidh.adapters.db import tables as t
from manafidh.adapters.db.audit import AuditStateTampered, SqlAuditLog
from manafidh.domain.audit import frontier as fr
from manafidh.domain.audit.canonical import canonical_json, instant_text
from manafidh.domain.audit.entry import AuditEntry
from manafidh.domain.audit.findings import Kind
from manafidh.domain.audit.mac import mac_function
from manafidh.domain.audit.tree_head import TreeHead, sth_message
from manafidh.domain.declarations.model import Lane
from manafidh.domain.declarations.states import State
from manafidh.services import audit, clearance, declarations, payments
from manafidh.services.identity import change_user
from manafidh.simulation import traffic
from manafidh.simulation.runner import simulate


# -- helpers ----------------------------------------------------------------------------------
def _verify(container, **kw):
    with container.uow(readonly=True) as uow:
        return audit.verify_log(uow=uow, keys=container.audit_keys, **kw)


def _named(report, kind: Kind) -> list[int | None]:
    return [f.index for f in report.findings if f.kind is kind]


def _checkpoint(container):
    with container.uow() as uow:
        return audit.checkpoint(uow=uow)


def _entries(container, **filters):
    query = {"subject": None, "actor": None, "action": None, "since": None, "until": None}
    query.update(filters)
    with container.uow(readonly=True) as uow:
        return uow.audit.entries(**query, limit=10_000, offset=0)


def _index_of(container, action: str, subject: str | None = None) -> int:
    (entry,) = _entries(container, action=action, subject=subject)
    return entry.index


def _sql(container, *statements):
    with container.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def _submit(container, trader, items=None, plate="IR 12 B 345"):
    with container.uow() as uow:
        return declarations.submit(
            uow=uow,
            actor=trader,
            crossing_code="SHL",
            content=content(items=items, vehicle_plates=[plate]),
            rng=random.Random(1),
        )


def _pay(container, decl, tx):
    with container.uow() as uow:
        order = next(o for o in uow.payments.orders_for(decl.id) if o.state.value == "open")
    with container.uow() as uow:
        payments.confirm_bank_payment(
            uow=uow,
            confirmation=payments.Confirmation(
                tx, order.reference, order.amount_iqd, container.clock.now()
            ),
        )


@pytest.fixture
def cleared(container, make_user, clock):
    """A green declaration lodged, paid, released and let out, and a signed tree head."""
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    decl = _submit(container, trader)
    clock.advance(timedelta(minutes=30))
    _pay(container, decl, "RAFIDAIN-1")
    clock.advance(timedelta(minutes=5))
    with container.uow() as uow:
        clearance.release(uow=uow, actor=officer, declaration_id=decl.id)
    with container.uow() as uow:
        clearance.record_exit(
            uow=uow, actor=officer, crossing_code="SHL", plate="IR 12 B 345", declaration_ref=None
        )
    _checkpoint(container)
    return decl


# -- every change has its entry ---------------------------------------------------------------
def test_an_untouched_log_verifies_with_its_records(cleared, container):
    report = _verify(container)
    assert report.ok, report.findings
    assert report.records >= 8
    assert report.entries == report.tree_size > 10
    actions = [e.action for e in _entries(container, subject=f"declaration:{cleared.id}")]
    assert actions == [
        "declaration.created",
        "declaration.lodge",
        "declaration.assess",
        "declaration.select_lane",
        "payment_order.issued",
        "declaration.settle_payment",
        "declaration.release",
        "declaration.exit",
    ]


def test_every_transition_payment_check_order_alarm_and_user_of_a_simulation_has_its_entry(
    container,
):
    config = traffic.TrafficConfig(scale=0.1, misdeclaration_rate=0.6, sneak_exit_rate=0.3)
    arrivals = traffic.plan(
        seed=20, start=date(2026, 3, 10), days=1, crossings=("SHL", "ZRB"), config=config
    )
    report = simulate(
        container,
        arrivals,
        pools=traffic.make_pools(20, config),
        crossings=("SHL", "ZRB"),
        seed=20,
    )
    assert report.amendments
    assert report.payments
    assert report.exit_alarms
    assert report.findings
    with container.engine.connect() as conn:
        rows = conn.execute(select(t.audit_entries.c.subject, t.audit_entries.c.action)).all()
        logged = Counter((s, a) for s, a in rows)
        transitions = Counter(
            (f"declaration:{d}", f"declaration.{a}")
            for d, a in conn.execute(
                select(
                    t.declaration_transitions.c.declaration_id, t.declaration_transitions.c.action
                )
            )
        )
        tx = conn.execute(select(t.payments.c.bank_transaction_id)).scalars().all()
        checks = Counter(
            f"declaration:{d}" for d in conn.execute(select(t.checks.c.declaration_id)).scalars()
        )
        orders = conn.execute(select(t.payment_orders.c.declaration_id)).scalars().all()
        alarms = conn.execute(select(t.alarms.c.id)).scalars().all()
        users = conn.execute(select(t.users.c.id)).scalars().all()
        decls = conn.execute(select(t.declarations.c.id)).scalars().all()
    for key, n in transitions.items():
        assert logged[key] == n, key
    assert all(logged[(f"payment:{x}", "payment.received")] == 1 for x in tx)
    for subject, n in checks.items():
        assert logged[(subject, "declaration.complete_checks")] == n
    issued = Counter(f"declaration:{d}" for d in orders)
    assert all(logged[(s, "payment_order.issued")] == n for s, n in issued.items())
    assert all(logged[(f"alarm:{a}", "alarm.raised")] == 1 for a in alarms)
    assert all(logged[(f"user:{u}", "user.created")] == 1 for u in users)
    assert all(logged[(f"declaration:{d}", "declaration.created")] == 1 for d in decls)
    verified = _verify(container)
    assert verified.ok, verified.findings[:5]


USE_CASES = ["submit", "bank payment", "release", "create user"]


@pytest.mark.parametrize("use_case", USE_CASES)
def test_no_change_without_its_entry_a_failing_append_rolls_the_change_back(
    container, make_user, monkeypatch, use_case
):
    trader = make_user("trader")
    officer = make_user("officer", crossings=["SHL"])
    decl = _submit(container, trader)
    if use_case == "release":
        _pay(container, decl, "TX-OK")
    before = _snapshot(container)

    def broken(self, **_):
        raise RuntimeError("the audit log cannot be written")

    def release() -> None:
        with container.uow() as uow:
            clearance.release(uow=uow, actor=officer, declaration_id=decl.id)

    act = {
        "submit": lambda: _submit(container, trader, plate="IR 99 Z 999"),
        "bank payment": lambda: _pay(container, decl, "TX-FAIL"),
        "release": release,
        "create user": lambda: make_user("inspector", crossings=["SHL"]),
    }[use_case]
    monkeypatch.setattr(SqlAuditLog, "append", broken)
    with pytest.raises(RuntimeError, match="audit log"):
        act()
    assert _snapshot(container) == before


def test_no_change_without_its_entry_a_failing_log_write_rolls_both_back(
    container, make_user, monkeypatch
):
    trader = make_user("trader")
    before = _snapshot(container)
    flush = SqlAuditLog.flush

    def flush_then_fail(self):
        flush(self)  # the entries are written ... then the transaction fails before COMMIT
        raise RuntimeError("disk full")

    monkeypatch.setattr(SqlAuditLog, "flush", flush_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        _submit(container, trader)
    assert _snapshot(container) == before


def _snapshot(container):
    tables = (t.declarations, t.declaration_transitions, t.payments, t.users, t.audit_entries)
    with container.engine.connect() as conn:
        return {
            tbl.name: sorted(map(tuple, conn.execute(select(tbl)).all()), key=repr)
            for tbl in tables
        } | {"state": conn.execute(select(t.audit_state)).all()}


def test_a_tree_head_is_signed_every_n_entries_while_appending(container, make_user):
    container.uow_factory.audit = type(container.uow_factory.audit)(
        container.audit_keys, checkpoint_every=5, checkpoint_minutes=0
    )
    trader = make_user("trader")
    for n in range(3):
        _submit(container, trader, plate=f"IR {n} A 100")
    with container.uow(readonly=True) as uow:
        heads = uow.audit.tree_heads()
        size = uow.audit.state().size
    assert size > 15
    assert all(b.tree_size - a.tree_size >= 5 for a, b in itertools.pairwise(heads[1:]))
    assert heads[-1].tree_size > size - 5
    assert _verify(container).ok


def test_indices_stay_gap_free_when_many_transactions_append_at_once(container, make_user):
    from concurrent.futures import ThreadPoolExecutor

    users = [make_user("trader") for _ in range(4)]

    def lodge(n: int) -> None:
        _submit(container, users[n % 4], plate=f"IR {n} C 300")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lodge, range(12)))
    with container.engine.connect() as conn:
        indices = conn.execute(select(t.audit_entries.c.idx).order_by(t.audit_entries.c.idx))
        indices = list(indices.scalars())
    assert indices == list(range(len(indices)))
    assert _verify(container).ok


# -- tampering with the log -------------------------------------------------------------------
def test_it_names_an_entry_whose_content_was_changed(cleared, container):
    i = _index_of(container, "payment.received")
    e = t.audit_entries.c
    with container.engine.connect() as conn:
        payload = conn.execute(select(e.payload).where(e.idx == i)).scalar_one()
    _sql(
        container,
        update(t.audit_entries)
        .where(e.idx == i)
        .values(payload=payload.replace('"channel":"bank_transfer"', '"channel":"cash"')),
    )
    report = _verify(container)
    assert _named(report, Kind.ALTERED) == [i]
    assert Kind.TREE_HEAD in {f.kind for f in report.findings}  # and the signed root no longer fits
    assert report.summary().startswith("audit log FAILED")


def test_it_names_a_deleted_entry(cleared, container):
    i = _index_of(container, "declaration.release")
    _sql(container, delete(t.audit_entries).where(t.audit_entries.c.idx == i))
    report = _verify(container)
    assert _named(report, Kind.DELETED) == [i]
    assert _named(report, Kind.ALTERED) == []


def test_it_names_two_entries_that_swapped_places(cleared, container):
    a = _index_of(container, "declaration.release")
    b = _index_of(container, "declaration.exit")
    e = t.audit_entries.c
    cols = [c for c in t.audit_entries.columns if c.name != "idx"]
    with container.engine.connect() as conn:
        ra = conn.execute(select(*cols).where(e.idx == a)).one()._asdict()
        rb = conn.execute(select(*cols).where(e.idx == b)).one()._asdict()
    _sql(
        container,
        update(t.audit_entries).where(e.idx == a).values(rb),
        update(t.audit_entries).where(e.idx == b).values(ra),
    )
    report = _verify(container)
    assert sorted(_named(report, Kind.REORDERED)) == [a, b]
    assert _named(report, Kind.ALTERED) == []


def test_it_names_a_forged_entry_appended_after_the_log(cleared, container):
    with container.uow(readonly=True) as uow:
        size = uow.audit.state().size
    _sql(container, insert(t.audit_entries).values(_forged_row(size, b"attacker" * 4)))
    report = _verify(container)
    assert _named(report, Kind.INSERTED) == [size]
    assert [f.kind for f in report.findings if f.kind is Kind.STATE] == [Kind.STATE]


def _forged_row(idx: int, key: bytes, payload: str = '{"note":"forged"}') -> dict[str, object]:
    entry = AuditEntry(
        idx, "2026-03-15T07:00:00.000000Z", "mallory", "admin", "SHL", "declaration.release",
        "declaration:x", payload,
    )  # fmt: skip
    leaf = entry.leaf()
    values = {k: v for k, v in vars(entry).items() if k != "index"}
    return {"idx": idx, **values, "leaf": leaf, "mac": mac_function(key)(leaf)}


def _attacker_fixes_state(container) -> None:
    """What an insider without the key can do: recompute the size and frontier from the rows."""
    e = t.audit_entries.c
    with container.engine.connect() as conn:
        leaves = conn.execute(select(e.leaf).order_by(e.idx)).scalars().all()
    front: list[bytes] = []
    fr.extend(front, 0, [bytes(x) for x in leaves])
    _sql(
        container,
        update(t.audit_state).values(size=len(leaves), frontier=fr.pack(front)),
    )


def test_it_detects_a_cut_tail_through_the_signed_tree_head(cleared, container):
    with container.uow(readonly=True) as uow:
        signed = uow.audit.state().size
    cut = signed - 3
    _sql(container, delete(t.audit_entries).where(t.audit_entries.c.idx >= cut))
    _attacker_fixes_state(container)
    report = _verify(container)
    assert _named(report, Kind.TRUNCATED) == [cut]
    assert any(f"entries {cut} to {signed - 1} were cut" in f.message for f in report.findings)


def test_a_witness_copy_of_the_tree_heads_catches_a_rollback_the_database_cannot_see(
    cleared, container, make_user
):
    with container.engine.connect() as conn:
        backup = conn.execute(select(t.audit_state)).one()._asdict()  # an old backup's state row
    cut = backup["size"]
    _submit(container, make_user("trader"), plate="IR 77 F 777")
    _checkpoint(container)
    with container.uow(readonly=True) as uow:
        witness = audit.export_heads(uow=uow, keys=container.audit_keys)  # sent to a witness
    _sql(
        container,
        delete(t.audit_entries).where(t.audit_entries.c.idx >= cut),
        delete(t.audit_tree_heads).where(t.audit_tree_heads.c.tree_size > cut),
        update(t.audit_state).values(backup),
    )
    # The log alone cannot tell a consistent rollback (the business tables would, unless they
    # were rolled back too: here the new declaration has lost its entries) ...
    assert _verify(container, records=False).ok
    assert Kind.RECORD in {f.kind for f in _verify(container).findings}
    heads = [TreeHead.from_json(h) for h in witness["tree_heads"]]
    report = _verify(container, witness_heads=heads, records=False)  # ... a witness's copy does
    assert _named(report, Kind.TRUNCATED) == [cut]
    assert any("not in the database" in f.message for f in report.findings)


def test_an_insider_cannot_recompute_the_state_row_without_the_key(cleared, container):
    _sql(container, delete(t.audit_entries).where(t.audit_entries.c.idx >= 5))
    _attacker_fixes_state(container)
    report = _verify(container, records=False)
    assert any("fails its MAC" in f.message for f in report.findings if f.kind is Kind.STATE)
    with pytest.raises(AuditStateTampered):  # and nothing more is appended on top of it
        _checkpoint(container)


def test_it_names_tail_entries_rewritten_and_re_signed_with_another_key(cleared, container):
    with container.uow(readonly=True) as uow:
        size = uow.audit.state().size
    mallory = audit_keys.generate()
    rewritten = [size - 3, size - 2, size - 1]
    for i in rewritten:
        row = _forged_row(i, mallory.mac_key, payload=canonical_json({"rewritten": i}))
        _sql(container, update(t.audit_entries).where(t.audit_entries.c.idx == i).values(row))
    _attacker_fixes_state(container)
    with container.uow(readonly=True) as uow:
        root = uow.audit.state().root()
    stamp = instant_text(container.clock.now())
    _sql(
        container,
        insert(t.audit_tree_heads).values(
            tree_size=size,
            root_hash=root,
            timestamp=stamp,
            signature=mallory.sign(sth_message(size, root, stamp)),
            key_id=mallory.key_id,
        ),
    )
    report = _verify(container)
    assert _named(report, Kind.ALTERED) == rewritten
    messages = [f.message for f in report.findings if f.kind is Kind.TREE_HEAD]
    assert any(f"names key {mallory.key_id[:16]}" in m for m in messages)


def test_a_key_that_never_wrote_the_log_is_named_as_the_wrong_key(cleared, container):
    with container.uow(readonly=True) as uow:
        report = audit.verify_log(uow=uow, keys=audit_keys.generate(), records=False)
    assert Kind.KEY in {f.kind for f in report.findings}


# -- records against their entries ------------------------------------------------------------
def test_it_names_a_payment_whose_amount_was_changed_in_the_payments_table(cleared, container):
    i = _index_of(container, "payment.received")
    _sql(
        container,
        update(t.payments)
        .where(t.payments.c.bank_transaction_id == "RAFIDAIN-1")
        .values(amount_iqd=t.payments.c.amount_iqd - Decimal(500)),  # 500 IQD less
    )
    report = _verify(container)
    assert [(f.kind, f.index, f.record) for f in report.findings] == [
        (Kind.RECORD, i, "payments[RAFIDAIN-1]")
    ]
    assert "amount_iqd is 673495 in the record but 673995 in entry" in report.findings[0].message


def test_it_names_a_declaration_whose_weight_was_reduced_in_its_items(cleared, container):
    i = _index_of(container, "declaration.created", subject=f"declaration:{cleared.id}")
    v = t.declaration_versions.c
    with container.engine.connect() as conn:
        version_id = conn.execute(select(v.id).where(v.declaration_id == cleared.id)).scalar_one()
    _sql(
        container,
        update(t.declaration_items)
        .where(t.declaration_items.c.version_id == version_id)
        .values(net_mass_kg=Decimal("20000"), gross_mass_kg=Decimal("20200")),
    )
    report = _verify(container)
    found = [(f.kind, f.index, f.record) for f in report.findings]
    name = f"declaration_versions[{cleared.reference} v1]"
    assert found == [(Kind.RECORD, i, name)] * 2
    assert "content.items[0].net_mass_kg is 20000 in the record but 30000" in (
        report.findings[1].message + report.findings[0].message
    )


def test_it_names_a_declaration_whose_lane_was_changed(container, make_user):
    trader = make_user("trader")
    tobacco = [item(1, hs_code="240220", description="Cigarettes", unit="NAR")]
    decl = _submit(container, trader, items=tobacco)
    assert decl.lane is Lane.RED
    i = _index_of(container, "declaration.select_lane", subject=f"declaration:{decl.id}")
    _sql(
        container,
        update(t.declarations).where(t.declarations.c.id == decl.id).values(lane="green"),
        update(t.lane_decisions)
        .where(t.lane_decisions.c.declaration_id == decl.id)
        .values(lane="green"),
    )
    report = _verify(container)
    found = sorted((f.record or "", f.index) for f in report.findings)
    assert found == [
        (f"declarations[{decl.reference}]", i),
        (f"lane_decisions[{decl.reference}]", i),
    ]
    assert all("lane is green in the record but red" in f.message for f in report.findings)


def test_it_names_a_state_written_around_the_log(cleared, container, make_user):
    trader = make_user("trader")
    decl = _submit(container, trader, plate="IR 55 E 555")
    assert decl.state is State.LANE_SELECTED
    _sql(
        container,
        update(t.declarations).where(t.declarations.c.id == decl.id).values(state="released"),
    )
    report = _verify(container)
    assert [(f.kind, f.record) for f in report.findings] == [
        (Kind.RECORD, f"declarations[{decl.reference}]")
    ]
    assert "to is released in the record but lane_selected" in report.findings[0].message


def test_checking_the_log_in_parallel_processes_finds_the_same(cleared, container, monkeypatch):
    from manafidh.domain.audit import verify

    monkeypatch.setattr(verify, "CHUNK_SIZE", 4)  # several chunks, inherited by the workers
    assert _verify(container, workers=2).ok
    i = _index_of(container, "declaration.release")
    _sql(container, delete(t.audit_entries).where(t.audit_entries.c.idx == i))
    alone, parallel = _verify(container, workers=1), _verify(container, workers=2)
    assert parallel.findings == alone.findings
    assert _named(parallel, Kind.DELETED) == [i]


def test_another_key_file_cannot_append_and_says_why(container, make_user):
    from manafidh.bootstrap import bootstrap

    elsewhere = bootstrap(container.settings, keys=audit_keys.generate(), engine=container.engine)
    trader = make_user("trader")
    with pytest.raises(AuditStateTampered, match="not the key that wrote this log"):
        _submit(elsewhere, trader)
    assert _verify(container).ok


def test_it_names_a_role_granted_in_the_users_table_and_accepts_one_granted_through_the_log(
    container, make_user
):
    officer = make_user("officer", crossings=["SHL"])
    insider = make_user("inspector", crossings=["SHL"])
    with container.uow() as uow:
        change_user(
            uow=uow,
            actor=None,
            username=officer.username,
            reason="posted to Zurbatiyah from 1 April (order 17/2026)",
            crossings=["ZRB"],
        )
    i = _index_of(container, "user.changed", subject=f"user:{officer.id}")
    assert _verify(container).ok  # a change made through the service is its own record
    _sql(
        container,
        update(t.users).where(t.users.c.id == insider.id).values(role="supervisor"),
        update(t.users).where(t.users.c.id == officer.id).values(crossings=["ZRB", "SHL"]),
    )
    report = _verify(container)
    found = sorted((f.record or "", f.index or 0, f.message) for f in report.findings)
    assert [(r, n) for r, n, _ in found] == [
        (f"users[{insider.username}]", _index_of(container, "user.created", f"user:{insider.id}")),
        (f"users[{officer.username}]", i),
    ]
    assert "role is supervisor in the record but inspector" in found[0][2]
    assert "crossings" in found[1][2]
