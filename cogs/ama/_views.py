"""The persistent Ask (-> modal) and Upvote buttons of a session: ids in the custom id, state in the DB."""
from __future__ import annotations

import discord

from bot.services.ama import MAX_QUESTION, ask_custom_id, upvote_custom_id
from bot.checks import member_is_moderator
from bot.tree import respond
from bot.ui import KizunaModal, guarded


class AskModal(KizunaModal):
    def __init__(self, app, session_id: int) -> None:
        super().__init__(title=app.t("ama.ask_modal_title")[:45], timeout=30 * 60)
        self.app = app
        self.session_id = session_id
        self.question = discord.ui.TextInput(
            custom_id="question", label=app.t("ama.ask_modal_label")[:45], style=discord.TextStyle.paragraph,
            placeholder=app.t("ama.ask_modal_placeholder")[:100], required=True, max_length=MAX_QUESTION,
        )
        self.add_item(self.question)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        question = await self.app.ama.ask(interaction.guild_id, interaction.user.id, self.question.value,
                                          session_id=self.session_id)
        await respond(interaction, self.app.t("ama.asked", id=question.id))


class AnswerModal(KizunaModal):
    """The guest's answer to one question; `room` (AmaService.answer_room) is the most the post can
    hold, shown as the field's limit before anything is typed."""

    def __init__(self, app, question_id: int, room: int) -> None:
        super().__init__(title=app.t("ama.answer_modal_title", id=question_id)[:45], timeout=30 * 60)
        self.app = app
        self.question_id = question_id
        self.text = discord.ui.TextInput(custom_id="answer", style=discord.TextStyle.paragraph, required=True,
                                         max_length=max(1, room))
        self.add_item(discord.ui.Label(text=app.t("ama.answer_modal_label", max=room)[:45], component=self.text))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        question = await self.app.ama.answer(interaction.guild_id, interaction.user.id, self.question_id,
                                             self.text.value, is_moderator=member_is_moderator(interaction.client,
                                                                                                interaction.user))
        await respond(interaction, self.app.t("ama.answered", id=question.id))


class AskButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:ama:ask:(?P<session_id>\d+)"):
    def __init__(self, session_id: int) -> None:
        super().__init__(discord.ui.Button(label="ask", custom_id=ask_custom_id(session_id)))
        self.session_id = session_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "AskButton":
        return cls(int(match["session_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        await app.ama.ensure_open(interaction.guild_id, self.session_id)  # a closed session: say so, no modal
        await interaction.response.send_modal(AskModal(app, self.session_id))


class UpvoteButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:ama:upvote:(?P<question_id>\d+)"):
    def __init__(self, question_id: int) -> None:
        super().__init__(discord.ui.Button(label="upvote", custom_id=upvote_custom_id(question_id)))
        self.question_id = question_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match) -> "UpvoteButton":
        return cls(int(match["question_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        votes = await app.ama.upvote(interaction.guild_id, interaction.user.id, self.question_id)
        # the count on the button is what everyone in the thread sees (a /ama upvote shows at the next click)
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label=app.t("ama.upvote_button", id=self.question_id, votes=votes)[:80],
                                        custom_id=upvote_custom_id(self.question_id),
                                        style=discord.ButtonStyle.secondary))
        await interaction.response.edit_message(view=view)
        await respond(interaction, app.t("ama.upvoted", id=self.question_id, votes=votes))
