"""/drop open | close | reroll | status | export | release, and the persistent Claim / Enter button.

The rules (windows, the single claim writer, waitlist, draws, codes) live in bot/services/drops/;
this cog parses and renders.
"""
from __future__ import annotations

import io
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator, member_is_moderator
from bot.errors import NotModerator
from bot.services.drops import ClaimResult, DropStatus, discord_time
from bot.tree import respond
from bot.ui import TextAnswer


class ClaimButton(TextAnswer, discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:drop:claim:(?P<run_id>\d+)"):
    """Claim (first come), Enter (raffle) or My entries (campaign): the drop's state is in the database.
    A hot click (bot/fast_clicks.py): `answer` is all a click does, with or without discord.py's objects."""

    def __init__(self, run_id: int) -> None:
        super().__init__(discord.ui.Button(label="Claim", custom_id=f"kizuna:drop:claim:{run_id}",
                                           style=discord.ButtonStyle.success))
        self.run_id = run_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "ClaimButton":
        return cls(int(match["run_id"]))

    @classmethod
    async def answer(cls, app, match, guild_id: int, user_id: int) -> str:
        return render_claim(app, await app.drops.press(guild_id, int(match["run_id"]), user_id))


def render_claim(app, result: ClaimResult) -> str:
    t = app.t
    if result.status == "granted":
        return t("drops.granted_codes" if result.codes else "drops.granted", item=result.item, held=result.held,
                 limit=result.limit)
    if result.status == "entries":
        return t("drops.entries", item=result.item, tickets=result.tickets)
    return t(f"drops.{result.status}", item=result.item)  # (already_)waitlisted/waiting | (already_)entered


@app_commands.guild_only()
class DropsCog(commands.GroupCog, group_name="drop", group_description="Collab drops: claims, raffles, codes"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ClaimButton)
        self.bot.fast_clicks.add(ClaimButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ClaimButton)
        self.bot.fast_clicks.remove(ClaimButton)

    async def drop_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{d.id} — {d.item}"[:100], value=d.id) for d in self.app.drops.specs
                if current.lower() in d.id or current.lower() in d.item.lower()][:25]

    # --- moderators ---------------------------------------------------------------------------------
    @app_commands.command(name="open", description="Moderators: open a drop now (its earliest window starts now)")
    @app_commands.describe(drop="the drop id in drops.yaml")
    @app_commands.autocomplete(drop=drop_autocomplete)
    @is_moderator()
    async def open(self, interaction: discord.Interaction, drop: app_commands.Range[str, 1, 100]) -> None:
        result = await self.app.drops.open(interaction.guild_id, drop, by=interaction.user.id)
        windows = "\n".join(f"• {name}: {discord_time(start, 'F')}" for name, start in result.windows)
        await respond(interaction, self.app.t("drops.opened", item=self.app.drops.spec(drop).item, run=result.run_id,
                                              windows=windows))

    @app_commands.command(name="close", description="Moderators: close a drop (a raffle is drawn now)")
    @app_commands.describe(drop="the drop id", seed="raffle only: the draw's seed (default: random, recorded)")
    @app_commands.autocomplete(drop=drop_autocomplete)
    @is_moderator()
    async def close(self, interaction: discord.Interaction, drop: app_commands.Range[str, 1, 100],
                    seed: Optional[app_commands.Range[str, 1, 100]] = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        row, draw = await self.app.drops.close(interaction.guild_id, drop, by=interaction.user.id, seed=seed)
        item = self.app.drops.spec(drop).item
        if draw is None:
            status = await self.app.drops.status(interaction.guild_id, drop)
            text = self.app.t("drops.closed_first_come", item=item, claimed=status.counts["claimed"],
                              remaining=status.remaining)
        elif draw.entrants == 0:
            text = self.app.t("drops.closed_raffle_nobody", item=item, seed=draw.seed, round=draw.round)
        else:
            text = self.app.t("drops.closed_raffle", item=item, count=len(draw.winners), entrants=draw.entrants,
                              seed=draw.seed, round=draw.round)
        await respond(interaction, text)

    @app_commands.command(name="reroll", description="Moderators: draw new winners for prizes given back")
    @app_commands.describe(drop="the drop id", seed="the re-roll's seed (default: random, recorded)")
    @app_commands.autocomplete(drop=drop_autocomplete)
    @is_moderator()
    async def reroll(self, interaction: discord.Interaction, drop: app_commands.Range[str, 1, 100],
                     seed: Optional[app_commands.Range[str, 1, 100]] = None) -> None:
        draw = await self.app.drops.reroll(interaction.guild_id, drop, by=interaction.user.id, seed=seed)
        await respond(interaction, self.app.t("drops.rerolled", item=self.app.drops.spec(drop).item, round=draw.round,
                                              seed=draw.seed, count=len(draw.winners), entrants=draw.entrants))

    @app_commands.command(name="status", description="Moderators: stock, claims, codes and DM progress of a drop")
    @app_commands.autocomplete(drop=drop_autocomplete)
    @is_moderator()
    async def status(self, interaction: discord.Interaction, drop: app_commands.Range[str, 1, 100]) -> None:
        status = await self.app.drops.status(interaction.guild_id, drop)
        await respond(interaction, embed=self.status_embed(status))

    def status_embed(self, s: DropStatus) -> discord.Embed:
        t = self.app.t
        c = s.counts
        lines = [t("drops.status_line", run=s.run_id, mode=s.mode, status=s.status, remaining=s.remaining,
                   stock=s.stock, claimed=c["claimed"], released=c["released"], waiting=c["waiting"])]
        if s.mode == "raffle":
            lines.append(t("drops.status_entries", entrants=c["entrants"], tickets=c["tickets"]))
        for draw, ok in zip(s.draws, s.verified):
            lines.append(t("drops.status_draw", round=draw["round"], seed=draw["seed"], winners=len(draw["winners"]),
                           entrants=len(draw["entrants"]), check="✅" if ok else "❌"))
        if s.codes["total"]:
            lines.append(t("drops.status_codes", assigned=s.codes["assigned"], total=s.codes["total"],
                           without=s.without_code))
        lines.append(t("drops.status_dms", sent=s.dms.get("sent", 0),
                       pending=s.dms.get("pending", 0) + s.dms.get("sending", 0), failed=s.dms.get("failed", 0)))
        if s.dm_failed:
            lines.append(t("drops.status_failed", users=" ".join(f"<@{u}>" for u in s.dm_failed[:60])))
        windows = "\n".join(f"• {name}: {discord_time(start, 'f')}" for name, start in s.windows)
        lines.append(t("drops.status_windows", windows=windows))
        return discord.Embed(title=t("drops.status_title", item=s.item)[:256], description="\n".join(lines)[:4096])

    @app_commands.command(name="export", description="Moderators: claims and winners of a drop as CSV")
    @app_commands.autocomplete(drop=drop_autocomplete)
    @is_moderator()
    async def export(self, interaction: discord.Interaction, drop: app_commands.Range[str, 1, 100]) -> None:
        name, data = await self.app.drops.export_csv(interaction.guild_id, drop, by=interaction.user.id)
        await respond(interaction, self.app.t("drops.export", item=self.app.drops.spec(drop).item),
                      file=discord.File(io.BytesIO(data), filename=name))

    # --- members (and moderators for someone else) ---------------------------------------------------
    @app_commands.command(name="release", description="Give back what you claimed, or leave the waitlist")
    @app_commands.describe(drop="the drop id", member="moderators: release this member's claim instead")
    @app_commands.autocomplete(drop=drop_autocomplete)
    async def release(self, interaction: discord.Interaction, drop: app_commands.Range[str, 1, 100],
                      member: Optional[discord.Member] = None) -> None:
        target = member or interaction.user
        if target.id != interaction.user.id and not member_is_moderator(self.bot, interaction.user):
            raise NotModerator()
        outcome = await self.app.drops.release(interaction.guild_id, drop, target.id, by=interaction.user.id)
        t, item = self.app.t, self.app.drops.spec(drop).item
        if outcome.released_claim is None:
            text = t("drops.left_waitlist", item=item)
        elif target.id != interaction.user.id:
            text = t("drops.released_other", user=target.mention, item=item)
        else:
            text = t("drops.released", item=item)
        if outcome.promoted_user is not None:
            text += "\n" + t("drops.released_promoted", user=f"<@{outcome.promoted_user}>")
        await respond(interaction, text)


async def setup(bot) -> None:
    await bot.add_cog(DropsCog(bot))
