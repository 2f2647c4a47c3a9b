"""Records against their entries: a value changed in a business table is named with its entry."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from manafidh.domain.audit.findings import Finding, Kind


@dataclass(frozen=True)
class RecordView:
    """What a record says, and which entry must say the same.

    The entry is the first (or, with ``last``, the latest) entry of ``subject`` whose action is
    ``action`` (or starts with it, when it ends with a dot) and whose payload has the ``match``
    values; each of ``values`` must equal the payload's value at the same key.
    """

    record: str  # e.g. "payments[RAFIDAIN-1]"
    subject: str
    action: str
    values: Mapping[str, Any]
    match: Mapping[str, Any] = field(default_factory=dict)
    last: bool = False


@dataclass
class EntryIndex:
    """The entries that matter for records, by subject: (index, action, payload)."""

    by_subject: dict[str, list[tuple[int, str, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, index: int, subject: str, action: str, payload: dict[str, Any]) -> None:
        """Remember an entry (entries must come in index order)."""
        self.by_subject[subject].append((index, action, payload))

    def find(self, view: RecordView) -> tuple[int, str, dict[str, Any]] | None:
        """The entry a record view refers to, or None."""
        prefix = view.action.endswith(".")
        found = None
        for entry in self.by_subject.get(view.subject, ()):
            _, action, payload = entry
            if (action.startswith(view.action) if prefix else action == view.action) and all(
                payload.get(k) == v for k, v in view.match.items()
            ):
                if not view.last:
                    return entry
                found = entry
        return found

    def of_action(self, action: str) -> Iterable[tuple[str, int, dict[str, Any]]]:
        """Every (subject, index, payload) of entries with ``action``."""
        for subject, entries in self.by_subject.items():
            for index, act, payload in entries:
                if act == action:
                    yield subject, index, payload


def compare(views: Iterable[RecordView], entries: EntryIndex) -> tuple[int, list[Finding]]:
    """Check each record view against its entry; return how many were checked and findings."""
    findings: list[Finding] = []
    n = 0
    for view in views:
        n += 1
        found = entries.find(view)
        if found is None:
            findings.append(
                Finding(
                    Kind.RECORD,
                    f"has no audit entry {view.action.rstrip('.')} "
                    f"for {view.subject}: it was written around the log",
                    record=view.record,
                )
            )
            continue
        index, action, payload = found
        for key, value in view.values.items():
            for path, theirs, ours in differences(payload.get(key), value, key):
                findings.append(
                    Finding(
                        Kind.RECORD,
                        f"{path} is {_show(ours)} in the record but {_show(theirs)} "
                        f"in entry {index} ({action})",
                        index=index,
                        record=view.record,
                    )
                )
    return n, findings


def differences(entry: Any, record: Any, path: str) -> list[tuple[str, Any, Any]]:
    """Paths where two JSON values differ: (path, entry's value, record's value)."""
    if isinstance(entry, dict) and isinstance(record, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(entry) | set(record)):
            out += differences(entry.get(key), record.get(key), f"{path}.{key}")
        return out
    if isinstance(entry, list) and isinstance(record, list) and len(entry) == len(record):
        out = []
        for n, (a, b) in enumerate(zip(entry, record, strict=True)):
            out += differences(a, b, f"{path}[{n}]")
        return out
    return [] if entry == record else [(path, entry, record)]


def _show(value: Any) -> str:
    return "absent" if value is None else repr(value) if not isinstance(value, str) else value
