"""Risk features: a declaration as model inputs, plus history known at the declaration's date.

History features are the past inspection outcomes of the declaration's importer, declarant,
HS code, origin, route and so on. They are computed only from outcomes *known before* the
declaration's day, so a model never learns from, or is scored with, the future. Rare values are
smoothed towards the overall rate, so a trader with one inspection is not judged by it alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

# A new or rare value's rate is pulled towards the overall rate as if it had this many
# inspections at the overall rate (additive smoothing; the same m for every entity kind).
SMOOTHING = 20.0


@dataclass(frozen=True)
class RiskRecord:
    """One declaration as the risk model sees it.

    ``entities`` are the values whose history is tracked (importer, declarant, HS code...),
    ``categories`` plain categorical inputs, ``numbers`` numeric inputs. ``found`` is the
    inspection outcome (None when not inspected) and ``outcome_day`` the day it became known.
    """

    key: str
    day: date
    entities: Mapping[str, str]
    categories: Mapping[str, str]
    numbers: Mapping[str, float]
    found: bool | None = None
    outcome_day: date | None = None


@dataclass
class Tally:
    """What was known about one entity value: declarations, inspections, hits, first day seen."""

    declarations: int = 0
    inspected: int = 0
    found: int = 0
    first_day: int | None = None  # date ordinal, for a compact model file

    def as_list(self) -> list[int]:
        """A compact form for the model file."""
        return [self.declarations, self.inspected, self.found, self.first_day or 0]


@dataclass
class History:
    """Per-entity tallies of declarations and inspection outcomes, as known up to some day."""

    keys: tuple[str, ...]
    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)
    inspected: int = 0
    found: int = 0

    def __post_init__(self) -> None:
        for k in self.keys:
            self.tallies.setdefault(k, {})

    @property
    def prior(self) -> float:
        """The overall hit rate so far (a neutral 0.1 before any inspection)."""
        return (self.found + 1.0) / (self.inspected + 10.0)

    def add_declaration(self, entities: Mapping[str, str], day: date) -> None:
        """Count one lodged declaration (known on its day, whatever its outcome)."""
        for k in self.keys:
            t = self.tallies[k].setdefault(entities.get(k, ""), Tally())
            t.declarations += 1
            if t.first_day is None:
                t.first_day = day.toordinal()

    def add_outcome(self, entities: Mapping[str, str], found: bool) -> None:
        """Count one inspection outcome for every entity of the declaration."""
        self.inspected += 1
        self.found += int(found)
        for k in self.keys:
            t = self.tallies[k].setdefault(entities.get(k, ""), Tally())
            t.inspected += 1
            t.found += int(found)

    def features(self, entities: Mapping[str, str], day: date) -> dict[str, float]:
        """History features of a declaration on ``day`` from what this history holds."""
        prior = self.prior
        out: dict[str, float] = {}
        for k in self.keys:
            t = self.tallies[k].get(entities.get(k, ""))
            if t is None:
                t = Tally()
            rate = (t.found + SMOOTHING * prior) / (t.inspected + SMOOTHING)
            out[f"hist.{k}.rate"] = rate
            out[f"hist.{k}.lift"] = math.log(rate / prior)
            out[f"hist.{k}.inspected"] = math.log1p(t.inspected)
            out[f"hist.{k}.declarations"] = math.log1p(t.declarations)
            out[f"hist.{k}.days_known"] = (
                float(day.toordinal() - t.first_day) if t.first_day is not None else -1.0
            )
        return out

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form (the model file keeps the history its scores are based on)."""
        return {
            "keys": list(self.keys),
            "inspected": self.inspected,
            "found": self.found,
            "tallies": {
                k: {v: t.as_list() for v, t in vals.items()} for k, vals in self.tallies.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> History:
        """The inverse of :meth:`to_json`."""
        keys = tuple(str(k) for k in data["keys"])  # type: ignore[attr-defined]
        raw = data["tallies"]
        assert isinstance(raw, dict)
        tallies = {
            str(k): {
                str(v): Tally(int(a), int(b), int(c), int(d) or None)
                for v, (a, b, c, d) in vals.items()
            }
            for k, vals in raw.items()
        }
        inspected = data["inspected"]
        found = data["found"]
        assert isinstance(inspected, int)
        assert isinstance(found, int)
        return cls(keys, tallies, inspected, found)


def sweep(
    records: Sequence[RiskRecord], keys: Sequence[str], history: History | None = None
) -> tuple[list[dict[str, float]], History]:
    """History features of each record from what was known before its day, in input order.

    Declarations count from their own day; outcomes count from their ``outcome_day`` (the
    declaration's day when absent). Anything dated on or after a record's day is unseen by it.
    Returns the features and the history after the last event (for scoring later records).
    """
    hist = history if history is not None else History(tuple(keys))
    order = sorted(range(len(records)), key=lambda i: records[i].day)
    outcomes = sorted(
        (r.outcome_day or r.day, i) for i, r in enumerate(records) if r.found is not None
    )
    result: list[dict[str, float]] = [{} for _ in records]
    o = 0
    pos = 0
    while pos < len(order):
        day = records[order[pos]].day
        while o < len(outcomes) and outcomes[o][0] < day:
            r = records[outcomes[o][1]]
            hist.add_outcome(r.entities, bool(r.found))
            o += 1
        same_day = []
        while pos < len(order) and records[order[pos]].day == day:
            same_day.append(order[pos])
            pos += 1
        for i in same_day:
            result[i] = hist.features(records[i].entities, day)
        for i in same_day:
            hist.add_declaration(records[i].entities, day)
    for _, i in outcomes[o:]:
        hist.add_outcome(records[i].entities, bool(records[i].found))
    return result, hist


def frozen(records: Iterable[RiskRecord], history: History) -> list[dict[str, float]]:
    """History features of records scored with a history frozen at training time."""
    return [history.features(r.entities, r.day) for r in records]
