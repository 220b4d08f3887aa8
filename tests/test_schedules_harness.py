"""Schedules through the offline harness: the real bot, the fake Discord, a week of fake time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.cli.preview import preview_lines
from bot.clock import FakeClock
from tests.helpers import config_with

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(timezone.utc)


WEEK = """
pools:
  tips:
    order: shuffle
    items: ["Tip: warm the pot", "Tip: fresh water", "Tip: 70 degrees for sencha"]
schedules:
  - id: greet
    channel: lounge
    cron: "30 8 * * mon-fri"
    text: "Good morning {community.name}! Happy {weekday}."
  - id: tasting
    channel: leaf-lounge
    weekly: {days: [mon, thu], at: "20:00"}
    embed: {title: "Tasting night with {persona.name}", description: "Share your cup."}
  - id: tip
    channel: announcements
    daily: "12:00"
    pool: tips
  - id: once
    channel: announcements
    at: 2026-12-03T07:00
    text: "A one-off on {date}"
"""


def first_line(message) -> str:
    if message.content:
        return message.content.split("\n")[0]
    return message.embeds[0].get("title", "") if message.embeds else ""


async def schedule_posts(g) -> list[tuple[str, str, str]]:
    """(local time, #channel, first line) of every message the schedules posted, in order."""
    rows = await g.app.db.fetchall(
        "SELECT target, message_id FROM outbox WHERE dedupe_key LIKE 'schedule:%' AND status = 'sent' ORDER BY id")
    out = []
    for target, message_id in rows:
        message = g.world.messages[message_id]
        out.append((f"{message.created_at.astimezone(TOKYO):%Y-%m-%d %a %H:%M}", f"#{target}", first_line(message)))
    return out


def mod_log(g) -> list[str]:
    return [m.content for m in g.channel("mod-log").messages]


async def test_a_week_in_tokyo_posts_exactly_the_expected_timeline(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": WEEK})
    g = await harness(config=config, clock=FakeClock(jst(2026, 11, 30, 0, 0)))  # Monday 00:00 JST
    await g.advance(days=7)
    posts = await schedule_posts(g)
    weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    expected = []
    for day in range(7):
        date = datetime(2026, 11, 30) + timedelta(days=day)
        stamp = f"{date:%Y-%m-%d %a}"
        if day == 3:
            expected.append((f"{stamp} 07:00", "#announcements", "A one-off on December 3, 2026"))
        if day < 5:
            expected.append((f"{stamp} 08:30", "#lounge", f"Good morning Sakura Tea House! Happy {weekdays[day]}."))
        expected.append((f"{stamp} 12:00", "#announcements", "TIP"))
        if day in (0, 3):
            expected.append((f"{stamp} 20:00", "#leaf-lounge", "Tasting night with Sakura-chan"))
    masked = [(when, where, "TIP" if text.startswith("Tip:") else text) for when, where, text in posts]
    assert masked == expected
    tips = [p[2] for p in posts if p[2].startswith("Tip:")]
    assert sorted(tips[:3]) == sorted(tips[3:6]) and len(set(tips[:3])) == 3  # shuffled, no repeat in a cycle
    # posted in the persona's voice, in the real channels (tier-exclusive included)
    tasting = [m for m in g.channel("leaf-lounge").messages if m.embeds]
    assert len(tasting) == 2 and all(m.webhook_id or m.author_id == g.world.bot_user_id for m in tasting)


async def test_preview_equals_what_the_harness_then_posts(harness, tmp_path):
    """The shipped example, a week in its campaign: every line the preview prints with a channel is
    exactly a message posted at that minute, and nothing else was posted by the schedules."""
    config = config_with(tmp_path)
    start = jst(2026, 12, 7, 0, 0)
    g = await harness(config=config, clock=FakeClock(start))
    lines = await preview_lines(config, start, timedelta(days=7), TOKYO, db_path=str(g.db_path),
                                guild_id=g.world.guild_id)
    assert lines[0].startswith("# Sakura Tea House:")
    predicted = []
    posting = {s.id for s in config.schedules.schedules if s.channel}  # not action-only, drops or content
    for line in lines[1:]:
        when, schedule_id, where, text, *_ = line.split("  ")
        if where != "-" and schedule_id in posting:
            predicted.append((when, where, text))
    await g.advance(days=7)
    assert predicted and await schedule_posts(g) == predicted
    assert any(w == "#announcements" and t.startswith("❄️") for _, w, t in predicted)  # the campaign's pool
    # action-only schedules (the daily prompt) ran once per day too
    runs = await g.app.db.fetchall(
        "SELECT status FROM schedule_ledger WHERE schedule_id = 'daily-prompt' AND kind = 'regular'")
    assert len(runs) == 7


DAILY = """
grace: 1h
schedules:
  - {id: morning, channel: lounge, daily: "09:00", text: "Morning post from {persona.name}"}
"""


async def test_a_restart_during_a_due_time_posts_once_within_grace(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": DAILY}), clock=FakeClock(jst(2026, 12, 1, 8)))
    await g.advance(minutes=50)
    g.clock.set(jst(2026, 12, 1, 9, 40))  # the bot was down over 09:00
    await g.restart()
    assert [p[1:] for p in await schedule_posts(g)] == [("#lounge", "Morning post from Sakura-chan")]
    await g.restart()
    await g.advance(hours=2)
    assert len(await schedule_posts(g)) == 1  # never twice
    assert not any("missed" in line for line in mod_log(g))


async def test_a_restart_past_grace_skips_and_notes_it_in_the_mod_log(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": DAILY}), clock=FakeClock(jst(2026, 12, 1, 8)))
    g.clock.set(jst(2026, 12, 1, 10, 30))
    await g.restart()
    assert await schedule_posts(g) == []
    notes = [line for line in mod_log(g) if "`morning`" in line]
    assert len(notes) == 1 and "2026-12-01 09:00" in notes[0] and "1h" in notes[0]
    await g.advance(days=1)
    assert len(await schedule_posts(g)) == 1  # the next day posts normally


async def test_reload_with_an_invalid_file_changes_nothing_and_replies_with_file_line(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": DAILY})
    g = await harness(config=config, clock=FakeClock(jst(2026, 12, 1, 8)))
    (config.dir / "schedules.yaml").write_text(
        "schedules:\n  - id: morning\n    channel: nowhere\n    daily: \"9am\"\n    text: hi\n", encoding="utf-8")
    reply = await g.slash("/schedule reload", user="mod")
    assert reply.ephemeral and "Not reloaded" in reply.content
    assert "schedules.yaml:4: schedules[0].daily: '9am' is not a time of day" in reply.content
    await g.advance(hours=2)
    assert [p[1:] for p in await schedule_posts(g)] == [("#lounge", "Morning post from Sakura-chan")]


async def test_a_good_reload_applies_without_double_posting(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": DAILY})
    g = await harness(config=config, clock=FakeClock(jst(2026, 12, 1, 8)))
    await g.advance(hours=1, minutes=10)  # 09:00 has posted
    (config.dir / "schedules.yaml").write_text(DAILY.replace("Morning post", "New morning post") + (
        "  - {id: evening, channel: lounge, daily: \"21:00\", text: \"Evening post\"}\n"), encoding="utf-8")
    reply = await g.slash("/schedule reload", user="mod")
    assert "2 schedules (1 added, 0 removed, 1 changed)" in reply.content
    await g.slash("/schedule reload", user="mod")
    await g.advance(days=1)
    assert [p[2] for p in await schedule_posts(g)] == [
        "Morning post from Sakura-chan", "Evening post", "New morning post from Sakura-chan"]
    assert any("schedule.reload" in line for line in mod_log(g))


async def test_moderators_list_pause_resume_and_run_now(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": DAILY}), clock=FakeClock(jst(2026, 12, 1, 8)))
    listing = await g.slash("/schedule list", user="mod")
    assert listing.ephemeral and "`morning`" in listing.content and "daily 09:00" in listing.content
    reply = await g.slash("/schedule pause", user="mod", schedule="morning")
    assert "Paused `morning`" in reply.content
    await g.restart()
    await g.advance(hours=2)
    assert await schedule_posts(g) == []  # paused survives a restart
    assert "paused" in (await g.slash("/schedule list", user="mod")).content
    reply = await g.slash("/schedule resume", user="mod", schedule="morning")
    assert "Resumed `morning`" in reply.content
    reply = await g.slash("/schedule run-now", user="mod", schedule="morning")
    assert "Ran `morning` now" in reply.content
    assert [p[2] for p in await schedule_posts(g)] == ["Morning post from Sakura-chan"]
    reply = await g.slash("/schedule pause", user="mod", schedule="nope")
    assert "There is no schedule `nope`" in reply.content and reply.ephemeral
    log = "\n".join(mod_log(g))
    assert "schedule.pause" in log and "schedule.resume" in log and "schedule.run-now" in log


async def test_schedule_commands_are_refused_to_non_moderators(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": DAILY}), clock=FakeClock(jst(2026, 12, 1, 8)))
    for command, options in (("/schedule list", {}), ("/schedule pause", {"schedule": "morning"}),
                             ("/schedule resume", {"schedule": "morning"}), ("/schedule run-now", {"schedule": "morning"}),
                             ("/schedule reload", {})):
        reply = await g.slash(command, user="alice", **options)
        assert reply.ephemeral and reply.content == "Only moderators can do that.", command
    assert await schedule_posts(g) == []
    assert await g.app.audit.recent(g.world.guild_id) == []


async def test_a_channel_the_bot_cannot_write_to_is_reported_to_the_mod_log(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": DAILY}), clock=FakeClock(jst(2026, 12, 1, 8)))
    g.deny_bot("lounge", "send_messages", "manage_webhooks")  # a webhook could still post otherwise
    await g.advance(hours=2)
    assert [m for m in g.channel("lounge").messages if "Morning post" in m.content] == []
    notes = [line for line in mod_log(g) if "#lounge" in line]
    assert len(notes) == 1 and "could not be delivered" in notes[0]
