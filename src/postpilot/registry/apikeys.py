"""API keys: a recognisable prefix, a public id, a random secret and a checksum.

A key looks like ``pp_4kT9qWm2Zx7a_hR3...Jd2Kq0`` (59 characters):

- ``pp_``: the prefix, so secret scanners (GitHub's push protection, gitleaks)
  and people recognise a postpilot key that leaked into a file or a log;
- a 12-character public **key id** (base62): how the key is listed, revoked and
  rotated, and how the gateway finds it without scanning every hash;
- ``_`` and a 32-character random **secret** (base62, about 190 bits from
  :func:`secrets.choice`);
- a 6-character **checksum** (CRC32 of everything before it, base62), so a
  mistyped or truncated key is refused before the store is asked.

Only the SHA-256 of the whole key is stored. A salted slow hash (bcrypt,
argon2) protects low-entropy passwords against guessing; a 190-bit random
secret cannot be guessed, and the gateway checks a key on every request, so
one SHA-256 (as GitHub does for its tokens) is the right cost. Comparison is
constant-time (:func:`hmac.compare_digest`).

>>> key = new_key()
>>> parsed = parse_key(key.plaintext)
>>> parsed.key_id == key.key_id and parsed.hash == key.hash
True
>>> parse_key(key.plaintext[:-1] + ("A" if key.plaintext[-1] != "A" else "B")) is None
True
>>> parse_key("Bearer nonsense") is None
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

__all__ = ["PREFIX", "NewKey", "ParsedKey", "hash_key", "new_key", "parse_key", "verify"]

PREFIX = "pp_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 12
_SECRET_LENGTH = 32
_CHECK_LENGTH = 6
_SHAPE = re.compile(
    rf"^pp_([0-9A-Za-z]{{{_ID_LENGTH}}})_([0-9A-Za-z]{{{_SECRET_LENGTH}}})"
    rf"([0-9A-Za-z]{{{_CHECK_LENGTH}}})$"
)
KEY_ID = re.compile(rf"^[0-9A-Za-z]{{{_ID_LENGTH}}}$")


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``plaintext`` is shown once and never stored."""

    key_id: str
    plaintext: str
    hash: str


@dataclass(frozen=True)
class ParsedKey:
    """A well-formed key as presented by a client: its id and the hash to compare."""

    key_id: str
    hash: str


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LENGTH)


def hash_key(plaintext: str) -> str:
    """The hex SHA-256 of a whole key: what the store keeps."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_key() -> NewKey:
    """A fresh random key."""
    key_id = "".join(secrets.choice(_ALPHABET) for _ in range(_ID_LENGTH))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))
    body = f"{PREFIX}{key_id}_{secret}"
    plaintext = body + _checksum(body)
    return NewKey(key_id=key_id, plaintext=plaintext, hash=hash_key(plaintext))


def parse_key(text: str) -> ParsedKey | None:
    """The key's id and hash when ``text`` is a well-formed key with a valid checksum."""
    match = _SHAPE.fullmatch(text)
    if match is None:
        return None
    body = text[:-_CHECK_LENGTH]
    if not hmac.compare_digest(_checksum(body), match.group(3)):
        return None
    return ParsedKey(key_id=match.group(1), hash=hash_key(text))


def verify(presented: ParsedKey, stored_hash: str) -> bool:
    """Whether a presented key matches the stored hash (constant time)."""
    return hmac.compare_digest(presented.hash, stored_hash)
