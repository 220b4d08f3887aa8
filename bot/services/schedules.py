"""Regular posts from schedules.yaml: jobs, the occurrence ledger, pools, pause/resume, reload, preview.

How a post goes out exactly once
--------------------------------
The bot serves one community per process (`app.guild_id`). Each enabled schedule has a trigger
(`bot.triggers`, via `Schedule.trigger`); together they are one job on `app.scheduler`
(`bot.triggers.EarliestOf`). When an instant fires, the service inserts a ledger row per due schedule
(guild, schedule, kind, occurrence) — unique — and, in the same transaction, queues the post of each
row it got through `app.outbox.post_in(..., dedupe_key="schedule:<id>:<occurrence iso>")` with
`as_persona=True`. A restart, a reload or a second job can therefore never post twice. Every post
(the live path, catch-up, run-now, a claim a crash interrupted) goes `_claim`/`_queue` -> `_finish`.

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

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from bot.config.base import format_duration
from bot.config.schedules import EmbedSpec, Pool, Schedule, SchedulesFile
from bot.db import schedules as repo
from bot.db.connection import is_busy
from bot.db.schedules import PoolState
from bot.errors import UserError
from bot.triggers import EarliestOf, occurrences

from .messages import OutMessage, Target
from .outbox import failure_notice

log = logging.getLogger(__name__)

_TINY = timedelta(microseconds=1)
BUSY_RETRY = timedelta(seconds=30)  # an occurrence the database refused (locked) is tried again this much later
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
    item: int | None = None  # the pool item it will post (what a preview renders)

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


@dataclass(frozen=True)
class Delivery:
    """One occurrence this caller claimed: what was posted (None for an action without a post) and why
    its action failed (None: it ran, or there is none)."""

    schedule: Schedule
    rendered: Rendered | None
    error: str | None = None


@dataclass(frozen=True)
class _Claim:
    """A ledger row this caller holds; `pending`: its row stays 'claimed' until `_finish` (an action
    still has to run, or a crash left it so)."""

    schedule: Schedule
    ledger_id: int
    occurrence: datetime
    rendered: Rendered | None
    pending: bool


def dedupe_key(schedule_id: str, occurrence: datetime, kind: str = "regular") -> str:
    iso = occurrence.isoformat()
    return f"schedule:{schedule_id}:{iso}" if kind == "regular" else f"schedule:{schedule_id}:run-now:{iso}"


class ScheduleService:
    """The community's schedules (one community per process, `app.guild_id`): one scheduler job fires
    them; every post goes out through `_claim` -> `_queue` -> `_finish`."""

    JOB_PREFIX = "schedule:"

    def __init__(self, app) -> None:
        self.app = app
        self._use(app.config.schedules)
        self.loaded = False  # the database's state (pauses, active times) is read and the job registered
        self._hooked = False
        self._waiter: asyncio.Task | None = None

    def _use(self, model: SchedulesFile, paused: set[str] | None = None,
             active_since: dict[str, datetime] | None = None) -> None:
        """Put `model` in force, all at once (no await between: a firing never sees half of it)."""
        default_tz = model.default_timezone(self.app.config)
        self.model, self.default_tz = model, default_tz
        self.triggers = EarliestOf({s.id: s.trigger(default_tz) for s in model.schedules if s.enabled})
        self.paused: set[str] = paused or set()
        self.active_since: dict[str, datetime] = active_since or {}  # no occurrence before this posts

    @property
    def guild_id(self) -> int:
        """The community's guild (0 until it is known: the preview works without one)."""
        return self.app.guild_id or 0

    # --- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        if not self._hooked:
            self.app.outbox.on_failure(self._on_outbox_failure)
            self._hooked = True
        if self.app.guild_id is None:
            log.warning("schedules: no guild id yet (set community.guild_id); schedules start when it is known")
            self._waiter = asyncio.create_task(self._start_when_guild_known())
            return
        await self.load(self.model, catch_up=True)

    async def _start_when_guild_known(self) -> None:
        while self.app.guild_id is None:
            await asyncio.sleep(1)
        await self.load(self.model, catch_up=True)

    async def stop(self) -> None:
        if self._waiter is not None:
            self._waiter.cancel()

    async def load(self, model: SchedulesFile, *, catch_up: bool) -> None:
        """(Re)build the job from `model`. With catch_up (start-up): finish interrupted claims and
        handle occurrences missed while the bot was down."""
        now = self.app.clock.now()
        enabled = [s.id for s in model.schedules if s.enabled]
        states = await repo.sync_states(self.app.db, self.guild_id, enabled, now)
        self._use(model, {sid for sid, st in states.items() if st.paused},
                  {sid: st.active_since for sid, st in states.items()})
        self.loaded = True
        if catch_up:
            await self._recover_claimed(now)
            await self._catch_up(states, now)
        scheduler = self.app.scheduler
        job_id = f"{self.JOB_PREFIX}{self.guild_id}"
        old = scheduler.jobs.get(job_id)
        # an occurrence the old job had due but not yet run (same instant as a reload) is kept;
        # the ledger makes a repeated occurrence harmless
        since = min(now, old.next_fire - _TINY) if old is not None and old.next_fire is not None else now
        scheduler.add_job(job_id, self.triggers, self._on_instant, since=since)

    # --- the live path ------------------------------------------------------------------------------
    async def _on_instant(self, occurrence: datetime) -> None:
        """Every schedule due at `occurrence`: checks, then one transaction for the posts. When the
        database is locked by another process past its busy timeout, nothing was written: the same
        occurrence is tried again a little later (still within its grace, it posts once)."""
        try:
            await self._due_at(occurrence)
        except Exception as exc:
            if not is_busy(exc):
                raise
            retry_at = self.app.clock.now() + BUSY_RETRY
            log.warning("schedules due at %s met a locked database; trying again at %s", occurrence, retry_at)
            self.app.scheduler.add_timer(f"schedules:busy:{occurrence.isoformat()}", retry_at,
                                         lambda _fired: self._on_instant(occurrence))

    async def _due_at(self, occurrence: datetime) -> None:
        now = self.app.clock.now()
        ready: list[Schedule] = []
        for schedule_id in self.triggers.due(occurrence):
            schedule = self.model.by_id(schedule_id)
            if schedule is None or occurrence < self.active_since.get(schedule_id, occurrence):
                continue  # removed, or an occurrence from before it was (re)activated: never back-fill
            if schedule_id in self.paused:
                await repo.record(self.app.db, guild_id=self.guild_id, schedule_id=schedule_id,
                                  occurrences=[occurrence], status="paused", now=now)
                continue
            later = self.triggers.triggers[schedule_id].get_next_fire_time(occurrence, occurrence + _TINY)
            if later is not None and later <= now:
                # the bot was busy past several occurrences: only the latest posts
                await repo.record(self.app.db, guild_id=self.guild_id, schedule_id=schedule_id,
                                  occurrences=[occurrence], status="coalesced", now=now)
                continue
            if now - occurrence > self.model.grace_of(schedule):
                await self._skip(schedule, [occurrence], now)
                continue
            ready.append(schedule)
        if ready:
            await self._claim(ready, occurrence, "regular")

    async def _claim(self, schedules: list[Schedule], occurrence: datetime, kind: str) -> list[Delivery]:
        """Claim the ledger rows and queue the posts in one transaction (pool items are drawn in it
        too), then run the actions. Returns what this caller claimed (the others were already done)."""
        now = self.app.clock.now()
        claims: list[_Claim] = []
        async with self.app.db.transaction() as tx:
            for schedule in schedules:
                # without an action the row is final at once; with one it stays 'claimed' until the action ran
                ledger_id = await repo.claim(tx, guild_id=self.guild_id, schedule_id=schedule.id, kind=kind,
                                             occurrence=occurrence, now=now,
                                             status="claimed" if schedule.action else "posted")
                if ledger_id is None:
                    continue
                item = None
                if schedule.pool:
                    state = await repo.pool_state(tx, self.guild_id, schedule.pool)
                    item, state = draw(schedule.pool, self.model.pools[schedule.pool], state)
                    await repo.save_pool_state(tx, self.guild_id, schedule.pool, state)
                    await repo.set_item(tx, ledger_id, item)
                claims.append(await self._queue(tx, schedule, ledger_id, occurrence, kind, item,
                                                pending=bool(schedule.action)))
        self.app.outbox.wake()
        return [await self._finish(claim) for claim in claims]

    async def _queue(self, tx, schedule: Schedule, ledger_id: int, occurrence: datetime, kind: str,
                     item: int | None, *, pending: bool) -> _Claim:
        """Queue the post of a claimed occurrence in the claim's transaction (the outbox dedupes)."""
        rendered = self.render(schedule, occurrence, item)
        if rendered is not None:
            await self.app.outbox.post_in(tx, self.guild_id, Target.channel(schedule.channel), self._message(rendered),
                                          dedupe_key=dedupe_key(schedule.id, occurrence, kind))
        return _Claim(schedule, ledger_id, occurrence, rendered, pending)

    async def _finish(self, claim: _Claim) -> Delivery:
        """Run the action of a pending claim and close its ledger row."""
        if not claim.pending:
            return Delivery(claim.schedule, claim.rendered)
        status, error = "posted", None
        if claim.schedule.action:
            status, error = await self._run_action(claim.schedule, claim.occurrence)
        await repo.finish(self.app.db, claim.ledger_id, status, error)
        return Delivery(claim.schedule, claim.rendered, error)

    @staticmethod
    def _message(rendered: Rendered) -> OutMessage:
        return OutMessage(content=rendered.content, embeds=rendered.embeds, as_persona=True)

    async def _run_action(self, schedule: Schedule, occurrence: datetime) -> tuple[str, str | None]:
        key = f"schedule-action:{schedule.id}:{occurrence.isoformat()}"
        try:
            handler = self.app.actions.bind(schedule.action, f"{schedule.id}:{occurrence.isoformat()}")
        except KeyError:
            await self.app.audit.note(self.guild_id, self.app.t("schedules.action_missing", id=schedule.id,
                                                                action=schedule.action), dedupe_key=key)
            return "failed", f"action {schedule.action} is not available"
        try:
            await handler(self.guild_id, occurrence, schedule.action_params())
        except Exception as exc:
            log.exception("schedule %s: action %s failed", schedule.id, schedule.action)
            if isinstance(exc, UserError):
                error = self.app.t(exc.key, **exc.params) if self.app.catalogue.has(exc.key) else exc.key
            else:
                error = f"{type(exc).__name__}: {exc}"
            await self.app.audit.note(self.guild_id, self.app.t("schedules.action_failed", id=schedule.id,
                                                                action=schedule.action, error=error[:300]),
                                      dedupe_key=key)
            return "failed", error[:500]
        return "posted", None

    async def _skip(self, schedule: Schedule, missed: list[datetime], now: datetime) -> None:
        await repo.record(self.app.db, guild_id=self.guild_id, schedule_id=schedule.id, occurrences=missed,
                          status="skipped", now=now, detail="past grace")
        tz = schedule.zone(self.default_tz)
        text = self.app.t("schedules.skipped_note", id=schedule.id, count=len(missed),
                          first=f"{missed[0].astimezone(tz):%Y-%m-%d %H:%M}",
                          last=f"{missed[-1].astimezone(tz):%Y-%m-%d %H:%M}", timezone=tz.key,
                          grace=format_duration(self.model.grace_of(schedule)))
        await self.app.audit.note(self.guild_id, text,
                                  dedupe_key=f"schedule-skipped:{schedule.id}:{missed[-1].isoformat()}")

    # --- start-up ------------------------------------------------------------------------------------
    async def _recover_claimed(self, now: datetime) -> None:
        """Rows a crash left 'claimed': queue the post again (the outbox dedupes) and run the action."""
        for row in await repo.claimed(self.app.db, self.guild_id):
            schedule = self.model.by_id(row["schedule_id"])
            if schedule is None:
                await repo.finish(self.app.db, row["id"], "failed", "schedule removed before delivery")
                continue
            if row["kind"] == "regular" and now - row["occurrence"] > self.model.grace_of(schedule):
                await repo.finish(self.app.db, row["id"], "skipped", "interrupted, past grace")
                await self._skip(schedule, [row["occurrence"]], now)
                continue
            async with self.app.db.transaction() as tx:
                claim = await self._queue(tx, schedule, row["id"], row["occurrence"], row["kind"], row["item"],
                                          pending=True)
            self.app.outbox.wake()
            await self._finish(claim)

    async def _catch_up(self, states: dict[str, repo.ScheduleState], now: datetime) -> None:
        last = await repo.last_regular(self.app.db, self.guild_id)
        for schedule_id, trigger in self.triggers.triggers.items():
            state = states.get(schedule_id)
            if state is None or state.paused:
                continue
            since = max(state.active_since, last.get(schedule_id, state.active_since))
            if since >= now:
                continue
            missed = occurrences(trigger, since, now, CATCH_UP_LIMIT)
            if not missed:
                continue
            schedule = self.model.by_id(schedule_id)
            grace = self.model.grace_of(schedule)
            recent = [o for o in missed if now - o <= grace]
            old = [o for o in missed if now - o > grace]
            if old:
                await self._skip(schedule, old, now)
            if recent:
                await repo.record(self.app.db, guild_id=self.guild_id, schedule_id=schedule_id,
                                  occurrences=recent[:-1], status="coalesced", now=now)
                await self._claim([schedule], recent[-1], "regular")

    # --- content -------------------------------------------------------------------------------------
    def render(self, schedule: Schedule, occurrence: datetime, item: int | None) -> Rendered | None:
        if schedule.pool:
            items = self.model.pools[schedule.pool].items
            entry = items[(item or 0) % len(items)]
            text, embed = entry.text, entry.embed
        else:
            text, embed = schedule.text, schedule.embed
        if not text and embed is None:
            return None
        values = self._template_values(schedule, occurrence)
        content = text.format_map(values) if text else ""
        embeds = (self._embed(embed, values),) if embed is not None else ()
        return Rendered(content, embeds)

    def _template_values(self, schedule: Schedule, occurrence: datetime) -> dict[str, Any]:
        local = occurrence.astimezone(schedule.zone(self.default_tz))
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
    def _known(self, schedule_id: str) -> Schedule:
        schedule = self.model.by_id(schedule_id.strip())
        if schedule is None:
            known = ", ".join(s.id for s in self.model.schedules) or "-"
            raise UserError("schedules.unknown", id=schedule_id, known=known[:1500])
        return schedule

    def schedule_ids(self) -> list[str]:
        return [s.id for s in self.model.schedules]

    async def pause(self, schedule_id: str, actor_id: int) -> Schedule:
        schedule = self._known(schedule_id)
        if not await repo.set_paused(self.app.db, self.guild_id, schedule.id, True, actor_id, self.app.clock.now()):
            raise UserError("schedules.already_paused", id=schedule.id)
        self.paused.add(schedule.id)
        await self.app.audit.record(self.guild_id, actor_id, "schedule.pause", target=schedule.id)
        return schedule

    async def resume(self, schedule_id: str, actor_id: int) -> ScheduleInfo:
        schedule = self._known(schedule_id)
        if not await repo.set_paused(self.app.db, self.guild_id, schedule.id, False, actor_id, self.app.clock.now()):
            raise UserError("schedules.not_paused", id=schedule.id)
        self.paused.discard(schedule.id)
        self.active_since[schedule.id] = self.app.clock.now()
        await self.app.audit.record(self.guild_id, actor_id, "schedule.resume", target=schedule.id)
        return next(i for i in await self.list() if i.id == schedule.id)

    async def run_now(self, schedule_id: str, actor_id: int) -> RunResult:
        schedule = self._known(schedule_id)
        done = await self._claim([schedule], self.app.clock.now(), "manual")
        if not done:
            raise UserError("schedules.run_now_twice", id=schedule.id)
        delivery = done[0]
        await self.app.audit.record(self.guild_id, actor_id, "schedule.run-now", target=schedule.id,
                                    detail=f"failed: {delivery.error}"[:500] if delivery.error else "")
        return RunResult(schedule.id, schedule.channel, delivery.rendered.first_line if delivery.rendered else "",
                         schedule.action, delivery.error)

    async def list(self) -> list[ScheduleInfo]:
        last = await repo.last_entries(self.app.db, self.guild_id)
        now = self.app.clock.now()
        out = []
        for s in self.model.schedules:
            next_fire = self.triggers.next_of(s.id, now + _TINY) if s.id in self.triggers.triggers else None
            out.append(ScheduleInfo(s.id, s.rule_text(), s.zone(self.default_tz).key, s.channel, s.action,
                                    s.enabled, s.id in self.paused, next_fire, last.get(s.id)))
        return out

    async def reload(self, actor_id: int | None = None) -> ReloadResult:
        """Reload the whole config (App.reload_config: on any problem nothing changes and the file:line
        errors come back). `config_changed` puts the new schedules in force; this compares them."""
        before = self.model
        problems = await self.app.reload_config()
        if problems:
            return ReloadResult(False, tuple(problems))
        old = {s.id: s for s in before.schedules}
        new = {s.id: s for s in self.model.schedules}
        result = ReloadResult(True, (), tuple(i for i in new if i not in old), tuple(i for i in old if i not in new),
                              tuple(i for i in new if i in old and new[i] != old[i]), len(new))
        if actor_id is not None:
            await self.app.audit.record(self.guild_id, actor_id, "schedule.reload",
                                        detail=f"{result.count} schedules: +{len(result.added)}"
                                               f" -{len(result.removed)} ~{len(result.changed)}")
        return result

    async def config_changed(self, config) -> None:
        """Called by App.reload_config with a config that loaded cleanly (whoever asked for the reload):
        the new schedules replace the job (the ledger prevents double posts)."""
        model: SchedulesFile = config.schedules
        if self.loaded:
            await self.load(model, catch_up=False)
        else:
            self._use(model)  # not started yet (no guild id): start() loads it

    # --- preview -------------------------------------------------------------------------------------
    async def timeline(self, start: datetime, end: datetime) -> list[TimelineEntry]:
        """What will post in (start, end], pools resolved from their stored positions as they would be."""
        paused = self.paused
        if not self.loaded:  # the CLI preview: read the pauses, change nothing
            paused = {sid for sid, st in (await repo.load_states(self.app.db, self.guild_id)).items() if st.paused}
        pools = await repo.pool_states(self.app.db, self.guild_id)
        events = sorted((when, sid) for sid, trigger in self.triggers.triggers.items()
                        for when in occurrences(trigger, start, end, limit=100_000))
        out = []
        for when, sid in events:
            schedule = self.model.by_id(sid)
            is_paused = sid in paused
            item = None
            if schedule.pool and not is_paused:
                item, pools[schedule.pool] = draw(schedule.pool, self.model.pools[schedule.pool],
                                                  pools.get(schedule.pool, PoolState()))
            rendered = self.render(schedule, when, item)
            out.append(TimelineEntry(when, sid, schedule.channel if rendered else None,
                                     rendered.first_line if rendered else "", schedule.action, is_paused, item))
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
