"""The process that gets killed: `python tests/faults/stats_build_child.py DB CONFIG_DIR NOW KILL_AT`.

It opens Kizuna on DB (config from CONFIG_DIR, the clock at NOW) and takes the stats rollups' build
steps (bot/db/stats_build.py, chunks of 3 rows), SIGKILLing itself on the KILL_AT-th statement the
steps send: in the middle of a step's transaction, with some of its rows written and nothing committed.
Prints "survived" when the build finished first.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from bot.app import App  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import stats_build  # noqa: E402
from bot.db.connection import Tx  # noqa: E402

GUILD = 1000


async def main(db_path: str, config_dir: str, now: str, kill_at: int) -> None:
    app = await App.open(load_config(config_dir), db_path=db_path, clock=FakeClock(datetime.fromisoformat(now)),
                         real_scheduler=False)
    sent = [0]
    for name in ("execute", "executemany", "fetchone", "fetchall"):
        original = getattr(Tx, name)

        async def counted(self, *args, __original=original, **kwargs):
            sent[0] += 1
            if sent[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return await __original(self, *args, **kwargs)

        setattr(Tx, name, counted)
    print("ready", flush=True)
    tables = await app.stats.tables()
    while await stats_build.step(app.db, tables, GUILD, app.clock.now(), 3):
        pass
    print("survived", flush=True)
    await app.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
