"""Daily prompts: pick one a day without repeats until the pool is used up, post it with a thread for
answers, award points for answering, and handle member suggestions for the pool."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from bot.config.actions import PromptPostParams
from bot.db import participation as repo
from bot.db.connection import to_db_time
from bot.errors import UserError
from bot.services.messages import Button, OutMessage, Sent, Target
from bot.services.safety import relay
from bot.services.text import same_text_key

from .ledger import Ledger

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

SUGGESTION_MIN_LENGTH = 10
SUGGESTION_REPEAT_AFTER = timedelta(days=30)  # a turned-down idea may be suggested again after this
POST_KEY = "prompt:"  # outbox dedupe key prefix of prompt posts: prompt:<post id>
SUGGESTION_KEY = "prompt-suggestion:"  # outbox dedupe key prefix of a suggestion's mod-queue card


@dataclass(frozen=True)
class PoolPrompt:
    key: str
    text: str
    image_url: str | None = None
    tags: tuple[str, ...] = ()
    suggested_by: int | None = None


def choose_prompt(guild_id: int, cycle: int, used: set[str], pool: list[PoolPrompt]) -> tuple[int, PoolPrompt]:
    """(cycle, prompt) for the next post: one not used in this cycle, or a new cycle once all were."""
    remaining = [p for p in pool if p.key not in used]
    if not remaining:  # the whole pool has been used: a new cycle starts
        cycle, used, remaining = cycle + 1, set(), list(pool)
    return cycle, random.Random(f"{guild_id}:{cycle}:{len(used)}").choice(remaining)


@dataclass(frozen=True)
class PromptPost:
    id: int
    prompt_key: str
    text: str
    cycle: int
    channel: str
    unused_left: int  # prompts of the pool not yet used in this cycle, after this one
    pool_size: int


class PromptService:
    def __init__(self, app: "App", ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger
        self._threads: dict[int, int] = {}  # answer thread id -> prompt post id
        app.outbox.on_sent(self._on_sent)

    @property
    def settings(self):
        return self.app.config.participation.prompts

    async def start(self) -> None:
        self._threads.update(await repo.prompt_threads(self.app.db))
        await self._repair_suggestion_cards()

    # --- the pool ---------------------------------------------------------------------------------
    async def pool(self, guild_id: int) -> list[PoolPrompt]:
        """prompts.yaml, then approved suggestions (key s-<id>)."""
        out = [PoolPrompt(p.id, p.text, str(p.image_url) if p.image_url else None, p.tags)
               for p in self.app.config.prompts.prompts]
        for row in await repo.approved_suggestions(self.app.db, guild_id):
            out.append(PoolPrompt(f"s-{row['id']}", row["text"], suggested_by=row["user_id"]))
        return out

    async def upcoming(self, guild_id: int, occurrences: list[datetime]) -> list[PoolPrompt | None]:
        """The prompt each of these `prompt.post` occurrences (in order) will post, read-only: already
        picked ones as stored, the rest by the same rule `post` uses (for `python -m bot preview`)."""
        pool = await self.pool(guild_id)
        by_key = {p.key: p for p in pool}
        cycle = await repo.current_cycle(self.app.db, guild_id)
        used = await repo.used_in_cycle(self.app.db, guild_id, cycle)
        out: list[PoolPrompt | None] = []
        for occurrence in occurrences:
            row = await repo.prompt_post_for(self.app.db, guild_id, to_db_time(occurrence))
            if row is not None:
                out.append(by_key.get(row["prompt_key"]) or PoolPrompt(row["prompt_key"], row["text"]))
                continue
            if not pool:
                out.append(None)
                continue
            new_cycle, pick = choose_prompt(guild_id, cycle, used, pool)
            if new_cycle != cycle:
                cycle, used = new_cycle, set()
            used = used | {pick.key}
            out.append(pick)
        return out

    # --- posting ----------------------------------------------------------------------------------
    async def action_post(self, guild_id: int, occurrence: datetime,
                          params: PromptPostParams | Mapping[str, Any] | None = None) -> None:
        """Schedule action `prompt.post` (params: PromptPostParams)."""
        await self.post(guild_id, occurrence, channel=PromptPostParams.of(params).channel)

    async def post(self, guild_id: int, occurrence: datetime, *, channel: str | None = None) -> PromptPost | None:
        """Today's prompt for this schedule occurrence: picked once, posted once."""
        occ = to_db_time(occurrence)
        channel = channel or self.settings.channel
        pool = await self.pool(guild_id)
        by_key = {p.key: p for p in pool}
        row = await repo.prompt_post_for(self.app.db, guild_id, occ)
        if row is None:
            if not pool:
                await self.app.audit.note(guild_id, self.app.t("participation.prompt_pool_empty"),
                                          dedupe_key=f"prompt-empty:{guild_id}:{occ}")
                return None
            async with self.app.db.transaction() as tx:
                cycle = await repo.current_cycle(tx, guild_id)
                cycle, pick = choose_prompt(guild_id, cycle, await repo.used_in_cycle(tx, guild_id, cycle), pool)
                await repo.insert_prompt_post(tx, guild_id=guild_id, occurrence=occ, cycle=cycle,
                                              prompt_key=pick.key, text=pick.text, channel=channel,
                                              at=self.app.clock.now())
            row = await repo.prompt_post_for(self.app.db, guild_id, occ)
        used = await repo.used_in_cycle(self.app.db, guild_id, row["cycle"])
        unused_left = sum(1 for p in pool if p.key not in used)
        prompt = by_key.get(row["prompt_key"]) or PoolPrompt(row["prompt_key"], row["text"])
        spec = next((p for p in self.app.config.prompts.prompts if p.id == row["prompt_key"]), None)
        if spec is not None and spec.kind == "poll":  # today's prompt is a Discord poll: votes are the answers
            await self.app.participation.polls.post(
                guild_id, source=f"{POST_KEY}{row['id']}", question=spec.text, answers=spec.answers,
                duration=spec.poll_duration, multiselect=spec.multiselect, channel_key=row["channel"])
        else:
            await self.app.outbox.post(guild_id, Target.channel(row["channel"]), self._message(prompt, occurrence),
                                       dedupe_key=f"{POST_KEY}{row['id']}")
        if unused_left <= self.settings.low_pool_threshold:
            await self.app.audit.note(
                guild_id, self.app.t("participation.prompt_pool_low", left=unused_left, total=len(pool)),
                dedupe_key=f"prompt-low:{guild_id}:{row['cycle']}")
        return PromptPost(row["id"], row["prompt_key"], row["text"], row["cycle"], row["channel"], unused_left,
                          len(pool))

    def _message(self, prompt: PoolPrompt, occurrence: datetime) -> OutMessage:
        day = occurrence.astimezone(self.app.config.timezone).date().isoformat()
        embed: dict[str, Any] = {
            "title": self.app.t("participation.prompt_title", date=day),
            # a member's approved suggestion is relayed safely; the brand team's own prompts are as written
            "description": relay(prompt.text) if prompt.suggested_by else prompt.text,
            "footer": {"text": self.app.t("participation.prompt_footer")},
        }
        if prompt.image_url:
            embed["image"] = {"url": prompt.image_url}
        if prompt.suggested_by:
            embed["fields"] = [{"name": self.app.t("participation.suggestion_from"), "value": f"<@{prompt.suggested_by}>"}]
        return OutMessage(embeds=(embed,), thread_name=self.app.t("participation.prompt_thread", date=day)[:100],
                          as_persona=True)

    async def _on_sent(self, row: dict, sent: Sent) -> None:
        key = row.get("dedupe_key", "")
        if not key.startswith(POST_KEY):
            return
        post_id = int(key[len(POST_KEY):])
        thread_id = sent.extra.get("thread_id") if sent.extra else None
        await repo.set_prompt_message(self.app.db, post_id, sent.message_id, thread_id)
        if thread_id:
            self._threads[int(thread_id)] = post_id

    # --- answering ----------------------------------------------------------------------------------
    def is_prompt_thread(self, channel_id: int) -> bool:
        return channel_id in self._threads

    async def record_answer(self, guild_id: int, user_id: int, channel_id: int, at: datetime | None = None) -> int | None:
        """A message in a prompt's thread: points once per prompt. Returns points added (None: not
        a prompt thread, or already counted)."""
        post_id = self._threads.get(channel_id)
        if post_id is None:
            return None
        return await self.ledger.award(guild_id, user_id, "prompt_answer", f"prompt:{post_id}", at=at)

    # --- suggestions ----------------------------------------------------------------------------------
    async def suggest(self, guild_id: int, user_id: int, text: str) -> int:
        text = " ".join(text.split())
        if len(text) < SUGGESTION_MIN_LENGTH:
            raise UserError("participation.suggestion_too_short", min=SUGGESTION_MIN_LENGTH)
        if len(text) > self.settings.suggestion_max_length:
            raise UserError("participation.suggestion_too_long", max=self.settings.suggestion_max_length)
        key = same_text_key(text)
        now = self.app.clock.now()
        if any(same_text_key(p.text) == key for p in self.app.config.prompts.prompts):
            raise UserError("participation.suggestion_duplicate")
        # the suggestion and its mod-queue card are one transaction: a crash leaves both or neither; a
        # suggestion saying the same as one pending, approved or recently turned down is refused
        async with self.app.db.transaction() as tx:
            known = await repo.suggestion_texts(tx, guild_id, since=now - SUGGESTION_REPEAT_AFTER)
            duplicate = any(same_text_key(other) == key for other in known)
            suggestion_id = None if duplicate else await repo.add_suggestion(
                tx, guild_id=guild_id, user_id=user_id, text=text, at=now,
                max_pending=self.settings.suggestion_max_pending)
            if suggestion_id is not None:
                await self._queue_card(tx, guild_id, suggestion_id, user_id, text)
        if duplicate:
            raise UserError("participation.suggestion_duplicate")
        if suggestion_id is None:
            raise UserError("participation.suggestion_too_many", max=self.settings.suggestion_max_pending)
        self.app.outbox.wake()
        return suggestion_id

    async def _queue_card(self, tx, guild_id: int, suggestion_id: int, user_id: int, text: str) -> None:
        embed = {
            "title": self.app.t("participation.suggestion_title", id=suggestion_id),
            "description": relay(text),
            "fields": [{"name": self.app.t("participation.suggestion_from"), "value": f"<@{user_id}>"}],
        }
        buttons = (
            Button(self.app.t("participation.approve"), custom_id=f"kizuna:prompt:approve:{suggestion_id}", style="success"),
            Button(self.app.t("participation.reject"), custom_id=f"kizuna:prompt:reject:{suggestion_id}", style="danger"),
        )
        await self.app.outbox.post_in(tx, guild_id, Target.channel(self.app.config.community.moderation.mod_queue),
                                      OutMessage(embeds=(embed,), buttons=buttons),
                                      dedupe_key=f"{SUGGESTION_KEY}{suggestion_id}")

    async def _repair_suggestion_cards(self) -> None:
        """Queue the card of every pending suggestion an older version stored without it."""
        rows = await repo.suggestions_without_card(self.app.db, SUGGESTION_KEY)
        if not rows:
            return
        async with self.app.db.transaction() as tx:
            for row in rows:
                await self._queue_card(tx, row["guild_id"], row["id"], row["user_id"], row["text"])
        log.warning("queued the missing mod-queue card of %d prompt suggestion(s)", len(rows))
        self.app.outbox.wake()

    async def decide(self, guild_id: int, suggestion_id: int, moderator_id: int, *, approve: bool) -> dict:
        row = await repo.decide_suggestion(self.app.db, suggestion_id, approve=approve, moderator_id=moderator_id,
                                           at=self.app.clock.now())
        if row is None:
            existing = await repo.suggestion(self.app.db, suggestion_id)
            if existing is None or existing["guild_id"] != guild_id:
                raise UserError("participation.suggestion_unknown", id=suggestion_id)
            raise UserError("participation.suggestion_decided", id=suggestion_id,
                            status=self.app.t(f"participation.status_{existing['status']}"))
        action = "prompt.suggestion.approve" if approve else "prompt.suggestion.reject"
        await self.app.audit.record(guild_id, moderator_id, action, f"suggestion #{suggestion_id}", row["text"][:200])
        await self.app.outbox.post(
            guild_id, Target.dm(row["user_id"]),
            OutMessage(content=self.app.t("participation.suggestion_approved_dm" if approve
                                          else "participation.suggestion_rejected_dm", text=relay(row["text"]))),
            dedupe_key=f"prompt-suggestion:{suggestion_id}:decided")
        return row
