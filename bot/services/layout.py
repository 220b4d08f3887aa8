"""The community's Discord layout, derived from community.yaml as plain data (no discord import).

`/setup` creates or updates roles and channels to match it; the offline harness seeds its guild with
it. Permission names are discord.py `Permissions` attribute names. Overwrite targets are
"@everyone", "@bot" (the bot's own member) or a role key from the config.
"""
from __future__ import annotations

from dataclasses import dataclass, field

READ = frozenset({"view_channel", "read_message_history"})
WRITE = frozenset({"send_messages", "send_messages_in_threads", "add_reactions", "create_public_threads",
                   "attach_files", "embed_links"})
BOT = READ | WRITE | frozenset({"manage_messages", "manage_threads", "manage_webhooks"})
# In a voice or stage channel "read" is also joining to listen, "write" also speaking. A stage's
# audience does not speak on its own: moderators invite members up (Discord's stage rules).
VOICE_READ = READ | frozenset({"connect"})
VOICE_WRITE = WRITE | frozenset({"speak"})


@dataclass(frozen=True)
class Overwrite:
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ChannelLayout:
    key: str
    name: str
    kind: str
    topic: str
    tier: str | None
    overwrites: dict[str, Overwrite] = field(default_factory=dict)
    forum: bool = False  # a forum channel (bot/services/forum.py), with these tags
    tags: tuple[str, ...] = ()
    type: str = "text"  # text | voice | stage | forum (ChannelSpec.type)


@dataclass(frozen=True)
class RoleLayout:
    key: str
    name: str
    color: int | None
    managed_elsewhere: bool  # a holder role synced by another bot: link it, never create or assign


@dataclass(frozen=True)
class Layout:
    roles: tuple[RoleLayout, ...]
    channels: tuple[ChannelLayout, ...]


def tier_roles_at_or_above(community, tier_key: str) -> list[str]:
    rank = community.tier_rank(tier_key)
    return [t.role for t in community.tiers[rank - 1:]]


def desired_layout(config) -> Layout:
    c = config.community
    holder_roles = {t.grant.holder_role for t in c.tiers if t.grant.holder_role}
    roles = tuple(RoleLayout(key, spec.name, spec.color, key in holder_roles) for key, spec in c.roles.items())
    mod = c.moderation.moderator_role
    channels = []
    from .forum import forum_tags

    tags = forum_tags(c)
    for key, spec in c.channels.items():
        voice = spec.type in ("voice", "stage")
        read, write = (VOICE_READ, VOICE_WRITE) if voice else (READ, WRITE)
        members_write = WRITE if spec.type == "stage" else write  # moderators speak on a stage, members are invited
        ow: dict[str, Overwrite] = {"@bot": Overwrite(allow=BOT)}
        if spec.kind == "public":
            ow["@everyone"] = Overwrite(allow=read, deny=write)
            ow["member"] = Overwrite(allow=members_write)
            ow[mod] = Overwrite(allow=write)
        elif spec.kind == "readonly":
            ow["@everyone"] = Overwrite(allow=read, deny=write)
            # members may react to announcements (feedback 👍/👎) but not post
            ow["member"] = Overwrite(allow=frozenset({"add_reactions"}))
            ow[mod] = Overwrite(allow=write)
        elif spec.kind == "exclusive":
            ow["@everyone"] = Overwrite(deny=read | write)
            for role in tier_roles_at_or_above(c, spec.tier):
                ow[role] = Overwrite(allow=read | members_write)
            ow[mod] = Overwrite(allow=read | write)
        else:  # mod
            ow["@everyone"] = Overwrite(deny=read | write)
            ow[mod] = Overwrite(allow=read | write)
        channels.append(ChannelLayout(key, spec.name or key, spec.kind, spec.topic, spec.tier, ow,
                                      forum=spec.forum, tags=tags.get(key, ()), type=spec.type))
    return Layout(roles, tuple(channels))
