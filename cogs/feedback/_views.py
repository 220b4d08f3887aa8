"""The feedback modal, the decline-reason modal and the persistent triage / upvote buttons."""
from __future__ import annotations

import logging
import secrets

import discord

from bot.checks import member_is_moderator
from bot.errors import NotModerator, UserError
from bot.services.feedback import (TRIAGE_STATUSES, FeedbackItem, status_custom_id, upvote_custom_id)
from bot.tree import respond
from bot.ui import KizunaModal, guarded

log = logging.getLogger(__name__)


class FeedbackModal(KizunaModal):
    """Category (a select inside a Label), title, text and "post anonymously". A refused submission
    is answered with the member's own text, so nothing they typed is ever lost."""

    def __init__(self, app, *, text: str | None = None, title: str | None = None,
                 source_url: str | None = None) -> None:
        super().__init__(title=app.t("feedback.modal_title"), timeout=30 * 60)
        self.app = app
        self.source_url = source_url
        service = app.feedback
        settings = service.settings
        self.category = discord.ui.Select(
            custom_id="category", placeholder=app.t("feedback.modal_category_placeholder"), min_values=1,
            max_values=1, required=True,
            options=[discord.SelectOption(label=service.category_label(c)[:100], value=c) for c in settings.categories],
        )
        self.title_input = discord.ui.TextInput(
            custom_id="title", placeholder=app.t("feedback.modal_title_placeholder"), required=False,
            max_length=settings.title_max_length, default=(title or None) and _fit(title, settings.title_max_length),
        )
        # the configured limits, so Discord's client counts down to them while the member types (the
        # service still checks; a refused text is given back); a prefilled message is cut to fit
        self.text = discord.ui.TextInput(
            custom_id="text", style=discord.TextStyle.paragraph, placeholder=app.t("feedback.modal_text_placeholder"),
            required=True, max_length=settings.max_length, default=(text or None) and _fit(text, settings.max_length),
        )
        self.anonymous = discord.ui.Select(
            custom_id="anonymous", min_values=0, max_values=1, required=False,
            options=[discord.SelectOption(label=app.t("feedback.anonymous_no"), value="no", default=True),
                     discord.SelectOption(label=app.t("feedback.anonymous_yes"), value="yes")],
        )
        self.add_item(discord.ui.Label(text=app.t("feedback.modal_category"), component=self.category))
        self.add_item(discord.ui.Label(text=app.t("feedback.modal_title_label"), component=self.title_input))
        self.add_item(discord.ui.Label(text=app.t("feedback.modal_text", max=settings.max_length)[:45],
                                       component=self.text))
        self.add_item(discord.ui.Label(text=app.t("feedback.modal_anonymous"), component=self.anonymous,
                                       description=app.t("feedback.modal_anonymous_description")))
        self.screenshot: discord.ui.FileUpload | None = None
        if settings.screenshots:  # the fifth and last component a modal holds
            self.screenshot = discord.ui.FileUpload(custom_id="screenshot", required=False, min_values=0, max_values=1)
            self.add_item(discord.ui.Label(text=app.t("feedback.modal_screenshot")[:45], component=self.screenshot,
                                           description=app.t("feedback.modal_screenshot_description")[:100]))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        app = self.app
        title, text = self.title_input.value or "", self.text.value or ""
        category = self.category.values[0] if self.category.values else ""
        anonymous = bool(self.anonymous.values) and self.anonymous.values[0] == "yes"
        uploads = [a.to_dict() for a in self.screenshot.values] if self.screenshot is not None else []
        try:
            item = await app.feedback.submit(interaction.guild_id, interaction.user.id, category=category, title=title,
                                             text=text, anonymous=anonymous, source_url=self.source_url,
                                             attachments=uploads)
        except UserError as error:
            await self._give_back(interaction, app.t(error.key, **error.params), title, text)
            return
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("feedback submission failed (error id %s)", error_id)
            await self._give_back(interaction, app.t("core.unexpected_error", error_id=error_id), title, text)
            return
        channel = interaction.client.resolve_channel(interaction.guild, app.feedback.settings.channel)
        key = "feedback.submitted_anonymous" if item.anonymous else "feedback.submitted"
        await respond(interaction, app.t(key, id=item.id, channel=channel.mention if channel else "#feedback"))

    async def _give_back(self, interaction: discord.Interaction, reason: str, title: str, text: str) -> None:
        embed = discord.Embed(title=title[:256] or None, description=text[:4096] or None)
        await respond(interaction, self.app.t("feedback.refused_keep_text", reason=reason)[:2000],
                      embed=embed if (title or text) else discord.utils.MISSING)


def _fit(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DeclineModal(KizunaModal):
    def __init__(self, app, item_id: int) -> None:
        super().__init__(title=app.t("feedback.decline_title", id=item_id)[:45], timeout=15 * 60)
        self.app = app
        self.item_id = item_id
        self.reason = discord.ui.TextInput(custom_id="reason", style=discord.TextStyle.paragraph, required=True,
                                           max_length=500)
        self.add_item(discord.ui.Label(text=app.t("feedback.decline_reason"), component=self.reason))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        if not member_is_moderator(interaction.client, interaction.user):
            raise NotModerator()
        change = await self.app.feedback.set_status(interaction.guild_id, self.item_id, "declined",
                                                    actor_id=interaction.user.id, reason=self.reason.value)
        await refresh_posts(interaction, change.item)
        await respond(interaction, self.app.t("feedback.status_changed", id=self.item_id,
                                              status=self.app.feedback.status_label("declined")))


def _embed(app, item: FeedbackItem, *, for_queue: bool) -> discord.Embed:
    data = app.feedback.queue_embed(item) if for_queue else app.feedback.public_embed(item)
    return discord.Embed.from_dict(data)


async def refresh_posts(interaction: discord.Interaction, item: FeedbackItem) -> None:
    """Show the new status / upvotes on the message that was clicked (answering the interaction) and,
    best effort, on the other copy (public post <-> mod-queue copy)."""
    app = interaction.client.app
    clicked = interaction.message
    clicked_is_queue = clicked is not None and (
        clicked.id == item.queue_message_id or
        (item.queue_message_id is None and _is_channel(interaction, app.config.community.moderation.mod_queue)))
    if clicked is not None:
        await interaction.response.edit_message(embed=_embed(app, item, for_queue=clicked_is_queue))
    copies = [(item.post_channel_id, item.post_message_id, False), (item.queue_channel_id, item.queue_message_id, True)]
    for channel_id, message_id, for_queue in copies:
        if not message_id or (clicked is not None and message_id == clicked.id):
            continue
        channel = interaction.client.get_channel(channel_id)
        if channel is None:
            continue
        try:
            await channel.get_partial_message(message_id).edit(embed=_embed(app, item, for_queue=for_queue))
        except discord.HTTPException:
            log.warning("could not refresh feedback #%s post %s", item.id, message_id)


def _is_channel(interaction: discord.Interaction, key: str) -> bool:
    channel = interaction.client.resolve_channel(interaction.guild, key) if interaction.guild else None
    return channel is not None and interaction.channel_id == channel.id


class StatusButton(discord.ui.DynamicItem[discord.ui.Button],
                   template=r"kizuna:feedback:status:(?P<item_id>\d+):(?P<status>[a-z_]+)"):
    """Moderators only; the status is in the custom id, everything else in the database."""

    def __init__(self, item_id: int, status: str) -> None:
        super().__init__(discord.ui.Button(label=status, custom_id=status_custom_id(item_id, status)))
        self.item_id = item_id
        self.status = status

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "StatusButton":
        return cls(int(match["item_id"]), match["status"])

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        if not member_is_moderator(interaction.client, interaction.user):
            raise NotModerator()
        if self.status not in TRIAGE_STATUSES:
            raise UserError("feedback.unknown_status", status=self.status)
        if self.status == "declined":
            item = await app.feedback.get(interaction.guild_id, self.item_id)  # clear errors before the modal
            if item.status == "declined":
                raise UserError("feedback.already_status", id=item.id, status=app.feedback.status_label(item.status))
            await interaction.response.send_modal(DeclineModal(app, self.item_id))
            return
        change = await app.feedback.set_status(interaction.guild_id, self.item_id, self.status,
                                               actor_id=interaction.user.id)
        await refresh_posts(interaction, change.item)
        await respond(interaction, app.t("feedback.status_changed", id=self.item_id,
                                         status=app.feedback.status_label(self.status)))


class UpvoteButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:feedback:upvote:(?P<item_id>\d+)"):
    """Members, once each, never on their own item."""

    def __init__(self, item_id: int) -> None:
        super().__init__(discord.ui.Button(label="upvote", custom_id=upvote_custom_id(item_id)))
        self.item_id = item_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "UpvoteButton":
        return cls(int(match["item_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        bot = interaction.client
        member_role = bot.resolve_role(interaction.guild, "member") if interaction.guild else None
        roles = getattr(interaction.user, "roles", [])
        if member_role is None or member_role not in roles:
            raise UserError("feedback.members_only")
        item = await bot.app.feedback.upvote(interaction.guild_id, self.item_id, interaction.user.id)
        await refresh_posts(interaction, item)
        await respond(interaction, bot.app.t("feedback.upvoted", id=item.id, count=item.upvotes))
