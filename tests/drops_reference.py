"""The claim rules written the plainest way, one claim at a time: what the planner (and so every
claim batch) must answer. Shared by tests/test_drops_planner.py and the claim writer's tests, with
`open_drop` (a first-come run opened through the repository at NOW)."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.db import drops as repo

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


async def open_drop(db, key: str, *, stock: int, limit: int = 1, waitlist: bool = False) -> int:
    row, how = await repo.open_run(db, guild_id=1, key=key, occurrence="t", mode="first_come", stock=stock,
                                   limit=limit, waitlist=waitlist, opens_at=NOW, closes_at=None, now=NOW,
                                   by=1, codes=())
    assert how == "opened"
    return row["id"]


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


async def database_agrees(db, run_ids, held: dict, waiting: dict) -> None:
    """The database holds exactly what the reference answered: claims per (run, member) with slots
    1..n, the waitlist, and every run's stock balanced."""
    rows = await db.fetchall("SELECT drop_id, user_id, COUNT(*), MAX(slot) FROM drop_claims"
                             " WHERE status = 'claimed' GROUP BY drop_id, user_id")
    assert {(r[0], r[1]): r[2] for r in rows} == held
    assert all(r[2] == r[3] for r in rows)  # slots 1..n
    listed = await db.fetchall("SELECT drop_id, user_id FROM drop_waitlist WHERE status = 'waiting'")
    assert {(r[0], r[1]) for r in listed} == {(d, u) for d, users in waiting.items() for u in users}
    for drop_id in run_ids:
        check = await repo.stock_check(db, drop_id)
        assert check["remaining"] + check["held"] == check["stock"] and check["over_limit"] == 0
