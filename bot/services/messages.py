"""What the bot sends, as plain data: the cogs and the outbox's sender turn it into Discord objects."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Button:
    label: str
    custom_id: str | None = None
    style: Literal["primary", "secondary", "success", "danger", "link"] = "primary"
    url: str | None = None
    emoji: str | None = None
    disabled: bool = False  # shown greyed out (e.g. a quiz question that has closed)


@dataclass(frozen=True)
class Block:
    """One part of a card (issue 20): `text` (markdown) alone, with a small picture beside it
    (`thumbnail`: the item's image), a picture across the card (`image`, above its text), or a line
    between parts (`separator`)."""

    text: str = ""
    thumbnail: str | None = None
    image: str | None = None
    separator: bool = False


@dataclass(frozen=True)
class Card:
    """A components-v2 layout as plain data: one container (with an `accent` colour) of blocks; the
    message's buttons go in a row at its foot. The sender renders it with discord.py (`bot.ui.layout_view`);
    a message with a card has no content and no embeds (Discord refuses both beside one)."""

    blocks: tuple[Block, ...]
    accent: int | None = None

    def texts(self) -> list[str]:
        return [b.text for b in self.blocks if b.text]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Card":
        return cls(tuple(Block(**b) for b in data.get("blocks", ())), data.get("accent"))


@dataclass(frozen=True)
class OutMessage:
    """A message the bot will send. `embeds` are Discord embed dicts; nothing in it ever pings."""

    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    buttons: tuple[Button, ...] = ()
    as_persona: bool = False  # post through the persona webhook when the bot may
    thread_name: str | None = None  # open a thread on the posted message (e.g. prompt answers)
    tags: tuple[str, ...] = ()  # sent to a forum: the post's tags by name (thread_name is its title)
    files: tuple[tuple[str, str], ...] = ()  # attachments: (file name, base64 of the bytes), e.g. a chart
    # the dedupe key of a message queued earlier: this one replaces it in place (an edit, not a new
    # message; content, embeds and buttons are all replaced). Nothing is sent if that one never went out.
    replaces: str | None = None
    # a native poll: {"question", "answers": [...], "hours", "multiselect"} (bot.services.participation.polls)
    poll: dict[str, Any] | None = None
    card: Card | None = None  # a components-v2 layout instead of content and embeds (see Card)

    def __post_init__(self) -> None:
        if self.card is not None and (self.content or self.embeds):
            raise ValueError("a message with a card has no content and no embeds")

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "OutMessage":
        data = json.loads(text)
        data["embeds"] = tuple(data.get("embeds", ()))
        data["buttons"] = tuple(Button(**b) for b in data.get("buttons", ()))
        data["files"] = tuple((name, b64) for name, b64 in data.get("files", ()))
        data["tags"] = tuple(data.get("tags", ()))
        if data.get("card") is not None:
            data["card"] = Card.from_dict(data["card"])
        return cls(**data)


@dataclass(frozen=True)
class Target:
    """Where a message goes: a channel by config key, a raw channel id, or a member's DMs."""

    kind: Literal["channel", "channel_id", "dm"]
    value: str

    @classmethod
    def channel(cls, key: str) -> "Target":
        return cls("channel", key)

    @classmethod
    def channel_id(cls, channel_id: int) -> "Target":
        return cls("channel_id", str(channel_id))

    @classmethod
    def dm(cls, user_id: int) -> "Target":
        return cls("dm", str(user_id))


@dataclass
class Sent:
    message_id: int | None = None
    channel_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
