"""The versions of recently used declarations, kept per process (ADR 0013).

A declaration's versions never change once written: an amendment adds a version, it does not
rewrite one. Each step of a declaration's life (check, payment, release, exit) loads it again,
and reading its versions and items back costs a row per item, every time. A process that has
seen a declaration's versions keeps them here; the repository then reads only the declaration's
own row and uses the kept versions when that row's ``version_count`` says none was added since.
A declaration amended by another process, or never seen, is read in full as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from manafidh.domain.declarations.model import Version

# A busy crossing's few days of trucks; about 3.2 KB each at 5 items (tracemalloc), so ~32 MB.
MAX_DECLARATIONS = 10_000

# (database, id or reference) -> (declaration id, its versions, oldest first)
_kept: OrderedDict[tuple[Any, str], tuple[str, tuple[Version, ...]]] = OrderedDict()
_lock = threading.Lock()


def get(database: Any, key: str) -> tuple[str, tuple[Version, ...]] | None:
    """The declaration id and versions kept under its id or reference, if any."""
    with _lock:
        found = _kept.get((database, key))
        if found is not None:
            _kept.move_to_end((database, key))
        return found


def keep(database: Any, declaration_id: str, reference: str, versions: list[Version]) -> None:
    """Keep a declaration's versions under its id and its reference."""
    value = (declaration_id, tuple(versions))
    with _lock:
        for key in (declaration_id, reference):
            _kept[(database, key)] = value
            _kept.move_to_end((database, key))
        while len(_kept) > 2 * MAX_DECLARATIONS:
            _kept.popitem(last=False)


def clear() -> None:
    """Forget everything (tests)."""
    with _lock:
        _kept.clear()
