"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12


class Passwords:
    """Hash and verify passwords; argon2 costs ~tens of ms of CPU, so it runs in a thread."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified against when the e-mail is unknown, so both paths take the same time.
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        """The argon2id PHC string (`$argon2id$...`) for `password`."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; a None hash burns the same time and answers False."""
        try:
            return (
                await asyncio.to_thread(
                    self._hasher.verify, password_hash or self._dummy_hash, password
                )
                and password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash used older parameters than ours."""
        return self._hasher.check_needs_rehash(password_hash)
