"""Live sessions as Discord guild scheduled events (issue 20, item 1), through the offline harness.

Every request is validated against Discord's OpenAPI spec by the harness; members press Interested in
"Discord's UI" (`g.interested`: GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE through discord.py's own
parsers). A planned AMA is an event members can mark; they get one reminder DM (also across a
restart, also when they pressed while the bot was down); the event goes live when the AMA opens and is
completed when it closes; everyone interested and everyone who asked earns `event_attend`."""
from __future__ import annotations

from datetime import timedelta

import discord
import pytest

from bot.offline.world import ACTIVE, CANCELED, COMPLETED, EXTERNAL_EVENT, SCHEDULED, STAGE_EVENT
from tests.helpers import config_dir_with, config_with

TOPIC = "Blending winter teas"


def event_requests(g, method: str):
    return [r for r in g.requests if r.method == method and "/scheduled-events" in r.path]


def reminders(g, who):
    return [m for m in g.dms(who) if "starts" in m.content and TOPIC in m.content]


async def plan(g, starts: str = "2h", **options):
    reply = await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC, starts=starts, **options)
    assert reply.ephemeral and "planned" in reply.content, reply.content
    (event,) = g.scheduled_events
    return event


async def test_a_planned_ama_is_a_scheduled_event_members_can_mark_interested(harness):
    g = await harness()
    event = await plan(g, until="90m")  # a duration counts from the start
    assert event.name == f"AMA: {TOPIC}" and event.status == SCHEDULED
    assert event.start == g.clock.now() + timedelta(hours=2) and event.end == event.start + timedelta(minutes=90)
    assert event.entity_type == EXTERNAL_EVENT and str(g.channel("lounge").id) in event.location
    (create,) = event_requests(g, "POST")
    assert create.json["privacy_level"] == 2 and create.json["entity_metadata"]["location"] == event.location
    assert not g.channel("lounge").messages  # nothing posted before it opens
    assert await g.app.ama.current(g.app.guild_id) is None
    await g.interested(event, user="alice")
    await g.interested(event, user="bob")
    await g.interested(event, user="bob", add=False)  # bob takes it back
    live = await g.app.live_events.of_source(g.app.guild_id, "ama:1")
    assert await g.app.live_events.interested(live.id) == [g.user_id("alice")]


async def test_interested_members_get_one_reminder_before_it_starts_and_it_goes_live_when_it_opens(harness):
    g = await harness()
    event = await plan(g)
    await g.interested(event, user="alice")
    await g.interested(event, user="mod")
    await g.advance(minutes=89)
    assert not reminders(g, "alice")
    await g.advance(minutes=2)  # 30 minutes before the start (community default remind_before)
    assert len(reminders(g, "alice")) == 1 and len(reminders(g, "mod")) == 1 and not reminders(g, "bob")
    await g.advance(minutes=30)
    assert event.status == ACTIVE and await g.app.ama.current(g.app.guild_id) is not None
    assert any(TOPIC in m.content for m in g.channel("lounge").messages)  # the opening post
    thread = next(m for m in g.channel("lounge").messages if TOPIC in m.content).thread
    assert event.location.endswith(f"/{thread.id}")  # the event now points at the session's thread
    await g.advance(hours=3)
    assert len(reminders(g, "alice")) == 1  # exactly once


async def test_a_member_who_presses_interested_after_the_reminders_gets_one_at_once(harness):
    g = await harness()
    event = await plan(g)
    await g.advance(minutes=100)  # the reminders went out (to nobody)
    await g.interested(event, user="bob")
    assert len(reminders(g, "bob")) == 1
    await g.interested(event, user="bob", add=False)
    await g.interested(event, user="bob")
    assert len(reminders(g, "bob")) == 1


async def test_a_restart_does_not_remind_twice_and_counts_presses_made_while_the_bot_was_down(harness):
    g = await harness()
    event = await plan(g)
    await g.interested(event, user="alice")
    await g.advance(minutes=91)
    assert len(reminders(g, "alice")) == 1
    await g.restart()
    await g.advance(minutes=5)
    assert len(reminders(g, "alice")) == 1
    await g.interested(event, user="bob")  # after a restart the event is known from READY: the press counts
    assert g.user_id("bob") in await g.app.live_events.interested(1)

    g2 = await harness()
    event = await plan(g2)
    g2.disconnect()  # bob presses Interested while the gateway is down, and the session is lost
    await g2.interested(event, user="bob")
    await g2.resume(replay=False)
    assert await g2.app.live_events.interested(1) == []
    await g2.advance(minutes=91)
    assert len(reminders(g2, "bob")) == 1  # Discord's own list was read before the reminders went out
    assert any(r.path.endswith("/users") for r in event_requests(g2, "GET"))


async def test_closing_the_ama_completes_the_event_and_interested_members_and_askers_attend(harness):
    g = await harness()
    event = await plan(g, starts="30m")
    await g.interested(event, user="alice")
    await g.advance(minutes=31)
    await g.slash("/ama ask", user="bob", question="Which blend do you drink in winter?")
    await g.slash("/ama close", user="mod")
    assert event.status == COMPLETED and event.history == [SCHEDULED, ACTIVE]
    points = g.app.config.participation.points_for("event_attend")
    assert points > 0
    for who in ("alice", "bob"):
        assert await g.app.participation.points(g.app.guild_id, g.user_id(who)) >= points, who
    assert await g.app.participation.points(g.app.guild_id, g.user_id("carol")) == 0  # the guest neither
    report = await g.app.stats.report(g.app.guild_id, "week")  # attendance is participation in /stats too
    top = {c.user_id: c for c in report.top}
    assert g.user_id("alice") in top and top[g.user_id("alice")].participations >= 1
    assert report.active >= 2


async def test_an_ama_opened_now_is_an_event_that_is_live_at_once(harness):
    g = await harness()
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    (event,) = g.scheduled_events
    assert event.status == ACTIVE and event.start > g.clock.now() - timedelta(minutes=1)
    await g.slash("/ama close", user="mod")
    assert event.status == COMPLETED


async def test_events_can_be_switched_off(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"ama": {"event": {"enabled": False}}}}))
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    await g.slash("/ama close", user="mod")
    assert not g.scheduled_events and not event_requests(g, "POST")


async def test_an_event_on_a_stage_channel_is_linked_to_it(harness, tmp_path):
    config = config_with(tmp_path, {"community.yaml": {
        "channels": {"tea-stage": {"kind": "public", "type": "stage"}}, "ama": {"event": {"location": "tea-stage"}}}})
    g = await harness(config=config)
    event = await plan(g)
    assert event.entity_type == STAGE_EVENT and event.channel_id == g.channel("tea-stage").id
    await g.advance(hours=2, minutes=1)
    assert event.status == ACTIVE and event.channel_id == g.channel("tea-stage").id  # it stays on the stage


async def test_without_the_create_events_permission_moderators_hear_and_the_ama_still_runs(harness):
    g = await harness()
    g.world.bot_role.permissions &= ~discord.Permissions(create_events=True, manage_events=True).value
    g.world.version += 1
    await g.slash("/ama open", user="mod", guest="carol", topic=TOPIC)
    assert not g.scheduled_events
    assert any("Create Events" in m.content for m in g.channel("mod-log").messages)
    assert await g.app.ama.current(g.app.guild_id) is not None


# --- schedules with `event:` ---------------------------------------------------------------------------------
TASTING = {"id": "tasting-night", "channel": "lounge", "weekly": {"days": ["thu"], "at": "20:00"},
           "text": "🍵 Tasting night starts now!",
           "event": {"name": "Tasting night", "description": "Bring a cup.", "duration": "90m",
                     "remind_before": "1h", "create_before": "3d"}}


async def test_a_schedule_with_an_event_makes_one_event_per_occurrence_with_reminders(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": {"schedules": [TASTING]}})
    g = await harness(config=config)
    # the harness clock starts on a Tuesday: Thursday 20:00 is within create_before (3 days)
    (event,) = [e for e in g.scheduled_events if e.name == "Tasting night"]
    assert event.status == SCHEDULED and event.end - event.start == timedelta(minutes=90)
    await g.interested(event, user="bob")
    await g.advance_to(event.start - timedelta(minutes=59))
    assert [m for m in g.dms("bob") if "Tasting night" in m.content]
    await g.advance_to(event.start + timedelta(minutes=1))
    assert event.status == ACTIVE
    await g.advance(hours=2)
    assert event.status == COMPLETED
    assert await g.app.participation.points(g.app.guild_id, g.user_id("bob")) >= \
        g.app.config.participation.points_for("event_attend")
    # the next Thursday's event appears once it is within three days
    await g.advance(days=5)
    assert len([e for e in g.scheduled_events if e.name == "Tasting night"]) == 2
    assert len([m for m in g.dms("bob") if "Tasting night" in m.content]) == 1


@pytest.mark.parametrize("patch, problem", [
    ({"name": "x" * 101}, "at most 100"),
    ({"description": "x" * 1001}, "at most 1000"),
    ({"duration": "2m"}, "between 5 minutes and 7 days"),
    ({"remind_before": "8d"}, "between 1 minute and 7 days"),
    ({"location": "nowhere"}, "unknown channel key 'nowhere'"),
    ({"location": "lounge", "where": "Tokyo"}, "not both"),
    ({"where": "x" * 101}, "at most 100"),
])
def test_check_refuses_event_settings_discord_would_not_take(tmp_path, patch, problem):
    from bot.config import load_config
    from bot.errors import ConfigError

    entry = dict(TASTING, event=dict(TASTING["event"], **patch))
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir_with(tmp_path, {"schedules.yaml": {"schedules": [entry]}}))
    assert any(problem in p and "schedules.yaml" in p for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("patch, problem", [
    ({"location": "nowhere"}, "unknown channel key 'nowhere'"),
    ({"remind_before": "8d"}, "between 1 minute and 7 days"),
    ({"length": "2m"}, "between 5 minutes and 7 days"),
    ({"enabled": "sometimes"}, "enabled"),
])
def test_check_refuses_ama_event_settings_that_cannot_work(tmp_path, patch, problem):
    from bot.config import load_config
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(config_dir_with(tmp_path, {"community.yaml": {"ama": {"event": patch}}}))
    assert any(problem in p and "community.yaml" in p and "ama.event" in p for p in caught.value.problems), \
        caught.value.problems


async def test_the_fake_discord_validates_scheduled_event_bodies_against_the_spec(harness):
    from bot.offline.spec import SpecViolation

    g = await harness()
    good = {"name": "Tea", "privacy_level": 2, "entity_type": 3, "entity_metadata": {"location": "here"},
            "scheduled_start_time": (g.clock.now() + timedelta(hours=1)).isoformat(),
            "scheduled_end_time": (g.clock.now() + timedelta(hours=2)).isoformat()}
    created = await g.raw_request("POST", "/guilds/{guild_id}/scheduled-events", guild_id=g.world.guild_id, json=good)
    assert created["status"] == SCHEDULED
    for bad, problem in ((good | {"name": "x" * 101}, "name"),
                         (good | {"entity_metadata": {"location": "x" * 101}}, "location"),
                         (good | {"privacy_level": 1}, "privacy_level")):
        with pytest.raises(SpecViolation, match=problem):
            await g.raw_request("POST", "/guilds/{guild_id}/scheduled-events", guild_id=g.world.guild_id, json=bad)
    with pytest.raises(discord.HTTPException, match="past"):
        await g.raw_request("POST", "/guilds/{guild_id}/scheduled-events", guild_id=g.world.guild_id,
                            json=good | {"scheduled_start_time": (g.clock.now() - timedelta(hours=1)).isoformat()})
    with pytest.raises(discord.HTTPException, match="status"):  # completed straight from scheduled: refused
        await g.raw_request("PATCH", "/guilds/{guild_id}/scheduled-events/{event_id}", guild_id=g.world.guild_id,
                            event_id=created["id"], json={"status": COMPLETED})


def test_the_bot_asks_discord_for_scheduled_event_and_poll_events():
    from bot.client import intents

    wanted = intents()
    assert wanted.guild_scheduled_events and wanted.guild_polls and not wanted.message_content


async def test_a_planned_ama_can_be_canceled_and_its_event_says_so(harness):
    from bot.offline.world import CANCELED

    g = await harness()
    event = await plan(g)
    await g.interested(event, user="alice")
    reply = await g.slash("/ama cancel", user="mod")
    assert reply.content == g.app.t("ama.canceled", topic=TOPIC)
    assert event.status == CANCELED
    await g.advance(hours=3)
    assert not reminders(g, "alice") and await g.app.ama.current(g.app.guild_id) is None
    assert not any(TOPIC in m.content for m in g.channel("lounge").messages)
    reply = await g.slash("/ama cancel", user="mod")
    assert reply.content == g.app.t("ama.no_planned")


async def test_the_reminder_dm_links_to_the_event_instead_of_naming_a_channel_the_dm_cannot_open(harness):
    """A DM cannot resolve `#lounge`: the reminder carries the event's own link (it shows where)."""
    g = await harness()
    event = await plan(g)
    await g.interested(event, user="alice")
    await g.advance(minutes=91)
    (dm,) = reminders(g, "alice")
    assert f"https://discord.com/events/{g.world.guild_id}/{event.id}" in dm.content, dm.content
    assert "#lounge" not in dm.content


async def test_a_reminder_keeps_a_schedules_own_where_text_beside_the_link(harness, tmp_path):
    tasting = {**TASTING, "event": {**TASTING["event"], "where": "Shibuya tea shop"}}
    g = await harness(config=config_with(tmp_path, {"schedules.yaml": {"schedules": [tasting]}}))
    (event,) = [e for e in g.scheduled_events if e.name == "Tasting night"]
    await g.interested(event, user="bob")
    await g.advance_to(event.start - timedelta(minutes=59))
    (dm,) = [m for m in g.dms("bob") if "Tasting night" in m.content]
    assert "Shibuya tea shop" in dm.content and f"/events/{g.world.guild_id}/{event.id}" in dm.content


@pytest.mark.parametrize("how", ["a moderator closes it", "its timer closes it after a restart"])
async def test_a_planned_ama_that_waited_behind_an_open_one_opens_when_that_one_closes(harness, how):
    g = await harness()
    event = await plan(g)  # starts in 2 hours
    await g.slash("/ama open", user="mod", guest="carol", topic="Morning brews", until="3h")
    await g.advance(hours=2, minutes=1)  # its start came while "Morning brews" is still open
    assert (await g.app.ama.current(g.app.guild_id)).topic == "Morning brews" and event.status == SCHEDULED
    assert any(TOPIC in m.content for m in g.channel("mod-log").messages)  # moderators heard it waits
    if how == "a moderator closes it":
        await g.slash("/ama close", user="mod")
    else:
        await g.restart()
        await g.advance(hours=1)
    current = await g.app.ama.current(g.app.guild_id)
    assert current is not None and current.topic == TOPIC, current
    assert event.status == ACTIVE
    assert any(TOPIC in m.content and m.components for m in g.channel("lounge").messages)  # its post, Ask button
    assert any(TOPIC in m.content and "opens now" in m.content for m in g.channel("mod-log").messages)


async def test_a_planned_ama_whose_end_passed_while_it_waited_is_canceled_not_opened(harness):
    g = await harness()
    event = await plan(g, until="90m")  # 2h from now until 3h30m from now
    await g.slash("/ama open", user="mod", guest="carol", topic="Morning brews", until="5h")
    await g.advance(hours=5, minutes=1)
    assert await g.app.ama.current(g.app.guild_id) is None
    assert event.status == CANCELED
    assert any(TOPIC in m.content and "never opened" in m.content for m in g.channel("mod-log").messages)
