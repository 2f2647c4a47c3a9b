"""The canonical JSON encoding of audit payloads (docs/audit-format.md).

It follows RFC 8785 (JSON Canonicalization Scheme) for the values Manafidh writes: objects with
keys sorted by code point, no whitespace, UTF-8, strings escaped as ECMAScript's JSON.stringify
does (only ``"``, ``\\`` and control characters). Numbers other than integers are not JSON numbers
here: a Decimal is a string in plain notation with no trailing zeros ("1500.5", never "1.5005E3"),
an instant is a string in UTC with microseconds ("2026-03-15T06:00:00.000000Z"), a date is
"YYYY-MM-DD". Floats are refused: they have no exact canonical form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def decimal_text(value: Decimal) -> str:
    """A Decimal in plain notation without trailing zeros ("1500.00" -> "1500", "-0" -> "0")."""
    if not value.is_finite():
        raise ValueError(f"{value} has no canonical form")
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def instant_text(value: datetime) -> str:
    """An aware instant in UTC with microseconds: 2026-03-15T06:00:00.000000Z."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: an audited instant must carry its time zone")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_PLAIN = (str, int, bool, type(None))


def normalise(value: Any) -> Any:
    """Turn a payload into plain JSON values (str, int, bool, None, list, dict) by the rules."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"payload keys must be strings, not {type(key).__name__}")
            out[key] = item if type(item) in _PLAIN else normalise(item)
        return out
    if kind is list or kind is tuple:
        return [item if type(item) in _PLAIN else normalise(item) for item in value]
    if kind is Decimal:
        return decimal_text(value)
    if isinstance(value, Enum):
        return normalise(value.value)
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return normalise(dict(value))
    if isinstance(value, str | int):  # subclasses of the plain types
        return str(value) if isinstance(value, str) else int(value)
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (encode it as UTF-8 to hash it)."""
    return json.dumps(
        normalise(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
