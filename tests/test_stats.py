"""Stats: a seeded month gives exactly the figures computed by hand; the chart is a real PNG of the
expected size; a missing table counts as zero; the digest goes out once per period."""
from __future__ import annotations

import base64
import json
from datetime import date, datetime, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db.connection import to_db_time
from bot.services.stats import CHART_SIZE, Contributor, Rate

G = 1000
ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GINA = 1, 2, 3, 4, 5, 6, 7
# community.yaml ships Asia/Tokyo (UTC+9): the local month 2026-11-01 .. 11-30 is
# [2026-10-31T15:00Z, 2026-11-30T15:00Z).
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # 21:00 in Tokyo on the 30th


def utc(*args) -> str:
    return to_db_time(datetime(*args, tzinfo=timezone.utc))


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(NOW),
                         real_scheduler=False)
    yield app
    await app.close()


async def seed_month(app: App, guild_id: int = G) -> None:
    """One month of a small community, with rows just outside the period on both sides."""
    G = guild_id  # noqa: N806 - the guild the rows belong to
    async with app.db.transaction() as tx:
        members = [
            # user, joined_at, left_at, status
            (ALICE, utc(2026, 10, 1, 0, 0), None, "member"),
            (GINA, utc(2026, 10, 31, 14, 59), None, "member"),     # 23:59 on Oct 31 in Tokyo: before
            (FRANK, utc(2026, 10, 31, 15, 0), None, "member"),     # 00:00 on Nov 1 in Tokyo: inside
            (BOB, utc(2026, 11, 3, 1, 0), None, "member"),
            (CAROL, utc(2026, 11, 10, 1, 0), utc(2026, 11, 20, 1, 0), "left"),
            (DAVE, utc(2026, 11, 28, 16, 0), None, "member"),      # Nov 29, 01:00 in Tokyo
            (ERIN, utc(2026, 11, 30, 16, 0), None, "member"),      # Dec 1 in Tokyo: after
        ]
        for user, joined, left, status in members:
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, status, via, joined_at, left_at) VALUES (?, ?, ?, 'open', ?, ?)",
                (G, user, status, joined, left))
            await tx.execute("INSERT INTO member_events (guild_id, user_id, kind, at) VALUES (?, ?, 'joined', ?)",
                             (G, user, joined))
            if left:
                await tx.execute("INSERT INTO member_events (guild_id, user_id, kind, at) VALUES (?, ?, 'left', ?)",
                                 (G, user, left))
        # an application is not a join
        await tx.execute("INSERT INTO member_events (guild_id, user_id, kind, at) VALUES (?, 99, 'applied', ?)",
                         (G, utc(2026, 11, 5, 0, 0)))
        # another guild's rows never count
        await tx.execute("INSERT INTO member_events (guild_id, user_id, kind, at) VALUES (2, 98, 'joined', ?)",
                         (utc(2026, 11, 5, 0, 0),))
        await tx.executemany(
            "INSERT INTO activity_daily (guild_id, user_id, day, messages) VALUES (?, ?, ?, ?)",
            [(G, ALICE, "2026-11-01", 5), (G, ALICE, "2026-11-02", 3), (G, BOB, "2026-11-15", 10),
             (G, CAROL, "2026-11-12", 2), (G, ALICE, "2026-10-31", 100), (G, BOB, "2026-12-01", 7),
             (G, DAVE, "2026-11-29", 0), (2, 97, "2026-11-10", 50)])
        await tx.executemany(
            "INSERT INTO participation_ledger (guild_id, user_id, action, ref, points, day, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(G, FRANK, "prompt_answer", "prompt:1", 10, "2026-11-05", utc(2026, 11, 5, 3, 0)),
             (G, ALICE, "prompt_answer", "prompt:1", 10, "2026-11-05", utc(2026, 11, 5, 4, 0)),
             (G, ALICE, "quiz_correct", "quiz:1", 5, "2026-11-06", utc(2026, 11, 6, 11, 1)),
             (G, BOB, "prompt_answer", "prompt:0", 10, "2026-10-30", utc(2026, 10, 30, 3, 0))])
        await tx.executemany(
            "INSERT INTO prompt_posts (guild_id, occurrence, cycle, prompt_key, text, channel, posted_at)"
            " VALUES (?, ?, 1, ?, 'q', 'daily-prompt', ?)",
            [(G, "o0", "p0", utc(2026, 10, 30, 0, 0)), (G, "o1", "p1", utc(2026, 11, 5, 0, 0)),
             (G, "o2", "p2", utc(2026, 11, 20, 0, 0))])
        await tx.execute(
            "INSERT INTO quiz_runs (id, guild_id, bank, channel, seconds, pause_seconds, speed_bonus, started_at)"
            " VALUES (1, ?, 'tea', 'quiz', 20, 5, 0, ?)", (G, utc(2026, 11, 6, 11, 0)))
        await tx.execute("INSERT INTO quiz_questions (id, run_id, position, snapshot) VALUES (1, 1, 0, '{}')")
        await tx.executemany(
            "INSERT INTO quiz_answers (question_id, user_id, choice, correct, points, answered_at)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            [(ALICE, 0, 1, 5, utc(2026, 11, 6, 11, 1)), (GINA, 1, 0, 0, utc(2026, 11, 6, 11, 1))])
        for status, created in [("new", utc(2026, 11, 2, 0, 0)), ("planned", utc(2026, 11, 8, 0, 0)),
                                ("new", utc(2026, 11, 30, 14, 0)), ("declined", utc(2026, 10, 20, 0, 0))]:
            await tx.execute(
                "INSERT INTO feedback_items (guild_id, author_id, category, title, text, status, created_at,"
                " updated_at) VALUES (?, ?, 'product', 't', 'x', ?, ?, ?)", (G, BOB, status, created, created))


async def test_a_seeded_month_gives_the_figures_computed_by_hand(app):
    await seed_month(app)
    r = await app.stats.report(G, "month")

    assert (r.first_day, r.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    # members at the end: alice, gina, frank, bob, dave (carol left, erin joins on Dec 1 in Tokyo)
    assert r.members == 5
    # joined in November (Tokyo): frank (00:00 on the 1st), bob, carol, dave; left: carol
    assert (r.joined, r.left) == (4, 1)
    # posted: alice 5+3, bob 10, carol 2 (alice's Oct 31 and bob's Dec 1 are outside, dave's 0 is not a post)
    assert (r.posters, r.messages) == (3, 20)
    # took part: frank, alice (ledger), gina (a wrong quiz answer gives no points but is taking part)
    assert r.participants == 3
    assert r.active == 5  # alice, bob, carol, frank, gina
    assert r.prompts == Rate(runs=2, answers=2, participants=2, rate=2 / 5)
    assert r.quizzes == Rate(runs=1, answers=2, participants=2, rate=2 / 5)
    assert r.feedback == {"new": 2, "planned": 1}
    # messages + participations, then points: alice 8+2 (15 pts) ties bob 10+0 and wins on points
    assert r.top == (Contributor(ALICE, 8, 2, 15), Contributor(BOB, 10, 0, 0), Contributor(CAROL, 2, 0, 0),
                     Contributor(FRANK, 0, 1, 10))
    days = {d.day: (d.active, d.joined, d.left) for d in r.days}
    assert len(r.days) == 30
    assert days[date(2026, 11, 1)] == (1, 1, 0)   # alice posts; frank joins at local midnight
    assert days[date(2026, 11, 3)] == (0, 1, 0)   # bob joins
    assert days[date(2026, 11, 5)] == (2, 0, 0)   # frank and alice answer the prompt
    assert days[date(2026, 11, 6)] == (2, 0, 0)   # alice and gina play the quiz
    assert days[date(2026, 11, 20)] == (0, 0, 1)  # carol leaves
    assert days[date(2026, 11, 29)] == (0, 1, 0)  # dave joins (Nov 28 in UTC)
    assert sum(d.active for d in r.days) == 8  # 1 + 1 (alice, 1st and 2nd) + 2 + 2 + 1 (carol) + 1 (bob)
    assert sum(d.joined for d in r.days) == r.joined


async def test_the_week_ends_today_in_the_community_time_zone(app):
    await seed_month(app)
    r = await app.stats.report(G, "week")
    assert (r.first_day, r.last_day) == (date(2026, 11, 24), date(2026, 11, 30))
    assert (r.joined, r.left, r.active, r.messages) == (1, 0, 0, 0)  # dave's join only
    assert r.feedback == {"new": 1}
    assert r.prompts.rate == 0.0 and r.top == ()


async def test_a_missing_table_counts_as_zero(app):
    await seed_month(app)
    await app.db.execute("DROP TABLE member_events")
    await app.db.execute("DROP TABLE activity_daily")
    app.stats._tables = None  # the set is read once; a fresh service would read it again
    r = await app.stats.report(G, "month")
    assert (r.joined, r.left, r.posters, r.messages) == (0, 0, 0, 0)
    assert r.participants == 3 and r.active == 3  # the ledger and quizzes still count


async def test_a_bad_period_is_a_user_error(app):
    from bot.errors import UserError

    with pytest.raises(UserError) as err:
        await app.stats.report(G, "year")
    assert err.value.key == "stats.bad_period"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR", "the first chunk of a PNG must be IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def test_the_chart_is_a_png_of_the_expected_size(app):
    await seed_month(app)
    png = await app.stats.chart(await app.stats.report(G, "month"))
    assert png_size(png) == CHART_SIZE == (1000, 500)
    assert png.endswith(b"IEND\xaeB`\x82")
    empty = await app.stats.chart(await app.stats.report(G, "week", last_day=date(2020, 1, 7)))
    assert png_size(empty) == CHART_SIZE


async def test_the_text_names_every_figure(app):
    await seed_month(app)
    text = app.stats.render(await app.stats.report(G, "month"))
    assert "2026-11-01 → 2026-11-30" in text
    assert "Members: 5 (as recorded by the bot; /stats on the server counts everyone) · joined 4 · left 1 (net +3)" in text
    assert "Active members: 5 (posted: 3, took part: 3) · 20 messages" in text
    assert "2 answers from 2 members (40% of members)" in text
    assert "Feedback received: 3 — new 2 · planned 1" in text
    assert f"1. <@{ALICE}> — 8 messages, 2 participations, 15 points" in text


async def test_the_digest_covers_the_days_before_and_goes_out_once(app):
    await seed_month(app)
    occurrence = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # Dec 1, 09:00 in Tokyo
    assert await app.stats.digest(G, occurrence, {"period": "month"}) is True
    assert await app.stats.digest(G, occurrence, {"period": "month"}) is False
    rows = await app.db.fetchall("SELECT target, payload FROM outbox WHERE dedupe_key LIKE 'stats:digest:%'")
    assert len(rows) == 1 and rows[0]["target"] == "mod-log"
    payload = json.loads(rows[0]["payload"])
    assert "Members: 5 (as recorded by the bot; /stats on the server counts everyone) · joined 4 · left 1" in payload["content"]
    name, data = payload["files"][0]
    assert name == "stats-month-2026-11-30.png"
    assert png_size(base64.b64decode(data)) == CHART_SIZE
    summary = json.loads(await app.db.fetchval("SELECT summary FROM stats_digests"))
    assert summary["active"] == 5 and summary["last_day"] == "2026-11-30"
    assert "stats.digest" in app.actions.names()


async def test_a_digest_claimed_but_not_queued_before_a_crash_still_goes_out(app):
    await seed_month(app)
    occurrence = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
    from bot.db import stats as repo

    # the claim committed, then the process died before the outbox row was written
    await repo.claim_digest(app.db, guild_id=G, period="week", period_end="2026-11-30", summary={}, now=NOW)
    assert await app.stats.digest(G, occurrence, {}) is True
    assert await app.stats.digest(G, occurrence, {}) is False
    assert await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'stats:digest:%'") == 1


async def test_the_cli_prints_the_same_figures_and_writes_the_chart(app, tmp_path, capsys):
    import asyncio

    from bot.__main__ import main

    await seed_month(app)
    chart = tmp_path / "chart.png"
    # the CLI runs its own event loop: run it in a thread, as a terminal would in its own process.
    # --guild: the seeded guild (the shipped config names none, and another guild has rows too)
    code = await asyncio.to_thread(main, ["stats", "--config", "config", "--period", "month", "--db",
                                          str(tmp_path / "k.db"), "--chart", str(chart), "--guild", str(G),
                                          "--until", "2026-11-30"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert out.out.startswith("📊 Community stats — last 30 days (2026-11-01 → 2026-11-30)\n")
    assert "Members: 5 (as recorded by the bot; /stats on the server counts everyone) · joined 4 · left 1 (net +3)" in out.out
    assert f"1. {ALICE} — 8 messages, 2 participations, 15 points" in out.out
    assert "<@" not in out.out and "**" not in out.out
    assert png_size(chart.read_bytes()) == CHART_SIZE
    code = await asyncio.to_thread(main, ["stats", "--config", "config", "--db", str(tmp_path / "k.db")])
    assert code == 2 and "several guilds are stored (2, 1000)" in capsys.readouterr().err


# --- through the offline harness --------------------------------------------------------------

async def test_stats_command_replies_with_the_figures_and_a_png(harness):
    from bot.clock import FakeClock

    g = await harness(clock=FakeClock(NOW))
    await seed_month(g.app, g.app.guild_id)
    r = await g.slash("/stats", user="mod", period="month")
    assert r.ephemeral
    # the roster counts (mod, alice, bob, carol hold the member role), not the seeded rows
    assert "Members: 4 · joined 4 · left 1 (net +3)" in r.content
    assert "Active members: 5 (posted: 3, took part: 3) · 20 messages" in r.content
    assert r.messages[-1].mentions == []  # top contributors are named, never pinged
    [(name, data)] = r.files
    assert name == "stats-month-2026-11-30.png"
    assert png_size(data) == CHART_SIZE
    r = await g.slash("/stats", user="alice")
    assert r.content == g.app.t("core.not_moderator") and r.files == []


async def test_the_weekly_digest_goes_to_the_mod_log_by_schedule(harness, tmp_path):
    from bot.clock import FakeClock
    from tests.helpers import config_with

    schedules = """
schedules:
  - id: weekly-stats
    weekly: {days: [mon], at: "09:00"}
    action: stats.digest
"""
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": schedules}), clock=FakeClock(NOW))
    await g.advance(days=1)  # Monday, Nov 30 2026 was the day before: the next Monday is Dec 7
    assert not [m for m in g.channel("mod-log").messages if m.files]
    await g.advance(days=7)
    digests = [m for m in g.channel("mod-log").messages if m.files]
    assert len(digests) == 1
    assert "2026-11-30 → 2026-12-06" in digests[0].content
    [(name, data)] = digests[0].files
    assert name == "stats-week-2026-12-06.png" and png_size(data) == CHART_SIZE
