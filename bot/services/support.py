"""The help forum: members ask in the open, the brand team answers, everyone learns from it.

Each question is a post in the help forum (`help.channel`, a forum), opened by a member in the forum
itself or with `/help ask` (then the bot opens the post for them, through the outbox). Its state is
kept in `help_posts` and shown as the post's state tag (bot/services/forum.py):

    open --(the team answers)--> answered --(/help solved, the Solved button, "Mark as solution")--> solved
      ^------------(the asker writes again)-----------+---------------------------------------------+
    open | answered --(no activity for help.close_after_inactive)--> closed (said in the post, DM'd, locked)

A post with no answer from the team after `help.escalate_after` is escalated to the mod-log. Both
timers are re-armed from the database at start and claim their row with a conditional UPDATE, so each
happens once whatever restarts or repeats. Answers to someone else's question earn participation
points, written in the transaction that records the answer (a crash keeps both or neither). Posts
opened while the bot was away are caught up at start (bot/services/forum.py `catch_up`). A solved post can be promoted to an entry of faq.yaml (`promote`), and any post turned into a
feedback item (`to_feedback`). Figures (first response and time to solved, median and p90, unanswered,
by topic) are in `figures`, for /stats and its digest.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import math
import os
import re
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.config.base import format_duration
from bot.config.faq import ANSWER_MAX, QUESTION_MAX, FaqEntry
from bot.db import support as repo
from bot.errors import UserError

from .forum import HELP_STATES, RESYNC_WINDOW, TagPlan, apply_tags, help_state_tag
from .messages import Button, OutMessage, Sent, Target
from .safety import relay
from .text import same_text_key

log = logging.getLogger(__name__)

TITLE_MAX = 100  # Discord: a post's name
DETAILS_MAX = 1500  # what fits in the post's first message with its framing
SCREENSHOT_MAX = 8 * 1024 * 1024
FAQ_FILE = "faq.yaml"
POST_KEY = re.compile(r"help:(post|closing):(\d+)")


def solved_custom_id(post_id: int) -> str:
    return f"kizuna:help:solved:{post_id}"


@dataclass(frozen=True)
class HelpPost:
    id: int
    guild_id: int
    thread_id: int | None
    asker_id: int
    title: str
    details: str
    topic: str | None
    source: str
    state: str
    asked_at: datetime
    first_response_at: datetime | None
    first_responder_id: int | None
    solved_at: datetime | None
    solved_by: int | None
    answer_text: str | None
    answer_author_id: int | None
    last_activity_at: datetime
    escalated_at: datetime | None
    closed_at: datetime | None
    faq_key: str | None
    feedback_item_id: int | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "HelpPost":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Suggestion:
    kind: str  # faq | post
    title: str
    text: str  # the FAQ answer, or a link to the solved post
    score: float


@dataclass(frozen=True)
class Timing:
    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class TopicFigures:
    topic: str | None  # a help.topics key; None: posts without a topic
    asked: int
    first_response: Timing
    solved: Timing
    unanswered: int


@dataclass(frozen=True)
class SupportFigures:
    overall: TopicFigures
    topics: tuple[TopicFigures, ...] = field(default_factory=tuple)


def percentile(values: list[timedelta], q: float) -> timedelta | None:
    """Nearest-rank percentile: the smallest value with at least q of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timing(values: list[timedelta]) -> Timing:
    """Median (the middle value, or the mean of the two middle ones) and the nearest-rank p90."""
    if not values:
        return Timing(0, None, None)
    median = timedelta(seconds=statistics.median(v.total_seconds() for v in values))
    return Timing(len(values), median, percentile(values, 0.9))


# words too common to say what a question is about (en); Japanese is matched by character pairs
STOPWORDS = frozenset("""the and for you your with what which how does can this that are was were have has not
but from our its when where who why should would could into about there their they them get got any all too
very just will been being also than then some more most much many other only over such after before here
again out off use using used need want know like make made one two""".split())


def _words(text: str) -> set[str]:
    """Words to match on: ASCII words, and pairs of characters for text without spaces (Japanese)."""
    key = same_text_key(text)
    out: set[str] = set()
    for word in key.split():
        if word.isascii():
            if len(word) > 2 and word not in STOPWORDS:
                out.add(word)
        else:
            out.update(word[i:i + 2] for i in range(max(1, len(word) - 1)))
    return out


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:40].strip("-")
    return slug or "entry"


class SupportService:
    def __init__(self, app) -> None:
        self.app = app
        app.outbox.on_sent(self._on_sent)

    @property
    def settings(self):
        """The `help:` section in force (follows a config reload)."""
        return self.app.config.community.help

    @property
    def enabled(self) -> bool:
        return self.settings.channel is not None

    @property
    def staff_role(self) -> str:
        return self.settings.staff_role or self.app.config.community.moderation.moderator_role

    def topic_name(self, topic: str | None) -> str | None:
        found = self.settings.topic(topic) if topic else None
        return found.name if found else None

    def state_tags(self) -> dict[str, str]:
        return {s: help_state_tag(self.app.t, s) for s in HELP_STATES}

    def _require(self) -> None:
        if not self.enabled:
            raise UserError("support.disabled")

    def resolve_topic(self, topic: str | None) -> str | None:
        """A topic by key or by its name (what the autocomplete shows); a member-facing error if unknown."""
        self._require()
        if topic is None or not topic.strip():
            return None
        found = next((t for t in self.settings.topics if topic.strip() in (t.key, t.name)), None)
        if found is None:
            raise UserError("support.unknown_topic", topic=topic,
                            choices=", ".join(t.name for t in self.settings.topics) or "—")
        return found.key

    # --- reading ------------------------------------------------------------------------------------
    async def get(self, guild_id: int, post_id: int) -> HelpPost:
        row = await repo.get_post(self.app.db, post_id)
        if row is None or row["guild_id"] != guild_id:
            raise UserError("support.not_found", id=post_id)
        return HelpPost.from_row(row)

    async def by_thread(self, thread_id: int) -> HelpPost | None:
        row = await repo.post_by_thread(self.app.db, thread_id)
        return HelpPost.from_row(row) if row else None

    async def in_thread(self, guild_id: int, thread_id: int | None) -> HelpPost:
        """The post a command was used in; a member-facing error elsewhere."""
        post = await self.by_thread(thread_id) if thread_id else None
        if post is None or post.guild_id != guild_id:
            raise UserError("support.not_in_post")
        return post

    # --- asking -------------------------------------------------------------------------------------
    async def ask(self, guild_id: int, user_id: int, *, title: str, details: str, topic: str | None = None,
                  screenshot: tuple[str, bytes] | None = None) -> HelpPost:
        """/help ask: store the question, then open its post (and tell the team) through the outbox."""
        self._require()
        title, details = (title or "").strip(), (details or "").strip()
        if not title:
            raise UserError("support.empty_title")
        if len(title) > TITLE_MAX:
            raise UserError("support.title_too_long", length=len(title), max=TITLE_MAX)
        if len(details) > DETAILS_MAX:
            raise UserError("support.details_too_long", length=len(details), max=DETAILS_MAX)
        topic = self.resolve_topic(topic)
        if screenshot is not None and len(screenshot[1]) > SCREENSHOT_MAX:
            raise UserError("support.screenshot_too_large", max=SCREENSHOT_MAX // (1024 * 1024))
        now = self.app.clock.now()
        async with self.app.db.transaction() as tx:
            row = await repo.insert_post(tx, guild_id=guild_id, thread_id=None, asker_id=user_id, title=title,
                                         details=details, topic=topic, source="command", now=now)
            post = HelpPost.from_row(row)
            await self.app.outbox.post_in(tx, guild_id, Target.channel(self.settings.channel),
                                          self.post_message(post, screenshot), dedupe_key=f"help:post:{post.id}")
        # the team hears of it once the post exists, with a link to it: queued in the transaction that
        # records where the post is (_on_sent); start() repairs a crash in between (_repair_notices)
        self.app.outbox.wake()
        self._arm(post)
        return post

    def post_message(self, post: HelpPost, screenshot: tuple[str, bytes] | None = None) -> OutMessage:
        """The post /help ask opens: the member's words (they never ping), its topic and open tags."""
        t = self.app.t
        body = t("support.post_body", asker=f"<@{post.asker_id}>", details=relay(post.details) or relay(post.title))
        files = ((screenshot[0], base64.b64encode(screenshot[1]).decode("ascii")),) if screenshot else ()
        tags = tuple(n for n in (self.topic_name(post.topic), self.state_tags()["open"]) if n)
        return OutMessage(content=body[:2000], thread_name=post.title[:TITLE_MAX], tags=tags, files=files,
                          buttons=self.buttons(post.id))

    def buttons(self, post_id: int) -> tuple[Button, ...]:
        return (Button(self.app.t("support.solved_button"), solved_custom_id(post_id), "success", emoji="✅"),)

    async def _queue_notice(self, tx, post: HelpPost) -> None:
        """The staff queue: every new question reaches the mod-queue once (inside the caller's `tx`)."""
        await self.app.outbox.post_in(
            tx, post.guild_id, Target.channel(self.app.config.community.moderation.mod_queue),
            OutMessage(content=self.app.t("support.queue_new", id=post.id, title=relay(post.title)[:200],
                                          asker=f"<@{post.asker_id}>",
                                          topic=self.topic_name(post.topic) or self.app.t("support.no_topic"),
                                          where=f"<#{post.thread_id}>" if post.thread_id else "—")[:2000]),
            dedupe_key=f"help:queue:{post.id}")

    async def opened_in_forum(self, guild_id: int, *, thread_id: int, asker_id: int, title: str,
                              tags: list[str], at: datetime | None = None) -> HelpPost | None:
        """A member opened a post in the forum itself: it becomes a question (once per post). `at`: when
        they opened it, for a post found at start (opened while the bot was away): the escalation and
        the response times count from then, the inactivity close from now (the team only now hears of it)."""
        if not self.enabled:
            return None
        names = {t.name: t.key for t in self.settings.topics}
        topic = next((names[n] for n in tags if n in names), None)
        found = await self.search(guild_id, title)  # what may answer it already, as /help ask shows
        now = self.app.clock.now()
        async with self.app.db.transaction() as tx:
            row = await repo.insert_post(tx, guild_id=guild_id, thread_id=thread_id, asker_id=asker_id,
                                         title=title[:TITLE_MAX], details="", topic=topic, source="forum", now=now,
                                         asked_at=min(at, now) if at is not None else None)
            if row is None:
                return None
            post = HelpPost.from_row(row)
            await self._queue_notice(tx, post)
            await self.app.outbox.post_in(
                tx, guild_id, Target.channel_id(thread_id),
                OutMessage(content=self.welcome_text(asker_id, found)[:2000], buttons=self.buttons(post.id)),
                dedupe_key=f"help:welcome:{post.id}")
        self.app.outbox.wake()
        await self._sync_tags(post)
        self._arm(post)
        return post

    def welcome_text(self, asker_id: int, found: list[Suggestion]) -> str:
        """The welcome in a member's own post, with the FAQ entries and solved posts that match its title."""
        text = self.app.t("support.welcome", asker=f"<@{asker_id}>")
        if found:
            text += "\n\n" + self.app.t("support.welcome_suggestions") + "\n\n" + self.suggestions_text(found)
        return text

    def suggestions_text(self, found: list[Suggestion]) -> str:
        """FAQ entries and solved posts, as listed everywhere: the welcome in a member's post, /help search
        and the suggestions shown before a question is posted. Post titles are member text, relayed."""
        t = self.app.t
        return "\n\n".join(t("support.suggestion_faq", question=s.title, answer=s.text[:600]) if s.kind == "faq"
                            else t("support.suggestion_post", title=relay(s.title), link=s.text) for s in found)

    async def _on_sent(self, row: dict, sent: Sent) -> None:
        match = POST_KEY.fullmatch(row.get("dedupe_key", ""))
        if match is None:
            return
        post_id = int(match.group(2))
        if match.group(1) == "post":  # the post /help ask opened: remember where it is, tell the team
            thread_id = sent.extra.get("thread_id") or sent.channel_id
            await self._post_opened(post_id, int(thread_id) if thread_id else None)
        else:  # the closing words are in the post: now lock it
            post = await repo.get_post(self.app.db, post_id)
            if post is not None and post["thread_id"] and self.app.forum is not None:
                await self.app.forum.update_post(post["guild_id"], post["thread_id"], archived=True, locked=True)

    async def _post_opened(self, post_id: int, thread_id: int | None) -> None:
        """Where the post is and the staff-queue notice linking it: one transaction."""
        async with self.app.db.transaction() as tx:
            if thread_id:
                await repo.set_thread(tx, post_id, thread_id)
            row = await repo.get_post(tx, post_id)
            if row is not None:
                await self._queue_notice(tx, HelpPost.from_row(row))
        self.app.outbox.wake()

    async def _repair_notices(self) -> int:
        """At start: posts /help ask opened whose notice a crash lost (after the post went out, before
        its notice was queued) get it now, with the post's place taken from the outbox's record."""
        rows = await repo.posts_without_notice(self.app.db)
        for row in rows:
            found = row["thread_id"] or (row["post_message_id"] if row["post_status"] == "sent" else None)
            await self._post_opened(row["id"], found)
        if rows:
            log.warning("queued the staff-queue notice of %d help post(s) a crash left without it", len(rows))
        return len(rows)

    async def known_posts(self, post_ids: list[int]) -> set[int]:
        """Which of these forum posts are questions already (for the scan at start)."""
        return await repo.known_threads(self.app.db, post_ids)

    # --- what happens in a post --------------------------------------------------------------------
    async def message_in_post(self, guild_id: int, *, thread_id: int, author_id: int, is_staff: bool,
                              at: datetime | None = None) -> HelpPost | None:
        """Someone wrote in a post: activity; the team's answer; the asker reopening; a helper's points."""
        post = await self.by_thread(thread_id)
        if post is None or post.guild_id != guild_id:
            return None
        now = at or self.app.clock.now()
        is_asker = author_id == post.asker_id
        async with self.app.db.transaction() as tx:  # the answer and the helper's points: both or neither
            result = await repo.record_reply(tx, post.id, by_staff=is_staff, author_id=author_id,
                                             is_asker=is_asker, now=now)
            awarded = result is not None and not is_asker and await self._award_in(tx, guild_id, author_id, post.id)
        if result is None:
            return None
        row, before = result
        post = HelpPost.from_row(row)
        if post.state != before:
            await self._sync_tags(post)
        if awarded:
            await self.app.events.emit("points.changed", guild_id=guild_id, user_id=author_id)
        self._arm(post)
        return post

    async def _award_in(self, tx, guild_id: int, user_id: int, post_id: int) -> bool:
        """Answering someone else's question is participation (once per member per post), written in the
        transaction that records the answer, so a crash keeps both or neither. True when new (the caller
        emits points.changed after committing)."""
        points = self.settings.answer_points
        if points <= 0:
            return False
        return await self.app.participation.ledger.award_in(tx, guild_id, user_id, "help_answer", f"help:{post_id}",
                                                            points, self.app.clock.now())

    async def solve(self, guild_id: int, post_id: int, *, actor_id: int, is_staff: bool,
                    answer_text: str | None = None, answer_author_id: int | None = None) -> HelpPost:
        """The asker (or the team) marks the post solved, optionally naming the answer that solved it."""
        post = await self.get(guild_id, post_id)
        if actor_id != post.asker_id and not is_staff:
            raise UserError("support.not_your_post")
        if post.state == "solved":
            raise UserError("support.already_solved", id=post.id)
        if post.state == "closed":
            raise UserError("support.already_closed", id=post.id)
        async with self.app.db.transaction() as tx:  # solved, and the answer's author's points: both or neither
            row = await repo.mark_solved(tx, post.id, by=actor_id, now=self.app.clock.now(),
                                         answer_text=(answer_text or "").strip()[:ANSWER_MAX] or None,
                                         answer_author_id=answer_author_id)
            helper = row["answer_author_id"] if row is not None else None
            awarded = bool(helper) and helper != row["asker_id"] and await self._award_in(tx, guild_id, helper, post.id)
        if row is None:
            raise UserError("support.already_solved", id=post.id)
        post = HelpPost.from_row(row)
        self.app.scheduler.remove_prefix(f"help:escalate:{post.id}")
        self.app.scheduler.remove_job(f"help:close:{post.id}")
        await self._sync_tags(post)
        if awarded:
            await self.app.events.emit("points.changed", guild_id=guild_id, user_id=helper)
        return post

    # --- tags --------------------------------------------------------------------------------------
    def _tag_plan(self, post: HelpPost, *, close: bool = False) -> TagPlan:
        """The post's state tag (and its topic tag) follow the database; tags members chose stay."""
        states = self.state_tags()
        topic = self.topic_name(post.topic)
        return TagPlan(post.guild_id, post.thread_id, tuple(states.values()),
                       tuple(n for n in (topic, states[post.state]) if n), close=close)

    async def _sync_tags(self, post: HelpPost) -> None:
        if post.thread_id:
            await apply_tags(self.app.forum, self._tag_plan(post))

    async def tag_plans(self, guild_id: int) -> list[TagPlan]:
        """For the re-sync after a start (bot/services/forum.py): posts in play, and those solved or
        closed within RESYNC_WINDOW (those locked, once their closing words are out)."""
        if not self.enabled:
            return []
        rows = await repo.posts_to_resync(self.app.db, guild_id, self.app.clock.now() - RESYNC_WINDOW)
        # a closed post whose closing words went out is locked too (a crash may have come in between)
        return [self._tag_plan(HelpPost.from_row(r), close=r["state"] == "closed" and r["closing_sent"])
                for r in rows]

    # --- timers: escalate once, close once (the database decides) -------------------------------------
    async def start(self) -> None:
        await self._repair_notices()
        for row in await repo.live_posts(self.app.db):
            self._arm(HelpPost.from_row(row))

    def _arm(self, post: HelpPost) -> None:
        if post.state not in ("open", "answered"):
            return
        s = self.settings
        if post.escalated_at is None and post.first_response_at is None and post.state == "open":
            async def escalate(_: datetime, post_id: int = post.id) -> None:
                await self.escalate(post_id)

            self.app.scheduler.add_timer(f"help:escalate:{post.id}", post.asked_at + s.escalate_after, escalate)
        else:
            self.app.scheduler.remove_job(f"help:escalate:{post.id}")

        async def close(_: datetime, post_id: int = post.id) -> None:
            await self.close_inactive(post_id)

        self.app.scheduler.add_timer(f"help:close:{post.id}", post.last_activity_at + s.close_after_inactive, close)

    async def escalate(self, post_id: int) -> bool:
        """No answer from the team in time: the mod-log hears of it, once."""
        async with self.app.db.transaction() as tx:  # the claim and its line: both or neither
            row = await repo.claim_escalation(tx, post_id, self.app.clock.now())
            if row is None:
                return False
            post = HelpPost.from_row(row)
            waited = format_duration(post.escalated_at - post.asked_at)
            await self.app.outbox.post_in(
                tx, post.guild_id, Target.channel(self.app.config.community.moderation.mod_log),
                OutMessage(content=self.app.t("support.escalated", id=post.id, title=relay(post.title)[:200],
                                              waited=waited, where=f"<#{post.thread_id}>" if post.thread_id else "—",
                                              topic=self.topic_name(post.topic) or self.app.t("support.no_topic"))
                           [:2000]),
                dedupe_key=f"help:escalate:{post.id}")
        self.app.outbox.wake()
        return True

    async def close_inactive(self, post_id: int) -> bool:
        """Nothing happened for help.close_after_inactive: said kindly in the post and by DM, then locked."""
        now = self.app.clock.now()
        idle = format_duration(self.settings.close_after_inactive)
        async with self.app.db.transaction() as tx:  # the claim, the closing words and the DM: all or none
            row = await repo.claim_close(tx, post_id, now, now - self.settings.close_after_inactive)
            if row is not None:
                post = HelpPost.from_row(row)
                where = f"<#{post.thread_id}>" if post.thread_id else "—"
                if post.thread_id:
                    await self.app.outbox.post_in(
                        tx, post.guild_id, Target.channel_id(post.thread_id),
                        OutMessage(content=self.app.t("support.closed_post", idle=idle)[:2000]),
                        dedupe_key=f"help:closing:{post.id}")
                await self.app.outbox.post_in(
                    tx, post.guild_id, Target.dm(post.asker_id),
                    OutMessage(content=self.app.t("support.closed_dm", title=relay(post.title)[:200], idle=idle,
                                                  where=where)[:2000]),
                    dedupe_key=f"help:closed-dm:{post.id}")
        if row is None:
            current = await repo.get_post(self.app.db, post_id)
            if current is not None:
                self._arm(HelpPost.from_row(current))  # activity since: wait for the new deadline
            return False
        self.app.outbox.wake()
        self.app.scheduler.remove_job(f"help:escalate:{post.id}")
        await self._sync_tags(post)  # a lost tag edit is put right by the re-sync after a start
        return True

    # --- learning from it ---------------------------------------------------------------------------
    async def search(self, guild_id: int, query: str, *, limit: int | None = None) -> list[Suggestion]:
        """FAQ entries and solved posts that share words with the query, best first."""
        limit = self.settings.suggestions if limit is None else limit
        wanted = _words(query)
        if not wanted or limit <= 0:
            return []
        found: list[Suggestion] = []
        for entry in self.app.config.faq.entries:
            have = _words(" ".join((entry.question, entry.answer, *entry.keywords)))
            strong = _words(" ".join((entry.question, *entry.keywords)))
            score = len(wanted & have) + len(wanted & strong)  # a word of the question or keywords counts twice
            if score >= 2:
                found.append(Suggestion("faq", entry.question, entry.answer, score / len(wanted)))
        for row in await repo.solved_posts(self.app.db, guild_id):
            score = 2 * len(wanted & _words(row["title"] + " " + row["details"]))
            if score >= 2 and row["thread_id"]:
                found.append(Suggestion("post", row["title"], f"<#{row['thread_id']}>", score / len(wanted)))
        found.sort(key=lambda s: (-s.score, s.kind != "faq", s.title))
        return found[:limit]

    def promotion_draft(self, post: HelpPost) -> dict[str, str]:
        """What the promote form starts from: the post's title, the answer picked (if Discord gave its
        text), a key made from the title."""
        taken = {e.key for e in self.app.config.faq.entries}
        base = _slug(post.title)
        key, n = base, 2
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        return {"key": key, "question": post.title[:QUESTION_MAX],
                "answer": (post.answer_text or post.details or "")[:ANSWER_MAX]}

    async def promote(self, guild_id: int, post_id: int, *, actor_id: int, key: str, question: str,
                      answer: str) -> FaqEntry:
        """A solved post becomes a faq.yaml entry: validated, appended (comments kept), written atomically,
        then the config is reloaded; on any problem the file is put back as it was."""
        post = await self.get(guild_id, post_id)
        if post.state != "solved":
            raise UserError("support.promote_unsolved", id=post.id)
        try:
            entry = FaqEntry(key=key.strip(), question=question.strip(), answer=answer.strip(), topic=post.topic,
                             source_post=post.thread_id or None)
        except ValueError as exc:
            raise UserError("support.promote_invalid", problem=str(exc).splitlines()[-1][:300]) from None
        if any(e.key == entry.key for e in self.app.config.faq.entries):
            raise UserError("support.promote_key_taken", key=entry.key)
        path = Path(self.app.config.dir) / FAQ_FILE
        try:
            before = await asyncio.to_thread(_read_text, path)
            text = faq_with_entry(before, entry)
            await asyncio.to_thread(_write_atomically, path, text)
        except (OSError, yaml.YAMLError) as exc:  # a read-only folder, a file broken by hand...
            raise UserError("support.promote_refused", problem=f"{FAQ_FILE}: {exc}"[:500]) from None
        problems = await self.app.reload_config()
        if problems:
            await asyncio.to_thread(_restore, path, before)
            raise UserError("support.promote_refused", problem="; ".join(problems)[:500])
        await repo.set_faq_key(self.app.db, post.id, entry.key)
        await self.app.audit.record(guild_id, actor_id, "help.promote", target=f"help #{post.id}",
                                    detail=f"faq {entry.key}")
        return entry

    async def to_feedback(self, guild_id: int, post_id: int, *, actor_id: int, category: str | None = None):
        """One action: the question becomes a feedback item from its asker (once per post)."""
        post = await self.get(guild_id, post_id)
        if post.feedback_item_id is not None:
            raise UserError("support.already_feedback", id=post.id)

        async def link(tx, item) -> None:  # in the item's own transaction: both or neither, once per post
            if not await repo.link_feedback(tx, post.id, item.id):
                raise UserError("support.already_feedback", id=post.id)

        categories = self.app.config.community.feedback.categories
        item = await self.app.feedback.submit(
            guild_id, post.asker_id, category=category or categories[0], title=post.title[:100],
            text=(post.details or post.title), source_url=self._post_url(guild_id, post), also=link)
        await self.app.audit.record(guild_id, actor_id, "help.feedback", target=f"help #{post.id}",
                                    detail=f"feedback #{item.id}")
        return item

    @staticmethod
    def _post_url(guild_id: int, post: HelpPost) -> str | None:
        return f"https://discord.com/channels/{guild_id}/{post.thread_id}" if post.thread_id else None

    # --- figures (for /stats and the digest) ----------------------------------------------------------
    async def figures(self, guild_id: int, start: datetime, end: datetime) -> SupportFigures:
        """Questions asked in [start, end): time to the team's first answer and to solved (median, p90),
        and how many are still waiting for a first answer now; overall and by topic (settings order)."""
        rows = [HelpPost.from_row(r) for r in await repo.posts_asked_between(self.app.db, guild_id, start, end)]

        def of(posts: list[HelpPost], topic: str | None) -> TopicFigures:
            return TopicFigures(
                topic, len(posts),
                timing([p.first_response_at - p.asked_at for p in posts if p.first_response_at]),
                timing([p.solved_at - p.asked_at for p in posts if p.solved_at and p.state == "solved"]),
                sum(1 for p in posts if p.first_response_at is None and p.state == "open"))

        order = [t.key for t in self.settings.topics]
        keys = order + sorted({p.topic for p in rows if p.topic and p.topic not in order})
        topics = [of([p for p in rows if p.topic == k], k) for k in keys]
        if any(p.topic is None for p in rows):
            topics.append(of([p for p in rows if p.topic is None], None))
        return SupportFigures(of(rows, None), tuple(f for f in topics if f.asked))

    def render_figures(self, figures: SupportFigures) -> str:
        t = self.app.t
        o = figures.overall
        if not o.asked:
            return t("support.stats_none")

        def d(value: timedelta | None) -> str:
            return format_duration(value) if value is not None else "—"

        lines = [t("support.stats_header", asked=o.asked, unanswered=o.unanswered),
                 t("support.stats_times", first_median=d(o.first_response.median), first_p90=d(o.first_response.p90),
                   answered=o.first_response.count, solved_median=d(o.solved.median), solved_p90=d(o.solved.p90),
                   solved=o.solved.count)]
        for f in figures.topics:
            lines.append(t("support.stats_topic", topic=self.topic_name(f.topic) or t("support.no_topic"),
                           asked=f.asked, first_median=d(f.first_response.median), first_p90=d(f.first_response.p90),
                           solved_median=d(f.solved.median), solved_p90=d(f.solved.p90), unanswered=f.unanswered))
        return "\n".join(lines)


# --- faq.yaml, written safely ---------------------------------------------------------------------------
def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".faq-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _restore(path: Path, before: str | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomically(path, before)


def faq_with_entry(before: str | None, entry: FaqEntry) -> str:
    """The file's text with `entry` appended to `entries:`, keeping everything the team wrote (comments
    too) when the list is the file's last block; otherwise the file is re-written from its data.
    The result is checked: it must read back as the old entries plus this one."""
    item = {k: v for k, v in entry.model_dump(mode="json").items() if v not in (None, [], ())}
    dumped = yaml.safe_dump([item], allow_unicode=True, sort_keys=False, width=100)
    old = yaml.safe_load(before) if before and before.strip() else None
    old_entries = list((old or {}).get("entries") or []) if isinstance(old, dict) else []
    text = None
    if before is None or not before.strip():
        text = (before or "") + "entries:\n" + _indent(dumped, "  ")
    else:
        lines = before.rstrip("\n").split("\n")
        top = [i for i, line in enumerate(lines) if line and not line[0].isspace() and not line.startswith("#")]
        if top and lines[top[-1]].rstrip() == "entries:":  # the list is the last block: append to it
            items = [line for line in lines[top[-1] + 1:] if line.lstrip().startswith("- ")]
            indent = items[0][: len(items[0]) - len(items[0].lstrip())] if items else "  "
            text = before.rstrip("\n") + "\n" + _indent(dumped, indent)
    expected = old_entries + [item]
    if text is not None:
        try:
            if (yaml.safe_load(text) or {}).get("entries") == expected:
                return text
        except yaml.YAMLError:
            pass
    data = dict(old) if isinstance(old, dict) else {}
    data["entries"] = expected
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _indent(text: str, indent: str) -> str:
    return "".join(indent + line if line.strip() else line for line in text.splitlines(keepends=True))


def build(app) -> SupportService:
    return SupportService(app)
