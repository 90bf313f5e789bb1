"""argon2id password hashing. Hashing costs ~155 ms of CPU here, so it runs off the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from carebridge.config import get_settings
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MIN_DISTINCT_CHARACTERS = 5


@lru_cache
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hasher() -> PasswordHasher:
    settings = get_settings()
    return _hasher(settings.argon2_time_cost, settings.argon2_memory_kib)


def check_password_strength(password: str, *, username: str = "") -> None:
    """Length is what makes a password hard to guess; the other rules catch the obvious picks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("password must be at least 10 characters"), details={"field": "password"})
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(N_("password must be at most 256 characters"), details={"field": "password"})
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        raise InvalidInput(N_("password is too simple: use more different characters"),
                           details={"field": "password"})
    if len(username.strip()) >= 4 and username.strip().lower() in password.lower():
        raise InvalidInput(N_("password must not contain the username"), details={"field": "password"})


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hasher().hash, password)


# Verified against this when the username is unknown, so timing does not reveal which users exist.
_DUMMY_HASH: str | None = None


async def verify_password(stored_hash: str | None, password: str) -> bool:
    global _DUMMY_HASH
    if stored_hash is None:
        _DUMMY_HASH = _DUMMY_HASH or hasher().hash("not-a-real-password")
        stored_hash = _DUMMY_HASH
        password = password + "\x00"
    try:
        return await asyncio.to_thread(hasher().verify, stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
