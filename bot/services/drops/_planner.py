"""The claim rules, as one pure function: given a batch of claims in arrival order and the state of
each run at the start of the batch, decide every claim (first come, first served) and say what to
write. No database, no clock, no event loop: the claim writer reads the state and writes the plan
through the repository (`bot/db/drops.py`), so another backend reuses these rules unchanged.

A claim is: take one unit of stock if any is left, and the member's next slot (1..limit). Once the
stock is gone, a member joins the waitlist (when the drop has one) or is told it is sold out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, NamedTuple, Sequence


class RunFacts(NamedTuple):
    """A run's row as the batch starts (read under the write lock)."""
    open: bool
    remaining: int
    limit: int
    waitlist: bool


@dataclass(slots=True)
class Holdings:
    """A run's committed claims: units per member (members holding none are absent) and who waits."""
    held: dict[int, int] = field(default_factory=dict)
    waiting: set[int] = field(default_factory=set)


class ClaimOutcome(NamedTuple):
    status: str  # granted | limit | sold_out | closed | missing (and not_open, decided by the writer)
    slot: int | None = None
    held: int = 0  # units the member holds after this request
    waitlisted: bool = False  # sold out and (now) on the waitlist
    already_waiting: bool = False  # ... and was on it before this request


MISSING = ClaimOutcome("missing")


@dataclass(slots=True)
class RunPlan:
    """What one run's part of the batch writes: claim rows, waitlist rows, and the holdings after."""
    grants: list[tuple[int, int]] = field(default_factory=list)  # (member, slot), in order
    joins: list[int] = field(default_factory=list)  # members who joined the waitlist, in order
    held: dict[int, int] = field(default_factory=dict)  # member -> units after the batch (changed ones)

    @property
    def granted(self) -> int:
        return len(self.grants)


@dataclass(slots=True)
class ClaimPlan:
    outcomes: list[ClaimOutcome]  # one per request, in order
    runs: dict[int, RunPlan]  # run id -> its writes (every known run in the batch, possibly empty)


class _Cursor:
    """One run's facts while the batch is decided (the loop below runs once per claim: a burst is
    20,000 of them, measured by bench/bench_drops.py, hence plain slots and no per-claim lookups)."""
    __slots__ = ("open", "limit", "waitlist", "left", "before", "waiting", "joined", "plan")

    def __init__(self, facts: RunFacts, holdings: Holdings, plan: RunPlan) -> None:
        self.open, self.limit, self.waitlist, self.left = facts.open, facts.limit, facts.waitlist, facts.remaining
        self.before, self.waiting, self.plan = holdings.held, holdings.waiting, plan
        self.joined: set[int] = set()  # plan.joins, for lookups


class Planner:
    """`plan_claims` fed in pieces: each `decide` call continues where the last one stopped, so a batch
    taken from a queue a slice at a time is decided once, in arrival order. `plans` is what the claims
    decided so far write, per run."""

    def __init__(self, facts: Mapping[int, RunFacts], holdings: Mapping[int, Holdings]) -> None:
        self.plans = {run_id: RunPlan() for run_id in facts}
        self._cursors = {run_id: _Cursor(facts[run_id], holdings[run_id], self.plans[run_id]) for run_id in facts}

    def decide(self, requests: Sequence[tuple[int, int]]) -> list[ClaimOutcome]:
        cursors = self._cursors
        outcomes: list[ClaimOutcome] = []
        for run_id, user_id in requests:
            run = cursors.get(run_id)
            if run is None:
                outcomes.append(MISSING)
                continue
            has = run.plan.held.get(user_id)
            if has is None:
                has = run.before.get(user_id, 0)
            if not run.open:
                outcomes.append(ClaimOutcome("closed", None, has))
            elif has >= run.limit:
                outcomes.append(ClaimOutcome("limit", None, has))
            elif run.left <= 0:
                if not run.waitlist:
                    outcomes.append(ClaimOutcome("sold_out", None, has))
                elif user_id in run.waiting or user_id in run.joined:
                    outcomes.append(ClaimOutcome("sold_out", None, has, True, True))
                else:
                    run.plan.joins.append(user_id)
                    run.joined.add(user_id)
                    outcomes.append(ClaimOutcome("sold_out", None, has, True))
            else:
                has += 1
                run.left -= 1
                run.plan.held[user_id] = has
                run.plan.grants.append((user_id, has))
                outcomes.append(ClaimOutcome("granted", has, has))
        return outcomes


def plan_claims(requests: Sequence[tuple[int, int]], facts: Mapping[int, RunFacts],
                holdings: Mapping[int, Holdings]) -> ClaimPlan:
    """Decide `requests` ((run id, member) in arrival order) one at a time from `facts` and
    `holdings` (which are only read). A run absent from `facts` is `missing`."""
    planner = Planner(facts, holdings)
    return ClaimPlan(planner.decide(requests), planner.plans)
