"""Raffles: entries by button, campaigns (entries earned by participation), and seeded draws that
anyone can replay from the recorded seed and entrant list."""
from __future__ import annotations

import random
import secrets
from datetime import datetime
from typing import Awaitable, Callable

from bot.db import drops as repo
from bot.services.messages import OutMessage, Target

from ._results import DrawResult, Run
from ._windows import campaign_since


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


def replays(draw: dict) -> bool:
    """Whether a recorded draw's winners follow from its seed and entrants."""
    return pick_winners(draw["seed"], [tuple(e) for e in draw["entrants"]], draw["prizes"],
                        set(draw["excluded"])) == draw["winners"]


class Raffles:
    """`eligible(guild_id, user_id, run)`: whether a member may take part in the run at all (has a
    window); `writer`: the claim writer, told about the claims a draw writes."""

    def __init__(self, app, writer, eligible: Callable[[int, int, Run], Awaitable[bool]]) -> None:
        self.app = app
        self._writer = writer
        self._eligible = eligible

    async def enter(self, run: Run, user_id: int, now: datetime) -> bool:
        """True for a new entry, False if the member had entered already."""
        return await repo.add_entry(self.app.db, run.id, user_id, now)

    async def campaign_tickets(self, run: Run, at: datetime) -> dict[int, int]:
        """Member -> entries earned so far: their rows of the campaign's action in the participation ledger."""
        since = campaign_since(run.spec, run.opens_at, at, self.app.config.timezone)
        return await self.app.participation.action_counts(run.guild_id, run.spec.entries.action, since, at)

    async def draw(self, run: Run, *, seed: str | None, by: int | None) -> DrawResult:
        """Draw winners for the prizes left, record the draw and the winners' claims in one
        transaction, and announce them. A campaign's entries are snapshotted at its first draw."""
        app, spec, now = self.app, run.spec, self.app.clock.now()
        if spec.campaign and not await repo.draws(app.db, run.id):
            tickets = await self.campaign_tickets(run, now)
            eligible = {user_id: n for user_id, n in tickets.items() if await self._eligible(run.guild_id, user_id, run)}
            await repo.replace_entries(app.db, run.id, eligible, now)
        entrants = await repo.entries(app.db, run.id)
        excluded = await repo.ever_won(app.db, run.id)
        prizes = (await repo.run(app.db, run.id))["remaining"]
        seed = seed or secrets.token_hex(8)
        winners = pick_winners(seed, entrants, prizes, excluded)
        async with self._writer.outside_write(run.id):
            round_no = await repo.record_draw(app.db, run_id=run.id, seed=seed, prizes=prizes, entrants=entrants,
                                              excluded=sorted(excluded), winners=winners, now=now, by=by)
        mentions = " ".join(f"<@{u}>" for u in winners[:80])
        text = (app.t("drops.drawn", item=spec.item, count=len(winners), winners=mentions, seed=seed) if winners
                else app.t("drops.drawn_nobody" if not entrants else "drops.drawn_none_left", item=spec.item))
        await app.outbox.post(run.guild_id, Target.channel(spec.channel), OutMessage(content=text, as_persona=True),
                              dedupe_key=f"drop:{run.id}:draw:{round_no}")
        return DrawResult(run.id, round_no, seed, winners, len(entrants), prizes)

    async def replay(self, run_id: int, round_no: int) -> list[int] | None:
        """Re-run a recorded draw from its seed and entrant list (for audit); None if no such round."""
        for d in await repo.draws(self.app.db, run_id):
            if d["round"] == round_no:
                return pick_winners(d["seed"], [tuple(e) for e in d["entrants"]], d["prizes"], set(d["excluded"]))
        return None
