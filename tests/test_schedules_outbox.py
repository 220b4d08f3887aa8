"""The outbox schedules post through: Discord pacing, per-channel order, deferral instead of stalling."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot.clock import FakeClock
from bot.db import open_database
from bot.services.messages import OutMessage, Sent, Target
from bot.services.outbox import Outbox, OutboxSettings, SlidingWindow

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_a_sliding_window_allows_a_burst_then_spaces_sends():
    window = SlidingWindow(5, 5.0)
    waits = [window.reserve(100.0) for _ in range(7)]
    assert waits == [0, 0, 0, 0, 0, 5.0, 5.0]
    assert window.reserve(106.0) == 0  # the first five slots have expired
    peek = SlidingWindow(1, 1.0)
    peek.reserve(0.0)
    assert peek.reserve(0.0, book=False) == 1.0 and peek.reserve(0.0, book=False) == 1.0  # peeking books nothing


def test_pacing_follows_per_channel_and_global_limits():
    outbox = Outbox(db=None, clock=FakeClock(T0), settings=OutboxSettings(pace=True, global_per_second=50))
    row = lambda channel: {"guild_id": 1, "target_kind": "channel", "target": channel}  # noqa: E731
    lounge = [outbox.channel_delay(row("lounge"), 10.0) for _ in range(6)]
    assert lounge[:5] == [0] * 5 and lounge[5] == 5.0
    # 50 requests a second in all, whatever the channel: the 51st of this second waits
    sends = [outbox.global_delay(row(f"c{i}"), 10.0) for i in range(51)]
    assert max(sends[:50]) == 0 and sends[50] == 1.0
    assert outbox.channel_delay(row("quiz"), 10.0) == 0  # the lounge's wait does not hold up the quiz channel


def test_pacing_is_off_with_a_fake_clock_unless_asked():
    assert not Outbox(db=None, clock=FakeClock(T0)).pacing
    assert Outbox(db=None, clock=FakeClock(T0), settings=OutboxSettings(pace=True)).pacing


class SlowSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, guild_id, target, message):
        await asyncio.sleep(0)  # let other targets interleave
        self.sent.append((target.value, message.content))
        return Sent(len(self.sent))


async def test_one_channels_messages_leave_in_queue_order_and_a_paced_channel_does_not_stall_others(tmp_path):
    db = await open_database(tmp_path / "o.db")
    clock = FakeClock(T0)
    outbox = Outbox(db, clock, OutboxSettings(pace=True, channel_burst=2, channel_window=60.0))
    outbox.sender = SlowSender()
    for i in range(4):
        await outbox.post(1, Target.channel("lounge"), OutMessage(f"lounge {i}"), dedupe_key=f"l{i}")
        await outbox.post(1, Target.channel("quiz"), OutMessage(f"quiz {i}"), dedupe_key=f"q{i}")
    await outbox.drain()  # returns at once: nothing sleeps for a minute
    assert [c for t, c in outbox.sender.sent if t == "lounge"] == ["lounge 0", "lounge 1"]
    assert [c for t, c in outbox.sender.sent if t == "quiz"] == ["quiz 0", "quiz 1"]
    rows = await db.fetchall("SELECT dedupe_key, status, attempts, not_before FROM outbox WHERE status = 'pending'")
    assert sorted(r["dedupe_key"] for r in rows) == ["l2", "l3", "q2", "q3"]
    assert {r["attempts"] for r in rows} == {0}  # pacing is not a failed attempt
    clock.advance(timedelta(minutes=2))
    outbox._target_windows.clear()  # a minute of real time has passed too
    await outbox.drain()
    assert [c for t, c in outbox.sender.sent if t == "lounge"] == [f"lounge {i}" for i in range(4)]
    await db.close()


async def test_stop_ends_the_worker_even_when_the_cancel_lands_as_a_wake_ends_its_wait():
    # Python 3.11's wait_for swallows that cancel: one cancel left the worker polling and close() hung
    outbox = Outbox(db=None, clock=FakeClock(T0))
    drains = 0

    async def drain() -> None:
        nonlocal drains
        drains += 1

    outbox.drain = drain
    outbox.start(poll_seconds=3600)
    while not outbox._wake._waiters:  # the worker drained once and waits for its wake event
        await asyncio.sleep(0)
    worker = outbox._worker
    outbox.wake()
    await asyncio.sleep(0)  # the wait ends...
    stop = asyncio.create_task(outbox.stop())  # ...and the cancel lands now
    done, _ = await asyncio.wait({stop}, timeout=5)  # a guard against hanging the suite, not a timing
    if not done:
        worker.cancel()  # clean up the runaway worker before failing
        await asyncio.wait({stop}, timeout=5)
    assert done, "stop() hung: the worker swallowed its cancel and kept polling"
    assert worker.done() and outbox._worker is None and drains >= 1
