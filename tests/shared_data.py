"""Find the project's shared reference data (../shared beside the checkout) for tests only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = [REPO.parent / "shared", Path("/work/shared")]


def shared_file(relative: str) -> Path | None:
    """The path of ``shared/<relative>`` if some candidate location holds it."""
    return next((c / relative for c in CANDIDATES if (c / relative).exists()), None)


def require_shared_file(relative: str) -> Path:
    """The shared file, or skip (locally) / fail (in CI, where shared/ is always laid out)."""
    found = shared_file(relative)
    if found is None:
        message = f"../shared/{relative} is not present"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message + " (CI lays out shared/ beside the clone)")
        pytest.skip(message)
    return found
