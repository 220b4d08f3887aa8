"""The work that follows claims, off the claim path, one run at a time: codes and the DMs that carry
them ("deliver"), and the announcement following the stock ("stock": sold out, back in stock).

Codes: a claim gets its code in the database first (`assign_codes`), then the DM is queued in the
outbox under the dedupe key `drop:<run>:dm:<member>:<claim>`: a restart re-runs delivery, finds the
same code and the same key, and the outbox never queues it twice. DMs that fail (closed DMs) are
listed by `/drop status` and noted in the mod-log.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from bot.db import drops as repo
from bot.services.messages import OutMessage, Target

from ._announcement import announce_key, announcement
from ._results import Run

log = logging.getLogger(__name__)

DELIVER, STOCK = "deliver", "stock"


def dm_prefix(run_id: int) -> str:
    """The outbox keys of a run's DMs start with this."""
    return f"drop:{run_id}:dm:"


class Delivery:
    """`find_run(run_id)`: the run (None if there is no such run); `windows(run)`: its windows, named."""

    def __init__(self, app, find_run: Callable[[int], Awaitable[Run | None]], windows: Callable[[Run], list]) -> None:
        self.app = app
        self._find_run = find_run
        self._windows = windows
        self._pending: dict[int, set[str]] = {}  # run id -> {DELIVER, STOCK}
        self._task: asyncio.Task | None = None

    def follow_up(self, run_id: int, *work: str) -> None:
        """Queue `work` for the run; one task works through the queue, run by run."""
        self._pending.setdefault(run_id, set()).update(work)
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="kizuna-drop-follow-ups")

    async def _loop(self) -> None:
        try:
            while self._pending:
                run_id = min(self._pending)
                work = self._pending.pop(run_id)
                try:
                    if DELIVER in work:
                        await self.deliver(run_id)
                    if STOCK in work:
                        await self.show_stock(run_id)
                except Exception:
                    log.exception("drop run %s follow-up (%s) failed", run_id, ", ".join(sorted(work)))
        finally:
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.exception("drop follow-up failed while stopping")

    async def show_stock(self, run_id: int) -> None:
        """An open first-come run's announcement says "sold out" while no stock is left, and loses it
        when a release brings stock back. Each change is one edit, under a key made of the state
        and the number of releases so far (stock only comes back by a release): idempotent, also
        across a restart."""
        row = await repo.run(self.app.db, run_id)
        run = await self._find_run(run_id)
        if row is None or run is None or not run.first_come or row["status"] != "open":
            return
        sold_out = row["remaining"] <= 0
        if run.shown_sold_out == sold_out:
            return
        released = (await repo.counts(self.app.db, run_id))["released"]
        if run.status != "open":  # closed meanwhile: its closed version is (or will be) queued after this
            return
        if sold_out or released:  # (in stock without any release: the first post says that already)
            await self.app.outbox.post(
                run.guild_id, Target.channel(run.spec.channel),
                announcement(self.app.t, run, self._windows(run), sold_out=sold_out, replacing=True),
                dedupe_key=f"{announce_key(run_id)}:{'sold-out' if sold_out else 'in-stock'}:{released}")
        run.shown_sold_out = sold_out

    async def deliver(self, run_id: int) -> int:
        """Assign codes to held claims, then queue one DM per claim that needs one. Idempotent."""
        run = await self._find_run(run_id)
        if run is None or run.spec is None:
            return 0
        spec = run.spec
        if spec.codes:
            await repo.assign_codes(self.app.db, run_id)
        queued, handled = 0, []
        for claim in await repo.dms_to_queue(self.app.db, run_id):
            if spec.codes and claim["code"] is None:
                continue  # out of codes: shown in /drop status, delivered if codes are added
            if claim["source"] == "claim" and not spec.codes:
                handled.append(claim["id"])  # the interaction reply said it all
                continue
            await self.app.outbox.post(run.guild_id, Target.dm(claim["user_id"]), self._dm(spec, claim),
                                       dedupe_key=f"{dm_prefix(run_id)}{claim['user_id']}:{claim['id']}")
            handled.append(claim["id"])
            queued += 1
        await repo.mark_dm_queued(self.app.db, handled)
        return queued

    def _dm(self, spec, claim: dict) -> OutMessage:
        t = self.app.t
        first = {"raffle": "drops.dm_won", "waitlist": "drops.dm_promoted"}.get(claim["source"], "drops.dm_claimed")
        lines = [t(first, item=spec.item)]
        if claim["code"]:
            lines.append(t("drops.dm_code", code=claim["code"]))
        return OutMessage(content="\n".join(lines))

    async def on_outbox_failure(self, row: dict, error: str) -> None:
        """A drop DM that could not be sent: noted in the mod-log (and listed by /drop status)."""
        key = row.get("dedupe_key", "")
        if not key.startswith("drop:") or ":dm:" not in key:
            return
        run = await self._find_run(int(key.split(":")[1]))
        item = run.spec.item if run is not None and run.spec is not None else "?"
        await self.app.audit.note(row["guild_id"], self.app.t("drops.dm_failed_note", user=f"<@{row['target']}>",
                                                              item=item),
                                  dedupe_key=f"drop:dmfail:{row['id']}")
