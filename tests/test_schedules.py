"""Schedules service: the ledger never posts twice and never misses silently (App + real SQLite file)."""
from __future__ import annotations

import shutil
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.config.actions import QuizStartParams
from bot.db import schedules as repo
from bot.errors import ConfigError, UserError
from bot.services.messages import Sent
from bot.services.outbox import Undeliverable
from bot.services.schedules import format_timeline

ROOT = Path(__file__).resolve().parent.parent
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
GUILD = 4242


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO).astimezone(timezone.utc)


def make_config(tmp_path: Path, schedules_yaml: str, name: str = "cfg"):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "community.yaml", folder / "community.yaml")
    (folder / "schedules.yaml").write_text(textwrap.dedent(schedules_yaml), encoding="utf-8")
    return load_config(folder)


def rewrite(config, schedules_yaml: str) -> None:
    (config.dir / "schedules.yaml").write_text(textwrap.dedent(schedules_yaml), encoding="utf-8")


class FakeSender:
    """Records what leaves the outbox, with the clock time it left."""

    def __init__(self, clock, blocked: set[str] = frozenset()) -> None:
        self.clock = clock
        self.blocked = set(blocked)
        self.sent: list[tuple[datetime, str, str, object]] = []

    async def send(self, guild_id, target, message):
        if target.value in self.blocked:
            raise Undeliverable("forbidden: Missing Permissions")
        self.sent.append((self.clock.now(), target.kind, target.value, message))
        return Sent(len(self.sent), 1)

    def posts(self, channel: str | None = None):
        return [(t, v, m) for t, k, v, m in self.sent if k == "channel" and (channel is None or v == channel)]


async def open_app(config, tmp_path, clock, sender=None) -> App:
    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
    app.guild_id = GUILD
    app.outbox.sender = sender or FakeSender(clock)
    await app.start()
    return app


async def walk(app: App, until: datetime) -> None:
    """Advance the fake clock occurrence by occurrence, draining the outbox at each (like the harness)."""
    while True:
        due = [j.next_fire for j in app.scheduler.jobs.values() if j.next_fire is not None]
        nxt = min(due, default=None)
        if nxt is None or nxt > until:
            break
        await app.scheduler.advance_to(nxt)
        await app.outbox.drain()
    await app.scheduler.advance_to(until)
    await app.outbox.drain()


def local_posts(sender: FakeSender, tz=TOKYO, channel=None):
    return [(f"{t.astimezone(tz):%a %H:%M}", ch, m.content.split("\n")[0] if m.content else m.embeds[0]["title"])
            for t, ch, m in sender.posts(channel) if ch != "mod-log"]


WEEK_YAML = """
    pools:
      tips:
        order: sequential
        items: ["tip one", "tip two"]
    schedules:
      - id: greet
        channel: lounge
        cron: "30 8 * * mon-fri"
        text: "Good morning {community.name}, it is {weekday}"
      - id: tasting
        channel: leaf-lounge
        weekly: {days: [mon, thu], at: "20:00"}
        embed: {title: "Tasting night", description: "by {persona.name}"}
      - id: tip
        channel: announcements
        daily: "12:00"
        pool: tips
      - id: xmas
        channel: announcements
        at: 2026-12-03T07:00
        text: "one-off"
"""


async def test_a_week_in_tokyo_posts_exactly_the_expected_timeline(tmp_path):
    clock = FakeClock(jst(2026, 11, 30, 0, 0))  # Monday 00:00 JST
    config = make_config(tmp_path, WEEK_YAML)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 7, 0, 0))
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    expected = []
    for i, day in enumerate(days):
        if i < 5:
            expected.append((f"{day} 08:30", "lounge", f"Good morning Sakura Tea House, it is {names[i]}"))
        if day == "Thu":
            expected.append(("Thu 07:00", "announcements", "one-off"))
            expected.sort(key=lambda e: (days.index(e[0][:3]), e[0][4:]))
        expected.append((f"{day} 12:00", "announcements", "tip one" if i % 2 == 0 else "tip two"))
        if day in ("Mon", "Thu"):
            expected.append((f"{day} 20:00", "leaf-lounge", "Tasting night"))
    assert local_posts(sender) == expected
    # the persona speaks, and every post is in the ledger once
    assert all(m.as_persona for _, _, m in sender.posts())
    rows = await repo.entries(app.db, GUILD)
    assert len(rows) == len(expected) and {r["status"] for r in rows} == {"posted"}
    await app.close()


async def test_preview_timeline_equals_what_then_posts(tmp_path):
    clock = FakeClock(jst(2026, 11, 30, 0, 0))
    config = make_config(tmp_path, WEEK_YAML.replace("order: sequential", "order: shuffle"))
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    entries = await app.schedules.timeline(clock.now(), jst(2026, 12, 7, 0, 0))
    await walk(app, jst(2026, 12, 7, 0, 0))
    predicted = [(f"{e.when.astimezone(TOKYO):%a %H:%M}", e.channel, e.first_line) for e in entries]
    assert predicted == local_posts(sender)
    assert len(format_timeline(entries, TOKYO)) == len(entries)
    await app.close()


async def test_shuffled_pool_uses_every_item_before_repeating_and_restarts_do_not_repeat(tmp_path):
    clock = FakeClock(jst(2026, 11, 30, 0, 0))
    items = [f"item {i}" for i in range(5)]
    yaml_text = f"""
        pools:
          p: {{order: shuffle, items: {items}}}
        schedules:
          - {{id: s, channel: lounge, daily: "09:00", pool: p}}
    """
    config = make_config(tmp_path, yaml_text)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 3, 0, 0))  # 3 posts
    await app.close()
    app = await open_app(config, tmp_path, clock, sender)  # restart mid-cycle
    await walk(app, jst(2026, 12, 10, 0, 0))  # 7 more
    texts = [m.content for _, _, m in sender.posts("lounge")]
    assert len(texts) == 10
    assert sorted(texts[:5]) == items and sorted(texts[5:]) == items
    assert texts[4] != texts[5]  # a new cycle does not start with the item that ended the last one
    await app.close()


DAILY_9 = """
    grace: 1h
    schedules:
      - {id: morning, channel: lounge, daily: "09:00", text: "morning post"}
"""


async def test_restart_during_a_due_time_posts_once_within_grace(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 1, 8, 59))
    await app.close()  # down over 09:00
    clock.set(jst(2026, 12, 1, 9, 40))
    app = await open_app(config, tmp_path, clock, sender)
    await app.outbox.drain()
    assert [c for _, c, _ in local_posts(sender)] == ["lounge"]
    await app.close()
    clock.set(jst(2026, 12, 1, 9, 50))  # another restart: the ledger says it is done
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 1, 23, 0))
    assert len(local_posts(sender)) == 1
    assert [r["status"] for r in await repo.entries(app.db, GUILD)] == ["posted"]
    await app.close()


async def test_restart_past_grace_skips_and_tells_the_mod_log(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.close()
    clock.set(jst(2026, 12, 3, 10, 30))  # missed Dec 1, 2 and 3 at 09:00; the last is 1h30 late
    app = await open_app(config, tmp_path, clock, sender)
    await app.outbox.drain()
    assert local_posts(sender) == []
    notes = [m.content for _, _, m in sender.posts("mod-log")]
    assert len(notes) == 1 and "`morning`" in notes[0] and "3 posts" in notes[0]
    assert "2026-12-01 09:00" in notes[0] and "2026-12-03 09:00" in notes[0]
    assert [r["status"] for r in await repo.entries(app.db, GUILD)] == ["skipped"] * 3
    await walk(app, jst(2026, 12, 4, 9, 0))  # and it carries on normally
    assert len(local_posts(sender)) == 1
    await app.close()


async def test_several_missed_occurrences_coalesce_into_one_post(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, """
        schedules:
          - {id: quarter, channel: lounge, cron: "*/15 * * * *", text: "tick {time}", grace: 1h}
    """)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.close()
    clock.set(jst(2026, 12, 1, 8, 50))  # 08:15, 08:30, 08:45 missed, all within grace
    app = await open_app(config, tmp_path, clock, sender)
    await app.outbox.drain()
    assert [t for _, _, t in local_posts(sender)] == ["tick 08:45"]
    statuses = [(r["occurrence"].astimezone(TOKYO).strftime("%H:%M"), r["status"])
                for r in await repo.entries(app.db, GUILD)]
    assert statuses == [("08:15", "coalesced"), ("08:30", "coalesced"), ("08:45", "posted")]
    await app.close()


async def test_a_brand_new_schedule_does_not_back_fill(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 9, 10))  # first seen 10 minutes after its time
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.outbox.drain()
    assert sender.sent == []
    await app.close()
    clock.set(jst(2026, 12, 1, 9, 20))
    app = await open_app(config, tmp_path, clock, sender)
    await app.outbox.drain()
    assert sender.sent == []
    await app.close()


async def test_daylight_saving_skipped_hour_fires_once_at_the_next_valid_time(tmp_path):
    clock = FakeClock(datetime(2026, 3, 6, 12, 0, tzinfo=timezone.utc))
    config = make_config(tmp_path, """
        timezone: America/New_York
        schedules:
          - {id: night, channel: lounge, daily: "02:30", text: "night owl"}
    """)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc))
    local = [f"{t.astimezone(NEW_YORK):%m-%d %H:%M %Z}" for t, _, _ in sender.posts("lounge")]
    assert local == ["03-07 02:30 EST", "03-08 03:00 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"]
    await app.close()


async def test_daylight_saving_repeated_hour_fires_once(tmp_path):
    clock = FakeClock(datetime(2026, 10, 30, 12, 0, tzinfo=timezone.utc))
    config = make_config(tmp_path, """
        schedules:
          - {id: late, channel: lounge, daily: "01:30", timezone: America/New_York, text: "late"}
    """)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, datetime(2026, 11, 3, 12, 0, tzinfo=timezone.utc))
    local = [f"{t.astimezone(NEW_YORK):%m-%d %H:%M %Z}" for t, _, _ in sender.posts("lounge")]
    assert local == ["10-31 01:30 EDT", "11-01 01:30 EDT", "11-02 01:30 EST", "11-03 01:30 EST"]
    await app.close()


async def test_reload_with_an_invalid_file_changes_nothing_and_reports_file_line(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    job = app.scheduler.jobs[f"schedule:{GUILD}"]
    rewrite(config, """
        schedules:
          - {id: morning, channel: nowhere, daily: "09:00", text: "x"}
          - id: broken
            channel: lounge
            daily: "25:00"
            text: "y"
    """)
    result = await app.schedules.reload(actor_id=1)
    assert not result.ok
    assert any("schedules.yaml:6: schedules[1].daily:" in e for e in result.errors)
    assert app.scheduler.jobs[f"schedule:{GUILD}"] is job
    rewrite(config, """
        schedules:
          - {id: morning, channel: nowhere, daily: "09:00", text: "x"}
    """)
    result = await app.schedules.reload(actor_id=1)
    assert not result.ok and "schedules.yaml:3: schedules[0].channel: unknown channel key 'nowhere'" in result.errors[0]
    await walk(app, jst(2026, 12, 1, 10, 0))
    assert [t for _, _, t in local_posts(sender)] == ["morning post"]  # the old schedule kept running
    await app.close()


async def test_a_good_reload_applies_without_double_posting(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 1, 9, 5))
    assert len(local_posts(sender)) == 1
    rewrite(config, """
        schedules:
          - {id: morning, channel: lounge, daily: "09:00", text: "new wording"}
          - {id: evening, channel: lounge, daily: "21:00", text: "evening post"}
    """)
    result = await app.schedules.reload(actor_id=7)
    assert result.ok and result.added == ("evening",) and result.changed == ("morning",)
    await app.schedules.reload(actor_id=7)  # twice: still no double post
    await walk(app, jst(2026, 12, 2, 9, 30))
    assert [t for _, _, t in local_posts(sender)] == ["morning post", "evening post", "new wording"]
    audit = await app.audit.recent(GUILD)
    assert [a["action"] for a in audit][:2] == ["schedule.reload", "schedule.reload"]
    await app.close()


async def test_pause_resume_are_restart_safe_and_audited(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.schedules.pause("morning", actor_id=11)
    with pytest.raises(UserError) as err:
        await app.schedules.pause("morning", actor_id=11)
    assert err.value.key == "schedules.already_paused"
    await app.close()
    app = await open_app(config, tmp_path, clock, sender)  # still paused after a restart
    await walk(app, jst(2026, 12, 2, 8, 0))
    assert local_posts(sender) == []
    info = await app.schedules.resume("morning", actor_id=11)
    assert not info.paused and info.next_fire == jst(2026, 12, 2, 9, 0)
    await walk(app, jst(2026, 12, 2, 10, 0))
    assert len(local_posts(sender)) == 1
    actions = [a["action"] for a in await app.audit.recent(GUILD)]
    assert actions == ["schedule.resume", "schedule.pause"]
    with pytest.raises(UserError) as err:
        await app.schedules.pause("nope", actor_id=11)
    assert err.value.key == "schedules.unknown"
    await app.close()


async def test_a_restart_after_a_long_pause_does_not_report_the_paused_days_as_missed(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.schedules.pause("morning", actor_id=11)
    await app.close()
    clock.set(jst(2026, 12, 5, 12, 0))
    app = await open_app(config, tmp_path, clock, sender)
    await app.schedules.resume("morning", actor_id=11)
    await app.close()
    clock.set(jst(2026, 12, 5, 13, 0))
    app = await open_app(config, tmp_path, clock, sender)
    await app.outbox.drain()
    assert [m.content for _, _, m in sender.posts("mod-log") if "missed" in m.content] == []
    await app.close()


async def test_run_now_uses_its_own_key_and_never_collides(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.scheduler.advance_to(jst(2026, 12, 1, 9, 0))  # the regular 09:00 occurrence fires
    result = await app.schedules.run_now("morning", actor_id=5)  # and a manual run at the same instant
    assert result.first_line == "morning post" and result.channel == "lounge"
    with pytest.raises(UserError) as err:
        await app.schedules.run_now("morning", actor_id=5)
    assert err.value.key == "schedules.run_now_twice"
    await app.outbox.drain()
    assert len(local_posts(sender)) == 2
    keys = await app.db.fetchall("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'schedule:%' ORDER BY id")
    iso = jst(2026, 12, 1, 9, 0).isoformat()
    assert [k[0] for k in keys] == [f"schedule:morning:{iso}", f"schedule:morning:run-now:{iso}"]
    assert (await app.audit.recent(GUILD))[0]["action"] == "schedule.run-now"
    await app.close()


async def test_actions_receive_guild_occurrence_and_params_and_missing_ones_reach_the_mod_log(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    shutil.copytree(ROOT / "config" / "quizzes", tmp_path / "cfg" / "quizzes")  # the bank the params name
    config = make_config(tmp_path, """
        schedules:
          - {id: quiz, channel: quiz, daily: "20:00", text: "Quiz time!", action: quiz.start,
             params: {bank: tea, questions: 3}}
          - {id: stats, daily: "21:00", action: stats.digest}
    """)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    calls = []

    async def fake_quiz(guild_id, occurrence, params):
        calls.append((guild_id, occurrence, params))

    app.actions._handlers["quiz.start"] = fake_quiz
    app.actions._handlers.pop("stats.digest", None)
    await walk(app, jst(2026, 12, 1, 22, 0))
    assert calls == [(GUILD, jst(2026, 12, 1, 20, 0), QuizStartParams(bank="tea", questions=3))]  # validated
    assert [t for _, _, t in local_posts(sender)] == ["Quiz time!"]
    notes = [m.content for _, _, m in sender.posts("mod-log")]
    assert any("`stats.digest`" in n for n in notes)
    statuses = {r["schedule_id"]: r["status"] for r in await repo.entries(app.db, GUILD)}
    assert statuses == {"quiz": "posted", "stats": "failed"}
    await app.close()


async def test_a_channel_the_bot_cannot_write_to_is_reported_and_a_broken_mod_log_does_not_loop(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock, blocked={"lounge"})
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 1, 9, 30))
    notes = [m.content for _, _, m in sender.posts("mod-log")]
    assert len(notes) == 1 and "#lounge" in notes[0] and "Missing Permissions" in notes[0]
    sender.blocked.add("mod-log")
    await walk(app, jst(2026, 12, 2, 9, 30))
    failed = await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")
    assert failed == 3  # two posts to lounge and one report; the report of the report is never queued
    await app.close()


async def test_an_interrupted_claim_is_delivered_once_at_start(tmp_path):
    clock = FakeClock(jst(2026, 12, 1, 8, 0))
    config = make_config(tmp_path, DAILY_9)
    sender = FakeSender(clock)
    app = await open_app(config, tmp_path, clock, sender)
    await app.close()
    # a crash right after the claim: the ledger row is 'claimed' and nothing was queued
    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
    async with app.db.transaction() as tx:
        await repo.claim(tx, guild_id=GUILD, schedule_id="morning", kind="regular",
                         occurrence=jst(2026, 12, 1, 9, 0), status="claimed", now=clock.now())
    await app.close()
    clock.set(jst(2026, 12, 1, 9, 20))
    app = await open_app(config, tmp_path, clock, sender)
    await walk(app, jst(2026, 12, 1, 12, 0))
    assert [t for _, _, t in local_posts(sender)] == ["morning post"]
    await app.close()


def test_schedule_file_errors_name_file_line_and_field(tmp_path):
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, """
            pools:
              p: {items: ["{oops}"]}
            schedules:
              - id: a
                channel: lounge
                weekly: {days: [funday], at: "20:00"}
                text: hi
              - id: b
                channel: lounge
                cron: "0 9 * *"
                text: hi
              - id: c
                channel: lounge
                text: hi
        """)
    problems = "\n".join(info.value.problems)
    assert "schedules.yaml:3: pools.p.items[0].text: unknown placeholder {oops}" in problems
    assert "schedules.yaml:7: schedules[0].weekly.days[0]: 'funday' is not one of mon" in problems
    assert "schedules.yaml:11: schedules[1].cron: '0 9 * *' is not a cron rule" in problems
    assert "schedules.yaml:13: schedules[2]: give exactly one time rule" in problems
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, """
            schedules:
              - {id: a, channel: nowhere, daily: "09:00", text: hi}
              - {id: a, daily: "09:00", action: party.start}
              - {id: c, channel: lounge, daily: "09:00", pool: missing}
        """, name="cfg2")
    problems = "\n".join(info.value.problems)
    assert "schedules.yaml:3: schedules[0].channel: unknown channel key 'nowhere'" in problems
    assert "schedules.yaml:4: schedules[1].id: schedule id 'a' is used twice" in problems
    assert "schedules.yaml:4: schedules[1].action: unknown action 'party.start' (known: prompt.post" in problems
    assert "schedules.yaml:5: schedules[2].pool: unknown pool key 'missing'" in problems


def test_the_shipped_schedules_file_is_valid_and_uses_every_kind_of_rule():
    config = load_config(ROOT / "config")
    schedules = config.schedules.schedules
    assert {"cron", "daily", "weekly", "at"} <= {
        rule for s in schedules for rule in ("cron", "daily", "weekly", "at") if getattr(s, rule) is not None}
    assert any(s.action == "prompt.post" for s in schedules)
    assert any(s.pool and config.schedules.pools[s.pool].order == "shuffle" for s in schedules)
    assert any(s.start and s.end for s in schedules)


async def test_sync_states_returns_exactly_what_load_states_then_reads(tmp_path):
    config = load_config(ROOT / "config")
    clock = FakeClock(jst(2026, 12, 1, 9, 0, 0, 123456))
    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
    try:
        for step, ids in enumerate([["a", "b", "c"], ["a", "c", "d"], ["a", "b", "d"]]):  # new, gone, back
            if step == 1:
                await repo.set_paused(app.db, GUILD, "c", True, 7, clock.now())
            clock.set(clock.now() + timedelta(hours=1, microseconds=17))
            states = await repo.sync_states(app.db, GUILD, ids, clock.now())
            assert states == await repo.load_states(app.db, GUILD)
        assert {sid for sid, st in states.items() if st.active} == {"a", "b", "d"}
        assert states["b"].active_since == clock.now() and states["a"].active_since < clock.now()
        assert states["c"].paused and not states["c"].active
    finally:
        await app.close()
