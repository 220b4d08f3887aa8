"""Guest sessions (AMA): a guest answers members' questions in a thread for a while.

A moderator opens a session (guest, topic, optional end); the opening post goes out through the outbox
with an "Ask" button and a thread, the guest gets the `guest` role for the session. Members ask; each
question is posted in the thread with an "Upvote" button (one upvote per member). The guest and the
moderators see the questions ranked and answer them; the answer is posted in the thread with the
question quoted. Closing (by a moderator, or when the end time passes) posts a summary and takes the
guest role back. Everything is in the database: the expiry timer is re-armed at start.

Each session is also a Discord scheduled event (bot/services/live_events.py): opened now, it is live at
once; planned (`/ama open ... starts:`), it waits as status 'planned' while members press Interested and
get their reminder, then opens by itself at its start (the `ama:begin:<id>` timer, re-armed at start).
Closing completes the event; everyone interested and everyone who asked earns `event_attend`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from bot.config.actions import AmaAnnounceParams
from bot.config.base import parse_duration, parse_local_datetime
from bot.db import ama as repo
from bot.errors import UserError

from .live_events import channel_link
from .messages import Button, OutMessage, Sent, Target
from .safety import relay
from .text import same_text_key

log = logging.getLogger(__name__)

GUEST_ROLE = "guest"
DEFAULT_CHANNELS = ("lounge", "announcements")
MAX_TOPIC = 200
MAX_QUESTION = 500
MAX_ANSWER = 1800  # the most an answer may be; its post may leave less room (`room_for_answer`)
CONTENT_LIMIT = 2000  # Discord: characters of a bot message's content
MAX_QUESTIONS_PER_MEMBER = 5
MAX_SESSION = timedelta(days=7)
TOP_IN_SUMMARY = 3
QUESTION_KEY = "ama:question:"  # outbox dedupe key prefix of a question's post


def ask_custom_id(session_id: int) -> str:
    return f"kizuna:ama:ask:{session_id}"


def upvote_custom_id(question_id: int) -> str:
    return f"kizuna:ama:upvote:{question_id}"


@dataclass(frozen=True)
class Session:
    id: int
    guild_id: int
    guest_id: int
    topic: str
    channel_key: str
    message_id: int | None
    thread_id: int | None
    opened_by: int
    opened_at: datetime
    ends_at: datetime | None
    status: str
    closed_at: datetime | None
    closed_by: int | None
    starts_at: datetime | None = None  # a planned session opens then (status 'planned' until)

    @property
    def is_planned(self) -> bool:
        return self.status == "planned"

    @property
    def event_source(self) -> str:
        """Its Discord scheduled event's source (bot.services.live_events)."""
        return f"ama:{self.id}"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def target(self) -> Target:
        """Where questions, answers and the summary go: the thread once it exists, else the channel."""
        return Target.channel_id(self.thread_id) if self.thread_id else Target.channel(self.channel_key)


@dataclass(frozen=True)
class Question:
    id: int
    session_id: int
    author_id: int
    text: str
    asked_at: datetime
    votes: int
    answer: str | None
    answered_by: int | None
    answered_at: datetime | None

    @property
    def answered(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True)
class Summary:
    session: Session
    answered: int
    unanswered: int
    top: tuple[Question, ...]
    guest_role_removed: bool


def quote(text: str) -> str:
    """Markdown block quote of relayed text (every line), so it reads as the member's words; the text
    itself cannot forge a link or heading inside it (bot.services.safety.relay)."""
    return "\n".join("> " + relay(line) for line in text.strip().splitlines() or [""])


def parse_until(value: str, now: datetime, tz) -> datetime:
    """'90m', '2h', '1h30m', '1d', 'HH:MM' (next such time, community time zone) or
    'YYYY-MM-DD HH:MM' (community time zone) -> an aware UTC datetime in the future."""
    text = value.strip().lower()
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        hh, mm = (int(p) for p in text.split(":"))
        if hh > 23 or mm > 59:
            raise UserError("ama.bad_until", value=value)
        local_now = now.astimezone(tz)
        when_local = local_now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if when_local <= local_now:
            when_local += timedelta(days=1)
        return _future(when_local.astimezone(timezone.utc), now, value)
    try:  # the config's grammars: a duration (90m, 1h30m, 2d) or a local date and time
        return _future(now + parse_duration(text), now, value)
    except ValueError:
        pass
    try:
        naive = parse_local_datetime(text)
    except ValueError:
        raise UserError("ama.bad_until", value=value) from None
    when = naive if naive.tzinfo else naive.replace(tzinfo=tz)
    return _future(when.astimezone(timezone.utc), now, value)


def _future(when: datetime, now: datetime, value: str) -> datetime:
    if when <= now:
        raise UserError("ama.until_past", value=value)
    if when - now > MAX_SESSION:
        raise UserError("ama.until_too_far", days=MAX_SESSION.days)
    return when


class AmaService:
    def __init__(self, app) -> None:
        self.app = app
        self.db = app.db
        app.actions.register("ama.announce", self.announce)
        app.outbox.on_sent(self._on_sent)

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Re-arm the expiry timer of every open session (one that ended while down closes at once)."""
        for row in await repo.open_sessions(self.db):
            if row["ends_at"] is not None:
                self._arm(row["id"], row["ends_at"])
        for row in await repo.planned_sessions(self.db):
            self._arm_begin(row["id"], row["starts_at"])
        await self._repair_question_posts()
        await self._repair_closed_posts()

    def _arm(self, session_id: int, when: datetime) -> None:
        async def fire(_fire_time: datetime) -> None:
            await self.expire(session_id)

        self.app.scheduler.add_timer(f"ama:expire:{session_id}", when, fire)

    def _arm_begin(self, session_id: int, when: datetime) -> None:
        async def fire(_fire_time: datetime) -> None:
            await self.begin(session_id)

        self.app.scheduler.add_timer(f"ama:begin:{session_id}", when, fire)

    async def _on_sent(self, row: dict, sent: Sent) -> None:
        key = row.get("dedupe_key") or ""
        if re.fullmatch(r"ama:open:\d+", key):  # the opening post (not its closed version)
            session_id = int(key.rsplit(":", 1)[1])
            thread_id = (sent.extra or {}).get("thread_id")
            await repo.set_posted(self.db, session_id, sent.message_id, thread_id)
            await self._event_in_thread(int(row["guild_id"]), session_id, thread_id)

    # --- reading -------------------------------------------------------------------------------
    async def current(self, guild_id: int) -> Session | None:
        row = await repo.open_session_of(self.db, guild_id)
        return Session(**row) if row else None

    async def session(self, session_id: int) -> Session | None:
        row = await repo.get_session(self.db, session_id)
        return Session(**row) if row else None

    async def _open_session(self, guild_id: int, session_id: int | None = None) -> Session:
        session = await (self.session(session_id) if session_id is not None else self.current(guild_id))
        if session is None or session.guild_id != guild_id:
            raise UserError("ama.no_session")
        if not session.is_open:
            raise UserError("ama.session_closed", topic=session.topic)
        return session

    async def ensure_open(self, guild_id: int, session_id: int) -> Session:
        """The session behind an Ask button, if it still takes questions (else a UserError)."""
        return await self._open_session(guild_id, session_id)

    async def _question(self, guild_id: int, question_id: int) -> tuple[Question, Session]:
        row = await repo.get_question(self.db, question_id)
        session = await self.session(row["session_id"]) if row else None
        if row is None or session is None or session.guild_id != guild_id:
            raise UserError("ama.no_question", id=question_id)
        return Question(**row), session

    async def ranked(self, guild_id: int, actor_id: int, *, is_moderator: bool,
                     limit: int = 20) -> tuple[Session, list[Question]]:
        """The open session's questions, most upvoted first: for the guest and the moderators."""
        session = await self._open_session(guild_id)
        self._require_guest_or_moderator(session, actor_id, is_moderator)
        rows = await repo.ranked_questions(self.db, session.id, limit=limit)
        return session, [Question(**r) for r in rows]

    # --- moderator and guest actions -----------------------------------------------------------
    async def open(self, guild_id: int, *, actor_id: int, guest_id: int, topic: str,
                   channel_key: str | None = None, until: str | None = None, starts: str | None = None) -> Session:
        """Open a session now, or (with `starts`) plan it: it is a Discord scheduled event members can
        mark Interested until it opens by itself at that time."""
        app = self.app
        topic = " ".join((topic or "").split())
        if not topic:
            raise UserError("ama.topic_empty")
        if len(topic) > MAX_TOPIC:
            raise UserError("ama.topic_too_long", max=MAX_TOPIC)
        channels = app.config.community.channels
        if channel_key is None:
            channel_key = next((k for k in DEFAULT_CHANNELS if k in channels), next(iter(channels)))
        if channel_key not in channels:
            raise UserError("ama.unknown_channel", channel=channel_key)
        if channels[channel_key].kind == "mod":
            # a session is for the community, never in a moderators-only channel
            raise UserError("ama.channel_not_public", channel=channel_key)
        now = app.clock.now()
        default = app.config.community.ama.duration
        if starts:
            starts_at = parse_until(starts, now, app.config.timezone)
            ends_at = (parse_until(until, starts_at, app.config.timezone) if until else
                       starts_at + default if default else None)
            return await self._plan(guild_id, actor_id=actor_id, guest_id=guest_id, topic=topic,
                                    channel_key=channel_key, starts_at=starts_at, ends_at=ends_at)
        ends_at = (parse_until(until, now, app.config.timezone) if until else
                   now + default if default else None)
        row = await repo.open_session(self.db, guild_id=guild_id, guest_id=guest_id, topic=topic,
                                      channel_key=channel_key, opened_by=actor_id, now=now, ends_at=ends_at)
        if row is None:
            existing = await self.current(guild_id)
            raise UserError("ama.already_open", topic=existing.topic if existing else "?")
        session = Session(**row)
        await self._set_guest_role(session, give=True)
        await app.outbox.post(guild_id, Target.channel(channel_key), self.opening_post(session),
                              dedupe_key=self._opening_key(session))
        await app.audit.record(guild_id, actor_id, "ama.open", f"<@{guest_id}>", topic)
        if ends_at:
            self._arm(session.id, ends_at)
        event = await self._event_of(session)
        if event is not None:
            await app.live_events.activate(event.id)
        return session

    # --- the session's Discord scheduled event (bot.services.live_events) ------------------------------
    async def _event_of(self, session: Session):
        """Its scheduled event, made once (None when `ama.event.enabled` is off)."""
        app = self.app
        settings = app.config.community.ama.event
        if not settings.enabled:
            return None
        starts_at = session.starts_at or session.opened_at
        ends_at = session.ends_at or starts_at + settings.length
        where = None if settings.location else (
            channel_link(session.guild_id, session.thread_id) if session.thread_id else None)
        return await app.live_events.create(
            session.guild_id, source=session.event_source, name=app.t("ama.event_name", topic=session.topic),
            description=app.t("ama.event_description", topic=session.topic, guest=f"<@{session.guest_id}>"),
            starts_at=starts_at, ends_at=ends_at, remind_before=settings.remind_before,
            location_key=settings.location or session.channel_key, location_text=where)

    async def _event_in_thread(self, guild_id: int, session_id: int, thread_id: int | None) -> None:
        """The opening post's thread is where the session happens: the event says so."""
        if not thread_id or self.app.config.community.ama.event.location:
            return
        event = await self.app.live_events.of_source(guild_id, f"ama:{session_id}")
        if event is not None:
            await self.app.live_events.set_location(event.id, channel_link(guild_id, thread_id))

    async def _plan(self, guild_id: int, *, actor_id: int, guest_id: int, topic: str, channel_key: str,
                    starts_at: datetime, ends_at: datetime | None) -> Session:
        app = self.app
        row = await repo.plan_session(self.db, guild_id=guild_id, guest_id=guest_id, topic=topic,
                                      channel_key=channel_key, opened_by=actor_id, now=app.clock.now(),
                                      starts_at=starts_at, ends_at=ends_at)
        session = Session(**row)
        await app.audit.record(guild_id, actor_id, "ama.plan", f"<@{guest_id}>", topic)
        await self._event_of(session)
        self._arm_begin(session.id, starts_at)
        return session

    async def begin(self, session_id: int) -> Session | None:
        """Timer: a planned session's start time came. It opens (the post with its Ask button, the
        guest role, the event goes live), unless another session is still open (moderators hear)."""
        app = self.app
        session = await self.session(session_id)
        if session is None or not session.is_planned:
            return None
        if session.ends_at is not None and session.ends_at <= app.clock.now():
            await self._drop_too_late(session)  # it waited (or the bot was down) past its own end
            return None
        if not await repo.begin_session(self.db, session_id, app.clock.now()):
            await app.audit.note(session.guild_id, app.t("ama.begin_blocked", topic=session.topic),
                                 dedupe_key=f"ama:begin-blocked:{session_id}")
            return None
        session = await self.session(session_id)
        await self._set_guest_role(session, give=True)
        await app.outbox.post(session.guild_id, Target.channel(session.channel_key), self.opening_post(session),
                              dedupe_key=self._opening_key(session))
        if session.ends_at:
            self._arm(session.id, session.ends_at)
        event = await app.live_events.of_source(session.guild_id, session.event_source)
        if event is not None:
            await app.live_events.activate(event.id)
        return session

    async def _drop_too_late(self, session: Session) -> None:
        if not await repo.cancel_planned(self.db, session.id, closed_by=None, now=self.app.clock.now()):
            return
        event = await self.app.live_events.of_source(session.guild_id, session.event_source)
        if event is not None:
            await self.app.live_events.cancel(event.id)
        await self.app.audit.note(session.guild_id, self.app.t("ama.begin_too_late", topic=session.topic),
                                  dedupe_key=f"ama:begin-too-late:{session.id}")

    @staticmethod
    def _opening_key(session: Session) -> str:
        return f"ama:open:{session.id}"

    def opening_post(self, session: Session) -> OutMessage:
        """The session's announcement with its Ask button and thread. Once closed, the same post is
        edited in place (`replaces`): it says so, and the button is greyed out, as a closed quiz
        question or drop is. The end time is a Discord timestamp: each reader sees it in their zone."""
        t = self.app.t
        guest = f"<@{session.guest_id}>"
        if session.is_open:
            until = discord_time(session.ends_at, "f") if session.ends_at else t("ama.no_end")
            content = t("ama.opened_post", guest=guest, topic=session.topic, until=until)
        else:
            content = t("ama.closed_post", guest=guest, topic=session.topic,
                        when=discord_time(session.closed_at or self.app.clock.now(), "f"))
        return OutMessage(content=content,
                          buttons=(Button(t("ama.ask_button"), custom_id=ask_custom_id(session.id),
                                          disabled=not session.is_open),),
                          thread_name=None if not session.is_open else t("ama.thread_name", topic=session.topic)[:100],
                          as_persona=True, replaces=None if session.is_open else self._opening_key(session))

    def _answer_post(self, question: Question, actor_id: int, text: str) -> str:
        return self.app.t("ama.answer_post", id=question.id, author=f"<@{question.author_id}>",
                          question=quote(question.text), answerer=f"<@{actor_id}>", answer=text)

    def room_for_answer(self, question: Question, actor_id: int) -> int:
        """How long `actor_id`'s answer to `question` may be: the post quotes the question inside the
        `ama.answer_post` template, and Discord takes 2000 characters of content in all."""
        overhead = len(self._answer_post(question, actor_id, ""))
        return max(0, min(MAX_ANSWER, CONTENT_LIMIT - overhead))

    async def answer_room(self, guild_id: int, actor_id: int, question_id: int, *, is_moderator: bool) -> int:
        """The checks of `answer` before anything is typed, and the room the answer has (the answer
        modal's max_length: the guest sees the real limit while typing)."""
        question, session = await self._answerable(guild_id, actor_id, question_id, is_moderator)
        if question.answered:
            raise UserError("ama.already_answered", id=question_id)
        return self.room_for_answer(question, actor_id)

    async def _answerable(self, guild_id: int, actor_id: int, question_id: int,
                          is_moderator: bool) -> tuple[Question, Session]:
        question, session = await self._question(guild_id, question_id)
        self._require_guest_or_moderator(session, actor_id, is_moderator)
        if not session.is_open:
            raise UserError("ama.session_closed", topic=session.topic)
        return question, session

    async def answer(self, guild_id: int, actor_id: int, question_id: int, text: str, *,
                     is_moderator: bool) -> Question:
        app = self.app
        question, session = await self._answerable(guild_id, actor_id, question_id, is_moderator)
        text = (text or "").strip()
        if not text:
            raise UserError("ama.answer_empty")
        room = self.room_for_answer(question, actor_id)
        if len(text) > room:  # refused before it is stored or queued: nothing is "posted" that cannot be
            raise UserError("ama.answer_too_long", max=room)
        if not await repo.answer(self.db, question_id, text=text, answered_by=actor_id, now=app.clock.now()):
            raise UserError("ama.already_answered", id=question_id)
        await app.outbox.post(guild_id, session.target, OutMessage(content=self._answer_post(question, actor_id, text)),
                              dedupe_key=f"ama:answer:{question_id}")
        return Question(**await repo.get_question(self.db, question_id))

    async def close(self, guild_id: int, actor_id: int) -> Summary:
        session = await self._open_session(guild_id)
        summary = await self._close(session, closed_by=actor_id)
        if summary is None:
            raise UserError("ama.session_closed", topic=session.topic)
        await self.app.audit.record(guild_id, actor_id, "ama.close", f"<@{session.guest_id}>", session.topic)
        return summary

    async def cancel(self, guild_id: int, actor_id: int) -> Session:
        """/ama cancel: the next planned session will not happen; its Discord event says so."""
        planned = [Session(**r) for r in await repo.planned_sessions(self.db) if r["guild_id"] == guild_id]
        if not planned:
            raise UserError("ama.no_planned")
        session = min(planned, key=lambda s: s.starts_at)
        if not await repo.cancel_planned(self.db, session.id, closed_by=actor_id, now=self.app.clock.now()):
            raise UserError("ama.no_planned")
        self.app.scheduler.remove_job(f"ama:begin:{session.id}")
        event = await self.app.live_events.of_source(guild_id, session.event_source)
        if event is not None:
            await self.app.live_events.cancel(event.id)
        await self.app.audit.record(guild_id, actor_id, "ama.cancel", f"<@{session.guest_id}>", session.topic)
        return session

    async def expire(self, session_id: int) -> Summary | None:
        """Timer: close a session whose end time passed (no-op if it was closed already)."""
        session = await self.session(session_id)
        if session is None or not session.is_open:
            return None
        return await self._close(session, closed_by=None)

    async def _close(self, session: Session, *, closed_by: int | None) -> Summary | None:
        app = self.app
        if not await repo.close_session(self.db, session.id, closed_by=closed_by, now=app.clock.now()):
            return None  # someone else (a moderator, the timer) closed it first
        app.scheduler.remove_job(f"ama:expire:{session.id}")
        removed = await self._set_guest_role(session, give=False)
        answered, unanswered = await repo.question_counts(self.db, session.id)
        top = tuple(Question(**r) for r in await repo.ranked_questions(self.db, session.id, limit=TOP_IN_SUMMARY))
        closed = await self.session(session.id)
        summary = Summary(closed, answered, unanswered, top, removed)
        await app.outbox.post(session.guild_id, closed.target, OutMessage(content=self.render_summary(summary)),
                              dedupe_key=f"ama:summary:{session.id}")
        await app.outbox.post(session.guild_id, Target.channel(session.channel_key), self.opening_post(closed),
                              dedupe_key=f"{self._opening_key(session)}:closed")
        event = await app.live_events.of_source(session.guild_id, session.event_source)
        if event is not None:  # attendance: everyone interested, and everyone who asked
            await app.live_events.complete(event.id, attendees=await repo.askers(self.db, session.id))
        await self._begin_waiting(session.guild_id)
        return summary

    async def _begin_waiting(self, guild_id: int) -> None:
        """A session closed: the earliest planned one whose start already came (it waited behind this
        one) opens now, and moderators hear. After a crash in between, its `ama:begin` timer (re-armed
        at start with a past time) does the same."""
        now = self.app.clock.now()
        waiting = [Session(**r) for r in await repo.planned_sessions(self.db)
                   if r["guild_id"] == guild_id and r["starts_at"] <= now]
        if not waiting:
            return
        session = min(waiting, key=lambda s: (s.starts_at, s.id))
        if await self.begin(session.id) is not None:
            await self.app.audit.note(guild_id, self.app.t("ama.begun_late", topic=session.topic),
                                      dedupe_key=f"ama:begun-late:{session.id}")

    def render_summary(self, summary: Summary) -> str:
        t = self.app.t
        lines = [t("ama.summary_title", topic=summary.session.topic, guest=f"<@{summary.session.guest_id}>"),
                 t("ama.summary_counts", answered=summary.answered, unanswered=summary.unanswered)]
        if summary.top:
            lines.append(t("ama.summary_top"))
            for rank, q in enumerate(summary.top, start=1):
                key = "ama.summary_line_answered" if q.answered else "ama.summary_line_unanswered"
                lines.append(t(key, rank=rank, id=q.id, votes=q.votes, text=_one_line(q.text, 120)))
        else:
            lines.append(t("ama.summary_no_questions"))
        lines.append(t("ama.summary_thanks"))
        return "\n".join(lines)[:2000]

    # --- members -------------------------------------------------------------------------------
    async def _require_member(self, guild_id: int, user_id: int) -> None:
        """Asking and upvoting are for members: visitors read along (as everywhere in the community)."""
        if self.app.guild is None:
            return
        roles = await self.app.guild.member_role_keys(guild_id, user_id) or set()
        if not roles & {"member", self.app.config.community.moderation.moderator_role}:
            raise UserError("ama.members_only")

    async def ask(self, guild_id: int, user_id: int, text: str, *, session_id: int | None = None) -> Question:
        app = self.app
        session = await self._open_session(guild_id, session_id)
        await self._require_member(guild_id, user_id)
        text = (text or "").strip()
        if not text:
            raise UserError("ama.question_empty")
        shortest = app.config.community.ama.min_question_length
        if len(text) < shortest:
            raise UserError("ama.question_too_short", min=shortest)
        if len(text) > MAX_QUESTION:
            raise UserError("ama.question_too_long", max=MAX_QUESTION)
        if user_id == session.guest_id:
            raise UserError("ama.guest_cannot_ask")
        key = same_text_key(text)
        # the question and its post are one transaction: a crash leaves both or neither; the same
        # question asked twice at once is seen by the second (the transactions run one after the other)
        async with self.db.transaction() as tx:
            asked = await repo.question_texts(tx, session.id)
            same = next((qid for qid, other in asked if same_text_key(other) == key), None)
            row = None if same is not None else await repo.add_question(
                tx, session_id=session.id, author_id=user_id, text=text, now=app.clock.now(),
                max_per_member=MAX_QUESTIONS_PER_MEMBER)
            question = None if row is None else Question(**row)
            if question is not None:
                await self._queue_question_post(tx, session, question)
        if same is not None:
            raise UserError("ama.question_duplicate", id=same)
        if question is None:
            raise UserError("ama.too_many_questions", max=MAX_QUESTIONS_PER_MEMBER)
        app.outbox.wake()
        return question

    async def _queue_question_post(self, tx, session: Session, question: Question) -> None:
        app = self.app
        await app.outbox.post_in(
            tx, session.guild_id, session.target,
            OutMessage(content=app.t("ama.question_post", id=question.id, author=f"<@{question.author_id}>",
                                     question=quote(question.text)),
                       buttons=(Button(app.t("ama.upvote_button", id=question.id, votes=0),
                                       custom_id=upvote_custom_id(question.id), style="secondary"),)),
            dedupe_key=f"{QUESTION_KEY}{question.id}",
        )

    async def _repair_question_posts(self) -> None:
        """Queue the post of every question (of an open session) an older version stored without it."""
        rows = await repo.questions_without_post(self.db, QUESTION_KEY)
        if not rows:
            return
        sessions = {sid: await self.session(sid) for sid in {r["session_id"] for r in rows}}
        async with self.db.transaction() as tx:
            for row in rows:
                await self._queue_question_post(tx, sessions[row["session_id"]], Question(**row))
        log.warning("queued the missing post of %d AMA question(s)", len(rows))
        self.app.outbox.wake()

    async def _repair_closed_posts(self) -> None:
        """Grey out the announcement of every closed session whose closed version was never queued (an
        older version, or a stop between the close and its posts): its Ask button stays live otherwise."""
        for row in await repo.closed_without_post(self.db, "ama:open:", ":closed"):
            session = Session(**row)
            await self.app.outbox.post(session.guild_id, Target.channel(session.channel_key),
                                       self.opening_post(session), dedupe_key=f"{self._opening_key(session)}:closed")

    async def upvote(self, guild_id: int, user_id: int, question_id: int) -> int:
        question, session = await self._question(guild_id, question_id)
        if not session.is_open:
            raise UserError("ama.session_closed", topic=session.topic)
        await self._require_member(guild_id, user_id)
        if question.author_id == user_id:
            raise UserError("ama.own_question")
        votes = await repo.upvote(self.db, question_id, user_id, self.app.clock.now())
        if votes is None:
            raise UserError("ama.already_upvoted", id=question_id)
        return votes

    # --- schedule action -----------------------------------------------------------------------
    async def announce(self, guild_id: int, occurrence: datetime,
                       params: AmaAnnounceParams | Mapping[str, Any] | None) -> None:
        """`ama.announce`: params `channel` (default announcements), and either `topic` (+ optional
        `guest`, `when` as free text) for an upcoming session, or nothing to point at the open one."""
        app = self.app
        params = AmaAnnounceParams.of(params)
        channel = params.channel
        topic = params.topic
        if topic:
            content = app.t("ama.announce_upcoming", topic=topic, guest=params.guest or "", when=params.when or "")
        else:
            session = await self.current(guild_id)
            if session is None:
                await app.audit.note(guild_id, app.t("ama.announce_nothing"),
                                     dedupe_key=f"ama:announce-none:{occurrence.isoformat()}")
                return
            where = f"<#{session.thread_id}>" if session.thread_id else f"#{session.channel_key}"
            content = app.t("ama.announce_open", topic=session.topic, guest=f"<@{session.guest_id}>",
                            where=where)
        await app.outbox.post(guild_id, Target.channel(channel), OutMessage(content=content, as_persona=True),
                              dedupe_key=f"ama:announce:{channel}:{occurrence.isoformat()}:{topic or 'open'}")

    # --- helpers -------------------------------------------------------------------------------
    def _require_guest_or_moderator(self, session: Session, actor_id: int, is_moderator: bool) -> None:
        if not is_moderator and actor_id != session.guest_id:
            raise UserError("ama.guest_or_moderator_only")

    async def _set_guest_role(self, session: Session, *, give: bool) -> bool:
        app = self.app
        if GUEST_ROLE not in app.config.community.roles or app.guild is None:
            return False
        if give:
            ok = await app.guild.add_role(session.guild_id, session.guest_id, GUEST_ROLE,
                                          reason=f"AMA #{session.id}")
        else:
            ok = await app.guild.remove_role(session.guild_id, session.guest_id, GUEST_ROLE,
                                             reason=f"AMA #{session.id} closed")
        if not ok:
            await app.audit.note(session.guild_id,
                                 app.t("ama.role_failed" if give else "ama.role_remove_failed",
                                       guest=f"<@{session.guest_id}>"),
                                 dedupe_key=f"ama:role:{'give' if give else 'take'}:{session.id}")
        return ok



def discord_time(when: datetime, style: str) -> str:
    """A Discord timestamp: every client shows it in its reader's own time zone and language."""
    return f"<t:{int(when.timestamp())}:{style}>"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(relay(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def build(app) -> AmaService:
    return AmaService(app)
