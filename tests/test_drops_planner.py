"""The claim planner, a pure function: generated batches (several runs, an unknown run, limits above
1, stock that is gone or runs out midway, waitlists, closed runs, members who hold or wait already)
are answered exactly like the one-claim-at-a-time reference model, and the plan writes exactly
what was answered."""
from __future__ import annotations

import copy
import random

import pytest

from bot.services.drops import ClaimOutcome, Holdings, RunFacts, plan_claims
from tests.drops_reference import reference

UNKNOWN = 999


def generated_case(seed: int):
    rng = random.Random(seed)
    facts, holdings = {}, {}
    for run_id in range(1, rng.randint(1, 4) + 1):
        limit = rng.randint(1, 3)
        facts[run_id] = RunFacts(open=rng.random() > 0.2, remaining=rng.choice([0, 1, 2, 5, 20]), limit=limit,
                                 waitlist=rng.random() > 0.5)
        members = rng.sample(range(30), rng.randint(0, 10))
        held = {m: rng.randint(1, limit) for m in members[: len(members) // 2]}
        waiting = set(members[len(members) // 2:]) if facts[run_id].waitlist else set()
        holdings[run_id] = Holdings(held, waiting)
    requests = [(rng.choice([*facts, UNKNOWN]) if rng.random() > 0.05 else UNKNOWN, rng.randrange(30))
                for _ in range(rng.randint(0, 120))]
    return requests, facts, holdings


def reference_answers(requests, facts, holdings):
    model = {r: dict(open=f.open, limit=f.limit, remaining=f.remaining, waitlist=f.waitlist) for r, f in facts.items()}
    held = {(r, m): n for r, h in holdings.items() for m, n in h.held.items()}
    waiting = {r: set(h.waiting) for r, h in holdings.items()}
    answers = [ClaimOutcome(*a) for a in reference(requests, model, held, waiting)]
    return answers, held, waiting


SEEDS = range(300)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_batch_is_answered_like_one_claim_at_a_time(seed):
    requests, facts, holdings = generated_case(seed)
    expected, _, _ = reference_answers(requests, facts, holdings)
    assert plan_claims(requests, facts, holdings).outcomes == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_the_plan_writes_exactly_what_was_answered(seed):
    requests, facts, holdings = generated_case(seed)
    _, held_after, waiting_after = reference_answers(requests, facts, holdings)
    plan = plan_claims(requests, facts, holdings)
    assert set(plan.runs) == set(facts)
    for run_id, writes in plan.runs.items():
        before = holdings[run_id]
        # a grant is the member's next slot, and the stock pays for every grant
        expected_slots = {}
        for user_id, slot in writes.grants:
            expected_slots[user_id] = expected_slots.get(user_id, before.held.get(user_id, 0)) + 1
            assert slot == expected_slots[user_id] <= facts[run_id].limit
        assert writes.granted <= max(facts[run_id].remaining, 0)
        # holdings after the plan = the reference's, waitlist joins = the reference's newcomers
        assert {**before.held, **writes.held} == {m: n for (r, m), n in held_after.items() if r == run_id}
        assert len(writes.joins) == len(set(writes.joins))
        assert before.waiting | set(writes.joins) == waiting_after.get(run_id, set())
        assert not before.waiting & set(writes.joins)


def test_the_generated_cases_exercise_every_answer():
    seen = set()
    for seed in SEEDS:
        requests, facts, holdings = generated_case(seed)
        for o in plan_claims(requests, facts, holdings).outcomes:
            seen.add((o.status, o.waitlisted, o.already_waiting))
    assert seen == {("granted", False, False), ("limit", False, False), ("closed", False, False),
                    ("missing", False, False), ("sold_out", False, False), ("sold_out", True, False),
                    ("sold_out", True, True)}


@pytest.mark.parametrize("seed", range(0, 300, 30))
def test_the_planner_only_reads_its_inputs(seed):
    requests, facts, holdings = generated_case(seed)
    before = copy.deepcopy((requests, facts, holdings))
    first = plan_claims(requests, facts, holdings)
    assert (requests, facts, holdings) == before
    assert plan_claims(requests, facts, holdings) == first  # and the same inputs give the same plan


def test_a_member_waiting_already_is_told_so_and_not_added_twice():
    facts = {1: RunFacts(open=True, remaining=1, limit=1, waitlist=True)}
    plan = plan_claims([(1, 10), (1, 11), (1, 12), (1, 11), (1, 10)], facts, {1: Holdings({}, {12})})
    assert [(o.status, o.waitlisted, o.already_waiting) for o in plan.outcomes] == [
        ("granted", False, False), ("sold_out", True, False), ("sold_out", True, True), ("sold_out", True, True),
        ("limit", False, False)]
    assert plan.runs[1].grants == [(10, 1)] and plan.runs[1].joins == [11]
