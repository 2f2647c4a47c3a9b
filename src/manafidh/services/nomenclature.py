"""Looking up the HS nomenclature while a declaration is being typed."""

from __future__ import annotations

from manafidh.domain.reference import HsCode
from manafidh.services.ports import UnitOfWork

# Arabic-Indic and Persian digits typed on an Arabic or Kurdish keyboard mean the same codes.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
MIN_LETTERS = 2


def search_hs(*, uow: UnitOfWork, query: str, limit: int = 15) -> list[HsCode]:
    """Subheadings (6 digits) whose code starts with ``query`` or whose text has all its words."""
    text = query.translate(DIGITS).strip().lower()
    compact = text.replace(".", "").replace(" ", "")
    if len(compact) < MIN_LETTERS:
        return []
    lines = [h for h in uow.reference.hs_lines() if h.level == 6]
    if compact.isdigit():
        return [h for h in lines if h.code.startswith(compact)][:limit]
    words = text.split()
    return [h for h in lines if all(w in h.description.lower() for w in words)][:limit]
