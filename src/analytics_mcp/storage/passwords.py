"""The one password hashing of the accounts (argon2id): users' passwords and share-link passwords."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def dummy_hash() -> str:
    """Checked against when there is no stored hash, so both paths cost one argon2 verify."""
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(stored: str | None, password: object) -> bool:
    """Whether `password` is the one `stored` hashes; with no stored hash, False after the same work."""
    try:
        _hasher.verify(stored or dummy_hash(), password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
