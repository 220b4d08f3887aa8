"""Signed cookie sessions and CSRF tokens.

A session is a small JSON object in an HttpOnly, SameSite=Lax cookie, signed with HMAC-SHA256 under a
secret that never leaves the server (KIZUNA_WEB_SECRET, else a random one kept beside the database).
The cookie cannot be forged or edited; it ends at `exp` (the app's clock). Each session carries its
own random CSRF token: every write must send it back (form field or X-CSRF-Token header).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SESSION_COOKIE = "kizuna_session"
STATE_COOKIE = "kizuna_oauth_state"
LANG_COOKIE = "kizuna_lang"
SECRET_ENV = "KIZUNA_WEB_SECRET"


@dataclass(frozen=True)
class Session:
    user_id: int
    name: str
    avatar: str | None
    csrf: str
    exp: float  # POSIX seconds, on the app's clock
    via: str = ""  # how they got in (bot/web/_access.py: moderator_role | manage_server); "" in older cookies


def load_secret(db_path: str | Path) -> bytes:
    """The signing key: the environment's, else `<db stem>.web-secret` beside the database (made once,
    readable by its owner only), so sessions survive a restart."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode()
    path = Path(db_path).with_name(f"{Path(db_path).stem}.web-secret")
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"kizuna-web:" + secret).digest()

    def _mac(self, body: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, body, hashlib.sha256).digest()).decode().rstrip("=")

    def dumps(self, data: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._mac(body.encode())}"

    def loads(self, token: str | None) -> dict[str, Any] | None:
        if not token or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def session(self, token: str | None, now: float) -> Session | None:
        data = self.loads(token)
        if data is None or data.get("k") != "session":
            return None
        try:
            session = Session(int(data["user_id"]), str(data["name"]), data.get("avatar"), str(data["csrf"]),
                              float(data["exp"]), str(data.get("via") or ""))
        except (KeyError, TypeError, ValueError):
            return None
        return session if session.exp > now else None

    def session_token(self, session: Session) -> str:
        return self.dumps({"k": "session", **asdict(session)})


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def same_token(sent: str | None, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())
