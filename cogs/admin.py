"""/admin audit, /admin notice and /admin export: the moderators' own small tools.

`/admin audit` lists the latest audit entries. `/admin notice` leaves a notice for the moderator team
in the mod queue with a persistent Acknowledge button; the acknowledgement is claimed exactly once
through the outbox's dedupe key (state in the database, so the button works after a restart).
"""
from __future__ import annotations

import io
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator, member_is_moderator
from bot.errors import NotModerator, UserError
from bot.services.exports import KINDS as EXPORT_KINDS, ExportService
from bot.services.messages import Button, OutMessage, Target
from bot.tree import respond
from bot.ui import guarded

ACK_TEMPLATE = r"kizuna:admin:ack:(?P<entry_id>\d+)"


def ack_custom_id(entry_id: int) -> str:
    return f"kizuna:admin:ack:{entry_id}"


def notice_embed(app, entry_id: int, author_id: int, text: str, acked_by: int | None = None) -> dict:
    embed = {"title": app.t("admin.notice_title", id=entry_id), "description": text[:4000],
             "footer": {"text": app.t("admin.notice_footer")}}
    embed["fields"] = [{"name": app.t("admin.notice_from"), "value": f"<@{author_id}>", "inline": True}]
    if acked_by is not None:
        embed["fields"].append({"name": app.t("admin.notice_acked_by"), "value": f"<@{acked_by}>", "inline": True})
    return embed


class AcknowledgeButton(discord.ui.DynamicItem[discord.ui.Button], template=ACK_TEMPLATE):
    """On a notice in the mod queue. Moderators only; acknowledged once, whoever clicks first."""

    def __init__(self, entry_id: int, label: str = "Acknowledge") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.success,
                                           custom_id=ack_custom_id(entry_id)))
        self.entry_id = entry_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "AcknowledgeButton":
        return cls(int(match["entry_id"]), item.label or "Acknowledge")

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        bot = interaction.client
        app = bot.app
        if not member_is_moderator(bot, interaction.user):
            raise NotModerator()
        entry = await _entry(app, interaction.guild_id, self.entry_id)
        claimed = await app.outbox.post(
            interaction.guild_id, Target.channel(app.config.community.moderation.mod_log),
            OutMessage(content=app.t("admin.acked_log", id=self.entry_id, user=f"<@{interaction.user.id}>")),
            dedupe_key=f"admin:ack:{self.entry_id}")
        if claimed is None:
            raise UserError("admin.already_acked", id=self.entry_id)
        await app.audit.record(interaction.guild_id, interaction.user.id, "notice.ack", target=f"#{self.entry_id}")
        embed = notice_embed(app, self.entry_id, entry["actor_id"], entry["detail"], acked_by=interaction.user.id)
        done = discord.ui.View(timeout=None)
        done.add_item(discord.ui.Button(label=app.t("admin.acked_button"), style=discord.ButtonStyle.secondary,
                                        custom_id=ack_custom_id(self.entry_id), disabled=True))
        await interaction.response.edit_message(embed=discord.Embed.from_dict(embed), view=done)


async def _entry(app, guild_id: int, entry_id: int) -> dict:
    row = await app.audit.get(guild_id, entry_id)
    if row is not None and row["action"] == "notice":
        return row
    raise UserError("admin.unknown_notice", id=entry_id)


@app_commands.guild_only()
class AdminCog(commands.GroupCog, group_name="admin", group_description="Moderator tools"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AcknowledgeButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AcknowledgeButton)

    @app_commands.command(name="audit", description="The latest moderator actions")
    @app_commands.describe(limit="How many entries (1-25, default 10)")
    @is_moderator()
    async def audit(self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 25] = 10) -> None:
        t = self.app.t
        rows = await self.app.audit.recent(interaction.guild_id, limit)
        if not rows:
            await respond(interaction, t("admin.audit_empty"))
            return
        lines = [t("admin.audit_line", id=r["id"], when=f"<t:{int(r['created_at'].timestamp())}:f>",
                   actor=f"<@{r['actor_id']}>", action=r["action"],
                   target=f" → {r['target']}" if r["target"] else "",
                   detail=f": {discord.utils.escape_markdown(r['detail'][:200])}" if r["detail"] else "")
                 for r in rows]
        embed = discord.Embed(title=t("admin.audit_title", count=len(rows)), description="\n".join(lines)[:4096])
        await respond(interaction, embed=embed)

    @app_commands.command(name="notice", description="Leave a notice for the moderator team in the mod queue")
    @app_commands.describe(text="What the other moderators should know")
    @is_moderator()
    async def notice(self, interaction: discord.Interaction, text: app_commands.Range[str, 1, 1000]) -> None:
        app = self.app
        entry_id = await app.audit.record(interaction.guild_id, interaction.user.id, "notice", detail=text)
        message = OutMessage(embeds=(notice_embed(app, entry_id, interaction.user.id, text),),
                             buttons=(Button(label=app.t("admin.ack_button"), custom_id=ack_custom_id(entry_id),
                                             style="success"),))
        await app.outbox.post(interaction.guild_id, Target.channel(app.config.community.moderation.mod_queue),
                              message, dedupe_key=f"admin:notice:{entry_id}")
        await respond(interaction, app.t("admin.notice_sent", id=entry_id))

    @app_commands.command(name="reload", description="Apply the edited YAML config without a restart")
    @is_moderator()
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        self.app.automod.take_last_sync()  # the reload's own sync (the AutoMod cog makes it) is said below
        problems = await self.app.reload_config()
        if problems:
            shown = "\n".join(problems[:15])[:1700]
            await respond(interaction, self.app.t("admin.reload_failed", count=len(problems), problems=shown))
            return
        await self.app.audit.record(interaction.guild_id, interaction.user.id, "config.reload")
        text = self.app.t("admin.reloaded", name=self.app.config.community.info.name)
        if getattr(self.bot, "command_texts_changed", False):
            text += "\n" + self.app.t("admin.reload_sync_commands")
        automod = self.app.automod.take_last_sync()
        if automod is not None and automod.line(self.app):
            text += "\n" + automod.line(self.app)
        await respond(interaction, text)

    @app_commands.command(name="export", description="Members, the leaderboard or applications as a CSV file")
    @app_commands.describe(kind="what to export", period="leaderboard: the last 7 days, 30 days or all time",
                           since="only from this date on (YYYY-MM-DD)", until="only up to this date (YYYY-MM-DD)")
    @app_commands.choices(kind=[app_commands.Choice(name=k, value=k) for k in EXPORT_KINDS],
                          period=[app_commands.Choice(name=p, value=p) for p in ("week", "month", "all")])
    @is_moderator()
    async def export(self, interaction: discord.Interaction, kind: str, period: str = "all",
                     since: Optional[str] = None, until: Optional[str] = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        names = {m.id: m.display_name for m in interaction.guild.members} if interaction.guild else {}
        export = await ExportService(self.app).export(interaction.guild_id, kind, period=period, since=since,
                                                      until=until, names=names)
        covered = (self.app.t("admin.export_period", since=f"{export.since:%Y-%m-%d %H:%M}",
                                 until=f"{export.until:%Y-%m-%d %H:%M}")
                   if export.since and export.until else "")
        await self.app.audit.record(interaction.guild_id, interaction.user.id, "export", target=kind,
                                    detail=f"{export.count} row(s){covered}")
        await respond(interaction, self.app.t("admin.export_done", kind=kind, count=export.count, period=covered,
                                              timezone=self.app.config.timezone.key),
                      file=discord.File(io.BytesIO(export.data), filename=export.filename))


async def setup(bot) -> None:
    await bot.add_cog(AdminCog(bot))
