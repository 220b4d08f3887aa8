"""/quiz start (moderators), the answer buttons on each question, and the "Answer" button and modal of a
free-text question."""
from __future__ import annotations

import re
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.config.quizzes import MAX_ANSWER_LENGTH
from bot.services.participation.quiz import custom_id, text_custom_id
from bot.tree import report_error, respond
from bot.ui import KizunaModal, TextAnswer, guarded


class QuizAnswerButton(TextAnswer, discord.ui.DynamicItem[discord.ui.Button],
                       template=r"kizuna:quiz:(?P<question_run_id>\d+):(?P<choice>\d)"):
    """Persistent: which question and which choice are in the id; whether it is open is in the database.
    A hot click (bot/fast_clicks.py): `answer` is all a click does."""

    def __init__(self, question_id: int, choice: int) -> None:
        super().__init__(discord.ui.Button(label=str(choice + 1), custom_id=custom_id(question_id, choice)))
        self.question_id = question_id
        self.choice = choice

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /):
        return cls(int(match["question_run_id"]), int(match["choice"]))

    @classmethod
    async def answer(cls, app, match: re.Match[str], guild_id: int, user_id: int) -> str:
        receipt = await app.participation.quiz.answer(guild_id, int(match["question_run_id"]), user_id,
                                                      int(match["choice"]))
        return app.t("participation.quiz_answer_recorded", choice=receipt.label)


ANSWER_MODAL = re.compile(r"kizuna:quiz:answer:(?P<question_id>\d+)")
ANSWER_FIELD = "answer"


class QuizAnswerModal(KizunaModal):
    """The member types their answer; the question is the field's placeholder (the modal hides the post).

    Only shown: its submission is answered by `QuizCog.on_interaction` from the custom id, like a
    persistent button, so an answer typed while the bot restarted (discord.py keeps modals in memory
    only) or after the modal's timeout still counts."""

    def __init__(self, app, question_id: int, position: int, question: str) -> None:
        super().__init__(title=app.t("participation.quiz_modal_title", number=position)[:45], timeout=10 * 60,
                         custom_id=f"kizuna:quiz:answer:{question_id}")
        self.text = discord.ui.TextInput(custom_id=ANSWER_FIELD, required=True, max_length=MAX_ANSWER_LENGTH,
                                         placeholder=_fit(question, 100))
        self.add_item(discord.ui.Label(text=app.t("participation.quiz_modal_label")[:45], component=self.text))


def _typed(components: list[dict]) -> str:
    """The answer field's value in a modal submission's components (inside a label or an action row)."""
    for c in components or ():
        if c.get("custom_id") == ANSWER_FIELD and "value" in c:
            return c["value"] or ""
        found = _typed(c.get("components") or ([c["component"]] if c.get("component") else []))
        if found:
            return found
    return ""


class QuizTextButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:quiz:text:(?P<question_id>\d+)"):
    """Persistent: the question is in the id; open, and this member may still try (not right yet, tries
    left: the service decides) -> the modal."""

    def __init__(self, question_id: int) -> None:
        super().__init__(discord.ui.Button(label="answer", custom_id=text_custom_id(question_id)))
        self.question_id = question_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /):
        return cls(int(match["question_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        prompt = await app.participation.quiz.answer_prompt(interaction.guild_id, self.question_id, interaction.user.id)
        await interaction.response.send_modal(QuizAnswerModal(app, prompt.question_id, prompt.position, prompt.question))


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@app_commands.guild_only()
class QuizCog(commands.GroupCog, group_name="quiz", group_description="Quizzes"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(QuizAnswerButton, QuizTextButton)
        self.bot.fast_clicks.add(QuizAnswerButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(QuizAnswerButton, QuizTextButton)
        self.bot.fast_clicks.remove(QuizAnswerButton)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A typed answer (QuizAnswerModal): the question is in the modal's custom id, the rest in the
        database, so it counts whether or not this process showed the modal."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        match = ANSWER_MODAL.fullmatch((interaction.data or {}).get("custom_id") or "")
        if match is None:
            return
        try:
            receipt = await self.app.participation.quiz.answer_text(
                interaction.guild_id, int(match["question_id"]), interaction.user.id,
                _typed((interaction.data or {}).get("components") or []))
            await respond(interaction, self.app.t(receipt.reply, answer=discord.utils.escape_markdown(receipt.label),
                                                  left=receipt.tries_left))
        except Exception as error:  # a listener's errors would only be logged: the member is told
            await report_error(interaction, error)

    # it reads modal submissions only, which never take bot/fast_clicks.py's path (button clicks do):
    # it misses nothing that path skips (tests/test_fast_clicks.py)
    on_interaction.modal_submissions_only = True

    @app_commands.command(name="start", description="Moderators: start a quiz in the quiz channel")
    @app_commands.describe(bank="which quiz bank", questions="how many questions", seconds="seconds per question")
    @is_moderator()
    async def start(self, interaction: discord.Interaction, bank: Optional[str] = None,
                    questions: Optional[app_commands.Range[int, 1, 25]] = None,
                    seconds: Optional[app_commands.Range[int, 5, 600]] = None) -> None:
        started = await self.app.participation.quiz.start_quiz(
            interaction.guild_id, bank=bank, questions=questions, seconds=seconds, started_by=interaction.user.id)
        channel = self.bot.resolve_channel(interaction.guild, started.channel) if interaction.guild else None
        await respond(interaction, self.app.t("participation.quiz_started", bank=started.bank_name,
                                              questions=started.questions, seconds=started.seconds,
                                              channel=channel.mention if channel else started.channel))

    @start.autocomplete("bank")
    async def bank_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        current = current.lower()
        return [app_commands.Choice(name=f"{name} ({key})"[:100], value=key)
                for key, name in self.app.participation.quiz.banks().items()
                if current in key.lower() or current in name.lower()][:25]
