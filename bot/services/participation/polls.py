"""Native Discord polls: posted from a `kind: poll` prompt, the `poll.post` schedule action or
`/poll post`; members vote in Discord's own UI (gateway MESSAGE_POLL_VOTE_ADD/REMOVE -> `vote`), and
a vote earns `poll_vote` once per member per poll; when it ends (its duration, or `/poll end`) the
results are posted in the persona's voice.

The poll is a row (bot/db/polls.py) made once per source; its message goes through the outbox
(`poll:<id>`), its end is a timer re-armed at start.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from bot.config.actions import PollPostParams
from bot.config.prompts import POLL_DEFAULT_DURATION, poll_problems
from bot.db import polls as repo
from bot.errors import UserError
from bot.services.messages import OutMessage, Sent, Target
from bot.services.safety import relay

from .ledger import Ledger

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

POST_KEY = "poll:"  # outbox dedupe key of a poll's message: poll:<id>; its results: poll:<id>:results
BAR_WIDTH = 10


@dataclass(frozen=True)
class Poll:
    id: int
    guild_id: int
    source: str
    question: str
    answers: tuple[str, ...]
    multiselect: bool
    channel_key: str
    channel_id: int | None
    message_id: int | None
    created_by: int | None
    opened_at: datetime
    ends_at: datetime
    status: str
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Results:
    poll: Poll
    counts: tuple[int, ...]  # votes per answer, in the answers' order
    voters: int

    @property
    def winners(self) -> tuple[str, ...]:
        top = max(self.counts, default=0)
        return tuple(a for a, n in zip(self.poll.answers, self.counts) if n == top) if top else ()


class PollService:
    def __init__(self, app: "App", ledger: Ledger) -> None:
        self.app = app
        self.ledger = ledger
        app.outbox.on_sent(self._on_sent)

    async def start(self) -> None:
        for row in await repo.open_polls(self.app.db):
            self._arm(Poll(**row))

    # --- posting ------------------------------------------------------------------------------------
    async def action_post(self, guild_id: int, occurrence: datetime,
                          params: PollPostParams | Mapping[str, Any] | None = None, *,
                          run_key: str | None = None) -> Poll:
        """Schedule action `poll.post` (params: PollPostParams; `check` vouched for them). One poll per
        schedule entry and occurrence (`run_key`): two entries asking the same at the same minute make two."""
        params = PollPostParams.of(params)
        if params.prompt is not None:
            prompt = next(p for p in self.app.config.prompts.prompts if p.key == params.prompt)
            question, answers, duration, multi = prompt.text, prompt.answers, prompt.poll_duration, prompt.multiselect
        else:
            question, answers = params.question or "", params.answers
            duration, multi = params.duration or POLL_DEFAULT_DURATION, params.multiselect
        source = (f"schedule:{run_key}" if run_key  # direct callers (tests): by occurrence and what it asks
                  else f"schedule:{occurrence.isoformat()}:{params.prompt or question[:40]}")
        return await self.post(guild_id, source=source,
                               question=question, answers=answers, duration=duration, multiselect=multi,
                               channel_key=params.channel or self.app.config.participation.prompts.channel)

    async def post(self, guild_id: int, *, source: str, question: str, answers: tuple[str, ...] | list[str],
                   duration: timedelta, multiselect: bool = False, channel_key: str,
                   created_by: int | None = None) -> Poll:
        """The poll of `source`, made and posted once (a second call returns the first)."""
        question = " ".join(question.split())
        answers = tuple(" ".join(a.split()) for a in answers)
        problems = poll_problems(question, answers, duration)
        if problems:
            raise UserError("participation.poll_invalid", problem=problems[0])
        if channel_key not in self.app.config.community.channels:
            raise UserError("participation.poll_unknown_channel", channel=channel_key)
        now = self.app.clock.now()
        row, _ = await repo.add(self.app.db, guild_id=guild_id, source=source, question=question, answers=answers,
                                multiselect=multiselect, channel_key=channel_key, created_by=created_by, now=now,
                                ends_at=now + duration)
        poll = Poll(**row)
        if poll.is_open:
            await self.app.outbox.post(guild_id, Target.channel(poll.channel_key), self.message(poll),
                                       dedupe_key=f"{POST_KEY}{poll.id}")
            self._arm(poll)
        return poll

    def message(self, poll: Poll) -> OutMessage:
        hours = max(1, round((poll.ends_at - poll.opened_at) / timedelta(hours=1)))
        return OutMessage(content=self.app.t("participation.poll_intro", question=poll.question),
                          poll={"question": poll.question, "answers": list(poll.answers), "hours": hours,
                                "multiselect": poll.multiselect})

    async def _on_sent(self, row: dict, sent: Sent) -> None:
        key = row.get("dedupe_key") or ""
        if key.startswith(POST_KEY) and key[len(POST_KEY):].isdigit():
            await repo.set_posted(self.app.db, int(key[len(POST_KEY):]), sent.channel_id, sent.message_id)

    def _arm(self, poll: Poll) -> None:
        async def fire(_fire_time: datetime) -> None:
            await self.close(poll.id)

        self.app.scheduler.add_timer(f"poll:end:{poll.id}", poll.ends_at, fire)

    # --- votes (from the gateway) ---------------------------------------------------------------------
    async def vote(self, guild_id: int, user_id: int, message_id: int, answer_id: int, *, add: bool) -> int | None:
        """A member chose (or took back) an answer. The first vote in a poll earns `poll_vote` (taking
        it back and voting again earns nothing more). Returns points added, None when nothing was."""
        row = await repo.by_message(self.app.db, message_id)
        if row is None or row["guild_id"] != guild_id or row["status"] != "open":
            return None
        poll = Poll(**row)
        if not 1 <= answer_id <= len(poll.answers):
            return None
        if not add:
            await repo.unvote(self.app.db, poll.id, user_id, answer_id)
            return None
        if not await repo.vote(self.app.db, poll.id, user_id, answer_id, self.app.clock.now()):
            return None
        return await self.ledger.award(guild_id, user_id, "poll_vote", f"poll:{poll.id}")

    # --- the end -----------------------------------------------------------------------------------------
    async def get(self, poll_id: int) -> Poll | None:
        row = await repo.get(self.app.db, poll_id)
        return Poll(**row) if row else None

    async def end(self, guild_id: int, actor_id: int, poll_id: int | None = None) -> Results:
        """/poll end: the latest open poll (or `poll_id`) ends now."""
        row = (await repo.get(self.app.db, poll_id) if poll_id is not None
               else await repo.latest_open(self.app.db, guild_id))
        if row is None or row["guild_id"] != guild_id:
            raise UserError("participation.poll_none", id=poll_id or "")
        if row["status"] != "open":
            raise UserError("participation.poll_closed", question=row["question"])
        results = await self.close(row["id"])
        if results is None:
            raise UserError("participation.poll_closed", question=row["question"])
        await self.app.audit.record(guild_id, actor_id, "poll.end", f"poll #{row['id']}", row["question"][:200])
        return results

    async def close(self, poll_id: int) -> Results | None:
        """Close it (once): end it on Discord (at its end time Discord may have already), take
        Discord's final count as the truth (votes the gateway did not bring, during a restart, still
        earn their points), and post the results as the persona."""
        app = self.app
        if not await repo.close(app.db, poll_id, app.clock.now()):
            return None
        app.scheduler.remove_job(f"poll:end:{poll_id}")
        poll = await self.get(poll_id)
        port = getattr(app, "polls_port", None)
        if port is not None and poll.channel_id and poll.message_id:
            await port.end_poll(poll.guild_id, poll.channel_id, poll.message_id)
            final = await port.voters(poll.guild_id, poll.channel_id, poll.message_id)
            if final is not None:
                await repo.sync_votes(app.db, poll_id, final, app.clock.now())
                for user_id in sorted({u for users in final.values() for u in users}):
                    await self.ledger.award(poll.guild_id, user_id, "poll_vote", f"poll:{poll_id}")
        counts, voters = await repo.counts(app.db, poll_id)
        results = Results(poll, tuple(counts.get(i, 0) for i in range(1, len(poll.answers) + 1)), voters)
        await app.outbox.post(poll.guild_id, Target.channel(poll.channel_key),
                              OutMessage(content=self.render_results(results), as_persona=True),
                              dedupe_key=f"{POST_KEY}{poll_id}:results")
        return results

    def render_results(self, results: Results) -> str:
        t = self.app.t
        total = sum(results.counts)
        lines = [t("participation.poll_results_title", question=relay(results.poll.question), voters=results.voters)]
        for answer, count in zip(results.poll.answers, results.counts):
            share = count / total if total else 0.0
            bar = "█" * round(share * BAR_WIDTH) + "░" * (BAR_WIDTH - round(share * BAR_WIDTH))
            lines.append(t("participation.poll_results_line", bar=bar, answer=relay(answer), votes=count,
                           percent=round(share * 100)))
        winners = results.winners
        if not winners:
            lines.append(t("participation.poll_results_none"))
        elif len(winners) == 1:
            lines.append(t("participation.poll_results_winner", answer=relay(winners[0])))
        else:
            lines.append(t("participation.poll_results_tie", answers=" / ".join(relay(w) for w in winners)))
        return "\n".join(lines)[:2000]
