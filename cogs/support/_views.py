"""The ask and promote forms, the "post anyway" choice after suggestions, the persistent Solved button."""
from __future__ import annotations

import discord

from bot.checks import is_staff
from bot.config.faq import ANSWER_MAX, QUESTION_MAX
from bot.services.support import DETAILS_MAX, TITLE_MAX, solved_custom_id
from bot.tree import respond
from bot.ui import KizunaModal, KizunaView, guarded


async def post_question(interaction: discord.Interaction, app, draft: dict) -> None:
    post = await app.support.ask(interaction.guild_id, interaction.user.id, **draft)
    await app.outbox.drain()  # the post goes out now, so the reply can point at it
    await respond(interaction, app.t("support.asked", id=post.id))


class AskModal(KizunaModal):
    """Title, details and an optional screenshot (a file upload, discord.py 2.7)."""

    def __init__(self, app, topic: str | None) -> None:
        super().__init__(title=app.t("support.ask_modal")[:45], timeout=30 * 60)
        self.app = app
        self.topic = topic
        t = app.t
        self.question_title = discord.ui.TextInput(custom_id="title", required=True, max_length=TITLE_MAX,
                                                   placeholder=t("support.ask_title_placeholder")[:100])
        self.details = discord.ui.TextInput(custom_id="details", style=discord.TextStyle.paragraph, required=False,
                                            max_length=DETAILS_MAX, placeholder=t("support.ask_details_placeholder")[:100])
        self.screenshot = discord.ui.FileUpload(custom_id="screenshot", required=False, max_values=1)
        self.add_item(discord.ui.Label(text=t("support.ask_title_label")[:45], component=self.question_title))
        self.add_item(discord.ui.Label(text=t("support.ask_details_label")[:45], component=self.details))
        self.add_item(discord.ui.Label(text=t("support.ask_screenshot_label")[:45], component=self.screenshot))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        screenshot = None
        if self.screenshot.values:
            attachment = self.screenshot.values[0]
            screenshot = (attachment.filename, await attachment.read())
        draft = {"title": self.question_title.value, "details": self.details.value, "topic": self.topic,
                 "screenshot": screenshot}
        query = f"{self.question_title.value} {self.details.value}"
        suggestions = await self.app.support.search(interaction.guild_id, query)
        if not suggestions:
            await post_question(interaction, self.app, draft)
            return
        text = self.app.t("support.suggestions_intro") + "\n\n" + self.app.support.suggestions_text(suggestions)
        await respond(interaction, text[:2000], view=PostAnywayView(self.app, draft))


class PostAnywayView(KizunaView):
    """Shown with the suggestions: the draft stays in this (ephemeral) view until the member decides."""

    def __init__(self, app, draft: dict) -> None:
        super().__init__(timeout=30 * 60)
        self.app = app
        self.draft = draft
        button = discord.ui.Button(label=app.t("support.post_anyway_button")[:80], style=discord.ButtonStyle.primary,
                                   custom_id="kizuna:help:post-anyway")
        button.callback = self.post
        self.add_item(button)

    async def post(self, interaction: discord.Interaction) -> None:
        self.stop()
        await post_question(interaction, self.app, self.draft)


class PromoteModal(KizunaModal):
    def __init__(self, app, post_id: int, draft: dict[str, str]) -> None:
        super().__init__(title=app.t("support.promote_modal")[:45], timeout=30 * 60)
        self.app = app
        self.post_id = post_id
        t = app.t
        self.key = discord.ui.TextInput(custom_id="key", default=draft["key"], max_length=60)
        self.question = discord.ui.TextInput(custom_id="question", default=draft["question"] or None,
                                             max_length=QUESTION_MAX)
        self.answer = discord.ui.TextInput(custom_id="answer", style=discord.TextStyle.paragraph,
                                           default=draft["answer"] or None, max_length=ANSWER_MAX)
        self.add_item(discord.ui.Label(text=t("support.promote_key_label")[:45], component=self.key))
        self.add_item(discord.ui.Label(text=t("support.promote_question_label")[:45], component=self.question))
        self.add_item(discord.ui.Label(text=t("support.promote_answer_label")[:45], component=self.answer))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing the file and reloading
        entry = await self.app.support.promote(interaction.guild_id, self.post_id, actor_id=interaction.user.id,
                                               key=self.key.value, question=self.question.value,
                                               answer=self.answer.value)
        await respond(interaction, self.app.t("support.promoted", id=self.post_id, key=entry.key))


class SolvedButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kizuna:help:solved:(?P<post_id>\d+)"):
    def __init__(self, post_id: int) -> None:
        super().__init__(discord.ui.Button(label="solved", custom_id=solved_custom_id(post_id)))
        self.post_id = post_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> "SolvedButton":
        return cls(int(match["post_id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        app = interaction.client.app
        await mark_solved(interaction, app, self.post_id)


async def mark_solved(interaction: discord.Interaction, app, post_id: int, *, answer: discord.Message | None = None) -> None:
    """Solved: the state, the tags, a word in the post (as the persona would say it), a reply."""
    from bot.services.messages import OutMessage, Target

    post = await app.support.solve(
        interaction.guild_id, post_id, actor_id=interaction.user.id, is_staff=is_staff(interaction.client, interaction.user),
        answer_text=answer.content if answer is not None else None,
        answer_author_id=answer.author.id if answer is not None else None)
    t = app.t
    text = (t("support.solved_post_answer", who=interaction.user.mention, answerer=f"<@{post.answer_author_id}>")
            if post.answer_author_id else t("support.solved_post", who=interaction.user.mention))
    if post.thread_id:
        await app.outbox.post(interaction.guild_id, Target.channel_id(post.thread_id), OutMessage(content=text[:2000]),
                              dedupe_key=f"help:solved:{post.id}:{post.solved_at.isoformat()}")
    await respond(interaction, t("support.solved_done"))
