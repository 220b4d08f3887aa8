"""`persona:` section of community.yaml: the character who speaks for the brand.

The name and avatar are used for posts sent through a webhook (scheduled posts, reveals) when the bot
has Manage Webhooks; the greeting and sign-off are available to every message as `{persona.greeting}`
and `{persona.sign_off}`.
"""
from __future__ import annotations

from pydantic import Field, HttpUrl, field_validator

from .base import Model

# Discord refuses webhook usernames containing these (HTTP 400 "Username cannot contain ...")
_FORBIDDEN_IN_NAME = ("discord", "clyde")


class Persona(Model):
    name: str = Field(default="Kizuna", min_length=1, max_length=80)  # webhook username limit
    """The persona's name ({persona.name}); posts appear under it."""
    avatar_url: HttpUrl | None = None
    """Picture of the persona for its posts."""
    greeting: str = Field(default="Hello!", max_length=200)
    """The persona's greeting ({persona.greeting})."""
    sign_off: str = Field(default="", max_length=200)
    """The persona's sign-off ({persona.sign_off})."""
    use_webhook: bool = True  # false: always post as the bot itself
    """Post as the persona through a webhook; false: always post as the bot itself."""

    @field_validator("name")
    @classmethod
    def _webhook_name(cls, name: str) -> str:
        lowered = name.lower()
        for word in _FORBIDDEN_IN_NAME:
            if word in lowered:
                raise ValueError(f"Discord does not allow {word!r} in a webhook name; choose another persona name")
        if name.strip() in ("everyone", "here"):
            raise ValueError(f"{name!r} cannot be a webhook name")
        return name

    @field_validator("avatar_url")
    @classmethod
    def _https(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and url.scheme != "https":
            raise ValueError("the avatar must be an https:// image URL (Discord fetches it)")
        return url
