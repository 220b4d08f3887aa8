"""community.yaml: who the community is, how it is laid out, and how the bot speaks."""
from __future__ import annotations

from typing import Annotated, Iterator, Literal

from pydantic import Field, model_validator

from .ama import AmaSettings
from .base import Key, Model, TimeZoneName
from .feedback import FeedbackSettings
from .membership import MembershipSettings, Tier
from .persona import Persona

REQUIRED_ROLES = ("visitor", "member", "moderator")

# A Discord id (snowflake): a positive 64-bit number.
Snowflake = Annotated[int, Field(gt=0, le=2**63 - 1, description="a Discord id (a positive number)")]


class CommunityInfo(Model):
    name: str = Field(min_length=1, max_length=100)
    """The community's name, shown in posts and replies ({community.name})."""
    purpose: str = Field(min_length=1, max_length=1000)
    """One or two sentences on what the community is for."""
    timezone: TimeZoneName = "UTC"
    """The community's IANA time zone (like Asia/Tokyo): every time in the config is read in it."""
    language: Literal["en", "ja"] = "en"
    """The language of the bot's own messages: en or ja."""
    guild_id: Snowflake | None = None
    """The Discord server (guild) id; leave it out to use the only server the bot is in."""
    database: str | None = None  # path of the SQLite file, or a postgresql:// URL; env DATABASE_URL / KIZUNA_DB win
    """Path of the SQLite database file (default data/kizuna.db), or a postgresql://user@host/db URL to
    run on PostgreSQL; the DATABASE_URL and KIZUNA_DB environment variables win."""
    database_schema: str | None = Field(default=None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL only: the schema this community's tables live in (default: the URL's ?schema=, else
    public), so several communities share one server, one schema each."""


class RoleSpec(Model):
    name: str = Field(min_length=1, max_length=100)
    """The role's name on Discord (the bot creates it if missing)."""
    id: Snowflake | None = None  # link an existing role instead of creating one
    """Link an existing Discord role by id instead of finding or creating it by name."""
    color: int | None = Field(default=None, ge=0, le=0xFFFFFF)
    """The role colour as a number, e.g. 0xF4A7B9."""


class ChannelSpec(Model):
    """A channel by key. public: all read, members write; readonly: all read, only the bot writes;
    exclusive: its tier and above; mod: moderators only."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    """The channel's name on Discord (default: the key)."""
    kind: Literal["public", "readonly", "exclusive", "mod"] = "public"
    """public: all read, members write; readonly: all read, only the bot writes; exclusive: its tier
    and above; mod: moderators only."""
    tier: Key | None = None
    """For an exclusive channel: the lowest tier key that may see it."""
    topic: str = Field(default="", max_length=1024)
    """The channel topic."""
    id: Snowflake | None = None
    """Link an existing Discord channel by id instead of finding or creating it by name."""

    @model_validator(mode="after")
    def _tier_only_for_exclusive(self) -> "ChannelSpec":
        if self.kind == "exclusive" and self.tier is None:
            raise ValueError("an exclusive channel needs `tier:` (the lowest tier that may see it)")
        if self.kind != "exclusive" and self.tier is not None:
            raise ValueError("`tier:` is only for channels of kind exclusive")
        return self


class Moderation(Model):
    moderator_role: Key = "moderator"
    """The role key (in roles:) of moderators."""
    mod_log: Key = "mod-log"
    """The channel key where moderator actions and bot notices are logged."""
    mod_queue: Key = "mod-queue"
    """The channel key where applications and notices wait for a moderator."""


class CommunityFile(Model):
    # `community:` in the file; `config.community.info` in code (not config.community.community)
    info: CommunityInfo = Field(alias="community")
    """Who the community is: name, purpose, time zone, language."""
    membership: MembershipSettings = MembershipSettings()
    """How people join: open, approval (with questions) or invite codes."""
    roles: dict[Key, RoleSpec]
    """Roles by key (member, moderator, tier roles...); other settings refer to these keys."""
    tiers: tuple[Tier, ...] = ()
    """Membership tiers from lowest to highest, and how each is earned."""
    channels: dict[Key, ChannelSpec]
    """Channels by key; other files refer to these keys (channel: announcements)."""
    moderation: Moderation = Moderation()
    """Which role moderates and where the mod-log and mod-queue are."""
    persona: Persona = Persona()
    """The character the bot speaks as: name, avatar, greeting, sign-off."""
    feedback: FeedbackSettings = FeedbackSettings()
    """The /feedback box: categories, limits, keyword flags and the digest."""
    ama: AmaSettings = AmaSettings()
    """Guest sessions (AMA): a default length and the shortest question."""
    messages: dict[str, str] = {}  # overrides of the message catalogue, key -> template
    """Overrides of the bot's message texts: catalogue key -> template (see bot/locales/)."""

    def channel_name(self, key: str) -> str:
        spec = self.channels[key]
        return spec.name or key

    def tier_rank(self, tier_key: str | None) -> int:
        """0 for plain members, 1 for the first tier, and so on (tiers are listed lowest first)."""
        if tier_key is None:
            return 0
        for i, tier in enumerate(self.tiers, start=1):
            if tier.key == tier_key:
                return i
        raise KeyError(tier_key)

    def tier(self, tier_key: str) -> Tier:
        return self.tiers[self.tier_rank(tier_key) - 1]

    def _clashes(self) -> Iterator[tuple[tuple, str]]:
        """Roles and channels the bot finds on Discord by id, else by name, must not be the same one:
        two roles named alike are one role (every member would count as the tier)."""
        roles: dict[tuple, str] = {}
        for key, spec in self.roles.items():
            for field, ident in (("id", spec.id), ("name", spec.name)):
                if ident is not None and (field, ident) in roles:
                    yield ("roles", key, field), (f"roles {roles[field, ident]!r} and {key!r} have the same "
                                                  f"{field} {ident!r}: on Discord they would be one role")
                    break
                if ident is not None:
                    roles[field, ident] = key
        channels: dict[tuple, str] = {}
        for key, spec in self.channels.items():
            name = discord_channel_name(spec.name or key)
            for field, ident in (("id", spec.id), ("name", name)):
                if ident is not None and (field, ident) in channels:
                    loc = ("channels", key) + ((field,) if field == "id" or spec.name else ())
                    yield loc, (f"channels {channels[field, ident]!r} and {key!r} have the same {field} "
                                f"{ident!r} on Discord: the bot would find one channel for both")
                    break
                if ident is not None:
                    channels[field, ident] = key

    def references(self, config) -> Iterator[tuple[tuple, str]]:
        """Cross-field problems: (location, message)."""
        for role in REQUIRED_ROLES:
            if role not in self.roles:
                yield ("roles",), f"the role key {role!r} is required (roles needed: {', '.join(REQUIRED_ROLES)})"
        yield from self._clashes()
        tier_keys = [t.key for t in self.tiers]
        tier_roles: dict[str, str] = {}
        everyone = {"visitor": "visitor", "member": "member", self.moderation.moderator_role: "moderator"}
        for i, tier in enumerate(self.tiers):
            if tier_keys.count(tier.key) > 1:
                yield ("tiers", i, "key"), f"tier key {tier.key!r} is used twice"
            if tier.role not in self.roles:
                yield ("tiers", i, "role"), _unknown("role", tier.role, self.roles)
            elif tier.role in everyone:
                yield ("tiers", i, "role"), (f"{tier.role!r} is the {everyone[tier.role]} role: everyone holding it "
                                             "would count as this tier; give the tier a role of its own")
            elif tier.role in tier_roles:
                yield ("tiers", i, "role"), (f"the role {tier.role!r} is already the role of tier "
                                             f"{tier_roles[tier.role]!r}: each tier needs a role of its own")
            tier_roles.setdefault(tier.role, tier.key)
            if tier.grant.holder_role and tier.grant.holder_role not in self.roles:
                yield ("tiers", i, "grant", "holder_role"), _unknown("role", tier.grant.holder_role, self.roles)
        for key, spec in self.channels.items():
            if spec.tier is not None and spec.tier not in tier_keys:
                yield ("channels", key, "tier"), _unknown("tier", spec.tier, tier_keys)
        for field in ("mod_log", "mod_queue"):
            value = getattr(self.moderation, field)
            if value not in self.channels:
                yield ("moderation", field), _unknown("channel", value, self.channels)
            elif self.channels[value].kind != "mod":
                yield ("moderation", field), f"channel {value!r} must be of kind mod (moderators only)"
        if self.moderation.moderator_role not in self.roles:
            yield ("moderation", "moderator_role"), _unknown("role", self.moderation.moderator_role, self.roles)
        if self.feedback.channel not in self.channels:
            yield ("feedback", "channel"), _unknown("channel", self.feedback.channel, self.channels)
        for i, key in enumerate(self.feedback.reactions_on):
            if key not in self.channels:
                yield ("feedback", "reactions_on", i), _unknown("channel", key, self.channels)
        from bot.services.catalogue import override_problems

        for key, problem in override_problems(self.messages):
            yield ("messages", key), problem


def discord_channel_name(name: str) -> str:
    """The name Discord gives a text channel: lower case, spaces as dashes."""
    return "-".join(name.lower().split())


def _unknown(what: str, value: str, known) -> str:
    return f"unknown {what} key {value!r} (known: {', '.join(sorted(known)) or 'none'})"
