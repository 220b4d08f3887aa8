"""Journey: a moderator on a server that already had members before the bot reads the stats.

Issue 15 "Stats tell the truth": /stats and the digest said "Members: 0" while /community info said 4;
`python -m bot stats` named top contributors by raw id; a quiet week's chart had y ticks 0.00-0.05."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

from bot.clock import FakeClock
from tests.helpers import config_with
from bot.services.stats import DayPoint, Rate, StatsReport

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)  # noon in Tokyo


def members_field(reply) -> str:
    return next(f for f in reply.embeds[0]["fields"] if f["name"] == "Members")["value"]


async def test_stats_count_the_servers_members_and_every_join_and_leave(harness, tmp_path):
    open_mode = config_with(tmp_path, {"community.yaml": {"membership": {"mode": "open"}}})
    g = await harness(config=open_mode, clock=FakeClock(NOW))  # mod, alice, bob, carol: members before the bot came
    info = await g.slash("/community info", user="alice")
    assert members_field(info) == "4"
    r = await g.slash("/stats", user="mod")
    assert "Members: 4 · joined 0 · left 0 (net +0)" in r.content

    # vera joins through the bot, bob (a member from before the bot) leaves the server
    join = await g.slash("/join", user="vera")
    await g.click("I accept", on=join, user="vera")
    await g.remove_member("bob")
    assert members_field(await g.slash("/community info", user="alice")) == "4"
    r = await g.slash("/stats", user="mod")
    assert "Members: 4 · joined 1 · left 1 (net +0)" in r.content

    # the weekly digest says the same
    await g.app.stats.digest(g.app.guild_id, NOW + timedelta(days=1), {})
    await g.settle()
    [digest] = [m for m in g.channel("mod-log").messages if m.files]
    assert "Members: 4 · joined 1 · left 1 (net +0)" in digest.content


async def test_the_command_line_names_top_contributors_the_bot_has_seen(harness, tmp_path, capsys):
    from bot.__main__ import main

    g = await harness(clock=FakeClock(NOW))
    for _ in range(3):
        await g.say("lounge", "hello", user="alice")
    await g.say("lounge", "hi", user="bob")
    await g.app.participation.activity.flush()
    r = await g.slash("/stats", user="mod")
    assert f"1. <@{g.user_id('alice')}> — 3 messages" in r.content  # Discord shows the name of a mention
    code = await asyncio.to_thread(main, ["stats", "--config", "config", "--db", str(g.app.db.path),
                                          "--guild", str(g.app.guild_id), "--until", "2026-11-30"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "1. alice — 3 messages" in out.out and "2. bob — " in out.out
    assert str(g.user_id("alice")) not in out.out
    # offline the roster is unknown: the figure says whose count it is
    assert "Members: 0 (as recorded by the bot; /stats on the server counts everyone)" in out.out


def quiet_week() -> StatsReport:
    days = tuple(DayPoint(date(2026, 11, 24) + timedelta(days=i), 0, 0, 0) for i in range(7))
    return StatsReport("week", days[0].day, days[-1].day, 0, 0, 0, 0, 0, 0, 0, Rate(0, 0, 0, None),
                       Rate(0, 0, 0, None), {}, (), days)


def test_a_quiet_weeks_chart_counts_whole_people_from_zero():
    from bot.services.stats import _render_lock, chart_figure

    labels = {"title": "t", "active": "a", "joined": "j", "left": "l"}
    with _render_lock:
        ax = chart_figure(quiet_week(), labels).axes[0]
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert ticks[0] == 0 and all(float(t).is_integer() for t in ticks) and ticks[-1] >= 1
