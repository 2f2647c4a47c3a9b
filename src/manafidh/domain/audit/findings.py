"""What a verification found, and the report that lists it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """The kinds of finding; each names the entry (and the record) concerned."""

    ALTERED = "altered"  # an entry's content no longer matches its MAC
    DELETED = "deleted"  # an index is missing from the log
    INSERTED = "inserted"  # a row that is not an entry of the log
    REORDERED = "reordered"  # an authentic entry stored at another position
    TRUNCATED = "truncated"  # the log ends before a signed tree head (or the log state) says
    TREE_HEAD = "tree_head"  # a signed tree head fails its signature or its root
    STATE = "state"  # the log state row (size, frontier) disagrees with the entries
    KEY = "key"  # the key in use cannot be the one that wrote the log
    RECORD = "record"  # a business record disagrees with its entry, or has none


@dataclass(frozen=True)
class Finding:
    """One thing that is wrong, in one sentence."""

    kind: Kind
    message: str
    index: int | None = None  # the entry concerned
    record: str | None = None  # the business record concerned, e.g. "payments[TX-1]"

    def line(self) -> str:
        """The finding on one line: kind, entry, record, message."""
        where = f" entry {self.index}" if self.index is not None else ""
        what = f" {self.record}" if self.record else ""
        return f"{self.kind.value}{where}{what}: {self.message}"


@dataclass
class VerifyReport:
    """The outcome of verifying the log (and the records against it)."""

    entries: int = 0  # rows of the log read
    tree_size: int = 0  # how many entries the log should have
    tree_heads: int = 0  # signed tree heads checked
    records: int = 0  # business records checked against their entries
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def counts(self) -> dict[str, int]:
        """Findings per kind."""
        return dict(Counter(f.kind.value for f in self.findings))

    def summary(self) -> str:
        """One line: OK, or how many findings of which kinds."""
        scope = (
            f"{self.entries} entries, {self.tree_heads} signed tree heads, {self.records} records"
        )
        if self.ok:
            return f"audit log OK: {scope} verified"
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.counts().items()))
        return f"audit log FAILED: {len(self.findings)} findings ({kinds}) in {scope}"
