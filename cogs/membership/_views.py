"""Persistent buttons (Join, I accept, Approve / Deny) and the modals behind them."""
from __future__ import annotations

import logging

import discord

from bot.checks import member_is_moderator
from bot.errors import NotModerator, UserError
from bot.services.membership import APPROVE_ID, DENY_ID, Application, JoinResult
from bot.tree import respond
from bot.ui import KizunaModal, guarded

log = logging.getLogger(__name__)

JOIN_ID = "kizuna:join"
ACCEPT_ID = "kizuna:rules:accept"


# --- joining ---------------------------------------------------------------------------------------------
async def start_join(interaction: discord.Interaction, code: str | None = None) -> None:
    """/join and the Join button: what happens next depends on the mode in force."""
    app = interaction.client.app
    service = app.membership
    if code:
        await respond(interaction, joined_text(app, await service.join_with_code(interaction.guild_id,
                                                                                   interaction.user.id, code)))
        return
    mode = await service.begin_join(interaction.guild_id, interaction.user.id)
    if mode == "open":
        view = discord.ui.View(timeout=None)
        view.add_item(AcceptRulesButton(app.t("membership.accept_button")))
        await respond(interaction, app.t("membership.rules_prompt", rules=service.settings.rules)[:2000], view=view)
    elif mode == "approval":
        if service.settings.questions:
            await interaction.response.send_modal(ApplicationModal(app))
        else:
            application = await service.apply(interaction.guild_id, interaction.user.id, {})
            await respond(interaction, app.t("membership.application_sent", id=application.id))
    else:
        await interaction.response.send_modal(CodeModal(app))


def joined_text(app, result: JoinResult) -> str:
    if result.tier:
        return app.t("membership.joined_with_tier", tier=app.membership.tiers.name(result.tier))
    return app.t("membership.joined")


class JoinButton(discord.ui.DynamicItem[discord.ui.Button], template=JOIN_ID):
    """On the welcome post. Holds no state: who clicked and the mode in force decide."""

    def __init__(self, label: str = "Join") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.success, custom_id=JOIN_ID))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "JoinButton":
        return cls(item.label or "Join")

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await start_join(interaction)


class AcceptRulesButton(discord.ui.DynamicItem[discord.ui.Button], template=ACCEPT_ID):
    """Under the rules (open mode). Persistent too, so a restart between reading and accepting is fine."""

    def __init__(self, label: str = "I accept") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.success, custom_id=ACCEPT_ID))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match) -> "AcceptRulesButton":
        return cls(item.label or "I accept")

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        result = await app.membership.join_open(interaction.guild_id, interaction.user.id)
        await interaction.response.edit_message(content=joined_text(app, result), view=None)


class ApplicationModal(KizunaModal):
    """The application questions from community.yaml (at most five, labels up to 45 characters): typed
    text, one choice (radio buttons), several (checkboxes) or a box to tick ("I accept the rules")."""

    def __init__(self, app) -> None:
        super().__init__(title=app.t("membership.application_title")[:45], timeout=30 * 60)
        self.app = app
        self.inputs: dict[str, discord.ui.Item] = {}
        for q in app.membership.settings.questions:
            self.inputs[q.key] = question_input(q)
            self.add_item(discord.ui.Label(text=q.label, description=q.description, component=self.inputs[q.key]))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        answers = {key: answer_of(item) for key, item in self.inputs.items()}
        application = await self.app.membership.apply(interaction.guild_id, interaction.user.id, answers)
        await respond(interaction, self.app.t("membership.application_sent", id=application.id))


def question_input(q) -> discord.ui.Item:
    """The modal component for one application question (its kind decides which)."""
    options = [dict(label=o.label, value=o.value, description=o.description) for o in q.options]
    if q.kind == "single_choice":
        return discord.ui.RadioGroup(custom_id=q.key, required=q.required,
                                     options=[discord.RadioGroupOption(**o) for o in options])
    if q.kind == "multiple_choice":
        low, high = q.choice_range
        return discord.ui.CheckboxGroup(custom_id=q.key, required=q.required, min_values=low, max_values=high,
                                        options=[discord.CheckboxGroupOption(**o) for o in options])
    if q.kind == "accept":
        return discord.ui.Checkbox(custom_id=q.key)  # Discord has no "required" box: the service checks it
    return discord.ui.TextInput(custom_id=q.key, required=q.required, max_length=q.max_length,
                                style=discord.TextStyle.short if q.style == "short" else discord.TextStyle.paragraph)


def answer_of(item: discord.ui.Item):
    """What the applicant gave: text, the chosen value (radio), the ticked values, or the box's state."""
    if isinstance(item, discord.ui.CheckboxGroup):
        return list(item.values)
    if isinstance(item, discord.ui.Checkbox):
        return bool(item.value)
    return item.value or ""


class CodeModal(KizunaModal):
    def __init__(self, app) -> None:
        super().__init__(title=app.t("membership.code_title")[:45], timeout=15 * 60)
        self.app = app
        self.code = discord.ui.TextInput(custom_id="code", required=True, min_length=4, max_length=32,
                                         style=discord.TextStyle.short)
        self.add_item(discord.ui.Label(text=app.t("membership.code_label")[:45], component=self.code))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        result = await self.app.membership.join_with_code(interaction.guild_id, interaction.user.id, self.code.value)
        await respond(interaction, joined_text(self.app, result))


# --- the moderators' queue -------------------------------------------------------------------------------
def decided_content(app, application: Application, moderator: discord.abc.User, roles_ok: bool = True) -> str:
    if application.status == "approved":
        key = "membership.decided_approved" if roles_ok else "membership.decided_approved_no_role"
        return app.t(key, id=application.id, by=moderator.mention)
    return app.t("membership.decided_denied", id=application.id, by=moderator.mention, reason=application.reason)


async def show_decision(interaction: discord.Interaction, application: Application, roles_ok: bool = True) -> None:
    """Replace the buttons on the queue post with the outcome (or, without the post, answer privately)."""
    app = interaction.client.app
    content = decided_content(app, application, interaction.user, roles_ok)
    embed = discord.Embed.from_dict(app.membership.applications.queue_embed(application))
    if interaction.message is not None:
        await interaction.response.edit_message(content=content, embed=embed, view=None)
    else:
        await respond(interaction, content)


class ApproveButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:app:approve:(?P<id>\d+)"):
    def __init__(self, application_id: int, label: str = "Approve") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.success,
                                           custom_id=APPROVE_ID.format(id=application_id)))
        self.application_id = application_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "ApproveButton":
        return cls(int(match["id"]), item.label or "Approve")

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        if not member_is_moderator(interaction.client, interaction.user):
            raise NotModerator()
        decision = await interaction.client.app.membership.applications.approve(self.application_id,
                                                                                interaction.user.id)
        await show_decision(interaction, decision.application, decision.roles_ok)


class DenyButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:app:deny:(?P<id>\d+)"):
    def __init__(self, application_id: int, label: str = "Deny") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.danger,
                                           custom_id=DENY_ID.format(id=application_id)))
        self.application_id = application_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "DenyButton":
        return cls(int(match["id"]), item.label or "Deny")

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        if not member_is_moderator(interaction.client, interaction.user):
            raise NotModerator()
        application = await app.membership.applications.get(self.application_id)
        if application.status != "pending":  # say so now rather than after the reason is typed
            raise _closed(app, application)
        await interaction.response.send_modal(DenyModal(app, self.application_id))


def _closed(app, application: Application) -> UserError:
    outcome = app.t(f"membership.status_{application.status}")
    if application.decided_by:
        return UserError("membership.already_decided", id=application.id, by=f"<@{application.decided_by}>",
                         outcome=outcome)
    return UserError("membership.already_closed", id=application.id, outcome=outcome)


class DenyModal(KizunaModal):
    def __init__(self, app, application_id: int) -> None:
        super().__init__(title=app.t("membership.deny_title", id=application_id)[:45], timeout=15 * 60)
        self.app = app
        self.application_id = application_id
        self.reason = discord.ui.TextInput(custom_id="reason", style=discord.TextStyle.paragraph, required=True,
                                           max_length=1000)
        self.add_item(discord.ui.Label(text=app.t("membership.deny_reason_label")[:45], component=self.reason))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        if not member_is_moderator(interaction.client, interaction.user):
            raise NotModerator()
        decision = await self.app.membership.applications.deny(self.application_id, interaction.user.id,
                                                               self.reason.value or "")
        await show_decision(interaction, decision.application)


DYNAMIC_ITEMS = (JoinButton, AcceptRulesButton, ApproveButton, DenyButton)
