"""Reusable app_commands checks. Every moderator command uses `is_moderator()`."""
from __future__ import annotations

import discord
from discord import app_commands


class NotModeratorFailure(app_commands.CheckFailure):
    """Raised when a non-moderator runs a moderator command; rendered as core.not_moderator."""


def member_is_moderator(bot, member: discord.abc.User | None) -> bool:
    """A moderator holds the configured moderator role, or has Manage Server."""
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    role = bot.resolve_role(member.guild, bot.config.community.moderation.moderator_role)
    return role is not None and role in member.roles


def is_staff(bot, member) -> bool:
    """The help desk's team: the help staff role (default: moderators), or a moderator."""
    if member_is_moderator(bot, member):
        return True
    if not isinstance(member, discord.Member):
        return False
    role = bot.resolve_role(member.guild, bot.app.support.staff_role)
    return role is not None and role in member.roles


def is_moderator():
    async def predicate(interaction: discord.Interaction) -> bool:
        if member_is_moderator(interaction.client, interaction.user):
            return True
        raise NotModeratorFailure("moderators only")

    check = app_commands.check(predicate)

    def decorator(func):
        func = check(func)
        # marks the command so tests can list every moderator command
        target = func
        setattr(target, "__kizuna_moderator__", True)
        return func

    return decorator


def is_moderator_command(command: app_commands.Command | app_commands.ContextMenu) -> bool:
    return bool(getattr(command.callback, "__kizuna_moderator__", False))
