"""Collab drops: staggered tier windows, first-come claims that never oversell, a waitlist, seeded
raffles (and campaigns, raffles whose entries come from participation), redemption codes by DM.

Claims go through one writer coroutine (`ClaimWriter`): every claim that arrives while a batch is
being written waits for the next one, and each batch is ONE database transaction
(`bot.db.drops.claim_batch`), planned and written in the database thread in one hand-off while the
loop answers the previous batch's claimers. A claimer's future is resolved only after COMMIT, so whoever is told
"it's yours" has it in the database, and a crash loses only claims nobody was told about.

Codes: a claim gets its code in the database first (`assign_codes`), then the DM is queued in the
outbox under the dedupe key `drop:<drop>:dm:<member>:<claim>`: a restart re-runs delivery, finds the
same code and the same key, and the outbox never queues it twice. DMs that fail (closed DMs) are
listed by `/drop status` and noted in the mod-log.

The announcement follows the drop in place (`OutMessage.replaces`): "sold out" while no stock is
left (and back when a release restocks it), greyed out once closed. Code delivery and these edits
run in one follow-up loop, per drop, after claim batches: never on the claim path.

A drop key runs once at a time: `/drop open`, the `drop.open` schedule action (params {id}) or the
drop's own `opens:` (armed here as a timer) create a run; closing ends it; the key may run again later.
"""
from __future__ import annotations

import asyncio
import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from bot.config.actions import DropOpenParams
from bot.config.content import VISITOR_RANK, to_utc
from bot.config.drops import Drop, read_codes
from bot.db import drops as repo
from bot.db import outbox as outbox_repo
from bot.db.connection import from_db_time, to_db_time
from bot.db.drops import ClaimOutcome, ReleaseOutcome
from bot.errors import UserError

from .messages import Button, OutMessage, Target
from .safety import write_csv

log = logging.getLogger(__name__)

CLAIM_ID = "kizuna:drop:claim:{drop_id}"
CLOSED, NOT_OPEN = ClaimOutcome("closed"), ClaimOutcome("not_open")
EMBED_COLOUR = 0xF4A7B9


def build(app) -> "DropsService":
    return DropsService(app)


def discord_time(when: datetime, style: str = "f") -> str:
    """A Discord timestamp tag: each reader sees it in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


# --- the raffle draw: a pure function of (seed, ordered entrants) -------------------------------------

def pick_winners(seed: str, entrants: list[tuple[int, int]], prizes: int, excluded: set[int] | frozenset = frozenset()
                 ) -> list[int]:
    """Weighted draw without replacement (Efraimidis–Spirakis): each entrant gets the key
    u ** (1 / tickets) from a generator seeded with `seed`, in the given order; the highest keys win.
    Same seed + same ordered entrant list -> same winners, in the same order, on any machine."""
    rng = random.Random(f"kizuna-draw:{seed}")
    keyed = []
    for user_id, tickets in entrants:
        u = rng.random()  # drawn for every entrant, excluded or not, so exclusions don't shift the others
        if user_id in excluded or tickets <= 0:
            continue
        keyed.append((u ** (1.0 / tickets), user_id))
    keyed.sort(key=lambda k: (-k[0], k[1]))
    return [user_id for _, user_id in keyed[:max(prizes, 0)]]


# --- results for the cog ------------------------------------------------------------------------------

@dataclass(slots=True)
class ClaimResult:
    status: str  # granted | waitlisted | already_waiting | entered | already_entered | entries
    drop_id: int
    item: str
    held: int = 0
    limit: int = 1
    codes: bool = False
    tickets: int = 0


@dataclass(frozen=True)
class DrawResult:
    drop_id: int
    round: int
    seed: str
    winners: list[int]
    entrants: int
    prizes: int


@dataclass(frozen=True)
class OpenResult:
    drop_id: int
    key: str
    opened: bool  # False: this occurrence had opened it already
    opens_at: datetime
    windows: list[tuple[str, datetime]]


@dataclass(frozen=True)
class DropStatus:
    drop_id: int
    key: str
    item: str
    mode: str
    status: str
    stock: int
    remaining: int
    counts: dict[str, int]
    codes: dict[str, int]
    without_code: int
    dms: dict[str, int]
    dm_failed: list[int]
    draws: list[dict]
    windows: list[tuple[str, datetime]]
    verified: list[bool] = field(default_factory=list)


# --- the single writer ------------------------------------------------------------------------------

class ClaimWriter:
    """Queues claims and writes them in batches, one transaction each, in arrival order. The task
    runs only while claims are waiting (no idle task to cancel).

    The time checks happen here, once per batch, at the moment the batch is decided: a claim whose
    window has not opened yet (or whose drop has closed) by then is answered without the database."""

    def __init__(self, db, clock, max_batch: int = 2000) -> None:
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self._queue: list[tuple[tuple[int, int], asyncio.Future, datetime, datetime | None]] = []
        self._task: asyncio.Task | None = None
        self.after_batch: list = []  # callbacks(queued items, outcomes) after each committed batch

    def submit(self, drop_id: int, user_id: int, start: datetime, closes_at: datetime | None = None
               ) -> "asyncio.Future[ClaimOutcome]":
        """Queue a claim; the future resolves once its batch is committed (or refused)."""
        future = asyncio.get_running_loop().create_future()
        self._queue.append(((drop_id, user_id), future, start, closes_at))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kizuna-drop-claims")
        return future

    async def claim(self, drop_id: int, user_id: int, start: datetime, closes_at: datetime | None = None
                    ) -> ClaimOutcome:
        return await self.submit(drop_id, user_id, start, closes_at)

    async def _run(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
                now = self.clock.now()
                due = []
                for item in batch:
                    _, fut, start, closes_at = item
                    if closes_at is not None and now >= closes_at:
                        fut.done() or fut.set_result(CLOSED)
                    elif now < start:
                        fut.done() or fut.set_result(NOT_OPEN)
                    else:
                        due.append(item)
                try:
                    outcomes = await repo.claim_batch(self.db, [r for r, *_ in due], now)
                except Exception as exc:
                    log.exception("claim batch of %d failed", len(due))
                    for _, fut, *_ in due:
                        if not fut.done():
                            fut.set_exception(exc)
                    continue
                for (_, fut, *_), outcome in zip(due, outcomes):
                    if not fut.done():
                        fut.set_result(outcome)
                for hook in self.after_batch:
                    try:
                        hook(due, outcomes)
                    except Exception:
                        log.exception("after-batch hook failed")
        finally:
            self._task = None

    async def wait_idle(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)


# --- the service ------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Run:
    """What the claim path needs without touching the database (a burst reads this 20,000 times)."""
    id: int
    key: str
    status: str
    opens_at: datetime
    closes_at: datetime | None
    spec: Drop | None
    starts: dict[int, datetime | None]  # audience rank -> when its window opens (None: never)
    first_come: bool = False  # the claim path goes through the writer
    shown_sold_out: bool | None = None  # what the announcement says now (None: not known since start)


class DropsService:
    OPEN_PREFIX = "drop:open:"
    CLOSE_PREFIX = "drop:close:"

    def __init__(self, app) -> None:
        self.app = app
        self.writer = ClaimWriter(app.db, app.clock)
        self.writer.after_batch.append(self._after_batch)
        self._committed = repo.committed(app.db)  # holdings as committed, kept exact by the repository
        self._runs: dict[int, _Run] = {}
        self._index_tiers(app.config)
        self._follow_ups: dict[int, set[str]] = {}  # drop id -> {"deliver", "stock"}: work after claims
        self._follow_up_task: asyncio.Task | None = None
        app.actions.register("drop.open", self._on_schedule)
        app.outbox.on_failure(self._on_outbox_failure)

    # --- config -------------------------------------------------------------------------------------
    @property
    def specs(self) -> tuple[Drop, ...]:
        drops = getattr(self.app.config, "drops", None)
        return drops.drops if drops is not None else ()

    def spec(self, key: str) -> Drop:
        found = next((d for d in self.specs if d.id == key), None)
        if found is None:
            raise UserError("drops.unknown", id=key, known=", ".join(d.id for d in self.specs) or "-")
        return found

    @property
    def community(self):
        return self.app.config.community

    def local_time(self, when: datetime) -> str:
        return when.astimezone(self.app.config.timezone).strftime("%Y-%m-%d %H:%M %Z")

    def window_start(self, spec: Drop, opens_at: datetime, rank: int) -> datetime | None:
        """When an audience of `rank` may start; None if it may not take part at all."""
        offsets = spec.offsets(self.community)
        allowed = [offset for r, offset in offsets.items() if r <= rank]
        if not allowed:
            return None
        return opens_at + min(allowed)

    def windows(self, spec: Drop, opens_at: datetime) -> list[tuple[str, datetime]]:
        """(audience name, start) from the highest tier down, one line per distinct audience."""
        offsets = spec.offsets(self.community)
        out = []
        for rank in sorted(offsets, reverse=True):
            if rank >= 1:
                name = self.community.tiers[rank - 1].name
            elif rank == 0:
                name = self.app.t("drops.audience_members")
            else:
                name = self.app.t("drops.audience_public")
            out.append((name, opens_at + offsets[rank]))
        return out

    async def member_rank(self, guild_id: int, user_id: int) -> int | None:
        """-1 visitor, 0 member, 1.. tier rank; None if not in the guild. Tier roles are what Discord
        shows, so the role keys are the truth (the membership service gives and takes those roles)."""
        guild = self.app.guild
        if guild is None:
            return None
        return self.rank_of(await guild.member_role_keys(guild_id, user_id))

    def rank_of(self, role_keys: set[str] | None) -> int | None:
        if role_keys is None:
            return None
        if self._tier_role_set.isdisjoint(role_keys):  # the common case, one C call
            return 0 if "member" in role_keys else VISITOR_RANK
        for role, rank in self._tier_roles:  # highest tier first
            if role in role_keys:
                return rank
        return 0 if "member" in role_keys else VISITOR_RANK

    # --- start-up: cache, timers, unfinished deliveries ----------------------------------------------
    async def start(self) -> None:
        for row in await repo.runs(self.app.db):
            self._remember(row)
            if row["status"] == "open" and row["closes_at"] is not None:
                self._arm_close(row["id"], row["closes_at"])
            elif row["status"] == "closed":
                await self._grey_out(row)  # a no-op unless a crash came between closing and queueing it
            self._follow_up(row["id"], "deliver", "stock")
        for spec in self.specs:
            if spec.opens is None:
                continue
            guild_id = self.app.guild_id
            if guild_id is not None and await repo.latest(self.app.db, guild_id, spec.id) is not None:
                continue  # it ran (or runs) already: its `opens:` is spent
            self._arm_open(spec)

    def _index_tiers(self, config) -> None:
        """Tier roles, highest first, for the claim path (which runs 20,000 times in a burst)."""
        tiers = config.community.tiers
        self._tier_roles = [(tier.role, rank) for rank, tier in reversed(list(enumerate(tiers, start=1)))]
        self._tier_role_set = frozenset(role for role, _ in self._tier_roles)

    async def config_changed(self, config) -> None:
        self._index_tiers(config)

    async def stop(self) -> None:
        await self.writer.wait_idle()
        if self._follow_up_task is not None:
            try:
                await self._follow_up_task
            except Exception:
                log.exception("drop follow-up failed while stopping")

    def _remember(self, row: dict) -> _Run:
        spec = self.spec_or_none(row["key"])
        ranks = range(VISITOR_RANK, len(self.community.tiers) + 1)
        starts = {r: self.window_start(spec, row["opens_at"], r) if spec else None for r in ranks}
        run = _Run(row["id"], row["key"], row["status"], row["opens_at"], row["closes_at"], spec, starts,
                   first_come=spec is not None and spec.mode == "first_come" and not spec.campaign)
        self._runs[run.id] = run
        return run

    def _arm_open(self, spec: Drop, when: datetime | None = None) -> None:
        opens_at = to_utc(spec.opens, self.app.config.timezone)

        async def fire(_fire_time: datetime) -> None:
            guild_id = self.app.guild_id
            if guild_id is None:
                self._arm_open(spec, self.app.clock.now() + timedelta(minutes=1))
                return
            if await repo.latest(self.app.db, guild_id, spec.id) is not None:
                return
            try:
                await self.open(guild_id, spec.id, occurrence=to_db_time(opens_at), opens_at=opens_at)
            except UserError as exc:
                await self.app.audit.note(guild_id, self.app.t("drops.open_skipped", id=spec.id,
                                                               reason=self.app.t(exc.key, **exc.params)),
                                          dedupe_key=f"drop:skipped:{guild_id}:{spec.id}:{to_db_time(opens_at)}")

        self.app.scheduler.add_timer(self.OPEN_PREFIX + spec.id, when or (opens_at - spec.max_early()), fire)

    def _arm_close(self, drop_id: int, when: datetime) -> None:
        async def fire(_fire_time: datetime) -> None:
            run = await repo.get(self.app.db, drop_id)
            if run is None or run["status"] != "open":
                return
            try:
                await self.close(run["guild_id"], run["key"], by=None)
            except UserError as exc:
                log.warning("closing drop %s: %s", drop_id, exc.key)

        self.app.scheduler.add_timer(f"{self.CLOSE_PREFIX}{drop_id}", when, fire)

    async def _on_schedule(self, guild_id: int, occurrence, params: DropOpenParams | Mapping[str, Any]) -> None:
        """The `drop.open` schedule action (params: DropOpenParams). A UserError (already open...) is
        reported by the schedules service, which owns the occurrence ledger."""
        occ = to_db_time(occurrence) if isinstance(occurrence, datetime) else str(occurrence)
        await self.open(guild_id, DropOpenParams.of(params).id, occurrence=occ)

    # --- open ---------------------------------------------------------------------------------------
    async def open(self, guild_id: int, key: str, *, occurrence: str | None = None, by: int | None = None,
                   opens_at: datetime | None = None) -> OpenResult:
        """Start a run now. Without `opens_at`, the earliest window opens now and the others follow."""
        spec = self.spec(key)
        now = self.app.clock.now()
        if opens_at is None:
            opens_at = now + spec.max_early()
        closes_at = opens_at + spec.closes_after if spec.closes_after else None
        codes = read_codes(self.app.config.dir / spec.codes) if spec.codes else []
        row, what = await repo.open_run(
            self.app.db, guild_id=guild_id, key=key,
            # a manual open is always a new occurrence (two within a second must not read as the same)
            occurrence=occurrence or f"manual:{to_db_time(now)}:{secrets.token_hex(4)}",
            mode=spec.mode, stock=spec.stock, limit=spec.limit, waitlist=spec.waitlist, opens_at=opens_at,
            closes_at=closes_at, now=now, by=by, codes=codes)
        if what == "busy":
            raise UserError("drops.already_open", item=spec.item, since=self.local_time(row["opened_at"]),
                            relative=discord_time(row["opened_at"], "R"))
        self._remember(row)
        if what == "opened":
            await self.app.outbox.post(guild_id, Target.channel(spec.channel), self.announcement(spec, row),
                                       dedupe_key=self._announce_key(row))
            if closes_at is not None:
                self._arm_close(row["id"], closes_at)
            if by is not None:
                await self.app.audit.record(guild_id, by, "drop.open", key, f"run {row['id']}")
        return OpenResult(row["id"], key, what == "opened", row["opens_at"], self.windows(spec, row["opens_at"]))

    def announcement(self, spec: Drop, row: dict, *, closed: bool = False, sold_out: bool = False,
                     replacing: bool = False) -> OutMessage:
        """The drop's post. `closed`: once the drop has closed, its button greyed out; `sold_out`: while
        no stock is left (with a waitlist, the button says it joins it). Those replace the first post
        in place, and so does any version made with `replacing` (back in stock)."""
        t = self.app.t
        lines = [spec.description] if spec.description else []
        if spec.collaborator:
            lines.append(t("drops.announce_with", collaborator=spec.collaborator))
        lines.append(t("drops.announce_stock_raffle" if spec.mode == "raffle" else "drops.announce_stock",
                       stock=spec.stock, limit=spec.limit))
        if spec.campaign:
            lines.append(t("drops.announce_campaign", action=spec.entries.action, since=t(f"drops.since_{spec.entries.since}")))
        lines.append("")
        lines.append(t("drops.announce_windows"))
        for name, start in self.windows(spec, row["opens_at"]):
            lines.append(f"• **{name}**: {discord_time(start, 'F')} ({discord_time(start, 'R')})")
        if closed:
            lines += ["", t("drops.closed", item=spec.item)]
        elif sold_out:
            lines += ["", t("drops.announce_sold_out_waitlist" if spec.waitlist else "drops.announce_sold_out")]
        elif row["closes_at"]:
            lines.append(t("drops.announce_closes", when=discord_time(row["closes_at"], "F")))
        embed: dict[str, Any] = {"title": spec.item, "description": "\n".join(lines)[:4000], "color": EMBED_COLOUR}
        if spec.image:
            embed["image"] = {"url": str(spec.image)}
        label = t("drops.button_entries" if spec.campaign else
                  "drops.button_enter" if spec.mode == "raffle" else "drops.button_claim")
        if sold_out and spec.waitlist and not closed:
            label = t("drops.button_waitlist")
        button = Button(label=label, custom_id=CLAIM_ID.format(drop_id=row["id"]), style="success", disabled=closed)
        return OutMessage(content=t("drops.announce_title", item=spec.item), embeds=(embed,), buttons=(button,),
                          as_persona=True,
                          replaces=self._announce_key(row) if closed or replacing else None)

    @staticmethod
    def _announce_key(row: dict) -> str:
        return f"drop:{row['id']}:announce"

    async def _grey_out(self, row: dict) -> None:
        """Queue the closed version of a closed run's announcement (once: its dedupe key)."""
        spec = self.spec_or_none(row["key"])
        if spec is not None:
            await self.app.outbox.post(row["guild_id"], Target.channel(spec.channel),
                                       self.announcement(spec, row, closed=True),
                                       dedupe_key=f"{self._announce_key(row)}:closed")

    # --- the button: claim / enter / my entries ------------------------------------------------------
    async def _run(self, drop_id: int) -> _Run:
        run = self._runs.get(drop_id)
        if run is None:
            row = await repo.get(self.app.db, drop_id)
            if row is None:
                raise UserError("drops.gone")
            run = self._remember(row)
        return run

    async def press(self, guild_id: int, drop_id: int, user_id: int) -> ClaimResult:
        """The announcement's button: a claim (first come), an entry (raffle), or your entries (campaign)."""
        run = self._runs.get(drop_id) or await self._run(drop_id)
        spec = run.spec
        if spec is None:
            raise UserError("drops.gone")
        if run.first_come and run.status == "open":
            # the first-come claim, the path a burst takes 20,000 times: no clock, no exception and no
            # database on the way in (the writer checks the time once per batch)
            guild = self.app.guild
            rank = self.rank_of(await guild.member_role_keys(guild_id, user_id)) if guild is not None else None
            start = run.starts.get(VISITOR_RANK if rank is None else rank)
            if start is None:
                return self._window(run, spec, rank)  # raises members_only
            known = self._committed.get(run.id)
            if known is not None and known.held.get(user_id, 0) >= spec.limit:
                self._refuse_held(run, spec, start, known.held[user_id])
            outcome = await self.writer.submit(run.id, user_id, start, run.closes_at)
            if outcome.status == "granted":
                return ClaimResult("granted", run.id, spec.item, held=outcome.held, limit=spec.limit,
                                   codes=bool(spec.codes))
            if outcome.waitlisted:
                return self._waitlisted(run, spec, outcome)
            return self._claim_result(run, spec, outcome, start)
        if spec.campaign:
            return await self._campaign_entries(guild_id, run, spec, user_id)
        guild = self.app.guild
        rank = self.rank_of(await guild.member_role_keys(guild_id, user_id)) if guild is not None else None
        if spec.mode == "raffle":
            now = self.app.clock.now()
            self._window(run, spec, rank, now)
            new = await repo.add_entry(self.app.db, run.id, user_id, now)
            return ClaimResult("entered" if new else "already_entered", run.id, spec.item, limit=spec.limit)
        start = self._window(run, spec, rank)
        outcome = await self.writer.submit(run.id, user_id, start, run.closes_at)
        return self._claim_result(run, spec, outcome, start)

    def _refuse_held(self, run: _Run, spec: Drop, start: datetime, held: int) -> None:
        """The member holds the limit as committed: refused without the writer, unless the time
        says otherwise (not open yet / closed are left to the writer, which answers those first)."""
        now = self.app.clock.now()
        if now >= start and (run.closes_at is None or now < run.closes_at):
            raise UserError("drops.already_claimed", item=spec.item, held=held, limit=spec.limit)

    def _window(self, run: _Run, spec: Drop, rank: int | None, now: datetime | None = None) -> datetime:
        """Who may take part, and from when. Refuses (with the time their window opens) if not now;
        without `now` the time part is left to the claim writer, which checks it once per batch."""
        if run.status != "open":
            raise UserError("drops.closed", item=spec.item)
        start = run.starts.get(VISITOR_RANK if rank is None else rank)
        if start is None:
            first = run.starts.get(0)
            raise UserError("drops.members_only", item=spec.item,
                            when=self.local_time(first) if first else "-",
                            relative=discord_time(first, "R") if first else "-")
        if now is not None:
            if run.closes_at is not None and now >= run.closes_at:
                raise UserError("drops.closed", item=spec.item)
            if now < start:
                raise self._not_open(spec, start)
        return start

    def _not_open(self, spec: Drop, start: datetime) -> UserError:
        return UserError("drops.not_open_yet", item=spec.item, when=self.local_time(start),
                         relative=discord_time(start, "R"))

    def _claim_result(self, run: _Run, spec: Drop, outcome: ClaimOutcome, start: datetime) -> ClaimResult:
        status = outcome.status
        if status == "granted":
            return ClaimResult("granted", run.id, spec.item, held=outcome.held, limit=spec.limit,
                               codes=bool(spec.codes))
        if status == "limit":
            raise UserError("drops.already_claimed", item=spec.item, held=outcome.held, limit=spec.limit)
        if status == "sold_out":
            if outcome.waitlisted:
                return self._waitlisted(run, spec, outcome)
            raise UserError("drops.sold_out", item=spec.item)
        if status == "not_open":
            raise self._not_open(spec, start)
        if status == "closed":
            run.status = "closed"
            raise UserError("drops.closed", item=spec.item)
        raise UserError("drops.gone")

    @staticmethod
    def _waitlisted(run: _Run, spec: Drop, outcome: ClaimOutcome) -> ClaimResult:
        return ClaimResult("already_waiting" if outcome.already_waiting else "waitlisted", run.id, spec.item,
                           held=outcome.held, limit=spec.limit)

    def _after_batch(self, items: list, outcomes: list[ClaimOutcome]) -> None:
        changed = {item[0][0] for item, o in zip(items, outcomes) if o.status in ("granted", "sold_out")}
        for drop_id in changed:
            run = self._runs.get(drop_id)
            spec = run.spec if run is not None else None
            if spec is None:
                continue
            if spec.codes:
                self._follow_up(drop_id, "deliver")
            if run.shown_sold_out is not True:
                self._follow_up(drop_id, "stock")  # it may have sold out just now

    def spec_or_none(self, key: str) -> Drop | None:
        return next((d for d in self.specs if d.id == key), None)


    async def _campaign_entries(self, guild_id: int, run: _Run, spec: Drop, user_id: int) -> ClaimResult:
        since = self._campaign_since(spec, run, self.app.clock.now())
        counts = await self._ledger_counts(guild_id, spec.entries.action, since, self.app.clock.now())
        return ClaimResult("entries", run.id, spec.item, tickets=counts.get(user_id, 0))

    def _campaign_since(self, spec: Drop, run: _Run | dict, at: datetime) -> datetime:
        opened = run.opens_at if isinstance(run, _Run) else run["opens_at"]
        if spec.entries.since == "open":
            return opened - spec.max_early()
        local = at.astimezone(self.app.config.timezone)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if spec.entries.since == "week":
            start -= timedelta(days=start.weekday())
        else:
            start = start.replace(day=1)
        return start.astimezone(timezone.utc)

    async def _ledger_counts(self, guild_id: int, action: str, since: datetime, until: datetime) -> dict[int, int]:
        participation = self.app.features.get("participation")
        counts = getattr(participation, "action_counts", None)
        if counts is not None:
            return dict(await counts(guild_id, action, since, until))
        return await repo.ledger_counts(self.app.db, guild_id, action, since, until)

    # --- release and the waitlist -------------------------------------------------------------------
    async def release(self, guild_id: int, key: str, user_id: int, *, by: int) -> ReleaseOutcome:
        """A member gives back their unit (or leaves the waitlist); a moderator may do it for them.
        The unit goes to the next on the waitlist (DM'd) or back to stock, in one transaction."""
        spec = self.spec(key)
        row = await repo.latest(self.app.db, guild_id, key)
        if row is None:
            raise UserError("drops.not_started", item=spec.item)
        if row["status"] != "open" and (by == user_id or spec.mode != "raffle"):
            # closed: what was claimed stays claimed (a moderator may still free a raffle prize to re-roll it)
            raise UserError("drops.release_closed", item=spec.item)
        outcome = await repo.release(self.app.db, row["id"], user_id, by=by, now=self.app.clock.now(),
                                     promote=spec.waitlist and row["status"] == "open")
        if outcome.released_claim is None and not outcome.left_waitlist:
            raise UserError("drops.nothing_to_release", item=spec.item)
        if by != user_id:
            await self.app.audit.record(guild_id, by, "drop.release", f"<@{user_id}>",
                                        f"{key}" + (f", promoted <@{outcome.promoted_user}>" if outcome.promoted_user else ""))
            if outcome.released_claim is not None:
                await self.app.outbox.post(guild_id, Target.dm(user_id),
                                           OutMessage(content=self.app.t("drops.dm_released_by_moderator", item=spec.item)),
                                           dedupe_key=f"drop:{row['id']}:released:{outcome.released_claim}")
        if outcome.promoted_user is not None:
            self._follow_up(row["id"], "deliver")
        self._follow_up(row["id"], "stock")  # back in stock if nobody was waiting
        return outcome

    # --- close, draw, reroll ------------------------------------------------------------------------
    async def close(self, guild_id: int, key: str, *, by: int | None, seed: str | None = None
                    ) -> tuple[dict, DrawResult | None]:
        spec = self.spec(key)
        row = await repo.latest(self.app.db, guild_id, key)
        if row is None:
            raise UserError("drops.not_started", item=spec.item)
        if not await repo.close_run(self.app.db, row["id"], self.app.clock.now()):
            raise UserError("drops.already_closed", item=spec.item)
        self.app.scheduler.remove_job(f"{self.CLOSE_PREFIX}{row['id']}")
        if row["id"] in self._runs:
            self._runs[row["id"]].status = "closed"
        await self._grey_out(row)
        draw = None
        if spec.mode == "raffle":
            draw = await self._draw(guild_id, spec, row, seed=seed, by=by)
        if by is not None:
            await self.app.audit.record(guild_id, by, "drop.close", key,
                                        f"run {row['id']}" + (f", seed {draw.seed}, {len(draw.winners)} winner(s)" if draw else ""))
        return row, draw

    async def reroll(self, guild_id: int, key: str, *, by: int, seed: str | None = None) -> DrawResult:
        spec = self.spec(key)
        row = await repo.latest(self.app.db, guild_id, key)
        if row is None or spec.mode != "raffle":
            raise UserError("drops.not_a_raffle" if row else "drops.not_started", item=spec.item)
        if row["status"] != "closed":
            raise UserError("drops.draw_not_yet", item=spec.item)
        row = await repo.get(self.app.db, row["id"])
        if row["remaining"] <= 0:
            raise UserError("drops.nothing_to_reroll", item=spec.item)
        draw = await self._draw(guild_id, spec, row, seed=seed, by=by)
        await self.app.audit.record(guild_id, by, "drop.reroll", key,
                                    f"round {draw.round}, seed {draw.seed}, {len(draw.winners)} winner(s)")
        return draw

    async def _draw(self, guild_id: int, spec: Drop, row: dict, *, seed: str | None, by: int | None) -> DrawResult:
        now = self.app.clock.now()
        if spec.campaign and not await repo.draws(self.app.db, row["id"]):
            since = self._campaign_since(spec, row, now)
            counts = await self._ledger_counts(guild_id, spec.entries.action, since, now)
            eligible = {}
            for user_id, n in counts.items():
                rank = await self.member_rank(guild_id, user_id)
                if rank is not None and self.window_start(spec, row["opens_at"], rank) is not None:
                    eligible[user_id] = n
            await repo.replace_entries(self.app.db, row["id"], eligible, now)
        entrants = await repo.entries(self.app.db, row["id"])
        excluded = await repo.ever_won(self.app.db, row["id"])
        fresh = await repo.get(self.app.db, row["id"])
        prizes = fresh["remaining"]
        seed = seed or secrets.token_hex(8)
        winners = pick_winners(seed, entrants, prizes, excluded)
        round_no = await repo.record_draw(self.app.db, drop_id=row["id"], seed=seed, prizes=prizes, entrants=entrants,
                                          excluded=sorted(excluded), winners=winners, now=now, by=by)
        result = DrawResult(row["id"], round_no, seed, winners, len(entrants), prizes)
        mentions = " ".join(f"<@{u}>" for u in winners[:80])
        text = (self.app.t("drops.drawn", item=spec.item, count=len(winners), winners=mentions, seed=seed) if winners
                else self.app.t("drops.drawn_nobody" if not entrants else "drops.drawn_none_left", item=spec.item))
        await self.app.outbox.post(guild_id, Target.channel(spec.channel), OutMessage(content=text, as_persona=True),
                                   dedupe_key=f"drop:{row['id']}:draw:{round_no}")
        self._follow_up(row["id"], "deliver")
        return result

    async def replay_draw(self, drop_id: int, round_no: int) -> list[int]:
        """Re-run a recorded draw from its seed and entrant list (for audit)."""
        for d in await repo.draws(self.app.db, drop_id):
            if d["round"] == round_no:
                return pick_winners(d["seed"], [tuple(e) for e in d["entrants"]], d["prizes"], set(d["excluded"]))
        raise UserError("drops.no_such_draw", round=round_no)

    # --- codes and DMs ------------------------------------------------------------------------------
    def _follow_up(self, drop_id: int, *work: str) -> None:
        """Queue work that follows claims, one drop at a time, off the claim path: "deliver" (codes
        and DMs) and "stock" (the announcement says whether it is sold out)."""
        self._follow_ups.setdefault(drop_id, set()).update(work)
        if self._follow_up_task is None:
            self._follow_up_task = asyncio.create_task(self._follow_up_loop(), name="kizuna-drop-follow-ups")

    async def _follow_up_loop(self) -> None:
        try:
            while self._follow_ups:
                drop_id = min(self._follow_ups)
                work = self._follow_ups.pop(drop_id)
                try:
                    if "deliver" in work:
                        await self.deliver(drop_id)
                    if "stock" in work:
                        await self.show_stock(drop_id)
                except Exception:
                    log.exception("drop %s follow-up (%s) failed", drop_id, ", ".join(sorted(work)))
        finally:
            self._follow_up_task = None

    async def show_stock(self, drop_id: int) -> None:
        """An open first-come drop's announcement says "sold out" while no stock is left, and loses it
        when a release brings stock back. Each change is one edit, under a key made of the state
        and the number of releases so far (stock only comes back by a release): idempotent, also
        across a restart."""
        row = await repo.get(self.app.db, drop_id)
        run = self._runs.get(drop_id)
        if row is None or run is None or run.spec is None or not run.first_come or row["status"] != "open":
            return
        sold_out = row["remaining"] <= 0
        if run.shown_sold_out == sold_out:
            return
        released = (await repo.counts(self.app.db, drop_id))["released"]
        if run.status != "open":  # closed meanwhile: its closed version is (or will be) queued after this
            return
        if sold_out or released:  # (in stock without any release: the first post says that already)
            await self.app.outbox.post(
                row["guild_id"], Target.channel(run.spec.channel), self.announcement(run.spec, row, sold_out=sold_out,
                                                                                     replacing=True),
                dedupe_key=f"{self._announce_key(row)}:{'sold-out' if sold_out else 'in-stock'}:{released}")
        run.shown_sold_out = sold_out

    async def deliver(self, drop_id: int) -> int:
        """Assign codes to held claims, then queue one DM per claim that needs one. Idempotent."""
        row = await repo.get(self.app.db, drop_id)
        if row is None:
            return 0
        spec = self.spec_or_none(row["key"])
        if spec is None:
            return 0
        if spec.codes:
            await repo.assign_codes(self.app.db, drop_id)
        queued, handled = 0, []
        for claim in await repo.dms_to_queue(self.app.db, drop_id):
            if spec.codes and claim["code"] is None:
                continue  # out of codes: shown in /drop status, delivered if codes are added
            if claim["source"] == "claim" and not spec.codes:
                handled.append(claim["id"])  # the interaction reply said it all
                continue
            await self.app.outbox.post(row["guild_id"], Target.dm(claim["user_id"]), self._dm(spec, claim),
                                       dedupe_key=f"drop:{drop_id}:dm:{claim['user_id']}:{claim['id']}")
            handled.append(claim["id"])
            queued += 1
        await repo.mark_dm_queued(self.app.db, handled)
        return queued

    def _dm(self, spec: Drop, claim: dict) -> OutMessage:
        t = self.app.t
        first = {"raffle": "drops.dm_won", "waitlist": "drops.dm_promoted"}.get(claim["source"], "drops.dm_claimed")
        lines = [t(first, item=spec.item)]
        if claim["code"]:
            lines.append(t("drops.dm_code", code=claim["code"]))
        return OutMessage(content="\n".join(lines))

    async def _on_outbox_failure(self, row: dict, error: str) -> None:
        key = row.get("dedupe_key", "")
        if not key.startswith("drop:") or ":dm:" not in key:
            return
        drop_id = int(key.split(":")[1])
        run = await repo.get(self.app.db, drop_id)
        item = self.spec_or_none(run["key"]).item if run and self.spec_or_none(run["key"]) else "?"
        await self.app.audit.note(row["guild_id"], self.app.t("drops.dm_failed_note", user=f"<@{row['target']}>",
                                                              item=item),
                                  dedupe_key=f"drop:dmfail:{row['id']}")

    # --- moderators: status and export ---------------------------------------------------------------
    async def status(self, guild_id: int, key: str) -> DropStatus:
        spec = self.spec(key)
        row = await repo.latest(self.app.db, guild_id, key)
        if row is None:
            raise UserError("drops.not_started", item=spec.item)
        prefix = f"drop:{row['id']}:dm:"
        failed = await outbox_repo.failed_with_prefix(self.app.db, prefix)
        draws = await repo.draws(self.app.db, row["id"])
        verified = [pick_winners(d["seed"], d["entrants"], d["prizes"], set(d["excluded"])) == d["winners"]
                    for d in draws]
        return DropStatus(
            drop_id=row["id"], key=key, item=spec.item, mode=row["mode"], status=row["status"], stock=row["stock"],
            remaining=row["remaining"], counts=await repo.counts(self.app.db, row["id"]),
            codes=await repo.code_counts(self.app.db, row["id"]),
            without_code=await repo.claimed_without_code(self.app.db, row["id"]) if spec.codes else 0,
            dms=await outbox_repo.status_counts(self.app.db, prefix),
            dm_failed=[int(f["target"]) for f in failed], draws=draws,
            windows=self.windows(spec, row["opens_at"]), verified=verified)

    async def export_csv(self, guild_id: int, key: str, *, by: int | None = None) -> tuple[str, bytes]:
        """Claims and winners of the latest run: members named where the bot knows them, times in the
        community's time zone (named in the header). `by`: the moderator, recorded in the audit log."""
        spec = self.spec(key)
        row = await repo.latest(self.app.db, guild_id, key)
        if row is None:
            raise UserError("drops.not_started", item=spec.item)
        failed = {int(f["target"]) for f in await outbox_repo.failed_with_prefix(self.app.db, f"drop:{row['id']}:dm:")}
        claims = await repo.export_rows(self.app.db, row["id"])
        names = await self.app.stats.names(guild_id, [c["user_id"] for c in claims]) if claims else {}
        tz = self.app.config.timezone

        def local(value: str | None) -> str:
            return from_db_time(value).astimezone(tz).isoformat(timespec="seconds") if value else ""

        header = ["drop", "run", "claim_id", "user_id", "name", "source", "status", "slot", f"claimed_at ({tz.key})",
                  f"released_at ({tz.key})", "released_by", "code", "dm_failed"]
        rows = [[key, row["id"], c["claim_id"], c["user_id"], names.get(c["user_id"], ""), c["source"], c["status"],
                 c["slot"] or "", local(c["claimed_at"]), local(c["released_at"]), c["released_by"] or "",
                 c["code"] or "", "yes" if c["user_id"] in failed else ""] for c in claims]
        if by is not None:
            await self.app.audit.record(guild_id, by, "drop.export", key,
                                        self.app.t("drops.export_audit", count=len(rows), run=row["id"]))
        # every cell neutralised: a code from codes/*.csv could start with = + - @
        return f"{key}-run{row['id']}.csv", write_csv(header, rows, bom=False)

    async def latest_run(self, guild_id: int, key: str) -> dict | None:
        return await repo.latest(self.app.db, guild_id, key)
