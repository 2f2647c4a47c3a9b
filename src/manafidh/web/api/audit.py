"""The auditor's API under /api/v1/audit: entries, signed tree heads and proofs.

Only the auditor and admin roles read it; every other role gets 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel

from manafidh.domain.audit.entry import AuditEntry
from manafidh.services import audit
from manafidh.web.deps import ContainerDep, UowDep, UserDep
from manafidh.web.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERROR_RESPONSES)
MAX_INDEX = (1 << 62) - 1


class AuditEntryOut(BaseModel):
    """One entry of the log, with its RFC 9162 leaf hash."""

    index: int
    at: str
    actor: str
    role: str
    crossing: str
    action: str
    subject: str
    payload: dict[str, Any]
    leaf_hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        """Build from the domain entry."""
        return cls(**e.as_json(), leaf_hash=e.leaf().hex())


class TreeHeadOut(BaseModel):
    """A signed tree head (hex hashes and signature)."""

    tree_size: int
    root_hash: str
    timestamp: str
    signature: str
    key_id: str


class TreeHeadsOut(BaseModel):
    """Every signed tree head and the public key that verifies them (export-heads format)."""

    format: str
    key_id: str
    public_key: str
    tree_heads: list[TreeHeadOut]


class EntryInProof(BaseModel):
    """The entry an inclusion proof is about."""

    index: int
    at: str
    actor: str
    role: str
    crossing: str
    action: str
    subject: str
    payload: dict[str, Any]


class InclusionProofOut(BaseModel):
    """An entry, its audit path and the signed tree head (tools/verify_audit_proof.py)."""

    format: str
    entry: EntryInProof
    leaf_hash: str
    leaf_index: int
    inclusion_path: list[str]
    tree_head: TreeHeadOut
    public_key: str


class ConsistencyProofOut(BaseModel):
    """Two signed tree heads and the path proving the second extends the first."""

    format: str
    first: TreeHeadOut
    second: TreeHeadOut
    consistency_path: list[str]
    public_key: str


Index = Annotated[int, Query(ge=0, le=MAX_INDEX)]
Size = Annotated[int, Query(ge=1, le=MAX_INDEX)]


@router.get("/entries")
def entries(
    user: UserDep,
    uow: UowDep,
    subject: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0,
) -> list[AuditEntryOut]:
    """Entries by subject (e.g. declaration:<id>), actor, action and time range, oldest first."""
    found = audit.entries(
        uow=uow,
        actor=user,
        subject=subject,
        by=actor,
        action=action,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return [AuditEntryOut.of(e) for e in found]


@router.get("/tree-heads")
def tree_heads(user: UserDep, uow: UowDep, c: ContainerDep) -> TreeHeadsOut:
    """Every signed tree head with the public key, as exported for witnesses."""
    audit.require_auditor(user)
    return TreeHeadsOut.model_validate(audit.export_heads(uow=uow, keys=c.audit_keys))


@router.get("/proof/{index}")
def proof(
    user: UserDep,
    uow: UowDep,
    c: ContainerDep,
    index: Annotated[int, Path(ge=0, le=MAX_INDEX)],
    size: Size | None = None,
) -> InclusionProofOut:
    """The inclusion proof of an entry in a signed tree head (default: the latest)."""
    audit.require_auditor(user)
    found = audit.prove(uow=uow, keys=c.audit_keys, index=index, size=size)
    return InclusionProofOut.model_validate(found.as_json())


@router.get("/consistency")
def consistency(
    user: UserDep, uow: UowDep, c: ContainerDep, first: Size, second: Size
) -> ConsistencyProofOut:
    """The proof that the signed tree head of size ``second`` extends that of ``first``."""
    audit.require_auditor(user)
    found = audit.consistency(uow=uow, keys=c.audit_keys, first=first, second=second)
    return ConsistencyProofOut.model_validate(found.as_json())
