"""/schedule list | pause | resume | run-now | reload — moderators steer the regular posts.

The rules (ledger, pools, reload) live in bot/services/schedules.py; this cog parses and renders.
"""
from __future__ import annotations

from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.services.schedules import ScheduleInfo
from bot.tree import respond

LIMIT = 1900


def _when(value: datetime | None, style: str = "f") -> str:
    return f"<t:{int(value.timestamp())}:{style}>" if value else ""


def _fit(header: str, lines: list[str], more_key: str, t) -> str:
    out = header
    for i, line in enumerate(lines):
        if len(out) + len(line) + 60 > LIMIT:
            return out + "\n" + t(more_key, count=len(lines) - i)
        out += "\n" + line
    return out


@app_commands.guild_only()
class ScheduleCog(commands.GroupCog, group_name="schedule", group_description="Regular posts from schedules.yaml"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    def _line(self, info: ScheduleInfo) -> str:
        t = self.app.t
        status = ("status_paused" if info.paused else "status_disabled" if not info.enabled
                  else "status_finished" if info.next_fire is None else "status_active")
        where = f"#{info.channel}" if info.channel else t("schedules.where_action", action=info.action)
        last = ""
        if info.last:
            last = t("schedules.last_run", when=_when(info.last["occurrence"], "R"),
                     status=t(f"schedules.ledger_{info.last['status']}"))
        return t("schedules.list_line", id=info.id, rule=info.rule, timezone=info.timezone, where=where,
                 next=_when(info.next_fire) or t("schedules.next_none"), status=t(f"schedules.{status}"), last=last)

    async def schedule_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        ids = self.app.schedules.schedule_ids()
        return [app_commands.Choice(name=i, value=i) for i in ids if current.lower() in i.lower()][:25]

    @app_commands.command(name="list", description="Every schedule, its next post and its state")
    @is_moderator()
    async def list_(self, interaction: discord.Interaction) -> None:
        infos = await self.app.schedules.list()
        t = self.app.t
        if not infos:
            await respond(interaction, t("schedules.list_empty"))
            return
        header = t("schedules.list_header", count=len(infos))
        await respond(interaction, _fit(header, [self._line(i) for i in infos], "schedules.list_more", t))

    @app_commands.command(name="pause", description="Stop a schedule from posting until resumed")
    @app_commands.describe(schedule="The schedule id")
    @app_commands.autocomplete(schedule=schedule_autocomplete)
    @is_moderator()
    async def pause(self, interaction: discord.Interaction, schedule: app_commands.Range[str, 1, 100]) -> None:
        paused = await self.app.schedules.pause(schedule, interaction.user.id)
        await respond(interaction, self.app.t("schedules.paused", id=paused.id))

    @app_commands.command(name="resume", description="Let a paused schedule post again")
    @app_commands.describe(schedule="The schedule id")
    @app_commands.autocomplete(schedule=schedule_autocomplete)
    @is_moderator()
    async def resume(self, interaction: discord.Interaction, schedule: app_commands.Range[str, 1, 100]) -> None:
        info = await self.app.schedules.resume(schedule, interaction.user.id)
        await respond(interaction, self.app.t("schedules.resumed", id=info.id,
                                              next=_when(info.next_fire) or self.app.t("schedules.next_none")))

    @app_commands.command(name="run-now", description="Post a schedule right now (does not replace its next post)")
    @app_commands.describe(schedule="The schedule id")
    @app_commands.autocomplete(schedule=schedule_autocomplete)
    @is_moderator()
    async def run_now(self, interaction: discord.Interaction, schedule: app_commands.Range[str, 1, 100]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.app.schedules.run_now(schedule, interaction.user.id)
        t = self.app.t
        if not result.ok:
            await respond(interaction, t("schedules.run_failed", id=result.schedule_id, action=result.action,
                                         error=(result.error or "")[:1500]))
            return
        parts = []
        if result.channel:
            parts.append(f"#{result.channel}: {result.first_line}"[:300])
        if result.action:
            parts.append(t("schedules.ran_action", action=result.action))
        await respond(interaction, t("schedules.ran", id=result.schedule_id,
                                     what=" · ".join(parts) or t("schedules.ran_nothing")))

    @app_commands.command(name="reload", description="Re-read the YAML config (schedules included); a broken file changes nothing")
    @is_moderator()
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.app.schedules.reload(interaction.user.id)
        t = self.app.t
        if not result.ok:
            errors = _fit("", [f"• {e}" for e in result.errors], "schedules.list_more", t).strip()
            await respond(interaction, t("schedules.reload_failed", errors=errors)[:2000])
            return
        await respond(interaction, t("schedules.reload_ok", count=result.count, added=len(result.added),
                                     removed=len(result.removed), changed=len(result.changed)))


async def setup(bot) -> None:
    await bot.add_cog(ScheduleCog(bot))
