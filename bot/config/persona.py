"""`persona:` section of community.yaml: the character who speaks for the brand.

The name and avatar are used for posts sent through a webhook (scheduled posts, reveals) when the bot
has Manage Webhooks; the greeting and sign-off are available to every message as `{persona.greeting}`
and `{persona.sign_off}`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

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
    emoji: dict[str, str] = Field(default_factory=dict)
    """The persona's own emoji: name -> image file in the config folder (PNG, JPEG or GIF, at most
    256 KiB). /setup uploads each as an application emoji (they work in every channel, DM and persona
    post); one already uploaded under its name is kept."""

    @field_validator("emoji")
    @classmethod
    def _emoji_names_and_paths(cls, emoji: dict[str, str]) -> dict[str, str]:
        if len(emoji) > MAX_EMOJI:
            raise ValueError(f"at most {MAX_EMOJI} persona emoji (got {len(emoji)})")
        for name, path in emoji.items():
            if not EMOJI_NAME.fullmatch(name):
                raise ValueError(f"emoji name {name!r}: 2 to 32 letters, digits or underscores (Discord's rule)")
            if not path or Path(path).is_absolute() or ".." in Path(path).parts:
                raise ValueError(f"{name}: {path!r}: write a path inside the config folder, relative to it"
                                 " (like emoji/sakura_wave.png; no .. and not absolute)")
        return emoji

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


# --- persona emoji (issue 20): uploaded as application emojis by /setup ---------------------------------
EMOJI_NAME = re.compile(r"[A-Za-z0-9_]{2,32}")
MAX_EMOJI = 50
MAX_EMOJI_BYTES = 256 * 1024  # Discord's limit for an emoji image
_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
                b"GIF89a": "image/gif"}


def image_type(data: bytes) -> str | None:
    """The image's media type from its first bytes (PNG, JPEG, GIF: what Discord takes for an emoji)."""
    return next((kind for magic, kind in _IMAGE_TYPES.items() if data.startswith(magic)), None)


def emoji_file_problems(persona: Persona, config_dir: str | Path) -> Iterator[tuple[tuple, str]]:
    """Each persona emoji's file: inside the config folder, readable, an image Discord takes, small enough.
    (location under `persona`, message) pairs for the community file's `references`."""
    root = Path(config_dir).resolve()
    for name, relative in persona.emoji.items():
        loc = ("persona", "emoji", name)
        path = (root / relative).resolve()
        if root not in path.parents:
            yield loc, f"{relative!r} leads outside the config folder"
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield loc, f"cannot read the emoji image {relative!r} in {config_dir} ({exc.strerror or exc})"
            continue
        if image_type(data) is None:
            yield loc, f"{relative!r} is not a PNG, JPEG or GIF image (Discord takes only those for an emoji)"
        elif len(data) > MAX_EMOJI_BYTES:
            yield loc, f"{relative!r} is {len(data) // 1024} KiB; an emoji image is at most 256 KiB"
