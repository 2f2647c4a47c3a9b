"""Use cases of the audit log: checkpoints, verification, proofs, and reading entries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from manafidh.domain.audit.canonical import decimal_text
from manafidh.domain.audit.entry import AuditEntry
from manafidh.domain.audit.findings import Finding, Kind, VerifyReport
from manafidh.domain.audit.mac import state_mac
from manafidh.domain.audit.merkle import (
    consistency_path,
    inclusion_path,
    verify_consistency,
    verify_inclusion,
)
from manafidh.domain.audit.payloads import (
    access_payload,
    assessment_payload,
    check_payload,
    content_payload,
    lane_payload,
    payment_payload,
)
from manafidh.domain.audit.records import EntryIndex, RecordView, compare
from manafidh.domain.audit.tree_head import LogState, TreeHead
from manafidh.domain.audit.verify import LogScan, classify
from manafidh.domain.declarations.states import Action
from manafidh.domain.errors import Conflict, NotFound, ValidationFailed
from manafidh.domain.identity import Permission, User
from manafidh.services.journal import declaration_subject
from manafidh.services.ports import AuditKeys, UnitOfWork

PROOF_FORMAT = "manafidh-audit-proof-v1"
CONSISTENCY_FORMAT = "manafidh-audit-consistency-v1"
HEADS_FORMAT = "manafidh-tree-heads-v1"
# Entries whose payloads fix the values of business records.
RECORD_ACTIONS = (
    "declaration.created",
    *(f"declaration.{a.value}" for a in Action),
    "payment_order.issued",
    "payment.received",
    "user.created",
    "user.changed",
)


def require_auditor(actor: User) -> None:
    """Only auditors and administrators read the audit log."""
    actor.require(Permission.READ_AUDIT)


def checkpoint(*, uow: UnitOfWork) -> TreeHead:
    """Sign a tree head for the log as it stands now."""
    head = uow.audit.checkpoint()
    uow.commit()
    return head


# -- verification -----------------------------------------------------------------------------
def verify_log(
    *,
    uow: UnitOfWork,
    keys: AuditKeys,
    witness_heads: Sequence[TreeHead] = (),
    records: bool = True,
    workers: int = 1,
) -> VerifyReport:
    """Recompute the log from the database; check tree heads, the state row and the records.

    Every leaf is recomputed from its row. A signed root that matches the recomputed one vouches
    for every leaf under it, so MACs are checked only after the latest signed tree head; when a
    root does not match (or an index is missing), the log is read again with every MAC checked,
    to name the entries concerned.
    """
    started = time.perf_counter()
    stored = uow.audit.tree_heads()
    heads = list(dict.fromkeys([*stored, *witness_heads]))
    signed = [h for h in heads if h.key_id == keys.key_id and keys.verify(h.signature, h.message())]
    state = uow.audit.state()
    sizes = sorted({h.tree_size for h in heads} | {state.size})
    mac_from = max((h.tree_size for h in signed), default=0)
    scan = uow.audit.scan(mac_key=keys.mac_key, sizes=sizes, workers=workers, mac_from=mac_from)
    vouched = scan.next_index >= mac_from and not scan.gaps
    if mac_from and not (
        vouched and all(scan.roots.get(h.tree_size) == h.root_hash for h in signed)
    ):
        scan = uow.audit.scan(mac_key=keys.mac_key, sizes=sizes, workers=workers, mac_from=0)
    latest = max(heads, key=lambda h: h.tree_size, default=None)
    claimed, source = state.size, "the log state row"
    if latest is not None and latest.tree_size >= claimed:
        claimed, source = latest.tree_size, f"the signed tree head of {latest.timestamp}"
    findings = classify(scan, mac_key=keys.mac_key, tree_size=claimed, source=source)
    findings += _check_heads(heads, set(stored), scan, keys)
    findings += _check_state(state, scan, keys)
    report = VerifyReport(entries=scan.entries, tree_size=claimed, tree_heads=len(heads))
    if records:
        report.records, found = check_records(uow)
        findings += found
    report.findings = findings
    report.seconds = time.perf_counter() - started
    return report


def _check_heads(
    heads: Iterable[TreeHead], stored: set[TreeHead], scan: LogScan, keys: AuditKeys
) -> list[Finding]:
    out: list[Finding] = []
    for h in heads:
        name = f"the tree head of size {h.tree_size} signed {h.timestamp}"
        if h not in stored:
            out.append(Finding(Kind.TREE_HEAD, f"{name} (a witness's copy) is not in the database"))
        if h.key_id != keys.key_id:
            out.append(
                Finding(Kind.TREE_HEAD, f"{name} names key {h.key_id[:16]}, not this deployment's")
            )
        elif not keys.verify(h.signature, h.message()):
            out.append(Finding(Kind.TREE_HEAD, f"{name} does not carry a valid signature"))
        if h.tree_size <= scan.next_index and scan.roots.get(h.tree_size) != h.root_hash:
            out.append(
                Finding(
                    Kind.TREE_HEAD,
                    f"the log's first {h.tree_size} entries do not hash to the root of {name}",
                )
            )
    return out


def _check_state(state: LogState, scan: LogScan, keys: AuditKeys) -> list[Finding]:
    out: list[Finding] = []
    if state.mac and state_mac(keys.mac_key, state.size, state.packed) != state.mac:
        out.append(
            Finding(Kind.STATE, "the log state row fails its MAC: its size or frontier was changed")
        )
    if state.size != scan.next_index:
        out.append(
            Finding(
                Kind.STATE,
                f"the log state row says {state.size} entries but the log ends at "
                f"{scan.next_index}",
            )
        )
    elif scan.roots.get(state.size) != state.root():
        out.append(Finding(Kind.STATE, "the log state row's Merkle frontier does not match"))
    return out


def check_records(uow: UnitOfWork) -> tuple[int, list[Finding]]:
    """Compare payments, orders, lanes, versions, assessments, checks, users with entries."""
    index = EntryIndex()
    for i, subject, action, payload in uow.audit.payloads(RECORD_ACTIONS):
        index.add(i, subject, action, json.loads(payload))
    n, findings = compare(_record_views(uow), index)
    findings += _entries_without_records(uow, index)
    return n, findings


def _record_views(uow: UnitOfWork) -> Iterable[RecordView]:
    r = uow.audit_records
    for decl_id, ref, state, lane in r.declarations():
        subject = declaration_subject(decl_id)
        name = f"declarations[{ref}]"
        yield RecordView(name, subject, "declaration.created", {"reference": ref})
        yield RecordView(name, subject, "declaration.", {"to": state}, last=True)
        if lane is not None:
            yield RecordView(name, subject, "declaration.select_lane", {"lane": lane})
    for decl_id, ref, number, content in r.versions():
        action = "declaration.created" if number == 1 else "declaration.amend"
        yield RecordView(
            f"declaration_versions[{ref} v{number}]",
            declaration_subject(decl_id),
            action,
            {"content": content_payload(content)},
            match={"version": number},
        )
    for decl_id, ref, decision in r.lane_decisions():
        yield RecordView(
            f"lane_decisions[{ref}]",
            declaration_subject(decl_id),
            "declaration.select_lane",
            lane_payload(decision),
            match={"first": True},
        )
    for ref, a in r.assessments():
        yield RecordView(
            f"assessments[{ref} v{a.version_number}]",
            declaration_subject(a.declaration_id),
            "declaration.assess",
            assessment_payload(a),
            match={"assessment_id": a.id},
        )
    for decl_id, _ref, order_ref, amount in r.orders():
        yield RecordView(
            f"payment_orders[{order_ref}]",
            declaration_subject(decl_id),
            "payment_order.issued",
            {"amount_iqd": decimal_text(amount)},
            match={"order": order_ref},
        )
    for order_ref, decl_id, _ref, p in r.payments():
        yield RecordView(
            f"payments[{p.bank_transaction_id}]",
            f"payment:{p.bank_transaction_id}",
            "payment.received",
            payment_payload(order_ref, decl_id, p),
        )
    for user in r.users():
        # The latest entry about a user says what the account may do: a role or crossing
        # granted in the table around the log (an insider making themselves supervisor) shows.
        yield RecordView(
            f"users[{user.username}]",
            f"user:{user.id}",
            "user.",
            access_payload(user),
            last=True,
        )
    for decl_id, ref, check_id, kind, found, fraud_kind in r.checks():
        yield RecordView(
            f"checks[{ref} #{check_id}]",
            declaration_subject(decl_id),
            "declaration.complete_checks",
            check_payload(kind, found, fraud_kind),
        )


def _entries_without_records(uow: UnitOfWork, index: EntryIndex) -> list[Finding]:
    """Entries whose payment or declaration is gone from the business tables."""
    r = uow.audit_records
    payments = {f"payment:{p.bank_transaction_id}" for *_, p in r.payments()}
    declarations = {declaration_subject(d[0]) for d in r.declarations()}
    out: list[Finding] = []
    for subject, i, payload in index.of_action("payment.received"):
        if subject not in payments:
            out.append(
                Finding(
                    Kind.RECORD,
                    f"entry {i} records payment {payload.get('amount_iqd')} IQD on order "
                    f"{payload.get('order')}, which is missing from the payments table",
                    index=i,
                    record=f"payments[{subject.removeprefix('payment:')}]",
                )
            )
    for subject, i, payload in index.of_action("declaration.created"):
        if subject not in declarations:
            out.append(
                Finding(
                    Kind.RECORD,
                    f"entry {i} records declaration {payload.get('reference')}, which is "
                    "missing from the declarations table",
                    index=i,
                    record=f"declarations[{payload.get('reference')}]",
                )
            )
    return out


# -- proofs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InclusionProof:
    """An entry, its leaf hash and audit path, and the signed tree head they lead to."""

    entry: AuditEntry
    leaf_hash: bytes
    path: list[bytes]
    head: TreeHead
    public_key_pem: str

    def as_json(self) -> dict[str, Any]:
        """The proof as the standalone verifier reads it (docs/audit-format.md)."""
        return {
            "format": PROOF_FORMAT,
            "entry": self.entry.as_json(),
            "leaf_hash": self.leaf_hash.hex(),
            "leaf_index": self.entry.index,
            "inclusion_path": [h.hex() for h in self.path],
            "tree_head": self.head.as_json(),
            "public_key": self.public_key_pem,
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """Two signed tree heads and the path proving the first is a prefix of the second."""

    first: TreeHead
    second: TreeHead
    path: list[bytes]
    public_key_pem: str

    def as_json(self) -> dict[str, Any]:
        """The proof as the standalone verifier reads it."""
        return {
            "format": CONSISTENCY_FORMAT,
            "first": self.first.as_json(),
            "second": self.second.as_json(),
            "consistency_path": [h.hex() for h in self.path],
            "public_key": self.public_key_pem,
        }


def _head(heads: Sequence[TreeHead], size: int) -> TreeHead:
    found = [h for h in heads if h.tree_size == size]
    if not found:
        raise NotFound(f"no signed tree head of size {size}", tree_size=size)
    return found[-1]


def prove(
    *, uow: UnitOfWork, keys: AuditKeys, index: int, size: int | None = None
) -> InclusionProof:
    """The inclusion proof of entry ``index`` in the tree head of ``size`` (default: latest)."""
    heads = uow.audit.tree_heads()
    if size is None:
        covering = [h for h in heads if h.tree_size > index]
        if not covering:
            raise NotFound(f"entry {index} is not covered by a signed tree head yet", index=index)
        head = covering[-1]
    else:
        head = _head(heads, size)
        if index >= size:
            raise ValidationFailed(f"entry {index} is not in a tree of {size}", field="index")
    entry = uow.audit.entry(index)
    if entry is None:
        raise NotFound(f"no audit entry {index}", index=index)
    leaves = uow.audit.leaves(head.tree_size)
    leaf = entry.leaf()
    if len(leaves) != head.tree_size or leaves[index] != leaf:
        raise Conflict("the log does not match its signed tree head: run `manafidh audit verify`")
    path = inclusion_path(leaves, index)
    if not verify_inclusion(leaf, index, head.tree_size, path, head.root_hash):
        raise Conflict("the log does not match its signed tree head: run `manafidh audit verify`")
    return InclusionProof(entry, leaf, path, head, keys.public_key_pem())


def consistency(*, uow: UnitOfWork, keys: AuditKeys, first: int, second: int) -> ConsistencyProof:
    """The proof that the signed tree of ``first`` entries is a prefix of that of ``second``."""
    if not 0 < first <= second:
        raise ValidationFailed("need 0 < first <= second", field="first")
    heads = uow.audit.tree_heads()
    old, new = _head(heads, first), _head(heads, second)
    leaves = uow.audit.leaves(second)
    if len(leaves) != second:
        raise Conflict("the log is shorter than its signed tree head: run `manafidh audit verify`")
    path = consistency_path(leaves, first)
    if not verify_consistency(first, second, old.root_hash, new.root_hash, path):
        raise Conflict("the two tree heads are not consistent: run `manafidh audit verify`")
    return ConsistencyProof(old, new, path, keys.public_key_pem())


def export_heads(*, uow: UnitOfWork, keys: AuditKeys) -> dict[str, Any]:
    """Every signed tree head, with the public key, for outside witnesses."""
    return {
        "format": HEADS_FORMAT,
        "key_id": keys.key_id,
        "public_key": keys.public_key_pem(),
        "tree_heads": [h.as_json() for h in uow.audit.tree_heads()],
    }


# -- reading ----------------------------------------------------------------------------------
def entries(
    *,
    uow: UnitOfWork,
    actor: User,
    subject: str | None = None,
    by: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Entries by subject, actor, action and time range, oldest first (auditors only)."""
    require_auditor(actor)
    return uow.audit.entries(
        subject=subject,
        actor=by,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
