"""The fake Discord's cheap paths (bench/bench_clicks.py) answer exactly as the general ones."""
from __future__ import annotations

import re

from datetime import timedelta

import discord
import pytest
from discord.enums import InteractionType
from discord.http import Route

from bot.clock import FakeClock

from bot.offline.http import ROUTES, _template_regex, path_params
from bot.offline.world import World

TEMPLATES = sorted({path for (_m, path) in ROUTES})


def _slow(template: str, url: str) -> dict[str, str]:
    m = _template_regex(template).match(url[len(Route.BASE):].split("?", 1)[0])
    return m.groupdict() if m else {}


@pytest.mark.parametrize("shape", TEMPLATES)
def test_path_params_by_segments_match_the_regex(shape: str) -> None:
    # the route table holds shapes ("{}"); name each parameter p0, p1... and fill in values
    names = iter(range(100))
    template = re.sub(r"\{\}", lambda _m: "{p%d}" % next(names), shape)
    values = {f"p{i}": v for i, v in enumerate(["123", "tok-en_9", "@original", "456", "789"])}
    url = Route.BASE + template.format(**{k: values[k] for k in re.findall(r"\{(\w+)\}", template)}) + "?wait=1"
    got = path_params(template, url)
    assert got == _slow(template, url)
    assert list(got) == re.findall(r"\{(\w+)\}", template)


def test_path_params_unquote_and_odd_shapes() -> None:
    assert path_params("/a/{x}/b", Route.BASE + "/a/%F0%9F%91%8D/b") == {"x": "\N{THUMBS UP SIGN}"}
    # a segment mixing text and a parameter takes the regex
    assert path_params("/a/x{y}", Route.BASE + "/a/x12") == {"y": "12"}


async def test_an_ephemeral_reply_without_at_pings_nobody_and_one_with_a_mention_pings(harness) -> None:
    g = await harness()
    world = g.world
    uid = g.user_id(next(iter(world.names)))
    channel = next(iter(world.channels))
    quiet = world.add_message(channel, world.bot_user_id, content="it's yours", flags=64)
    world.resolve_mentions(quiet, may_mention_everyone=True)
    assert (quiet.mentions, quiet.mention_roles, quiet.mention_everyone) == ([], [], False)
    assert "thread" not in quiet.payload()
    loud = world.add_message(channel, world.bot_user_id, content=f"hi <@{uid}> @everyone")
    world.resolve_mentions(loud, may_mention_everyone=True)
    assert loud.mentions == [uid] and loud.mention_everyone



@pytest.mark.parametrize("query, answered", [({"with_response": "1"}, True), ({"with_response": "true"}, True),
                                            ({}, False), ({"with_response": "false"}, False)])
async def test_an_interaction_callback_returns_its_message_only_when_asked(harness, query, answered) -> None:
    # Discord answers 204 No Content unless the callback asks `?with_response=true`; the reply is made either way
    g = await harness()
    user = g.user_id(next(iter(g.world.names)))
    channel = g.world.channels[next(iter(g.world.channels))]
    _payload, r = g._interaction(InteractionType.application_command, user, channel, {"name": "x"}, name="/x")
    route = Route("POST", "/interactions/{webhook_id}/{webhook_token}/callback", webhook_id=r.id,
                  webhook_token=r.token)
    got = await g.adapter.request(route, None, payload={"type": 4, "data": {"content": "done", "flags": 64}},
                                  params=query)
    assert [m.content for m in r.messages] == ["done"]
    if answered:
        assert got["resource"]["message"]["content"] == "done"
        assert got["interaction"]["response_message_id"] == str(r.messages[0].id)
    else:
        assert got is None


def test_new_ids_at_one_instant_keep_rising_and_follow_the_clock() -> None:
    clock = FakeClock()
    world = World(clock)
    ids = [world.new_id() for _ in range(5)]
    assert ids == sorted(set(ids))
    clock.advance(timedelta(seconds=10))
    later = world.new_id()
    assert later == discord.utils.time_snowflake(clock.now()) > ids[-1]
