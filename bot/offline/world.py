"""The in-memory Discord: one guild with roles, channels (and their overwrites), members, messages,
threads, DMs, reactions and webhooks, plus the Discord-shaped JSON for each of them.

The world only holds state and renders payloads. Who may do what is computed by discord.py itself on
the bot's cache (see `http.py`), so overwrites behave as on Discord.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

import discord

from bot.clock import Clock

# Discord's protocol numbers by their discord.py names (payloads carry the plain numbers)
_CT, _CH = discord.ComponentType, discord.ChannelType
TEXT, DM, PUBLIC_THREAD, PRIVATE_THREAD, CATEGORY = (
    _CH.text.value, _CH.private.value, _CH.public_thread.value, _CH.private_thread.value, _CH.category.value)
FORUM = _CH.forum.value  # a forum: each post is a public thread whose starter message shares its id
EPHEMERAL, LOADING = discord.MessageFlags.ephemeral.flag, discord.MessageFlags.loading.flag
VOICE, STAGE = _CH.voice.value, _CH.stage_voice.value
BUTTON = _CT.button.value
SELECTS = frozenset(t.value for t in (_CT.select, _CT.user_select, _CT.role_select, _CT.mentionable_select,
                                      _CT.channel_select))


def perms(*names: str) -> int:
    return discord.Permissions(**{n: True for n in names}).value


# What a fresh Discord server gives @everyone (the layout's overwrites then narrow it per channel).
EVERYONE_DEFAULT = perms(
    "view_channel", "send_messages", "read_message_history", "add_reactions", "embed_links", "attach_files",
    "create_public_threads", "send_messages_in_threads", "use_application_commands", "create_instant_invite",
    "change_nickname", "use_external_emojis", "connect", "speak",
)
# The bot's own role: broad, but not Administrator, so channel denies still bite.
BOT_ROLE = perms(
    "view_channel", "send_messages", "read_message_history", "add_reactions", "embed_links", "attach_files",
    "manage_roles", "manage_channels", "manage_messages", "manage_threads", "manage_webhooks",
    "create_public_threads", "create_private_threads", "send_messages_in_threads", "use_external_emojis",
    "mention_everyone", "kick_members", "moderate_members",
    "manage_guild",  # AutoMod rules (/setup)
    "create_events", "manage_events",  # live sessions as scheduled events (bot/services/live_events.py)
)
# Moderators in a typical community: message management, not Manage Server (the role is what counts).
MODERATOR_ROLE = perms("manage_messages", "manage_threads", "kick_members", "moderate_members")


def iso(when: datetime) -> str:
    return when.isoformat()


@dataclass(eq=False)
class FakeUser:
    id: int
    name: str
    bot: bool = False
    dms_open: bool = True

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "username": self.name, "discriminator": "0", "global_name": self.name,
                "avatar": None, "bot": self.bot, "public_flags": 0, "flags": 0}


@dataclass(eq=False)
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    key: str | None = None  # the config key, when the role comes from community.yaml
    managed: bool = False
    hoist: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "name": self.name, "color": self.color,
                "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
                "hoist": self.hoist, "position": self.position, "permissions": str(self.permissions),
                "managed": self.managed, "mentionable": self.mentionable, "flags": 0, "icon": None,
                "unicode_emoji": None, "description": None}


@dataclass(eq=False)
class FakeMember:
    world: "World"
    user: FakeUser
    role_ids: list[int]
    joined_at: datetime
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def roles(self) -> set[str]:
        """The member's roles as config keys (roles without a key by name)."""
        out = set()
        for rid in self.role_ids:
            role = self.world.roles.get(rid)
            if role is not None:
                out.add(role.key or role.name)
        return out

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data = {"roles": [str(r) for r in self.role_ids], "joined_at": iso(self.joined_at), "nick": self.nick,
                "deaf": False, "mute": False, "flags": 0, "pending": False, "avatar": None, "banner": None,
                "premium_since": None, "communication_disabled_until": None}
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass(eq=False)
class FakeChannel:
    world: "World"
    id: int
    name: str
    type: int = TEXT
    key: str | None = None
    topic: str = ""
    position: int = 0
    # target id -> (0 role | 1 member, allow, deny)
    overwrites: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    parent_id: int | None = None
    owner_id: int | None = None  # threads
    recipient_id: int | None = None  # DMs
    starter_message_id: int | None = None
    archived: bool = False
    archived_at: datetime | None = None  # threads: when it was archived (the archived-threads list's order)
    locked: bool = False
    deleted: bool = False
    thread_members: set[int] = field(default_factory=set)
    # forums: the tags a post may carry ({"id", "name", "moderated", "emoji_id", "emoji_name"});
    # forum posts: the ids of the tags applied to them
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    applied_tags: list[int] = field(default_factory=list)

    @property
    def messages(self) -> list["FakeMessage"]:
        """Messages everyone in the channel can see, oldest first (ephemeral replies are not here)."""
        return [m for m in self.world.messages_in(self.id) if not m.ephemeral]

    @property
    def threads(self) -> list["FakeChannel"]:
        return [c for c in self.world.channels.values() if c.parent_id == self.id and c.is_thread]

    @property
    def is_thread(self) -> bool:
        return self.type in (PUBLIC_THREAD, PRIVATE_THREAD)

    @property
    def is_dm(self) -> bool:
        return self.type == DM

    # --- forums ---------------------------------------------------------------------------------
    @property
    def is_forum(self) -> bool:
        return self.type == FORUM

    @property
    def parent(self) -> "FakeChannel | None":
        return self.world.channels.get(self.parent_id) if self.parent_id else None

    @property
    def is_forum_post(self) -> bool:
        parent = self.parent
        return self.is_thread and parent is not None and parent.is_forum

    @property
    def starter(self) -> "FakeMessage | None":
        """A forum post's first message (its id is the post's id, as on Discord)."""
        msg = self.world.messages.get(self.id)
        return msg if msg is not None and not msg.deleted else None

    def tag_id(self, name: str) -> int:
        """A forum's tag id by its name."""
        for tag in self.available_tags:
            if tag["name"] == name:
                return int(tag["id"])
        raise KeyError(f"#{self.name} has no tag {name!r} (tags: {', '.join(t['name'] for t in self.available_tags)})")

    @property
    def tags(self) -> list[str]:
        """A forum post's applied tags by name, in the order applied."""
        parent = self.parent
        names = {int(t["id"]): t["name"] for t in (parent.available_tags if parent else [])}
        return [names.get(t, str(t)) for t in self.applied_tags]

    def overwrites_payload(self) -> list[dict[str, Any]]:
        return [{"id": str(t), "type": kind, "allow": str(a), "deny": str(d)}
                for t, (kind, a, d) in self.overwrites.items()]

    def payload(self) -> dict[str, Any]:
        w = self.world
        if self.type == DM:
            return {"id": str(self.id), "type": DM, "last_message_id": None,
                    "recipients": [w.users[self.recipient_id].payload()]}
        data: dict[str, Any] = {"id": str(self.id), "type": self.type, "name": self.name, "guild_id": str(w.guild_id),
                                "position": self.position, "parent_id": str(self.parent_id) if self.parent_id else None,
                                "last_message_id": None, "rate_limit_per_user": 0, "flags": 0}
        if self.is_thread:
            data.update({"owner_id": str(self.owner_id) if self.owner_id else None, "message_count": 0,
                         "member_count": len(self.thread_members), "total_message_sent": 0,
                         "thread_metadata": {"archived": self.archived, "locked": self.locked,
                                             "auto_archive_duration": 1440,
                                             "archive_timestamp": iso(self.archived_at or w.now()),
                                             "invitable": True, "create_timestamp": iso(w.now())}})
            if self.is_forum_post:
                data["applied_tags"] = [str(t) for t in self.applied_tags]
        elif self.is_forum:
            data.update({"topic": self.topic or None, "nsfw": False,
                         "permission_overwrites": self.overwrites_payload(), "default_auto_archive_duration": 1440,
                         "available_tags": [dict(t) for t in self.available_tags], "default_reaction_emoji": None,
                         "default_sort_order": None, "default_forum_layout": 0,
                         "default_thread_rate_limit_per_user": 0})
        else:
            data.update({"topic": self.topic or None, "nsfw": False,
                         "permission_overwrites": self.overwrites_payload(), "default_auto_archive_duration": 1440})
        if self.type in (VOICE, STAGE):  # a live event's venue (bot/services/live_events.py)
            data.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        return data


@dataclass(eq=False)
class FakeMessage:
    world: "World"
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    flags: int = 0
    created_at: datetime | None = None
    edited_at: datetime | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    reactions: dict[str, list[int]] = field(default_factory=dict)  # emoji -> user ids, in order
    webhook_id: int | None = None
    username: str | None = None  # webhook posts: the name shown
    interaction_id: int | None = None  # answers to an interaction
    interaction_user_id: int | None = None
    reference_id: int | None = None
    deleted: bool = False
    pinned: bool = False
    mentions: list[int] = field(default_factory=list)  # users actually pinged
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions, for edits
    nonce: str | None = None  # as sent; Discord echoes it in the create response and event only
    poll: "FakePoll | None" = None  # a native poll (see FakePoll)

    # --- reading it in tests --------------------------------------------------------------------
    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def channel(self) -> FakeChannel:
        return self.world.channels[self.channel_id]

    @property
    def author(self) -> FakeUser:
        return self.world.users[self.author_id]

    @property
    def thread(self) -> FakeChannel | None:
        for c in self.world.channels.values():
            if c.starter_message_id == self.id and not c.deleted:
                return c
        return None

    def walk_components(self) -> Iterator[dict[str, Any]]:
        yield from walk_components(self.components)

    @property
    def buttons(self) -> list[str]:
        """Button labels in display order (an emoji-only button shows its emoji)."""
        return [button_label(c) for c in self.walk_components() if c.get("type") == BUTTON]

    @property
    def button_components(self) -> list[dict[str, Any]]:
        return [c for c in self.walk_components() if c.get("type") == BUTTON]

    @property
    def selects(self) -> list[dict[str, Any]]:
        return [c for c in self.walk_components() if c.get("type") in SELECTS]

    @property
    def pings_anyone(self) -> bool:
        return bool(self.mentions or self.mention_roles or self.mention_everyone)

    # components v2 (issue 20)
    @property
    def is_layout(self) -> bool:
        """Sent with the IS_COMPONENTS_V2 flag: a layout (container, sections, text displays) instead of
        content and embeds."""
        return bool(self.flags & COMPONENTS_V2)

    @property
    def layout_texts(self) -> list[str]:
        """The text displays of a layout message, in reading order."""
        return [c.get("content") or "" for c in self.walk_components() if c.get("type") == TEXT_DISPLAY]

    @property
    def thumbnails(self) -> list[str]:
        """The picture urls shown beside a layout's sections."""
        return [(c.get("media") or {}).get("url") or "" for c in self.walk_components() if c.get("type") == THUMBNAIL]

    @property
    def text(self) -> str:
        """Content plus embed titles/descriptions/fields and a layout's text displays, for loose assertions."""
        parts = [self.content or ""] + self.layout_texts
        for e in self.embeds:
            parts += [e.get("title") or "", e.get("description") or ""]
            for f in e.get("fields") or []:
                parts += [f.get("name") or "", f.get("value") or ""]
            parts.append((e.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)

    def reaction_count(self, emoji: str) -> int:
        return len(self.reactions.get(emoji, []))

    def __repr__(self) -> str:
        return f"<FakeMessage id={self.id} channel={self.channel.key or self.channel.name} content={self.content!r:.60}>"

    # --- what Discord sends ---------------------------------------------------------------------
    def payload(self) -> dict[str, Any]:
        w = self.world
        ch = w.channels.get(self.channel_id)
        author = w.users[self.author_id].payload()
        if self.webhook_id and self.username:
            author = author | {"username": self.username, "global_name": None, "bot": True}
        data: dict[str, Any] = {
            "id": str(self.id), "channel_id": str(self.channel_id), "author": author,
            "content": self.content, "timestamp": iso(self.created_at or w.now()),
            "edited_timestamp": iso(self.edited_at) if self.edited_at else None, "tts": False,
            "mention_everyone": self.mention_everyone,
            "mentions": [w.users[u].payload() for u in self.mentions if u in w.users],
            "mention_roles": [str(r) for r in self.mention_roles],
            "attachments": [
                {"id": str(w.attachment_id(self.id, i)), "filename": name, "size": len(data_),
                 "url": f"https://cdn.discordapp.com/attachments/{self.channel_id}/{self.id}/{name}",
                 "proxy_url": f"https://media.discordapp.net/attachments/{self.channel_id}/{self.id}/{name}"}
                for i, (name, data_) in enumerate(self.files)],
            "embeds": self.embeds, "pinned": self.pinned,
            "type": (discord.MessageType.reply if self.reference_id else discord.MessageType.default).value,
            "flags": self.flags, "components": self.components,
            "reactions": [{"emoji": {"id": None, "name": e}, "count": len(u), "me": w.bot_user_id in u,
                           "count_details": {"burst": 0, "normal": len(u)}, "burst_colors": [],
                           "me_burst": False, "burst_me": False, "burst_count": 0}
                          for e, u in self.reactions.items() if u],
        }
        if ch is not None and not ch.is_dm:
            data["guild_id"] = str(w.guild_id)
        if self.webhook_id:
            data["webhook_id"] = str(self.webhook_id)
        if self.interaction_id:
            data["application_id"] = str(w.application_id)
            data["interaction_metadata"] = {"id": str(self.interaction_id),
                                            "type": discord.InteractionType.application_command.value,
                                            "user": w.users[self.interaction_user_id].payload()
                                            if self.interaction_user_id in w.users else author,
                                            "authorizing_integration_owners": {"0": str(w.guild_id)}}
        if self.reference_id:
            data["message_reference"] = {"type": discord.MessageReferenceType.default.value,
                                         "message_id": str(self.reference_id), "channel_id": str(self.channel_id)}
        thread = None if self.flags & EPHEMERAL else self.thread  # an ephemeral message starts no thread
        if thread is not None:
            data["thread"] = thread.payload()
        if self.poll is not None:
            data["poll"] = self.poll.payload()
        return data


# --- native polls and scheduled events -------------------------------------------------------------------
@dataclass(eq=False)
class FakePoll:
    """A message's poll: the answers (answer_id = position + 1), who voted for what, when it ends."""

    world: "World"
    question: str
    answers: list[str]
    expiry: datetime
    multiselect: bool = False
    votes: dict[int, list[int]] = field(default_factory=dict)  # answer id -> user ids, in order
    ended: bool = False  # ended early (POST .../expire)

    @property
    def open(self) -> bool:
        return not self.ended and self.world.now() < self.expiry

    def count(self, answer_id: int) -> int:
        return len(self.votes.get(answer_id, []))

    def payload(self) -> dict[str, Any]:
        w = self.world
        return {"question": {"text": self.question},
                "answers": [{"answer_id": i, "poll_media": {"text": text}} for i, text in enumerate(self.answers, 1)],
                "expiry": iso(self.expiry), "allow_multiselect": self.multiselect,
                "layout_type": discord.PollLayoutType.default.value,
                "results": {"is_finalized": not self.open,
                            "answer_counts": [{"id": i, "count": self.count(i), "me_voted": w.bot_user_id in users}
                                              for i, users in sorted(self.votes.items()) if users]}}


SCHEDULED, ACTIVE, COMPLETED, CANCELED = (discord.EventStatus.scheduled.value, discord.EventStatus.active.value,
                                          discord.EventStatus.completed.value, discord.EventStatus.canceled.value)
STAGE_EVENT, VOICE_EVENT, EXTERNAL_EVENT = (discord.EntityType.stage_instance.value, discord.EntityType.voice.value,
                                            discord.EntityType.external.value)


@dataclass(eq=False)
class FakeScheduledEvent:
    world: "World"
    id: int
    name: str
    start: datetime
    end: datetime | None
    entity_type: int
    creator_id: int
    description: str | None = None
    channel_id: int | None = None
    location: str | None = None
    status: int = SCHEDULED
    interested: list[int] = field(default_factory=list)  # user ids, in the order they pressed Interested
    history: list[int] = field(default_factory=list)  # earlier statuses

    @property
    def status_name(self) -> str:
        return discord.enums.try_enum(discord.EventStatus, self.status).name

    def payload(self) -> dict[str, Any]:
        w = self.world
        return {"id": str(self.id), "guild_id": str(w.guild_id), "name": self.name, "description": self.description,
                "channel_id": str(self.channel_id) if self.channel_id else None, "creator_id": str(self.creator_id),
                "creator": w.users[self.creator_id].payload(), "image": None,
                "scheduled_start_time": iso(self.start), "scheduled_end_time": iso(self.end) if self.end else None,
                "status": self.status, "entity_type": self.entity_type, "entity_id": None,
                "entity_metadata": {"location": self.location} if self.location else None,
                "privacy_level": discord.PrivacyLevel.guild_only.value, "user_count": len(self.interested),
                "recurrence_rule": None}


def walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for c in components or []:
        yield c
        if c.get("components"):
            yield from walk_components(c["components"])
        if c.get("component"):
            yield from walk_components([c["component"]])
        if c.get("accessory"):
            yield from walk_components([c["accessory"]])


def button_label(c: dict[str, Any]) -> str:
    if c.get("label"):
        return c["label"]
    emoji = c.get("emoji") or {}
    return emoji.get("name") or ""


MENTION_USER = re.compile(r"<@!?(\d+)>")
MENTION_ROLE = re.compile(r"<@&(\d+)>")


class World:
    """All the state of the fake Discord. Ids are snowflakes derived from the fake clock."""

    def __init__(self, clock: Clock, *, guild_id: int | None = None, guild_name: str = "Kizuna Test Server") -> None:
        self.clock = clock
        self._last_id = 0
        self._snowflake_at: datetime | None = None  # the instant `_snowflake` was made for (new_id)
        self._snowflake = 0
        self._counter = itertools.count(1)
        self.users: dict[int, FakeUser] = {}
        self.names: dict[str, int] = {}  # harness user name -> id
        self.members: dict[int, FakeMember] = {}
        self.roles: dict[int, FakeRole] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.automod_rules: dict[int, dict[str, Any]] = {}  # id -> rule payload (bot/offline/automod.py)
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" | guild id -> last synced body
        self.cdn: dict[str, bytes] = {}  # attachment url -> bytes
        self.nonces: dict[tuple[int, str], int] = {}  # (author id, nonce) -> message id (enforce_nonce)
        self.scheduled_events: dict[int, FakeScheduledEvent] = {}
        self.version = 0  # bumped on every change (permission cache)
        self.guild_id = guild_id or self.new_id()
        self.guild_name = guild_name
        self.owner_id = 0
        self.application_id = self.new_id()
        self.bot_user_id = self.application_id  # as on Discord, the bot user shares the app id
        self.users[self.bot_user_id] = FakeUser(self.bot_user_id, "Kizuna", bot=True)
        self.everyone = FakeRole(self.guild_id, "@everyone", EVERYONE_DEFAULT, 0)
        self.roles[self.guild_id] = self.everyone
        self.bot_role: FakeRole | None = None

    # --- ids and time ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> int:
        # speed: once per message; a click burst makes 20,000 replies at one fake instant (bench_clicks.py)
        now = self.now()
        if now != self._snowflake_at:
            self._snowflake_at, self._snowflake = now, discord.utils.time_snowflake(now)
        self._last_id = max(self._last_id + 1, self._snowflake)
        return self._last_id

    def attachment_id(self, message_id: int, index: int) -> int:
        return message_id + 1000 + index

    # --- lookups --------------------------------------------------------------------------------
    def user_id(self, who: str | int | FakeUser | FakeMember) -> int:
        if isinstance(who, (FakeUser, FakeMember)):
            return who.id
        if isinstance(who, int):
            if who not in self.users:
                raise KeyError(f"no user with id {who}")
            return who
        if who in self.names:
            return self.names[who]
        raise KeyError(f"no user called {who!r} (known: {', '.join(sorted(self.names))})")

    def user(self, who) -> FakeUser:
        return self.users[self.user_id(who)]

    def member(self, who) -> FakeMember:
        uid = self.user_id(who)
        if uid not in self.members:
            raise KeyError(f"{who!r} is not in the server")
        return self.members[uid]

    def role(self, key_or_id: str | int) -> FakeRole:
        if isinstance(key_or_id, int):
            return self.roles[key_or_id]
        for role in self.roles.values():
            if role.key == key_or_id:
                return role
        for role in self.roles.values():
            if role.name == key_or_id:
                return role
        raise KeyError(f"no role {key_or_id!r}")

    def channel(self, key_or_id: str | int | FakeChannel) -> FakeChannel:
        if isinstance(key_or_id, FakeChannel):
            return key_or_id
        if isinstance(key_or_id, int):
            return self.channels[key_or_id]
        name = key_or_id.lstrip("#")
        live = [c for c in self.channels.values() if not c.deleted]
        for c in live:
            if c.key == name:
                return c
        for c in live:
            if c.name == name and not c.is_dm:
                return c
        raise KeyError(f"no channel {key_or_id!r} (known: {', '.join(sorted(c.key or c.name for c in live if not c.is_dm))})")

    def messages_in(self, channel_id: int) -> list[FakeMessage]:
        return sorted((m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted),
                      key=lambda m: m.id)

    def message_with_nonce(self, author_id: int, nonce: str, window: timedelta) -> FakeMessage | None:
        """The message `author_id` created with `nonce` within the last `window` (enforce_nonce)."""
        msg = self.messages.get(self.nonces.get((author_id, nonce), 0))
        if msg is None or msg.created_at is None or self.now() - msg.created_at > window:
            return None
        return msg

    def dm_channel(self, user_id: int, *, create: bool = True) -> FakeChannel | None:
        for c in self.channels.values():
            if c.type == DM and c.recipient_id == user_id:
                return c
        if not create:
            return None
        c = FakeChannel(self, self.new_id(), "", type=DM, recipient_id=user_id)
        self.channels[c.id] = c
        return c

    def add_forum_tag(self, forum: FakeChannel, name: str, *, moderated: bool = False,
                      emoji: str | None = None) -> dict[str, Any]:
        tag = {"id": str(self.new_id()), "name": name, "moderated": moderated, "emoji_id": None,
               "emoji_name": emoji}
        forum.available_tags.append(tag)
        self.version += 1
        return tag

    def guild_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if not c.is_dm and not c.is_thread and not c.deleted]

    # --- building ---------------------------------------------------------------------------------
    def add_user(self, name: str, *, bot: bool = False) -> FakeUser:
        if name in self.names:
            return self.users[self.names[name]]
        user = FakeUser(self.new_id(), name, bot=bot)
        self.users[user.id] = user
        self.names[name] = user.id
        return user

    def add_role(self, name: str, *, key: str | None = None, permissions: int = 0, color: int = 0,
                 position: int | None = None, role_id: int | None = None) -> FakeRole:
        if position is None:
            position = max((r.position for r in self.roles.values()), default=0) + 1
        role = FakeRole(role_id or self.new_id(), name, permissions, position, color or 0, key)
        self.roles[role.id] = role
        self.version += 1  # the permission cache
        return role

    def add_channel(self, name: str, *, key: str | None = None, type: int = TEXT, topic: str = "",
                    parent_id: int | None = None, owner_id: int | None = None,
                    channel_id: int | None = None) -> FakeChannel:
        position = len([c for c in self.channels.values() if not c.is_dm])
        c = FakeChannel(self, channel_id or self.new_id(), name, type=type, key=key, topic=topic, position=position,
                        parent_id=parent_id, owner_id=owner_id)
        self.channels[c.id] = c
        self.version += 1  # the permission cache
        return c

    def add_member(self, user: FakeUser, role_ids: list[int]) -> FakeMember:
        m = FakeMember(self, user, list(role_ids), self.now())
        self.members[user.id] = m
        return m

    def add_message(self, channel_id: int, author_id: int, *, message_id: int | None = None,
                    **fields: Any) -> FakeMessage:
        msg = FakeMessage(self, message_id or self.new_id(), channel_id, author_id, created_at=self.now(), **fields)
        self.messages[msg.id] = msg
        return msg

    # --- mentions as Discord resolves them --------------------------------------------------------
    def resolve_mentions(self, msg: FakeMessage, *, may_mention_everyone: bool) -> None:
        """Who a message actually pings, from its content and allowed_mentions (Discord's rules)."""
        content = msg.content or ""
        if "@" not in content and not msg.reference_id:  # nothing can ping (most replies: one per click)
            msg.mentions, msg.mention_roles, msg.mention_everyone = [], [], False
            return
        am = msg.allowed_mentions
        parse = {"users", "roles", "everyone"} if am is None else set(am.get("parse") or [])
        allowed_users = set() if am is None else {int(u) for u in am.get("users") or []}
        allowed_roles = set() if am is None else {int(r) for r in am.get("roles") or []}
        users = [int(u) for u in MENTION_USER.findall(content)]
        msg.mentions = [u for u in dict.fromkeys(users) if u in self.users and ("users" in parse or u in allowed_users)]
        roles = [int(r) for r in MENTION_ROLE.findall(content)]
        msg.mention_roles = [r for r in dict.fromkeys(roles)
                             if r in self.roles and ("roles" in parse or r in allowed_roles)
                             and (self.roles[r].mentionable or may_mention_everyone)]
        msg.mention_everyone = bool(("@everyone" in content or "@here" in content) and "everyone" in parse
                                    and may_mention_everyone)
        if msg.reference_id and am is not None and am.get("replied_user"):
            ref = self.messages.get(msg.reference_id)
            if ref is not None and ref.author_id not in msg.mentions:
                msg.mentions.append(ref.author_id)

    # --- whole-guild payload ----------------------------------------------------------------------
    def guild_payload(self, *, members: bool = True) -> dict[str, Any]:
        """GUILD_CREATE's guild; without `members` for the harness's permission checks, which add the one
        member they ask about (rebuilding every member on each check made a click O(members))."""
        return {
            "id": str(self.guild_id), "name": self.guild_name, "icon": None, "splash": None,
            "discovery_splash": None, "owner_id": str(self.owner_id), "afk_channel_id": None, "afk_timeout": 300,
            "verification_level": 1, "default_message_notifications": 1, "explicit_content_filter": 2,
            "roles": [r.payload() for r in self.roles.values()], "emojis": [], "stickers": [], "features": [],
            "mfa_level": 0, "application_id": None, "system_channel_id": None, "system_channel_flags": 0,
            "rules_channel_id": None, "vanity_url_code": None, "description": None, "banner": None,
            "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
            "public_updates_channel_id": None, "nsfw_level": 0, "premium_progress_bar_enabled": False,
            "large": False, "unavailable": False, "member_count": len(self.members), "joined_at": iso(self.now()),
            "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [e.payload() for e in self.scheduled_events.values()
                                       if e.status in (SCHEDULED, ACTIVE)],
            "soundboard_sounds": [],
            "members": [m.payload() for m in self.members.values()] if members else [],
            "channels": [c.payload() for c in self.guild_channels()],
            "threads": [c.payload() for c in self.channels.values() if c.is_thread and not c.deleted],
        }

    def describe_ids(self) -> Callable[[str], str]:
        """A function that turns <@id>/<#id>/<@&id> in text into @name/#name (for the playground)."""
        def render(text: str) -> str:
            def user(m):
                u = self.users.get(int(m.group(1)))
                return f"@{u.name}" if u else m.group(0)

            def role(m):
                r = self.roles.get(int(m.group(1)))
                return f"@{r.name}" if r else m.group(0)

            def chan(m):
                c = self.channels.get(int(m.group(1)))
                return f"#{c.key or c.name}" if c else m.group(0)

            text = MENTION_ROLE.sub(role, text)
            text = MENTION_USER.sub(user, text)
            return re.sub(r"<#(\d+)>", chan, text)

        return render

    # --- application emojis (issue 20: the persona's emoji, uploaded by /setup) ----------------------------
    @property
    def application_emojis(self) -> dict[int, dict[str, Any]]:
        """The bot application's own emojis: id -> {"id", "name", "animated", "image"(bytes)}."""
        return self.__dict__.setdefault("_application_emojis", {})


# --- components v2 (issue 20) ------------------------------------------------------------------------------
COMPONENTS_V2 = discord.MessageFlags.components_v2.flag  # a layout message (container, sections, text displays)
TEXT_DISPLAY, THUMBNAIL = _CT.text_display.value, _CT.thumbnail.value
