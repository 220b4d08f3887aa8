"""/setup: create or link the roles and channels community.yaml describes, with their overwrites.

Idempotent: what exists is linked (by configured id, else by name), what differs is corrected, and
what the bot may not do is reported instead of stopping half way.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import discord

from bot.services.layout import ChannelLayout, desired_layout

log = logging.getLogger(__name__)

REASON = "Kizuna /setup"
# community.yaml `type:` -> the discord.py class and how a guild makes one
VOICE_TYPES = {"voice": (discord.VoiceChannel, discord.Guild.create_voice_channel),
               "stage": (discord.StageChannel, discord.Guild.create_stage_channel)}


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"created {len(self.created)}, updated {len(self.updated)}, unchanged {len(self.unchanged)},"
                f" could not {len(self.failed)}")


def overwrite_for(allow: frozenset[str], deny: frozenset[str]) -> discord.PermissionOverwrite:
    values = {name: True for name in allow} | {name: False for name in deny}
    return discord.PermissionOverwrite(**values)


def _missing(error: discord.Forbidden) -> str:
    return error.text or "Forbidden"


async def apply_layout(bot, guild: discord.Guild) -> SetupReport:
    app = bot.app
    t = app.t
    layout = desired_layout(bot.config)
    report = SetupReport()
    me = guild.me
    roles: dict[str, discord.Role] = {}
    for spec in layout.roles:
        role = bot.resolve_role(guild, spec.key)
        if role is not None:
            roles[spec.key] = role
            report.unchanged.append(f"@{role.name}")
            continue
        if spec.managed_elsewhere:
            report.failed.append(t("membership.setup_missing_holder", role=spec.name))
            continue
        if not me.guild_permissions.manage_roles:
            report.failed.append(t("membership.setup_forbidden", item=f"@{spec.name}", detail="Manage Roles"))
            continue
        try:
            colour = discord.Colour(spec.color) if spec.color is not None else discord.Colour.default()
            roles[spec.key] = await guild.create_role(name=spec.name, colour=colour, reason=REASON)
            report.created.append(f"@{spec.name}")
        except discord.Forbidden as error:
            report.failed.append(t("membership.setup_forbidden", item=f"@{spec.name}", detail=_missing(error)))
    for channel_spec in layout.channels:
        await _one_channel(bot, guild, channel_spec, roles, report)
    await persona_emoji(bot, report)
    return report


async def persona_emoji(bot, report: SetupReport) -> None:
    """Upload the persona's emoji (community.yaml persona.emoji) as application emojis (issue 20):
    GET /applications/{id}/emojis, then POST each name not there yet. One already uploaded under its
    name is kept as it is (delete it in the Developer Portal to replace its picture)."""
    wanted = bot.config.community.persona.emoji
    if not wanted:
        return
    t = bot.app.t
    try:
        have = {e.name for e in await bot.fetch_application_emojis()}
    except discord.HTTPException as error:
        report.failed.append(t("membership.setup_emoji_failed", item=t("membership.setup_emoji_all"),
                               detail=error.text or str(error)))
        return
    for name, relative in wanted.items():
        label = f":{name}:"
        if name in have:
            report.unchanged.append(label)
            continue
        try:
            image = (Path(bot.config.dir) / relative).read_bytes()
            await bot.create_application_emoji(name=name, image=image)
            report.created.append(label)
        except (OSError, discord.HTTPException) as error:
            detail = getattr(error, "text", None) or getattr(error, "strerror", None) or str(error)
            report.failed.append(t("membership.setup_emoji_failed", item=label, detail=detail))


def _targets(guild: discord.Guild, spec: ChannelLayout, roles: dict[str, discord.Role], report: SetupReport, t):
    out: dict[discord.Role | discord.Member, discord.PermissionOverwrite] = {}
    for target, ow in spec.overwrites.items():
        if target == "@everyone":
            obj = guild.default_role
        elif target == "@bot":
            obj = guild.me
        else:
            obj = roles.get(target)
            if obj is None:
                report.failed.append(t("membership.setup_missing_role", role=target, channel=f"#{spec.name}"))
                continue
        out[obj] = overwrite_for(ow.allow, ow.deny)
    return out


async def _one_channel(bot, guild: discord.Guild, spec: ChannelLayout, roles: dict[str, discord.Role],
                       report: SetupReport) -> None:
    t = bot.app.t
    wanted = _targets(guild, spec, roles, report, t)
    channel = bot.resolve_channel(guild, spec.key)
    label = f"#{spec.name}"
    try:
        if channel is None:
            if not guild.me.guild_permissions.manage_channels:
                report.failed.append(t("membership.setup_forbidden", item=label, detail="Manage Channels"))
                return
            if spec.forum:
                await guild.create_forum(spec.name, topic=spec.topic or None, overwrites=wanted, reason=REASON,
                                         available_tags=[discord.ForumTag(name=n) for n in spec.tags])
            elif spec.type in VOICE_TYPES:
                await VOICE_TYPES[spec.type][1](guild, spec.name, overwrites=wanted, reason=REASON)
            else:
                await guild.create_text_channel(spec.name, topic=spec.topic or None, overwrites=wanted, reason=REASON)
            report.created.append(label)
            return
        changes: dict = {}
        if spec.type in VOICE_TYPES and type(channel) is not VOICE_TYPES[spec.type][0]:
            report.failed.append(t("membership.setup_not_voice", channel=label, type=spec.type))
            return
        if spec.forum:
            if not isinstance(channel, discord.ForumChannel):
                report.failed.append(t("membership.setup_not_forum", channel=label))
                return
            have = {tag.name for tag in channel.available_tags}
            if any(name not in have for name in spec.tags):  # tags added by hand are kept
                changes["available_tags"] = list(channel.available_tags) + [
                    discord.ForumTag(name=n) for n in spec.tags if n not in have]
        if any(channel.overwrites_for(target) != ow for target, ow in wanted.items()):
            changes["overwrites"] = {**channel.overwrites, **wanted}  # overwrites for others are left alone
        if spec.topic and spec.type not in VOICE_TYPES and getattr(channel, "topic", None) != spec.topic:
            changes["topic"] = spec.topic
        if not changes:
            report.unchanged.append(label)
            return
        await channel.edit(**changes, reason=REASON)
        report.updated.append(label)
    except discord.Forbidden as error:
        report.failed.append(t("membership.setup_forbidden", item=label, detail=_missing(error)))
