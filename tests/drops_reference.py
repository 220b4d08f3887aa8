"""The claim rules written the plainest way, one claim at a time: what the planner (and so every
claim batch) must answer. Shared by tests/test_drops_planner.py and tests/test_drops_claim_batch.py."""
from __future__ import annotations


def reference(requests, runs: dict[int, dict], held: dict, waiting: dict) -> list[tuple]:
    """First come first served, one request at a time: what every batch must answer."""
    out = []
    for run_id, user_id in requests:
        run = runs.get(run_id)
        if run is None:
            out.append(("missing",))
            continue
        has = held.get((run_id, user_id), 0)
        if not run["open"]:
            out.append(("closed", None, has))
        elif has >= run["limit"]:
            out.append(("limit", None, has))
        elif run["remaining"] <= 0:
            already = run["waitlist"] and user_id in waiting.get(run_id, set())
            if run["waitlist"]:
                waiting.setdefault(run_id, set()).add(user_id)
            out.append(("sold_out", None, has, run["waitlist"], already))
        else:
            held[(run_id, user_id)] = has + 1
            run["remaining"] -= 1
            out.append(("granted", has + 1, has + 1))
    return out
