"""Membership commands: /join, /leave, /setup, /community info, /applications, /invite, /tier."""
from __future__ import annotations

import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator, member_is_moderator
from bot.errors import NotModerator, UserError
from bot.services.membership import MEMBER_ROLE, TierStatus, discord_time
from bot.services.messages import Button, OutMessage, Target
from bot.tree import respond


from ._setup import apply_layout
from ._views import DYNAMIC_ITEMS, JOIN_ID, start_join

log = logging.getLogger(__name__)

WELCOME_CHANNEL = "welcome"


def _lines(header: str, lines: list[str], limit: int = 1900) -> str:
    out = header
    for line in lines:
        if len(out) + len(line) + 1 > limit:
            out += "\n…"
            break
        out += "\n" + line
    return out


class JoinCog(commands.Cog):
    """/join, /leave, /setup and the server events membership reacts to."""

    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    @app_commands.command(name="join", description="Join the community (with an invite code in invite mode)")
    @app_commands.describe(code="An invite code, if you have one")
    @app_commands.guild_only()
    async def join(self, interaction: discord.Interaction, code: app_commands.Range[str, 1, 32] | None = None) -> None:
        await start_join(interaction, code)

    @app_commands.command(name="leave", description="Leave the community (you can still read public channels)")
    @app_commands.guild_only()
    async def leave(self, interaction: discord.Interaction) -> None:
        await self.app.membership.leave(interaction.guild_id, interaction.user.id)
        await respond(interaction, self.app.t("membership.left"))

    @app_commands.command(name="setup", description="Create or fix the community's roles and channels")
    @app_commands.describe(repost_welcome="Post a fresh welcome message with the Join button")
    @app_commands.guild_only()
    @is_moderator()
    async def setup(self, interaction: discord.Interaction, repost_welcome: bool = False) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await apply_layout(self.bot, interaction.guild)
        t = self.app.t
        parts = [t("membership.setup_header")]
        for key, items in (("created", report.created), ("updated", report.updated),
                           ("unchanged", report.unchanged), ("failed", report.failed)):
            if items or key != "failed":
                parts.append(t(f"membership.setup_{key}", items=", ".join(items) or t("membership.setup_nothing")))
        parts.append(await self._welcome_post(interaction.guild, repost_welcome))
        automod = await self.app.automod.sync(interaction.guild_id)  # served by the AutoMod cog
        parts.append(automod.line(self.app) if automod else "")
        await self.app.audit.record(interaction.guild_id, interaction.user.id, "setup", None, report.summary())
        await respond(interaction, _lines("", parts).strip()[:2000])

    async def _welcome_post(self, guild: discord.Guild, fresh: bool) -> str:
        if WELCOME_CHANNEL not in self.bot.config.community.channels:
            return ""
        t, service = self.app.t, self.app.membership
        message = OutMessage(
            content=t("membership.welcome_post", purpose=self.bot.config.community.info.purpose,
                      how=t(f"membership.welcome_how_{service.mode}"))[:2000],
            buttons=(Button(t("membership.join_button"), JOIN_ID, "success"),), as_persona=True)
        key = await service.welcome_post_key(guild.id, fresh=fresh)
        queued = await self.app.outbox.post(guild.id, Target.channel(WELCOME_CHANNEL), message, dedupe_key=key)
        channel = self.bot.resolve_channel(guild, WELCOME_CHANNEL)
        if queued is None:
            return t("membership.setup_welcome_kept")
        return t("membership.setup_welcome_posted", channel=channel.mention if channel else f"#{WELCOME_CHANNEL}")

    # --- server events ---------------------------------------------------------------------------------
    def _ours(self, guild: discord.Guild) -> bool:
        return self.app.guild_id is None or guild.id == self.app.guild_id

    @commands.Cog.listener()
    async def on_member_remove(self, member: discord.Member) -> None:
        if self._ours(member.guild) and not member.bot:
            role = self.bot.resolve_role(member.guild, MEMBER_ROLE)
            await self.app.membership.member_removed(member.guild.id, member.id,
                                                     held_member_role=role is not None and role in member.roles)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        if self._ours(member.guild) and not member.bot:
            await self.app.membership.server_joined(member.guild.id, member.id)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """A holder role synced by another bot came or went: re-check that member's tier now."""
        if not self._ours(after.guild) or before.roles == after.roles:
            return
        holder_keys = {t.grant.holder_role for t in self.bot.config.community.tiers if t.grant.holder_role}
        changed = set(before.roles) ^ set(after.roles)
        holder_roles = {self.bot.resolve_role(after.guild, key) for key in holder_keys} - {None}
        if changed & holder_roles:
            await self.app.membership.evaluate_tiers(after.guild.id, after.id)


@app_commands.guild_only()
class CommunityCog(commands.GroupCog, group_name="community", group_description="About this community"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    @app_commands.command(name="info", description="What this community is, how to join, its tiers")
    async def info(self, interaction: discord.Interaction) -> None:
        t = self.app.t
        info = await self.app.membership.community_info(interaction.guild_id)
        embed = discord.Embed(title=t("membership.info_title")[:256], description=info.purpose[:4096])
        embed.add_field(name=t("membership.info_mode"), value=t(f"membership.mode_{info.mode}"), inline=False)
        embed.add_field(name=t("membership.info_members"), value=str(info.member_count), inline=True)
        lines = []
        for tier in info.tiers:
            ways = ", ".join(t(f"membership.info_way_{w}") for w in tier.ways)
            lines.append(t("membership.info_tier_line", name=tier.name, description=tier.description,
                           ways=t("membership.info_ways", ways=ways) if ways else ""))
        embed.add_field(name=t("membership.info_tiers"), value="\n".join(lines)[:1024] or t("membership.info_no_tiers"),
                        inline=False)
        await respond(interaction, embed=embed)


@app_commands.guild_only()
class ApplicationsCog(commands.GroupCog, group_name="applications", group_description="Membership applications"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    @app_commands.command(name="list", description="Applications waiting for a decision")
    @is_moderator()
    async def list_(self, interaction: discord.Interaction) -> None:
        t = self.app.t
        pending = await self.app.membership.applications.list(interaction.guild_id)
        if not pending:
            await respond(interaction, t("membership.applications_none"))
            return
        lines = [t("membership.applications_line", id=a.id, user=f"<@{a.user_id}>",
                   created=discord_time(a.created_at, "R"), expires=discord_time(a.expires_at, "R")) for a in pending]
        await respond(interaction, _lines(t("membership.applications_header", count=len(pending)), lines))


@app_commands.guild_only()
class InviteCog(commands.GroupCog, group_name="invite", group_description="Invite codes"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    def _is_mod(self, interaction: discord.Interaction) -> bool:
        return member_is_moderator(self.bot, interaction.user)

    @app_commands.command(name="create", description="Create an invite code")
    @app_commands.describe(max_uses="How many people may use it", expires_days="Days until it expires",
                           tier="A tier it grants (moderators only)")
    async def create(self, interaction: discord.Interaction, max_uses: app_commands.Range[int, 1, 1000] | None = None,
                     expires_days: app_commands.Range[int, 1, 365] | None = None, tier: str | None = None) -> None:
        t = self.app.t
        created = await self.app.membership.invites.create(
            interaction.guild_id, interaction.user.id, is_moderator=self._is_mod(interaction), max_uses=max_uses,
            expires_days=expires_days, tier=tier)
        invite = created.invite
        await respond(interaction, t(
            "membership.invite_created", id=invite.id, code=created.code, max_uses=invite.max_uses,
            expires=discord_time(invite.expires_at, "f"),
            tier=t("membership.invite_created_tier", tier=self.app.membership.tiers.name(invite.tier)) if invite.tier
            else ""))

    @create.autocomplete("tier")
    async def _tier_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=tier.name, value=tier.key) for tier in self.bot.config.community.tiers
                if current.lower() in tier.key or current.lower() in tier.name.lower()][:25]

    @app_commands.command(name="list", description="Active invite codes (yours, or all for moderators)")
    async def list_(self, interaction: discord.Interaction) -> None:
        t = self.app.t
        invites = await self.app.membership.invites.list(interaction.guild_id, interaction.user.id,
                                                         is_moderator=self._is_mod(interaction))
        if not invites:
            await respond(interaction, t("membership.invites_none"))
            return
        lines = [t("membership.invites_line", id=i.id, hint=i.hint, creator=f"<@{i.creator_id}>", uses=i.uses,
                   max_uses=i.max_uses, expires=discord_time(i.expires_at, "R"),
                   tier=t("membership.invite_created_tier", tier=self.app.membership.tiers.name(i.tier)) if i.tier
                   else "") for i in invites]
        await respond(interaction, _lines(t("membership.invites_header", count=len(invites)), lines))

    @app_commands.command(name="revoke", description="Revoke an invite code by its number (see /invite list)")
    @app_commands.describe(invite="The invite number, like 12")
    async def revoke(self, interaction: discord.Interaction, invite: app_commands.Range[str, 1, 100]) -> None:
        # text, not an integer option: a typed "abc" reaches us and gets a real answer (the autocomplete
        # offers the numbers anyway)
        number = re.fullmatch(r"\s*#?\s*(\d{1,18})\s*", invite)
        if number is None:
            raise UserError("membership.invite_bad_number", given=invite[:40])
        revoked = await self.app.membership.invites.revoke(interaction.guild_id, interaction.user.id,
                                                           int(number.group(1)), is_moderator=self._is_mod(interaction))
        await respond(interaction, self.app.t("membership.invite_revoked", id=revoked.id, hint=revoked.hint))

    @revoke.autocomplete("invite")
    async def _invite_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        invites = await self.app.membership.invites.list(interaction.guild_id, interaction.user.id,
                                                         is_moderator=self._is_mod(interaction))
        wanted = current.strip().lstrip("#").lower()
        return [app_commands.Choice(name=self.app.t("membership.invite_choice", id=i.id, hint=i.hint, uses=i.uses,
                                                    max_uses=i.max_uses)[:100], value=str(i.id))
                for i in invites if wanted in str(i.id) or wanted in i.hint.lower()][:25]


@app_commands.guild_only()
class TierCog(commands.GroupCog, group_name="tier", group_description="Member tiers"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app

    def _status_text(self, status: TierStatus) -> str:
        t, tiers = self.app.t, self.app.membership.tiers
        text = t("membership.tier_status", user=f"<@{status.user_id}>", now=tiers.name(status.tier),
                 manual=t("membership.tier_status_manual", tier=tiers.name(status.manual_tier))
                 if status.manual_tier else "",
                 rule=t("membership.tier_status_rule", tier=tiers.name(status.rule_tier)) if status.rule_tier else "")
        if status.change is not None:
            text += t("membership.tier_status_changed", old=tiers.name(status.change.old),
                      new=tiers.name(status.change.new))
        return text

    @app_commands.command(name="grant", description="Give a member a tier (the rules will not take it away)")
    @is_moderator()
    async def grant(self, interaction: discord.Interaction, member: discord.Member, tier: str) -> None:
        status = await self.app.membership.tiers.grant(interaction.guild_id, interaction.user.id, member.id, tier)
        await respond(interaction, self.app.t("membership.tier_granted", user=member.mention,
                                              tier=self.app.membership.tiers.name(tier),
                                              now=self.app.membership.tiers.name(status.tier)))

    @grant.autocomplete("tier")
    async def _tier_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=tier.name, value=tier.key) for tier in self.bot.config.community.tiers
                if current.lower() in tier.key or current.lower() in tier.name.lower()][:25]

    @app_commands.command(name="revoke", description="Remove a moderator's tier grant from a member")
    @is_moderator()
    async def revoke(self, interaction: discord.Interaction, member: discord.Member) -> None:
        status = await self.app.membership.tiers.revoke(interaction.guild_id, interaction.user.id, member.id)
        await respond(interaction, self.app.t("membership.tier_revoked", user=member.mention,
                                              now=self.app.membership.tiers.name(status.tier)))

    @app_commands.command(name="check", description="Re-check a tier now (yours, or a member's for moderators)")
    async def check(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        target = member or interaction.user
        if target.id != interaction.user.id and not member_is_moderator(self.bot, interaction.user):
            raise NotModerator()
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self.app.membership.tiers.check(interaction.guild_id, target.id, actor_id=interaction.user.id
                                                       if target.id != interaction.user.id else None)
        await respond(interaction, self._status_text(status))
