"""Voice and stage channels from community.yaml (`type: voice | stage`): /setup makes them with the
access their `kind` gives, the harness seeds them, and `check` refuses an event location that is not
one (issue 20 follow-up: a live event's venue no longer has to exist before /setup)."""
from __future__ import annotations

import discord
import pytest

from bot.errors import ConfigError
from bot.offline.world import STAGE, STAGE_EVENT, TEXT, VOICE, perms
from tests.helpers import config_with

TYPES = {"voice": VOICE, "stage": STAGE}


def venue_config(tmp_path, type_: str, kind: str = "public", **more):
    spec = {"kind": kind, "type": type_, **({"tier": "leaf"} if kind == "exclusive" else {})}
    return config_with(tmp_path, {"community.yaml": {"channels": {"venue": spec}, **more}})


async def delete(g, key: str) -> None:
    channel = g.channel(key)
    channel.deleted = True
    g.world.version += 1
    g.emit_later("CHANNEL_DELETE", channel.payload())
    await g.settle()


@pytest.mark.parametrize("kind", ["public", "readonly", "exclusive", "mod"])
@pytest.mark.parametrize("type_", ["voice", "stage"])
async def test_setup_creates_a_missing_voice_or_stage_channel_with_its_access(harness, tmp_path, type_, kind):
    g = await harness(config=venue_config(tmp_path, type_, kind))
    assert g.channel("venue").type == TYPES[type_]  # the harness seeds it as /setup would make it
    await delete(g, "venue")
    r = await g.slash("/setup", user="mod")
    assert "#venue" in r.content and "Created" in r.content, r.content
    [new] = [c for c in g.world.guild_channels() if c.name == "venue" and not c.deleted]
    assert new.type == TYPES[type_]
    everyone = new.overwrites[g.world.guild_id]
    connect = perms("connect")
    if kind in ("public", "readonly"):
        assert everyone[1] & connect and not everyone[2] & connect  # anyone may come and listen
    else:
        assert everyone[2] & connect  # hidden from everyone but its tier / the moderators
    mod = new.overwrites[g.world.role("moderator").id]
    assert mod[1] & perms("connect", "speak")
    member = new.overwrites.get(g.world.role("member").id)
    member_speaks = bool(member and member[1] & perms("speak"))
    assert member_speaks == (kind == "public" and type_ == "voice")  # a stage's audience is invited up
    r = await g.slash("/setup", user="mod")
    assert "Updated: nothing" in r.content, r.content  # a second run changes nothing (no topic loop)


async def test_setup_says_when_a_voice_key_is_a_text_channel(harness, tmp_path):
    g = await harness(config=venue_config(tmp_path, "voice"))
    await delete(g, "venue")
    g.emit_later("CHANNEL_CREATE", g.world.add_channel("venue", type=TEXT).payload())
    await g.settle()
    r = await g.slash("/setup", user="mod")
    assert "#venue is not a voice channel" in r.content, r.content


async def test_an_ama_event_on_a_configured_stage_uses_it_without_any_hand_work(harness, tmp_path):
    g = await harness(config=venue_config(tmp_path, "stage", ama={"event": {"location": "venue"}}))
    await g.slash("/ama open", user="mod", guest="carol", topic="Winter teas", starts="2h")
    (event,) = g.scheduled_events
    assert event.entity_type == STAGE_EVENT and event.channel_id == g.channel("venue").id


def test_forum_true_still_makes_a_forum_and_type_forum_is_the_same(tmp_path):
    old = config_with(tmp_path / "a", {"community.yaml": {"channels": {"lounge": {"forum": True}}}})
    new = config_with(tmp_path / "b", {"community.yaml": {"channels": {"lounge": {"type": "forum"}}}})
    for config in (old, new):
        spec = config.community.channels["lounge"]
        assert spec.forum and spec.type == "forum"
    assert not config_with(tmp_path / "c").community.channels["lounge"].forum


@pytest.mark.parametrize("patch, expected", [
    ({"channels": {"lounge": {"forum": True, "type": "voice"}}}, "`forum: true` is `type: forum`"),
    ({"channels": {"venue": {"type": "voice", "topic": "x"}}}, "`topic:` is for text and forum channels"),
    ({"ama": {"event": {"location": "lounge"}}},
     "ama.event.location: channel 'lounge' must be a voice or stage channel (type: voice | stage)"),
])
def test_check_refuses(tmp_path, patch, expected):
    with pytest.raises(ConfigError) as error:
        config_with(tmp_path, {"community.yaml": patch})
    assert expected in str(error.value), str(error.value)


def test_check_refuses_a_schedule_event_location_that_is_a_text_channel(tmp_path):
    schedule = {"id": "tasting", "channel": "lounge", "weekly": {"days": ["thu"], "at": "20:00"}, "text": "Tea!",
                "event": {"name": "Tasting", "location": "lounge"}}
    with pytest.raises(ConfigError) as error:
        config_with(tmp_path, {"schedules.yaml": {"schedules": [schedule]}})
    assert "event.location: channel 'lounge' must be a voice or stage channel" in str(error.value)
    ok = config_with(tmp_path / "ok", {"schedules.yaml": {"schedules": [{**schedule, "event": {
        "name": "Tasting", "location": "venue"}}]}, "community.yaml": {"channels": {"venue": {"type": "stage"}}}})
    assert ok.schedules.schedules[-1].event.location == "venue"
