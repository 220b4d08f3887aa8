"""Invite codes: unguessable, easy to read aloud, stored only as a hash.

12 characters from a 31-letter alphabet without look-alikes (no 0/O, 1/I/L) is about 59 bits: with
the lockout after a few wrong tries, guessing online is hopeless, and a leaked database or export does
not hand out working codes because only the SHA-256 of each code is kept (the creator sees the code
once; `/invite list` shows its first characters to recognise it).
"""
from __future__ import annotations

import hashlib
import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 12
HINT_LENGTH = 4
_NOT_CODE = re.compile(r"[^A-Z0-9]")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalise(code: str) -> str:
    """What the member typed, without case, spaces or dashes."""
    return _NOT_CODE.sub("", code.upper())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode("ascii", "ignore")).hexdigest()


def hint(code: str) -> str:
    return normalise(code)[:HINT_LENGTH]


def plausible(code: str) -> bool:
    raw = normalise(code)
    return len(raw) == LENGTH and all(c in ALPHABET for c in raw)
