"""Process settings for the long-running bot: `python -m bot run` applies them, and the benches that
measure the bot apply the same ones (so their figures are the bot's).

Why: a claim burst creates tens of thousands of short-lived tasks and futures at once. With CPython's
default collector thresholds (700, 10, 10) the young generation is collected every few hundred of
them, and each collection walks every task still waiting: in `bench/bench_drops.py` that alone was
about a third of the burst. And while the event loop is busy answering claimers, the database thread
(which releases the GIL inside SQLite) waits up to the default 5 ms switch interval each time it
wants the GIL back; 1 ms keeps the claim writer's batches moving.
"""
from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (50_000, 20, 20)
SWITCH_INTERVAL = 0.001  # seconds


def tune_process() -> None:
    """Collector thresholds and GIL switch interval for a bot process (call once, at start)."""
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)


def settle_heap() -> None:
    """Once the bot has started (config, caches, cogs loaded): collect once, then move everything alive
    into the permanent generation so later collections skip it. Call once per process."""
    gc.collect()
    gc.freeze()
