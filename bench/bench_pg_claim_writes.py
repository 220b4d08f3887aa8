"""How a drop claim batch is best written on PostgreSQL: executemany vs unnest arrays vs COPY.

    python bench/bench_pg_claim_writes.py                       # a throwaway server (fsync on)
    python bench/bench_pg_claim_writes.py --db postgresql://...  # a server of yours (a scratch schema)

Each way writes the same batches of (member, slot) claims of one run in ONE transaction each, with the
same checks as bot/db/drops.py `write_batch_pg` (slot within the run's limit, the stock UPDATE), and
prints the time per batch and claims/s for several batch sizes. The fastest is what the claim
writer uses (bot/db/drops.py).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db.pg import open_postgres  # noqa: E402

STAMP = "2026-12-01T00:00:00.000000Z"
INSERT_ONE = ("INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
              " SELECT $1::bigint, $2::bigint, $3::int, 'claimed', 'claim', $4::text"
              " WHERE $3::int <= (SELECT claim_limit FROM drops WHERE id = $1::bigint)")
INSERT_UNNEST = ("INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                 " SELECT $1::bigint, g.u, g.s, 'claimed', 'claim', $2::text FROM unnest($3::bigint[], $4::int[])"
                 " AS g(u, s) WHERE g.s <= (SELECT claim_limit FROM drops WHERE id = $1::bigint)")
INSERT_FROM_COPY = ("INSERT INTO drop_claims (drop_id, user_id, slot, status, source, claimed_at)"
                    " SELECT $1::bigint, g.u, g.s, 'claimed', 'claim', $2::text FROM batch g"
                    " WHERE g.s <= (SELECT claim_limit FROM drops WHERE id = $1::bigint)")
STOCK = "UPDATE drops SET remaining = remaining - $1 WHERE id = $2 AND status = 'open' AND remaining >= $1"


async def executemany(conn, run_id: int, grants: list[tuple[int, int]]) -> None:
    await conn.executemany(INSERT_ONE, [(run_id, u, s, STAMP) for u, s in grants])


async def unnest(conn, run_id: int, grants: list[tuple[int, int]]) -> None:
    await conn.execute(INSERT_UNNEST, run_id, STAMP, [u for u, _ in grants], [s for _, s in grants])


async def copy(conn, run_id: int, grants: list[tuple[int, int]]) -> None:
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS batch (u BIGINT, s INT) ON COMMIT DELETE ROWS")
    await conn.copy_records_to_table("batch", records=grants, columns=["u", "s"])
    await conn.execute(INSERT_FROM_COPY, run_id, STAMP)


WAYS = {"executemany": executemany, "unnest": unnest, "copy": copy}


async def measure(url: str, sizes: list[int], total: int) -> dict[tuple[str, int], float]:
    db = await open_postgres(url, readers=0)
    conn = db.conn
    results = {}
    try:
        for size in sizes:
            for name, way in WAYS.items():
                run_id = await conn.fetchval(
                    "INSERT INTO drops (guild_id, key, occurrence, mode, stock, remaining, claim_limit, opens_at,"
                    " opened_at) VALUES (1, $1, 'x', 'first_come', $2, $2, 1, 'x', 'x') RETURNING id",
                    f"{name}-{size}", total)
                users = iter(range(10**6, 10**6 + total))
                batches = total // size
                start = time.perf_counter()
                for _ in range(batches):
                    grants = [(next(users), 1) for _ in range(size)]
                    async with conn.transaction():
                        await way(conn, run_id, grants)
                        assert await conn.execute(STOCK, size, run_id) == "UPDATE 1"
                elapsed = time.perf_counter() - start
                held = await conn.fetchval("SELECT COUNT(*) FROM drop_claims WHERE drop_id = $1", run_id)
                assert held == batches * size, (name, held)
                results[(name, size)] = elapsed / batches
    finally:
        await db.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a postgresql:// URL (default: a throwaway server)")
    parser.add_argument("--sizes", default="50,500,2000")
    parser.add_argument("--total", type=int, default=20_000, help="claims written per way and size")
    args = parser.parse_args()
    server = None
    if args.db:
        url = f"{args.db}{'&' if '?' in args.db else '?'}schema=bench_writes_{os.getpid()}"
    else:
        from bot.offline.postgres import ThrowawayPostgres

        server = ThrowawayPostgres(durable=True).start()
        url = server.url()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        results = asyncio.run(measure(url, sizes, args.total))
    finally:
        if server is not None:
            server.stop()
    print(f"claim batch writes on PostgreSQL, {args.total:,} claims per way and size, one transaction per batch")
    print(f"{'batch':>7}  " + "  ".join(f"{name:>22}" for name in WAYS))
    for size in sizes:
        cells = [f"{results[(n, size)] * 1000:7.2f} ms {size / results[(n, size)]:>9,.0f}/s" for n in WAYS]
        print(f"{size:>7}  " + "  ".join(f"{c:>22}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
