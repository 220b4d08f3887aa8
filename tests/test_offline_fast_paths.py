"""The fake Discord's cheap paths (bench/bench_clicks.py) answer exactly as the general ones."""
from __future__ import annotations

import re

import pytest
from discord.http import Route

from bot.offline.http import ROUTES, _template_regex, path_params

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
