"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""

    def __init__(self, *, fast_for_tests: bool = False) -> None:
        # Tests and the demo create many users; a cheap profile keeps them quick. Never in prod.
        self._hasher = (
            Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)
            if fast_for_tests
            else Argon2Hasher()
        )

    def hash(self, password: str) -> str:
        """Hash a password."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches ``password_hash``."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
