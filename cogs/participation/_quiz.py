"""/quiz start (moderators) and the answer buttons on each question."""
from __future__ import annotations

import re
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import is_moderator
from bot.services.participation.quiz import custom_id
from bot.tree import respond
from bot.ui import TextAnswer


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


@app_commands.guild_only()
class QuizCog(commands.GroupCog, group_name="quiz", group_description="Quizzes"):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.app = bot.app
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(QuizAnswerButton)
        self.bot.fast_clicks.add(QuizAnswerButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(QuizAnswerButton)
        self.bot.fast_clicks.remove(QuizAnswerButton)

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
