"""What an e-payment gateway tells us about a card or wallet payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class GatewayNotice:
    """A gateway's signed notice: the payment ``transaction_id`` for order ``reference``.

    Only ``captured`` moves money; ``declined`` and ``pending`` change nothing.
    """

    transaction_id: str
    reference: str
    amount_iqd: Decimal
    paid_at: datetime
    status: str
