"""Regular posts from schedules.yaml: jobs, the occurrence ledger, pools, pause/resume, reload, preview.

How a post goes out exactly once
--------------------------------
Each enabled schedule becomes one job on `app.scheduler` (an APScheduler trigger built by
`bot.config.schedules.Schedule.trigger`). When an occurrence fires, the service inserts a ledger row
(guild, schedule, kind, occurrence) — unique — and only the caller whose INSERT returned a row posts,
through `app.outbox.post(..., dedupe_key="schedule:<id>:<occurrence iso>")` with `as_persona=True`.
A restart, a reload or a second job can therefore never post twice.

At start-up, occurrences missed while the bot was down (between the schedule's last ledger row — or
the time it became active, so a brand-new schedule never back-fills — and now) are handled once: the
latest is posted if it is within the schedule's `grace` (several coalesce into one, the others are
recorded as 'coalesced'); older ones are recorded as 'skipped' and reported to the mod-log.

Pause/resume live in the database; run-now is ledger kind 'manual' with its own dedupe key
("schedule:<id>:run-now:<iso>"), so it never collides with a regular occurrence.

Actions (the plug-in point for other features)
----------------------------------------------
A schedule may name an `action:` (see `bot.config.schedules.KNOWN_ACTIONS`). A feature registers it
on the App's registry, in its `build(app)` or `start()` (schedules starts last):

    async def post_prompt(guild_id: int, occurrence: datetime, params: PromptPostParams) -> None: ...
    app.actions.register("prompt.post", post_prompt)

`occurrence` is the scheduled instant in UTC (the moment of the moderator's click for run-now);
`params` is the schedule's `params:` as the action's typed model (`bot/config/actions.py`), which
`check` validated with its references (a handler reads `Params.of(params)`, which also takes a plain
mapping). The handler runs after the ledger claim, once per occurrence; it posts through the outbox
itself (use a dedupe key built from the occurrence). A missing or failing action is reported to the
mod-log and the ledger row is marked 'failed'; `/schedule run-now` then answers with the failure.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.config.schedules import EmbedSpec, Pool, Schedule, SchedulesFile, occurrences
from bot.db import schedules as repo
from bot.db.schedules import PoolState
from bot.errors import UserError

from .messages import OutMessage, Target
from .outbox import failure_notice

log = logging.getLogger(__name__)

_TINY = timedelta(microseconds=1)
CATCH_UP_LIMIT = 1000  # occurrences looked at per schedule after a long outage


# --- pure helpers (shared by the live path and the preview) ------------------------------------------
def draw(pool_name: str, pool: Pool, state: PoolState) -> tuple[int, PoolState]:
    """The next item of a pool and the pool's new state. `shuffle` is a fresh permutation per cycle,
    seeded by (pool, cycle, size) so the preview can predict it, and never starts with the item that
    ended the previous cycle."""
    size = len(pool.items)
    cycle, position, avoid = state.cycle, state.position, state.avoid_item
    if position >= size:
        cycle, position, avoid = cycle + 1, 0, state.last_item
    order = list(range(size))
    if pool.order == "shuffle":
        random.Random(f"{pool_name}:{cycle}:{size}").shuffle(order)
        if avoid is not None and size > 1 and order[0] == avoid:
            order[0], order[-1] = order[-1], order[0]
    item = order[position]
    return item, PoolState(cycle, position + 1, avoid, item)


def format_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes >= 60:
        return f"{minutes // 60}h" + (f"{minutes % 60}m" if minutes % 60 else "")
    return f"{minutes}m" if minutes else f"{int(delta.total_seconds())}s"


@dataclass(frozen=True)
class Rendered:
    content: str
    embeds: tuple[dict, ...]

    @property
    def first_line(self) -> str:
        if self.content:
            return self.content.split("\n", 1)[0]
        if self.embeds:
            e = self.embeds[0]
            return (e.get("title") or e.get("description") or "").split("\n", 1)[0]
        return ""


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime  # UTC
    schedule_id: str
    channel: str | None
    first_line: str
    action: str | None
    paused: bool = False

    def line(self, tz: ZoneInfo) -> str:
        local = self.when.astimezone(tz)
        where = f"#{self.channel}" if self.channel else "-"
        parts = [f"{local:%Y-%m-%d %a %H:%M}", self.schedule_id, where, self.first_line or "-"]
        if self.action:
            parts.append(f"[{self.action}]")
        if self.paused:
            parts.append("(paused)")
        return "  ".join(parts)


def format_timeline(entries: Iterable[TimelineEntry], tz: ZoneInfo) -> list[str]:
    return [e.line(tz) for e in entries]


@dataclass(frozen=True)
class ScheduleInfo:
    id: str
    rule: str
    timezone: str
    channel: str | None
    action: str | None
    enabled: bool
    paused: bool
    next_fire: datetime | None
    last: dict | None


@dataclass(frozen=True)
class ReloadResult:
    ok: bool
    errors: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    count: int = 0


@dataclass(frozen=True)
class RunResult:
    schedule_id: str
    channel: str | None
    first_line: str
    action: str | None
    error: str | None = None  # why the action failed (already reported to the mod-log); None = it ran

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Book:
    """One guild's running schedules: the model, its triggers and what is paused."""

    model: SchedulesFile
    default_tz: str
    triggers: dict[str, BaseTrigger]
    paused: set[str] = field(default_factory=set)
    active_since: dict[str, datetime] = field(default_factory=dict)  # no occurrence before this posts

    def __post_init__(self) -> None:
        self.composite = GuildTrigger(self.triggers)

    def schedule(self, schedule_id: str) -> Schedule | None:
        return self.model.by_id(schedule_id)


class GuildTrigger(BaseTrigger):
    """All of one guild's schedules as one APScheduler trigger: fires at every instant at which any
    of them fires. One job per guild (not per schedule) keeps start-up and a burst of posts due in
    the same minute cheap: the posts due at one instant are claimed in one transaction."""

    def __init__(self, triggers: dict[str, BaseTrigger]) -> None:
        self.triggers = triggers
        self._cache: dict[str, tuple[datetime, datetime | None]] = {}  # id -> (asked at, answer)

    def next_of(self, schedule_id: str, now: datetime) -> datetime | None:
        cached = self._cache.get(schedule_id)
        if cached is not None and cached[0] <= now and (cached[1] is None or now <= cached[1]):
            return cached[1]  # nothing fires in [asked at, answer), so the answer still holds
        answer = self.triggers[schedule_id].get_next_fire_time(None, now)
        if answer is not None and answer < now:
            answer = None  # a one-off in the past (DateTrigger answers its date whatever `now` is)
        self._cache[schedule_id] = (now, answer)
        return answer

    def get_next_fire_time(self, previous_fire_time, now):
        return min((t for t in (self.next_of(sid, now) for sid in self.triggers) if t is not None), default=None)

    def due(self, when: datetime) -> list[str]:
        """The schedules that fire exactly at `when`, by id (the order the preview uses)."""
        return sorted(sid for sid in self.triggers if self.next_of(sid, when) == when)


def build_triggers(model: SchedulesFile, default_tz: str) -> dict[str, BaseTrigger]:
    return {s.id: s.trigger(default_tz) for s in model.schedules if s.enabled}


def dedupe_key(schedule_id: str, occurrence: datetime, kind: str = "regular") -> str:
    iso = occurrence.isoformat()
    return f"schedule:{schedule_id}:{iso}" if kind == "regular" else f"schedule:{schedule_id}:run-now:{iso}"


class ScheduleService:
    JOB_PREFIX = "schedule:"

    def __init__(self, app) -> None:
        self.app = app
        self.model: SchedulesFile = getattr(app.config, "schedules", None) or SchedulesFile()
        self.default_tz: str = self.model.default_timezone(app.config)
        self.books: dict[int, Book] = {}
        self._hooked = False
        self._last_apply: ReloadResult | None = None

    # --- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if not self._hooked:
            self.app.outbox.on_failure(self._on_outbox_failure)
            self._hooked = True
        if self.app.guild_id is None:
            log.warning("schedules: no guild id yet (set community.guild_id); schedules start when it is known")
            import asyncio

            self._waiter = asyncio.create_task(self._start_when_guild_known())
            return
        await self.load_guild(self.app.guild_id, self.model, self.default_tz, catch_up=True)

    async def _start_when_guild_known(self) -> None:
        import asyncio

        while self.app.guild_id is None:
            await asyncio.sleep(1)
        await self.load_guild(self.app.guild_id, self.model, self.default_tz, catch_up=True)

    async def stop(self) -> None:
        waiter = getattr(self, "_waiter", None)
        if waiter is not None:
            waiter.cancel()

    async def load_guild(self, guild_id: int, model: SchedulesFile, default_tz: str, *, catch_up: bool) -> Book:
        """(Re)build one guild's jobs from `model`. With catch_up (start-up): finish interrupted claims
        and handle occurrences missed while the bot was down."""
        now = self.app.clock.now()
        triggers = build_triggers(model, default_tz)
        states = await repo.sync_states(self.app.db, guild_id, triggers, now)
        book = Book(model, default_tz, triggers, {sid for sid, st in states.items() if st.paused},
                    {sid: st.active_since for sid, st in states.items()})
        self.books[guild_id] = book
        if catch_up:
            await self._recover_claimed(guild_id, book, now)
            await self._catch_up(guild_id, book, states, now)
        self._register_jobs(guild_id, book, now)
        return book

    def _register_jobs(self, guild_id: int, book: Book, now: datetime) -> None:
        scheduler = self.app.scheduler
        job_id = f"{self.JOB_PREFIX}{guild_id}"
        old = scheduler.jobs.get(job_id)
        # an occurrence the old job had due but not yet run (same instant as a reload) is kept;
        # the ledger makes a repeated occurrence harmless
        since = min(now, old.next_fire - _TINY) if old is not None and old.next_fire is not None else now
        scheduler.add_job(job_id, book.composite, partial(self._on_instant, guild_id), since=since)

    # --- the live path ------------------------------------------------------------------------------
    async def _on_instant(self, guild_id: int, occurrence: datetime) -> None:
        """Every schedule of the guild due at `occurrence`: checks, then one transaction for the posts."""
        book = self.books.get(guild_id)
        if book is None:
            return
        now = self.app.clock.now()
        ready: list[Schedule] = []
        for schedule_id in book.composite.due(occurrence):
            schedule = book.schedule(schedule_id)
            if schedule is None or occurrence < book.active_since.get(schedule_id, occurrence):
                continue  # removed, or an occurrence from before it was (re)activated: never back-fill
            if schedule_id in book.paused:
                await repo.record(self.app.db, guild_id=guild_id, schedule_id=schedule_id, occurrences=[occurrence],
                                  status="paused", now=now)
                continue
            later = book.triggers[schedule_id].get_next_fire_time(occurrence, occurrence + _TINY)
            if later is not None and later <= now:
                # the bot was busy past several occurrences: only the latest posts
                await repo.record(self.app.db, guild_id=guild_id, schedule_id=schedule_id, occurrences=[occurrence],
                                  status="coalesced", now=now)
                continue
            if now - occurrence > book.model.grace_of(schedule):
                await self._skip(guild_id, book, schedule, [occurrence], now)
                continue
            ready.append(schedule)
        if ready:
            await self._claim_many(guild_id, book, ready, occurrence, "regular")

    async def _claim_and_deliver(self, guild_id: int, book: Book, schedule: Schedule, occurrence: datetime,
                                 kind: str) -> tuple[Rendered | None, str | None] | None:
        """Claim one occurrence and post it: (what was posted, the action's error or None), or None
        when it was already claimed."""
        done = await self._claim_many(guild_id, book, [schedule], occurrence, kind)
        return done[0][1:] if done else None

    async def _claim_many(self, guild_id: int, book: Book, schedules: list[Schedule], occurrence: datetime,
                          kind: str) -> list[tuple[Schedule, Rendered | None, str | None]]:
        """Claim the ledger rows and queue the posts in one transaction (pool items are drawn in it
        too), then run the actions. Returns what this caller claimed (the others were already done),
        each with its action's error (None when it ran or there is no action)."""
        now = self.app.clock.now()
        claimed: list[tuple[Schedule, int, Rendered | None]] = []
        async with self.app.db.transaction() as tx:
            for schedule in schedules:
                # without an action the row is final at once; with one it stays 'claimed' until the action ran
                ledger_id = await repo.claim(tx, guild_id=guild_id, schedule_id=schedule.id, kind=kind,
                                             occurrence=occurrence, now=now,
                                             status="claimed" if schedule.action else "posted")
                if ledger_id is None:
                    continue
                item = None
                if schedule.pool:
                    state = await repo.pool_state(tx, guild_id, schedule.pool)
                    item, state = draw(schedule.pool, book.model.pools[schedule.pool], state)
                    await repo.save_pool_state(tx, guild_id, schedule.pool, state)
                    await repo.set_item(tx, ledger_id, item)
                rendered = self.render(book, schedule, occurrence, item)
                if rendered is not None:
                    await self.app.outbox.post_in(tx, guild_id, Target.channel(schedule.channel), self._message(rendered),
                                                  dedupe_key=dedupe_key(schedule.id, occurrence, kind))
                claimed.append((schedule, ledger_id, rendered))
        self.app.outbox.wake()
        out: list[tuple[Schedule, Rendered | None, str | None]] = []
        for schedule, ledger_id, rendered in claimed:
            error = None
            if schedule.action:
                status, error = await self._run_action(guild_id, schedule, occurrence)
                await repo.finish(self.app.db, ledger_id, status, error)
            out.append((schedule, rendered, error))
        return out

    @staticmethod
    def _message(rendered: Rendered) -> OutMessage:
        return OutMessage(content=rendered.content, embeds=rendered.embeds, as_persona=True)

    async def _deliver(self, guild_id: int, book: Book, schedule: Schedule, ledger_id: int, occurrence: datetime,
                       kind: str, item: int | None) -> Rendered | None:
        rendered = self.render(book, schedule, occurrence, item)
        if rendered is not None:
            await self.app.outbox.post(guild_id, Target.channel(schedule.channel), self._message(rendered),
                                       dedupe_key=dedupe_key(schedule.id, occurrence, kind))
        status, detail = "posted", None
        if schedule.action:
            status, detail = await self._run_action(guild_id, schedule, occurrence)
        await repo.finish(self.app.db, ledger_id, status, detail)
        return rendered

    async def _run_action(self, guild_id: int, schedule: Schedule, occurrence: datetime) -> tuple[str, str | None]:
        key = f"schedule-action:{schedule.id}:{occurrence.isoformat()}"
        try:
            handler = self.app.actions.get(schedule.action)
        except KeyError:
            await self.app.audit.note(guild_id, self.app.t("schedules.action_missing", id=schedule.id,
                                                           action=schedule.action), dedupe_key=key)
            return "failed", f"action {schedule.action} is not available"
        try:
            await handler(guild_id, occurrence, schedule.action_params())
        except Exception as exc:
            log.exception("schedule %s: action %s failed", schedule.id, schedule.action)
            if isinstance(exc, UserError):
                error = self.app.t(exc.key, **exc.params) if self.app.catalogue.has(exc.key) else exc.key
            else:
                error = f"{type(exc).__name__}: {exc}"
            await self.app.audit.note(guild_id, self.app.t("schedules.action_failed", id=schedule.id,
                                                           action=schedule.action, error=error[:300]),
                                      dedupe_key=key)
            return "failed", error[:500]
        return "posted", None

    async def _skip(self, guild_id: int, book: Book, schedule: Schedule, missed: list[datetime],
                    now: datetime) -> None:
        await repo.record(self.app.db, guild_id=guild_id, schedule_id=schedule.id, occurrences=missed,
                          status="skipped", now=now, detail="past grace")
        tz = schedule.zone(book.default_tz)
        text = self.app.t("schedules.skipped_note", id=schedule.id, count=len(missed),
                          first=f"{missed[0].astimezone(tz):%Y-%m-%d %H:%M}",
                          last=f"{missed[-1].astimezone(tz):%Y-%m-%d %H:%M}", timezone=tz.key,
                          grace=format_duration(book.model.grace_of(schedule)))
        await self.app.audit.note(guild_id, text,
                                  dedupe_key=f"schedule-skipped:{schedule.id}:{missed[-1].isoformat()}")

    # --- start-up ------------------------------------------------------------------------------------
    async def _recover_claimed(self, guild_id: int, book: Book, now: datetime) -> None:
        """Rows a crash left between claim and delivery: deliver (the outbox dedupes) or skip."""
        for row in await repo.claimed(self.app.db, guild_id):
            schedule = book.schedule(row["schedule_id"])
            if schedule is None:
                await repo.finish(self.app.db, row["id"], "failed", "schedule removed before delivery")
                continue
            if row["kind"] == "regular" and now - row["occurrence"] > book.model.grace_of(schedule):
                await repo.finish(self.app.db, row["id"], "skipped", "interrupted, past grace")
                await self._skip(guild_id, book, schedule, [row["occurrence"]], now)
                continue
            await self._deliver(guild_id, book, schedule, row["id"], row["occurrence"], row["kind"], row["item"])

    async def _catch_up(self, guild_id: int, book: Book, states: dict[str, repo.ScheduleState],
                        now: datetime) -> None:
        last = await repo.last_regular(self.app.db, guild_id)
        for schedule_id, trigger in book.triggers.items():
            state = states.get(schedule_id)
            if state is None or state.paused:
                continue
            since = max(state.active_since, last.get(schedule_id, state.active_since))
            if since >= now:
                continue
            missed = occurrences(trigger, since, now, CATCH_UP_LIMIT)
            if not missed:
                continue
            schedule = book.schedule(schedule_id)
            grace = book.model.grace_of(schedule)
            recent = [o for o in missed if now - o <= grace]
            old = [o for o in missed if now - o > grace]
            if old:
                await self._skip(guild_id, book, schedule, old, now)
            if recent:
                await repo.record(self.app.db, guild_id=guild_id, schedule_id=schedule_id, occurrences=recent[:-1],
                                  status="coalesced", now=now)
                await self._claim_and_deliver(guild_id, book, schedule, recent[-1], "regular")

    # --- content -------------------------------------------------------------------------------------
    def render(self, book: Book, schedule: Schedule, occurrence: datetime, item: int | None) -> Rendered | None:
        if schedule.pool:
            items = book.model.pools[schedule.pool].items
            entry = items[(item or 0) % len(items)]
            text, embed = entry.text, entry.embed
        else:
            text, embed = schedule.text, schedule.embed
        if not text and embed is None:
            return None
        values = self._template_values(book, schedule, occurrence)
        content = text.format_map(values) if text else ""
        embeds = (self._embed(embed, values),) if embed is not None else ()
        return Rendered(content, embeds)

    def _template_values(self, book: Book, schedule: Schedule, occurrence: datetime) -> dict[str, Any]:
        local = occurrence.astimezone(schedule.zone(book.default_tz))
        weekday = self.app.t("schedules.weekdays").split(",")[local.weekday()].strip()
        month_name = self.app.t("schedules.months").split(",")[local.month - 1].strip()
        shared = self.app.catalogue.shared
        return {
            "community": shared["community"],
            "persona": shared["persona"],
            "date": self.app.t("schedules.date", year=local.year, month=local.month, day=local.day,
                               month_name=month_name, weekday=weekday),
            "time": f"{local:%H:%M}",
            "weekday": weekday,
            "schedule": SimpleNamespace(id=schedule.id),
        }

    @staticmethod
    def _embed(spec: EmbedSpec, values: dict[str, Any]) -> dict:
        def fmt(text: str | None) -> str | None:
            return text.format_map(values) if text else text

        out: dict[str, Any] = {"type": "rich"}
        for key in ("title", "description"):
            if getattr(spec, key):
                out[key] = fmt(getattr(spec, key))
        if spec.url:
            out["url"] = str(spec.url)
        if spec.color_value() is not None:
            out["color"] = spec.color_value()
        if spec.image:
            out["image"] = {"url": str(spec.image)}
        if spec.thumbnail:
            out["thumbnail"] = {"url": str(spec.thumbnail)}
        if spec.footer:
            out["footer"] = {"text": fmt(spec.footer)}
        if spec.fields:
            out["fields"] = [{"name": fmt(f.name), "value": fmt(f.value), "inline": f.inline} for f in spec.fields]
        return out

    # --- moderator commands ---------------------------------------------------------------------------
    def _book(self, guild_id: int | None) -> tuple[int, Book]:
        gid = guild_id if guild_id is not None else self.app.guild_id
        book = self.books.get(gid) if gid is not None else None
        if book is None:
            book = Book(self.model, self.default_tz, build_triggers(self.model, self.default_tz))
        return gid or 0, book

    def _known(self, book: Book, schedule_id: str) -> Schedule:
        schedule = book.schedule(schedule_id.strip())
        if schedule is None:
            known = ", ".join(s.id for s in book.model.schedules) or "-"
            raise UserError("schedules.unknown", id=schedule_id, known=known[:1500])
        return schedule

    def schedule_ids(self, guild_id: int | None = None) -> list[str]:
        return [s.id for s in self._book(guild_id)[1].model.schedules]

    async def pause(self, schedule_id: str, actor_id: int, guild_id: int | None = None) -> Schedule:
        gid, book = self._book(guild_id)
        schedule = self._known(book, schedule_id)
        if not await repo.set_paused(self.app.db, gid, schedule.id, True, actor_id, self.app.clock.now()):
            raise UserError("schedules.already_paused", id=schedule.id)
        book.paused.add(schedule.id)
        await self.app.audit.record(gid, actor_id, "schedule.pause", target=schedule.id)
        return schedule

    async def resume(self, schedule_id: str, actor_id: int, guild_id: int | None = None) -> ScheduleInfo:
        gid, book = self._book(guild_id)
        schedule = self._known(book, schedule_id)
        if not await repo.set_paused(self.app.db, gid, schedule.id, False, actor_id, self.app.clock.now()):
            raise UserError("schedules.not_paused", id=schedule.id)
        book.paused.discard(schedule.id)
        book.active_since[schedule.id] = self.app.clock.now()
        await self.app.audit.record(gid, actor_id, "schedule.resume", target=schedule.id)
        return next(i for i in await self.list(gid) if i.id == schedule.id)

    async def run_now(self, schedule_id: str, actor_id: int, guild_id: int | None = None) -> RunResult:
        gid, book = self._book(guild_id)
        schedule = self._known(book, schedule_id)
        now = self.app.clock.now()
        done = await self._claim_and_deliver(gid, book, schedule, now, "manual")
        if done is None:
            raise UserError("schedules.run_now_twice", id=schedule.id)
        rendered, error = done
        await self.app.audit.record(gid, actor_id, "schedule.run-now", target=schedule.id,
                                    detail=f"failed: {error}"[:500] if error else "")
        return RunResult(schedule.id, schedule.channel, rendered.first_line if rendered else "", schedule.action,
                         error)

    async def list(self, guild_id: int | None = None) -> list[ScheduleInfo]:
        gid, book = self._book(guild_id)
        last = await repo.last_entries(self.app.db, gid)
        now = self.app.clock.now()
        out = []
        for s in book.model.schedules:
            next_fire = book.composite.next_of(s.id, now + _TINY) if s.id in book.triggers else None
            out.append(ScheduleInfo(s.id, s.rule_text(), s.zone(book.default_tz).key, s.channel, s.action,
                                    s.enabled, s.id in book.paused, next_fire, last.get(s.id)))
        return out

    async def reload(self, actor_id: int | None = None, guild_id: int | None = None) -> ReloadResult:
        """Reload the whole config (App.reload_config: on any problem nothing changes and the file:line
        errors come back); the new schedules replace the jobs (the ledger prevents double posts)."""
        problems = await self.app.reload_config()
        if problems:
            return ReloadResult(False, tuple(problems))
        result = self._last_apply or ReloadResult(True, (), (), (), (), len(self.model.schedules))
        if actor_id is not None:
            gid = self._book(guild_id)[0]
            await self.app.audit.record(gid, actor_id, "schedule.reload",
                                        detail=f"{result.count} schedules: +{len(result.added)}"
                                               f" -{len(result.removed)} ~{len(result.changed)}")
        return result

    async def config_changed(self, config) -> None:
        """Called by App.reload_config with a config that loaded cleanly."""
        model: SchedulesFile = getattr(config, "schedules", None) or SchedulesFile()
        gid, book = self._book(None)
        old = {s.id: s for s in book.model.schedules}
        new = {s.id: s for s in model.schedules}
        default_tz = model.default_timezone(config)
        if gid == (self.app.guild_id or 0):
            self.model, self.default_tz = model, default_tz
        await self.load_guild(gid, model, default_tz, catch_up=False)
        self._last_apply = ReloadResult(
            True, (), tuple(i for i in new if i not in old), tuple(i for i in old if i not in new),
            tuple(i for i in new if i in old and new[i] != old[i]), len(new))

    # --- preview -------------------------------------------------------------------------------------
    async def timeline(self, start: datetime, end: datetime, guild_id: int | None = None) -> list[TimelineEntry]:
        """What will post in (start, end], pools resolved from their stored positions as they would be."""
        gid, book = self._book(guild_id)
        if gid not in self.books:
            states = await repo.load_states(self.app.db, gid)
            book.paused = {sid for sid, st in states.items() if st.paused}
        pools = await repo.pool_states(self.app.db, gid)
        events = sorted((when, sid) for sid, trigger in book.triggers.items()
                        for when in occurrences(trigger, start, end, limit=100_000))
        out = []
        for when, sid in events:
            schedule = book.schedule(sid)
            paused = sid in book.paused
            item = None
            if schedule.pool and not paused:
                item, pools[schedule.pool] = draw(schedule.pool, book.model.pools[schedule.pool],
                                                  pools.get(schedule.pool, PoolState()))
            rendered = self.render(book, schedule, when, item)
            out.append(TimelineEntry(when, sid, schedule.channel if rendered else None,
                                     rendered.first_line if rendered else "", schedule.action, paused))
        return out

    # --- outbox failures ------------------------------------------------------------------------------
    async def _on_outbox_failure(self, row: dict, error: str) -> None:
        """A channel post the bot could not deliver is reported to the mod-log — unless it was the
        mod-log itself (or such a report), which would only fail again."""
        if row.get("target_kind") == "dm":
            return
        mod_log = self.app.config.community.moderation.mod_log
        key = str(row.get("dedupe_key", ""))
        if (row.get("target_kind") == "channel" and row.get("target") == mod_log) or key.startswith("outbox-failed:"):
            log.error("cannot post to the mod-log (%s): %s", key, error)
            return
        await self.app.audit.note(int(row["guild_id"]), failure_notice(self.app.t, row, error),
                                  dedupe_key=f"outbox-failed:{row['id']}")


def build(app) -> ScheduleService:
    return ScheduleService(app)
