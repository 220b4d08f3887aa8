"""community.yaml `web:`: the moderators' dashboard the bot serves (bot/web)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, HttpUrl

from .base import Model

Port = Annotated[int, Field(ge=0, le=65535)]


class WebSettings(Model):
    enabled: bool = False
    """Serve the dashboard from the bot process (`python -m bot run`; the playground with --web)."""
    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    """The address to listen on. 127.0.0.1 (the default) is reachable from this machine only: put a
    reverse proxy with HTTPS in front of it and set external_url."""
    port: Port = 8080
    """The TCP port to listen on (0: any free port)."""
    external_url: HttpUrl | None = None
    """The address people open (e.g. https://kizuna.example.com), used for Discord's sign-in redirect;
    default http://host:port. Add <external_url>/auth/callback as a redirect in Discord's developer portal."""
    client_id: int | None = Field(default=None, gt=0, le=2**63 - 1)
    """The Discord application's OAuth2 client id (default: the bot's own application). Its client
    secret is read from the KIZUNA_OAUTH_SECRET environment variable, never from YAML."""
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    """How long a sign-in lasts."""
