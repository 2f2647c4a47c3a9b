"""Charts drawn on the server as SVG geometry (no script, no chart library, no CDN).

Functions here only compute positions; the templates draw them, with a title for screen
readers and the full table beside each chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LABEL_WIDTH = 170  # room for a label at the start of a horizontal bar
PLOT_WIDTH = 420


@dataclass(frozen=True)
class HBar:
    """A horizontal bar: its key (labelled by the template), value and geometry."""

    key: object
    value: Decimal
    y: float
    width: float


def hbars(items: list[tuple[object, Decimal]], *, top: int = 10, step: float = 26) -> list[HBar]:
    """The ``top`` largest values as horizontal bars scaled to the largest one."""
    chosen = sorted(items, key=lambda kv: -kv[1])[:top]
    biggest = max((v for _, v in chosen), default=Decimal(0)) or Decimal(1)
    return [
        HBar(k, v, 8 + i * step, max(float(v / biggest) * PLOT_WIDTH, 0.0))
        for i, (k, v) in enumerate(chosen)
    ]


def hbars_height(bars: list[HBar], *, step: float = 26) -> float:
    """The height of a horizontal bar chart of ``bars``."""
    return 16 + step * max(len(bars), 1)


@dataclass(frozen=True)
class MonthPair:
    """One month's two bars: this year and the same month of the year before."""

    month: str
    x: float
    now: Decimal
    before: Decimal
    now_y: float
    now_h: float
    before_y: float
    before_h: float


def month_pairs(
    months: list[str],
    now: dict[str, Decimal],
    before: dict[str, Decimal],
    *,
    height: float = 160,
    step: float = 44,
) -> list[MonthPair]:
    """Paired monthly bars (this year, last year), scaled to the largest of both."""
    values = [now.get(m, Decimal(0)) for m in months] + [before.get(m, Decimal(0)) for m in months]
    biggest = max(values, default=Decimal(0)) or Decimal(1)
    out = []
    for i, m in enumerate(months):
        a, b = now.get(m, Decimal(0)), before.get(m, Decimal(0))
        ha, hb = float(a / biggest) * height, float(b / biggest) * height
        out.append(MonthPair(m, 10 + i * step, a, b, 10 + height - ha, ha, 10 + height - hb, hb))
    return out
