"""Quizzes: a run of questions from a bank, one answer per member per question, a timer that closes each
question, the reveal, points with a speed bonus, and the final results.

Answering: a choice question takes one click per member. A typed (free-text) question takes tries until
one is right, up to `participation.quiz.typed_tries` (`typed_try`): a wrong try may be followed by
another until the question closes, a right one locks in. The member's one answer row holds their last
try and how many they used, so the points (taking part; right: the right answer and the speed bonus of
the moment it came, halved for each wrong try before it) are written once at the close, and a restart
remembers the tries.

The database is the state machine (question: pending -> open -> closed -> revealed; run: running ->
finished). `_advance(run)` reads it and does whatever is due, so a timer, a restart or a second call
all converge on the same result; every post has an outbox dedupe key and every award a ledger key.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from bot.config.actions import QuizStartParams
from bot.db import quizzes as repo
from bot.db.connection import to_db_time
from bot.errors import UserError
from bot.services.messages import Block, Button, Card, OutMessage, Target
from bot.services.text import answer_key, typed_answer_in

from .ledger import Ledger

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

LETTERS = "ABCDE"
MIN_SECONDS, MAX_SECONDS = 5, 600
RESULTS_ACCENT = 0xF4C542  # the results card's edge: gold
QUIET_STOP = 2  # this many questions in a row without a single answer end the quiz early
TYPED = -1  # the `choice` stored for a free-text answer (its text is kept beside it)
MAX_TYPED = 200  # characters of a typed answer kept (the modal allows fewer)


def custom_id(question_id: int, choice: int) -> str:
    """Matches the cog's DynamicItem template kizuna:quiz:(?P<question_run_id>\\d+):(?P<choice>\\d)."""
    return f"kizuna:quiz:{question_id}:{choice}"


def text_custom_id(question_id: int) -> str:
    """The "Answer" button of a free-text question (it opens a modal); template kizuna:quiz:text:(?P<question_id>\\d+)."""
    return f"kizuna:quiz:text:{question_id}"


@dataclass(frozen=True)
class QuizStarted:
    run_id: int
    bank: str
    bank_name: str
    questions: int
    seconds: int
    channel: str


@dataclass(frozen=True)
class AnswerReceipt:
    question_id: int
    choice: int
    label: str
    correct: bool = False  # (told at once for a typed answer only; a choice is revealed at the close)
    tries: int = 1         # tries used on this question, this one included
    tries_left: int = 0    # typed: how many more may follow (0 once right, or when none are left)

    @property
    def reply(self) -> str:
        """The catalogue key of the member's reply to a typed answer: right (locked in), wrong with
        tries left, or wrong and the last try."""
        if self.correct:
            return "participation.quiz_typed_right"
        return "participation.quiz_typed_wrong_retry" if self.tries_left else "participation.quiz_typed_wrong_last"


@dataclass(frozen=True)
class AnswerPrompt:
    """What the answer modal of a free-text question shows."""
    question_id: int
    position: int
    question: str


@dataclass(frozen=True)
class _OpenQuestion:
    guild_id: int
    opened_at: datetime
    closes_at: datetime
    answer: int
    choices: tuple[str, ...]
    speed_bonus: int
    accepted: frozenset[str]  # a free-text question: the answer_key of each accepted answer (else empty)
    tries: dict[int, int]  # member -> tries used (loaded from the DB; the UNIQUE index is the backstop)
    right: set[int]        # members whose (typed) answer is right: locked in
    position: int = 0
    text: str = ""


class _AnswerWriter:
    """Group commit: answers arriving together are written in one transaction. A member's handler
    returns only once their answer is committed, so 'recorded' means on disk."""

    def __init__(self, db) -> None:
        self.db = db
        self._queue: list[tuple[tuple, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def write(self, row: tuple) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._queue.append((row, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="kizuna-quiz-answers")
        await done

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await repo.add_answers(self.db, [row for row, _ in batch])
            except Exception as exc:  # every waiting member hears it failed; nothing half-written
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def idle(self) -> None:
        """Wait until every answer accepted so far is committed (before a question is closed)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})


class QuizService:
    def __init__(self, app: "App", ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger
        self._open: dict[int, _OpenQuestion] = {}  # every open question (filled when opened / at start)
        self._advancing = asyncio.Lock()
        self._loading = asyncio.Lock()
        self._writer = _AnswerWriter(app.db)
        self._announcing: set[asyncio.Task] = set()  # points.changed after a close (tier checks)

    @property
    def settings(self):
        return self.app.config.participation.quiz

    def banks(self) -> dict[str, str]:
        """Bank key -> display name."""
        return {stem: bank.name or stem for stem, bank in sorted(self.app.config.quizzes.items())}

    async def start(self) -> None:
        """Re-arm every running quiz: close questions whose time passed while the bot was down."""
        for run in await repo.running_runs(self.app.db):
            await self._advance(run["id"])

    # --- starting ---------------------------------------------------------------------------------
    async def action_start(self, guild_id: int, occurrence: datetime,
                           params: QuizStartParams | Mapping[str, Any] | None = None) -> None:
        """Schedule action `quiz.start` (params: QuizStartParams, checked by `check`). A quiz that
        cannot start (one is running) raises: the schedules service reports it to the mod-log and
        `/schedule run-now` answers with it."""
        params = QuizStartParams.of(params)
        await self.start_quiz(guild_id, bank=params.bank, questions=params.questions, seconds=params.seconds,
                              channel=params.channel, occurrence=occurrence)

    async def start_quiz(self, guild_id: int, *, bank: str | None = None, questions: int | None = None,
                         seconds: int | None = None, started_by: int | None = None, channel: str | None = None,
                         occurrence: datetime | None = None) -> QuizStarted | None:
        banks = self.app.config.quizzes
        bank = bank or self.settings.bank or next(iter(sorted(banks)), None)
        if bank not in banks:
            raise UserError("participation.quiz_unknown_bank", bank=bank or "-", known=", ".join(sorted(banks)) or "-")
        seconds = self.settings.seconds if seconds is None else int(seconds)
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise UserError("participation.quiz_bad_seconds", min=MIN_SECONDS, max=MAX_SECONDS)
        pool = banks[bank].questions
        count = max(1, min(int(questions or self.settings.questions), len(pool)))
        now = self.app.clock.now()
        picked = random.Random(f"{guild_id}:{bank}:{to_db_time(now)}").sample(range(len(pool)), count)
        snapshots = [json.dumps({
            "bank": bank, "index": i, "question": pool[i].question, "choices": list(pool[i].choices),
            "answer": pool[i].answer_index, "answers": list(pool[i].answers), "explanation": pool[i].explanation,
            "image_url": str(pool[i].image_url) if pool[i].image_url else None,
        }, ensure_ascii=False) for i in picked]
        channel = channel or self.settings.channel
        run_id = await repo.create_run(
            self.app.db, guild_id=guild_id, bank=bank, channel=channel, seconds=seconds,
            pause_seconds=self.settings.pause_seconds, speed_bonus=self.settings.speed_bonus.max,
            started_by=started_by, occurrence=to_db_time(occurrence) if occurrence else None,
            snapshots=snapshots, at=now)
        if run_id is None:
            if occurrence is not None and await repo.run_for_occurrence(self.app.db, guild_id, to_db_time(occurrence)):
                return None  # this schedule occurrence already started its quiz
            raise UserError("participation.quiz_running")
        if started_by is not None:
            await self.app.audit.record(guild_id, started_by, "quiz.start", bank,
                                        self.app.t("participation.quiz_audit", questions=count, seconds=seconds))
        await self._advance(run_id)
        return QuizStarted(run_id, bank, banks[bank].name or bank, count, seconds, channel)

    # --- answering ----------------------------------------------------------------------------------
    async def answer(self, guild_id: int, question_id: int, user_id: int, choice: int) -> AnswerReceipt:
        """One answer per member per question; a second one (or a change) is refused."""
        q = await self._answerable(guild_id, question_id, user_id, typed=False)
        if not 0 <= choice < len(q.choices):
            raise UserError("participation.quiz_closed")
        await self._record(q, question_id, user_id, choice, choice == q.answer, None)
        return AnswerReceipt(question_id, choice, f"{LETTERS[choice]}. {q.choices[choice]}")

    async def answer_text(self, guild_id: int, question_id: int, user_id: int, text: str) -> AnswerReceipt:
        """A typed answer to a free-text question: right when it matches one of the accepted answers
        (`answer_matches`). A wrong one may be followed by another while tries are left (`typed_try`);
        the member's answer is their last try, scored (speed bonus included) exactly like a choice."""
        text = " ".join((text or "").split())[:MAX_TYPED]
        key = answer_key(text)
        if not key:
            raise UserError("participation.quiz_empty_answer")
        q = await self._answerable(guild_id, question_id, user_id, typed=True)
        correct = typed_answer_in(key, q.accepted)
        tries = await self._record(q, question_id, user_id, TYPED, correct, text)
        return AnswerReceipt(question_id, TYPED, text, correct, tries,
                             0 if correct else max(0, self.settings.typed_tries - tries))

    async def answer_prompt(self, guild_id: int, question_id: int, user_id: int) -> AnswerPrompt:
        """Before the answer modal opens: a closed question, a right answer already given or no try
        left is refused at once."""
        q = await self._answerable(guild_id, question_id, user_id, typed=True)
        return AnswerPrompt(question_id, q.position, q.text)

    async def _answerable(self, guild_id: int, question_id: int, user_id: int, *, typed: bool) -> _OpenQuestion:
        q = self._open.get(question_id)
        if q is None:
            q = await self._load_open(question_id)
        if q is None or q.guild_id != guild_id or self.app.clock.now() >= q.closes_at or bool(q.accepted) != typed:
            raise UserError("participation.quiz_closed")
        if not typed and user_id in q.tries:
            raise UserError("participation.quiz_already_answered")  # a choice: one click
        refusal = typed_try(q.tries.get(user_id, 0), user_id in q.right, self.settings.typed_tries) if typed else None
        if refusal is not None:
            raise UserError(refusal, tries=self.settings.typed_tries)
        return q

    async def _record(self, q: _OpenQuestion, question_id: int, user_id: int, choice: int, correct: bool,
                      text: str | None) -> int:
        """Write the member's try (their answer row: a retry replaces a wrong one); returns the tries
        used. The bonus is the one of this moment, halved for each wrong try before it: a retry never
        scores more than an answer right at once would have, and guessing does not pay."""
        now = self.app.clock.now()
        tries = q.tries[user_id] = q.tries.get(user_id, 0) + 1  # before any await: a double click is refused
        if correct:
            q.right.add(user_id)
        points = self.ledger.points_for("quiz_answer", None)
        if correct:
            points += self.ledger.points_for("quiz_correct", None) + speed_bonus(q, now, tries - 1)
        try:
            await self._writer.write((question_id, user_id, choice, int(correct), points, now, text, tries))
        except BaseException:
            if q.tries.get(user_id) == tries:
                if tries > 1:
                    q.tries[user_id] = tries - 1
                else:
                    q.tries.pop(user_id, None)
            if correct:
                q.right.discard(user_id)
            raise
        return tries

    async def _load_open(self, question_id: int) -> _OpenQuestion | None:
        """A question not in the cache is normally closed; look once, one caller at a time."""
        async with self._loading:
            if question_id in self._open:
                return self._open[question_id]
            row = await repo.question(self.app.db, question_id)
            if row is None or row["status"] != "open":
                return None
            return await self._cache(row)

    async def _cache(self, row: dict) -> _OpenQuestion:
        snap = json.loads(row["snapshot"])
        answers = await repo.answers(self.app.db, row["id"])
        q = _OpenQuestion(row["guild_id"], row["opened_at"], row["closes_at"], snap["answer"], tuple(snap["choices"]),
                          row["speed_bonus"], frozenset(answer_key(a) for a in snap.get("answers") or ()),
                          {a["user_id"]: a["tries"] for a in answers},
                          {a["user_id"] for a in answers if a["correct"] and a["choice"] == TYPED},
                          row["position"], snap["question"])
        self._open[row["id"]] = q
        return q

    # --- the state machine ----------------------------------------------------------------------
    async def _advance(self, run_id: int) -> None:
        async with self._advancing:
            while await self._step(run_id):
                pass

    async def _step(self, run_id: int) -> bool:
        """Do the next due thing for this run; True when there may be more to do now."""
        run = await repo.run(self.app.db, run_id)
        if run is None or run["status"] != "running":
            return False
        questions = await repo.questions(self.app.db, run_id)
        now = self.app.clock.now()
        current = next((q for q in questions if q["status"] == "open"), None)
        if current is not None:
            if current["id"] not in self._open:
                await self._cache(current | {"guild_id": run["guild_id"], "speed_bonus": run["speed_bonus"]})
            # (re)post: a no-op unless a crash came between opening and queueing the post
            await self._post_question(run, current, len(questions))
            if current["closes_at"] <= now:
                await self._close(run, current, len(questions))
                return True
            self._arm(run_id, current["closes_at"])
            return False
        unrevealed = next((q for q in questions if q["status"] == "closed" and not q["revealed"]), None)
        if unrevealed is not None:
            await self._post_reveal(run, unrevealed, len(questions))
            await repo.mark_revealed(self.app.db, unrevealed["id"])
            return True
        upcoming = next((q for q in questions if q["status"] == "pending"), None)
        asked = sum(1 for q in questions if q["status"] != "pending")
        if upcoming is not None and await self._nobody_playing(questions):
            upcoming = None  # nobody is there: the results now, not question after question to an empty room
        if upcoming is not None:
            opens_at = upcoming["opens_at"] or await repo.schedule_open(
                self.app.db, upcoming["id"], now + timedelta(seconds=run["pause_seconds"]))
            if opens_at > now:
                self._arm(run_id, opens_at)
                return False
            await repo.open_question(self.app.db, upcoming["id"], now, now + timedelta(seconds=run["seconds"]))
            return True
        await self._post_results(run, len(questions), asked=asked)
        await repo.finish_run(self.app.db, run_id, now)
        self.app.scheduler.remove_job(f"quiz:{run_id}")
        return False

    async def _nobody_playing(self, questions: list[dict]) -> bool:
        """The last QUIET_STOP questions closed without a single answer."""
        closed = [q for q in questions if q["status"] == "closed"][-QUIET_STOP:]
        if len(closed) < QUIET_STOP:
            return False
        for q in closed:
            if await repo.answers(self.app.db, q["id"]):
                return False
        return True

    def _arm(self, run_id: int, when: datetime) -> None:
        async def fire(_: datetime) -> None:
            await self._advance(run_id)

        self.app.scheduler.add_timer(f"quiz:{run_id}", when, fire)

    async def _close(self, run: dict, question: dict, total: int) -> None:
        awarded: list[int] = []
        guild_id = run["guild_id"]
        self._open.pop(question["id"], None)  # from now on answers are refused
        await self._writer.idle()              # and those already accepted are committed first
        async with self.app.db.transaction() as tx:
            if await repo.claim_close(tx, question["id"]):
                answers = await repo.answers_in(tx, question["id"])
                added = await self.ledger.award_many_in(tx, [
                    (guild_id, a["user_id"], "quiz_correct" if a["correct"] else "quiz_answer",
                     f"quiz:{question['id']}", a["points"], a["answered_at"]) for a in answers])
                awarded = [a["user_id"] for a, new in zip(answers, added) if new]
                # the question's message loses its buttons' use: greyed out, "closed" (with the close)
                await self.app.outbox.post_in(tx, guild_id, Target.channel(run["channel"]),
                                              self._question_message(run, question, total, closed=True),
                                              dedupe_key=f"{self._question_key(run, question)}:closed")
        self.app.outbox.wake()
        self._open.pop(question["id"], None)  # a late click may have re-cached it in between
        if awarded:
            # the tier checks of every answerer follow in the background: the reveal need not wait for
            # a thousand of them (issue 17: a close with 200 answerers took minutes)
            task = asyncio.get_running_loop().create_task(self._announce(guild_id, awarded),
                                                          name="kizuna-quiz-points-changed")
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    async def _announce(self, guild_id: int, awarded: list[int]) -> None:
        for user_id in awarded:
            await self.app.events.emit("points.changed", guild_id=guild_id, user_id=user_id)

    async def announced(self) -> None:
        """Wait until every close's points.changed went out (tests, benches, stopping)."""
        while self._announcing:
            await asyncio.gather(*list(self._announcing), return_exceptions=True)

    async def stop(self) -> None:
        await self.announced()

    # --- rendering (plain data; the sender turns it into Discord objects) ------------------------
    @staticmethod
    def _question_key(run: dict, question: dict) -> str:
        return f"quiz:{run['id']}:q{question['position']}"

    def _question_message(self, run: dict, question: dict, total: int, *, closed: bool = False) -> OutMessage:
        snap = json.loads(question["snapshot"])
        bank = self.app.config.quizzes.get(run["bank"])
        typed = bool(snap.get("answers"))
        lines = [snap["question"], ""] + ([self.app.t("participation.quiz_type_hint")] if typed else
                                          [f"**{LETTERS[i]}.** {c}" for i, c in enumerate(snap["choices"])])
        lines += ["", self.app.t("participation.quiz_closed") if closed else
                  self.app.t(self._closes_key(typed), when=f"<t:{int(question['closes_at'].timestamp())}:R>",
                             tries=self.settings.typed_tries)]
        embed: dict[str, Any] = {
            "title": self.app.t("participation.quiz_question_title", bank=(bank.name if bank else "") or run["bank"],
                                number=question["position"], total=total),
            "description": "\n".join(lines),
        }
        if snap.get("image_url"):
            embed["image"] = {"url": snap["image_url"]}
        buttons = tuple(Button(f"{LETTERS[i]}. {c}"[:80], custom_id=custom_id(question["id"], i), style="secondary",
                               disabled=closed)
                        for i, c in enumerate(snap["choices"]))
        if typed:
            buttons = (Button(self.app.t("participation.quiz_answer_button"), custom_id=text_custom_id(question["id"]),
                              style="primary", disabled=closed),)
        return OutMessage(embeds=(embed,), buttons=buttons, as_persona=True,
                          replaces=self._question_key(run, question) if closed else None)

    def _closes_key(self, typed: bool) -> str:
        """The question's closing line: a choice is one click; a typed answer has one try or several."""
        if not typed:
            return "participation.quiz_closes"
        if self.settings.typed_tries == 1:
            return "participation.quiz_closes_typed"
        return "participation.quiz_closes_typed_retry"

    async def _post_question(self, run: dict, question: dict, total: int) -> None:
        await self.app.outbox.post(run["guild_id"], Target.channel(run["channel"]),
                                   self._question_message(run, question, total),
                                   dedupe_key=self._question_key(run, question))

    async def _post_reveal(self, run: dict, question: dict, total: int) -> None:
        snap = json.loads(question["snapshot"])
        answers = await repo.answers(self.app.db, question["id"])
        right = [a for a in answers if a["correct"]]
        fields = [{"name": self.app.t("participation.quiz_reveal_count_name"),
                   "value": self.app.t("participation.quiz_reveal_count", right=len(right), total=len(answers))}]
        if right:
            fields.append({"name": self.app.t("participation.quiz_reveal_fastest_name"), "value": f"<@{right[0]['user_id']}>"})
        embed = {
            "title": self.app.t("participation.quiz_reveal_title", number=question["position"], total=total),
            "description": self._revealed_answer(snap),
            "fields": fields,
        }
        await self.app.outbox.post(run["guild_id"], Target.channel(run["channel"]), OutMessage(embeds=(embed,), as_persona=True),
                                   dedupe_key=f"quiz:{run['id']}:r{question['position']}")

    def _revealed_answer(self, snap: dict) -> str:
        """The right answer in bold (a free-text question: the first accepted, then the others), and the
        explanation when there is one."""
        accepted = snap.get("answers") or []
        if accepted:
            text = f"**{accepted[0]}**"
            if len(accepted) > 1:
                text += "\n" + self.app.t("participation.quiz_reveal_also", answers=", ".join(accepted[1:]))
        else:
            answer = snap["answer"]
            text = f"**{LETTERS[answer]}. {snap['choices'][answer]}**"
        return f"{text}\n\n{snap['explanation']}" if snap.get("explanation") else text

    async def _post_results(self, run: dict, total: int, *, asked: int | None = None) -> None:
        """The scores; a quiz that ended early (nobody answering) says so and counts what was asked."""
        asked = total if asked is None else asked
        scores = await repo.run_scores(self.app.db, run["id"])
        size = self.app.config.participation.leaderboard.size
        lines = [self.app.t("participation.quiz_results_line", rank=i, user=f"<@{s['user_id']}>", points=s["points"],
                            correct=s["correct"], total=asked)
                 for i, s in enumerate(scores[:size], start=1)]
        description = "\n".join(lines) if lines else self.app.t("participation.quiz_results_empty")
        if asked < total:
            description = self.app.t("participation.quiz_ended_early", quiet=QUIET_STOP, asked=asked,
                                     total=total) + "\n\n" + description
        await self.app.outbox.post(run["guild_id"], Target.channel(run["channel"]),
                                   OutMessage(card=self._results_card(run, description), as_persona=True),
                                   dedupe_key=f"quiz:{run['id']}:end")

    def _results_card(self, run: dict, description: str) -> Card:
        """The results as a card (issue 20): the title and the bank beside the persona's picture, then the
        ranking."""
        bank = self.app.config.quizzes.get(run["bank"])
        avatar = self.app.config.community.persona.avatar_url
        heading = f"## {self.app.t('participation.quiz_results_title')}\n-# {(bank.name if bank else '') or run['bank']}"
        return Card((Block(heading, thumbnail=str(avatar) if avatar else None), Block(description, separator=True)),
                    accent=RESULTS_ACCENT)

    # --- reading ----------------------------------------------------------------------------------
    async def results(self, run_id: int) -> list[dict]:
        return await repo.run_scores(self.app.db, run_id)

    async def current(self, guild_id: int) -> dict | None:
        """The running quiz and its open question (snapshot included), or None."""
        run = await repo.running_run(self.app.db, guild_id)
        if run is None:
            return None
        questions = await repo.questions(self.app.db, run["id"])
        return {"run": run, "questions": questions,
                "open": next((q | {"snapshot": json.loads(q["snapshot"])} for q in questions if q["status"] == "open"), None)}


def typed_try(tries: int, right: bool, limit: int) -> str | None:
    """May a member try (again) at a typed question, having used `tries` of `limit`? None when they may,
    else the catalogue key of why not: a right answer is locked in; a wrong one leaves the next try."""
    if right:
        return "participation.quiz_already_right"
    if tries >= limit:
        return "participation.quiz_no_tries_left"
    return None


def speed_bonus(q: _OpenQuestion, now: datetime, wrong_tries: int = 0) -> int:
    """`max` for an instant answer, falling linearly to 0 at the close; halved for each wrong typed try
    before the right one, so firing off guesses does not pay better than knowing (a typo fixed at
    once still earns half)."""
    span = (q.closes_at - q.opened_at).total_seconds()
    if q.speed_bonus <= 0 or span <= 0:
        return 0
    left = max(0.0, (q.closes_at - now).total_seconds())
    return round(q.speed_bonus * min(1.0, left / span) / 2 ** wrong_tries)
