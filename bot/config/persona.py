"""`persona:` section of community.yaml: the character who speaks for the brand."""
from __future__ import annotations

from pydantic import Field, HttpUrl

from .base import Model


class Persona(Model):
    name: str = Field(default="Kizuna", min_length=1, max_length=80)  # webhook username limit
    avatar_url: HttpUrl | None = None
    greeting: str = "Hello!"
    sign_off: str = ""
    use_webhook: bool = True
