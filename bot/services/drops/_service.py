"""The drops facade (`app.drops`): opening and closing runs, the button, releases, status and export.
The rules live beside it: windows and ranks (`_windows`), the claim planner (`_planner`) and its
writer (`_writer`), raffles (`_raffles`), and the follow-ups that deliver codes and keep the
announcement in step with the stock (`_delivery`).

Names: a *spec* (`DropSpec`) is one entry of drops.yaml, found by its `key` (the YAML `id:`); a
*run* is one opening of it, a row of the `drops` table, found by its integer `run_id`. A key runs
once at a time: `/drop open`, the `drop.open` schedule action (params {id}) or the spec's own
`opens:` (armed here as a timer) create a run; closing ends it; the key may run again later.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any, Mapping

from bot.config.actions import DropOpenParams
from bot.config.content import VISITOR_RANK, to_utc
from bot.config.drops import DropSpec, read_codes
from bot.db import drops as repo
from bot.db import outbox as outbox_repo
from bot.db.connection import from_db_time, to_db_time
from bot.db.drops import ReleaseOutcome
from bot.errors import UserError

from ..messages import OutMessage, Target
from ..safety import write_csv
from ._announcement import announce_key, announcement, discord_time
from ._delivery import DELIVER, STOCK, Delivery, dm_prefix
from ._planner import ClaimOutcome, RunFacts
from ._raffles import Raffles, replays
from ._results import ClaimResult, DrawResult, DropStatus, OpenResult, Run
from ._windows import TierRanks, window_starts, windows
from ._writer import ClaimWriter, PendingClaim

log = logging.getLogger(__name__)


class DropsService:
    OPEN_PREFIX = "drop:open:"
    CLOSE_PREFIX = "drop:close:"

    def __init__(self, app) -> None:
        self.app = app
        self.writer = ClaimWriter(app.db, app.clock)
        self.writer.after_batch.append(self._after_batch)
        self._runs: dict[int, Run] = {}
        self.tier_ranks = TierRanks(app.config.community.tiers)
        self.delivery = Delivery(app, self._find_run, self._windows_of)
        self.raffles = Raffles(app, self.writer, self._may_take_part)
        app.actions.register("drop.open", self._on_schedule)
        app.outbox.on_failure(self.delivery.on_outbox_failure)

    # --- config -------------------------------------------------------------------------------------
    @property
    def specs(self) -> tuple[DropSpec, ...]:
        return self.app.config.drops.drops

    def spec(self, key: str) -> DropSpec:
        """The spec of `key`; a UserError naming the known keys if there is none."""
        found = self._find_spec(key)
        if found is None:
            raise UserError("drops.unknown", id=key, known=", ".join(d.id for d in self.specs) or "-")
        return found

    def _find_spec(self, key: str) -> DropSpec | None:
        return self.app.config.drops.get(key)

    def local_time(self, when: datetime) -> str:
        return when.astimezone(self.app.config.timezone).strftime("%Y-%m-%d %H:%M %Z")

    def windows(self, spec: DropSpec, opens_at: datetime) -> list[tuple[str, datetime]]:
        """(audience name, start) from the highest tier down, one line per distinct audience."""
        return windows(spec, self.app.config.community, opens_at, self._audience)

    def _windows_of(self, run: Run) -> list[tuple[str, datetime]]:
        return self.windows(run.spec, run.opens_at)

    def _audience(self, rank: int) -> str:
        if rank >= 1:
            return self.app.config.community.tiers[rank - 1].name
        return self.app.t("drops.audience_members" if rank == 0 else "drops.audience_public")

    async def member_rank(self, guild_id: int, user_id: int) -> int | None:
        """-1 visitor, 0 member, 1.. tier rank; None if not in the guild."""
        guild = self.app.guild
        if guild is None:
            return None
        return self.tier_ranks.rank_of(await guild.member_role_keys(guild_id, user_id))

    async def _may_take_part(self, guild_id: int, user_id: int, run: Run) -> bool:
        rank = await self.member_rank(guild_id, user_id)
        return rank is not None and run.starts.get(rank) is not None

    async def config_changed(self, config) -> None:
        self.tier_ranks = TierRanks(config.community.tiers)
        for run in self._runs.values():  # the claim path reads specs and windows from memory
            self._follow_spec(run)

    # --- start-up and shut-down ------------------------------------------------------------------------
    async def start(self) -> None:
        await self.writer.warm()
        for row in await repo.runs(self.app.db):
            run = self._remember(row)
            if run.status == "open" and run.closes_at is not None:
                self._arm_close(run.id, run.closes_at)
            elif run.status == "closed":
                await self._grey_out(run)  # a no-op unless a crash came between closing and queueing it
            self.delivery.follow_up(run.id, DELIVER, STOCK)
        guild_id = self.app.guild_id
        for spec in self.specs:
            if spec.opens is None:
                continue
            if guild_id is not None and await repo.latest_run(self.app.db, guild_id, spec.id) is not None:
                continue  # it ran (or runs) already: its `opens:` is spent
            self._arm_open(spec)

    async def stop(self) -> None:
        await self.writer.wait_idle()
        await self.delivery.stop()

    # --- runs in memory -------------------------------------------------------------------------------
    def _remember(self, row: dict) -> Run:
        run = Run(row["id"], row["guild_id"], row["key"], row["mode"], row["claim_limit"], row["status"],
                  row["opens_at"], row["closes_at"], spec=None, starts={})
        self._follow_spec(run)
        self._runs[run.id] = run
        return run

    def _follow_spec(self, run: Run) -> None:
        """The run's spec and windows, from the config in force."""
        run.spec = self._find_spec(run.key)
        run.starts = window_starts(run.spec, self.app.config.community, run.opens_at) if run.spec is not None else {}

    async def _find_run(self, run_id: int) -> Run | None:
        run = self._runs.get(run_id)
        if run is None:
            row = await repo.run(self.app.db, run_id)
            run = self._remember(row) if row is not None else None
        return run

    async def _run(self, run_id: int) -> Run:
        run = await self._find_run(run_id)
        if run is None:
            raise UserError("drops.gone")
        return run

    async def _latest(self, guild_id: int, key: str) -> tuple[DropSpec, dict]:
        """The spec and its latest run's row, or the member-facing reason there is none."""
        spec = self.spec(key)
        row = await repo.latest_run(self.app.db, guild_id, key)
        if row is None:
            raise UserError("drops.not_started", item=spec.item)
        return spec, row

    async def latest_run(self, guild_id: int, key: str) -> dict | None:
        return await repo.latest_run(self.app.db, guild_id, key)

    # --- timers ---------------------------------------------------------------------------------------
    def _arm_open(self, spec: DropSpec, when: datetime | None = None) -> None:
        opens_at = to_utc(spec.opens, self.app.config.timezone)

        async def fire(_fire_time: datetime) -> None:
            guild_id = self.app.guild_id
            if guild_id is None:
                self._arm_open(spec, self.app.clock.now() + timedelta(minutes=1))
                return
            if await repo.latest_run(self.app.db, guild_id, spec.id) is not None:
                return
            try:
                await self.open(guild_id, spec.id, occurrence=to_db_time(opens_at), opens_at=opens_at)
            except UserError as exc:
                await self.app.audit.note(guild_id, self.app.t("drops.open_skipped", id=spec.id,
                                                               reason=self.app.t(exc.key, **exc.params)),
                                          dedupe_key=f"drop:skipped:{guild_id}:{spec.id}:{to_db_time(opens_at)}")

        self.app.scheduler.add_timer(self.OPEN_PREFIX + spec.id, when or (opens_at - spec.max_early()), fire)

    def _arm_close(self, run_id: int, when: datetime) -> None:
        async def fire(_fire_time: datetime) -> None:
            row = await repo.run(self.app.db, run_id)
            if row is None or row["status"] != "open":
                return
            try:
                await self.close(row["guild_id"], row["key"], by=None)
            except UserError as exc:
                log.warning("closing drop run %s: %s", run_id, exc.key)

        self.app.scheduler.add_timer(f"{self.CLOSE_PREFIX}{run_id}", when, fire)

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
        run = self._remember(row)
        if what == "opened":
            if run.first_come:
                self.writer.opened(run.id, RunFacts(True, row["remaining"], row["claim_limit"], bool(row["waitlist"])))
            await self.app.outbox.post(guild_id, Target.channel(spec.channel),
                                       announcement(self.app.t, run, self._windows_of(run)),
                                       dedupe_key=announce_key(run.id))
            if closes_at is not None:
                self._arm_close(run.id, closes_at)
            if by is not None:
                await self.app.audit.record(guild_id, by, "drop.open", key, f"run {run.id}")
        return OpenResult(run.id, key, what == "opened", run.opens_at, self._windows_of(run))

    def announcement(self, spec: DropSpec, row: Mapping[str, Any], **variant: bool) -> OutMessage:
        """A run's post from a row ({id, opens_at, closes_at}): what `check` dry-runs, rendered by
        the code that renders the real one. `variant`: closed / sold_out / replacing."""
        run = Run(row["id"], row.get("guild_id", 0), spec.id, spec.mode, spec.limit, "open", row["opens_at"],
                  row["closes_at"], spec, {})
        return announcement(self.app.t, run, self._windows_of(run), **variant)

    async def _grey_out(self, run: Run) -> None:
        """Queue the closed version of a closed run's announcement (once: its dedupe key)."""
        if run.spec is not None:
            await self.app.outbox.post(run.guild_id, Target.channel(run.spec.channel),
                                       announcement(self.app.t, run, self._windows_of(run), closed=True),
                                       dedupe_key=f"{announce_key(run.id)}:closed")

    # --- the button: claim / enter / my entries ------------------------------------------------------
    async def press(self, guild_id: int, run_id: int, user_id: int) -> ClaimResult:
        """The announcement's button: a claim (first come), an entry (raffle), or your entries (campaign)."""
        run = self._runs.get(run_id) or await self._run(run_id)
        spec = run.spec
        if spec is None:
            raise UserError("drops.gone")
        if run.status == "open" and run.mode == "first_come":  # run.first_come (spec is not None here)
            # the first-come claim, the path a burst takes 200,000 times (bench/bench_clicks.py): no
            # clock and no database on the way in (the writer checks the time once per batch).
            # speed: member_rank and _window's passing case inlined (one coroutine less per claim)
            guild = self.app.guild
            rank = None if guild is None else self.tier_ranks.rank_of(await guild.member_role_keys(guild_id, user_id))
            start = run.starts.get(VISITOR_RANK if rank is None else rank)
            if start is None or run.status != "open":  # closed meanwhile, or not this member's drop
                start = self._window(run, rank)  # raises: the member-facing reason
            writer = self.writer
            held = writer.held(run.id, user_id)
            if held is not None and held >= run.limit:
                self._refuse_held(run, start, held)
            decided = writer.decide_now(run.id, user_id, start, run.closes_at)  # sold out: no queue
            if decided is not None:
                return self._claim_result(run, decided, start)
            return self._claim_result(run, await writer.submit(run.id, user_id, start, run.closes_at), start)
        if spec.campaign:
            tickets = await self.raffles.campaign_tickets(run, self.app.clock.now())
            return ClaimResult("entries", run.id, spec.item, tickets=tickets.get(user_id, 0))
        if run.mode == "raffle":
            now = self.app.clock.now()
            self._window(run, await self.member_rank(guild_id, user_id), now)
            new = await self.raffles.enter(run, user_id, now)
            return ClaimResult("entered" if new else "already_entered", run.id, spec.item, limit=run.limit)
        raise UserError("drops.closed", item=spec.item)  # a first-come run that has closed

    def _window(self, run: Run, rank: int | None, now: datetime | None = None) -> datetime:
        """Who may take part, and from when. Refuses (with the time their window opens) if not now;
        without `now` the time part is left to the claim writer, which checks it once per batch."""
        spec = run.spec
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
                raise self._not_open(run, start)
        return start

    def _refuse_held(self, run: Run, start: datetime, held: int) -> None:
        """The member holds the limit as committed: refused without the writer, unless the time
        says otherwise (not open yet / closed are left to the writer, which answers those first)."""
        now = self.app.clock.now()
        if now >= start and (run.closes_at is None or now < run.closes_at):
            raise UserError("drops.already_claimed", item=run.spec.item, held=held, limit=run.limit)

    def _not_open(self, run: Run, start: datetime) -> UserError:
        return UserError("drops.not_open_yet", item=run.spec.item, when=self.local_time(start),
                         relative=discord_time(start, "R"))

    def _claim_result(self, run: Run, outcome: ClaimOutcome, start: datetime) -> ClaimResult:
        """The writer's answer, for the member (refusals as UserErrors)."""
        spec, status = run.spec, outcome.status
        if status == "granted":
            return ClaimResult("granted", run.id, spec.item, held=outcome.held, limit=run.limit, codes=bool(spec.codes))
        if outcome.waitlisted:
            return ClaimResult("already_waiting" if outcome.already_waiting else "waitlisted", run.id, spec.item,
                               held=outcome.held, limit=run.limit)
        if status == "limit":
            raise UserError("drops.already_claimed", item=spec.item, held=outcome.held, limit=run.limit)
        if status == "sold_out":
            raise UserError("drops.sold_out", item=spec.item)
        if status == "not_open":
            raise self._not_open(run, start)
        if status == "closed":
            run.status = "closed"
            raise UserError("drops.closed", item=spec.item)
        raise UserError("drops.gone")

    def _after_batch(self, claims: list[PendingClaim], outcomes: list[ClaimOutcome]) -> None:
        """After a committed batch: codes to deliver, and the announcement may have to say sold out."""
        changed = {claim.run_id for claim, o in zip(claims, outcomes) if o.status in ("granted", "sold_out")}
        for run_id in changed:
            run = self._runs.get(run_id)
            if run is None or run.spec is None:
                continue
            if run.spec.codes:
                self.delivery.follow_up(run_id, DELIVER)
            if run.shown_sold_out is not True:
                self.delivery.follow_up(run_id, STOCK)  # it may have sold out just now

    # --- release and the waitlist -------------------------------------------------------------------
    async def release(self, guild_id: int, key: str, user_id: int, *, by: int) -> ReleaseOutcome:
        """A member gives back their unit (or leaves the waitlist); a moderator may do it for them.
        The unit goes to the next on the waitlist (DM'd) or back to stock, in one transaction."""
        spec, row = await self._latest(guild_id, key)
        if row["status"] != "open" and (by == user_id or row["mode"] != "raffle"):
            # closed: what was claimed stays claimed (a moderator may still free a raffle prize to re-roll it)
            raise UserError("drops.release_closed", item=spec.item)
        async with self.writer.outside_write(row["id"]):
            outcome = await repo.release(self.app.db, row["id"], user_id, by=by, now=self.app.clock.now(),
                                         promote=row["waitlist"] and row["status"] == "open")
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
            self.delivery.follow_up(row["id"], DELIVER)
        self.delivery.follow_up(row["id"], STOCK)  # back in stock if nobody was waiting
        return outcome

    # --- close, draw, reroll ------------------------------------------------------------------------
    async def close(self, guild_id: int, key: str, *, by: int | None, seed: str | None = None
                    ) -> tuple[dict, DrawResult | None]:
        spec, row = await self._latest(guild_id, key)
        async with self.writer.outside_write(row["id"]):  # the writer's committed "open" is stale after
            closed = await repo.close_run(self.app.db, row["id"], self.app.clock.now())
        if not closed:
            raise UserError("drops.already_closed", item=spec.item)
        self.app.scheduler.remove_job(f"{self.CLOSE_PREFIX}{row['id']}")
        run = await self._run(row["id"])
        run.status = "closed"
        await self._grey_out(run)
        draw = await self.raffles.draw(run, seed=seed, by=by) if run.mode == "raffle" else None
        if draw is not None:
            self.delivery.follow_up(run.id, DELIVER)
        if by is not None:
            await self.app.audit.record(guild_id, by, "drop.close", key,
                                        f"run {row['id']}" + (f", seed {draw.seed}, {len(draw.winners)} winner(s)" if draw else ""))
        return row, draw

    async def reroll(self, guild_id: int, key: str, *, by: int, seed: str | None = None) -> DrawResult:
        spec, row = await self._latest(guild_id, key)
        if row["mode"] != "raffle":
            raise UserError("drops.not_a_raffle", item=spec.item)
        if row["status"] != "closed":
            raise UserError("drops.draw_not_yet", item=spec.item)
        if row["remaining"] <= 0:
            raise UserError("drops.nothing_to_reroll", item=spec.item)
        draw = await self.raffles.draw(await self._run(row["id"]), seed=seed, by=by)
        self.delivery.follow_up(row["id"], DELIVER)
        await self.app.audit.record(guild_id, by, "drop.reroll", key,
                                    f"round {draw.round}, seed {draw.seed}, {len(draw.winners)} winner(s)")
        return draw

    async def replay_draw(self, run_id: int, round_no: int) -> list[int]:
        """Re-run a recorded draw from its seed and entrant list (for audit)."""
        winners = await self.raffles.replay(run_id, round_no)
        if winners is None:
            raise UserError("drops.no_such_draw", round=round_no)
        return winners

    # --- codes and DMs ------------------------------------------------------------------------------
    async def deliver(self, run_id: int) -> int:
        """Assign codes to held claims, then queue one DM per claim that needs one. Idempotent."""
        return await self.delivery.deliver(run_id)

    # --- moderators: status and export ---------------------------------------------------------------
    async def status(self, guild_id: int, key: str) -> DropStatus:
        spec, row = await self._latest(guild_id, key)
        run_id = row["id"]
        failed = await outbox_repo.failed_with_prefix(self.app.db, dm_prefix(run_id))
        draws = await repo.draws(self.app.db, run_id)
        return DropStatus(
            run_id=run_id, key=key, item=spec.item, mode=row["mode"], status=row["status"], stock=row["stock"],
            remaining=row["remaining"], counts=await repo.counts(self.app.db, run_id),
            codes=await repo.code_counts(self.app.db, run_id),
            without_code=await repo.claimed_without_code(self.app.db, run_id) if spec.codes else 0,
            dms=await outbox_repo.status_counts(self.app.db, dm_prefix(run_id)),
            dm_failed=[int(f["target"]) for f in failed], draws=draws,
            windows=self.windows(spec, row["opens_at"]), verified=[replays(d) for d in draws])

    async def dashboard_view(self, guild_id: int, key: str) -> dict:
        """The live numbers of a drop's latest run for the dashboard: claims per minute, the waitlist
        and who holds one (the winners of a raffle)."""
        _spec, row = await self._latest(guild_id, key)
        counts = await repo.counts(self.app.db, row["id"])
        return {"per_minute": await repo.claims_per_minute(self.app.db, row["id"]),
                "waitlist": counts["waiting"], "winners": await repo.holders(self.app.db, row["id"])}

    async def export_csv(self, guild_id: int, key: str, *, by: int | None = None) -> tuple[str, bytes]:
        """Claims and winners of the latest run: members named where the bot knows them, times in the
        community's time zone (named in the header). `by`: the moderator, recorded in the audit log."""
        spec, row = await self._latest(guild_id, key)
        failed = {int(f["target"]) for f in await outbox_repo.failed_with_prefix(self.app.db, dm_prefix(row["id"]))}
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
