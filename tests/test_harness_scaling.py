"""The harness scales: a click's cost does not grow with the guild, and a body already checked against
Discord's spec is not walked through jsonschema again (nor let through when it was bad)."""
from __future__ import annotations

import pytest

from bot.offline import SpecViolation
from bot.offline.world import FakeMember


async def test_a_click_does_not_rebuild_every_member_for_its_permission_checks(harness, monkeypatch):
    g = await harness(users={"mod": ["moderator", "member"]} | {f"fan{i}": ["member"] for i in range(300)})
    message = await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("lounge").id,
                                  json={"content": "pick", "components": [{"type": 1, "components": [
                                      {"type": 2, "style": 1, "label": "Go", "custom_id": "bench:go"}]}]})
    built = []
    real = FakeMember.payload

    def counted(self, *a, **k):
        built.append(self.user.id)
        return real(self, *a, **k)

    monkeypatch.setattr(FakeMember, "payload", counted)
    with g.allow_errors():  # nobody handles bench:go: the click itself is what is measured
        await g.click("Go", on=g.message(int(message["id"])), user="fan7")
    assert 0 < len(built) < 20, f"{len(built)} member payloads built for one click in a 301-member guild"
    # and the answers stay discord.py's own
    assert g.can("fan7", "view_channel", "lounge") and not g.guild_permissions("fan7").manage_guild
    assert g.guild_permissions("mod").manage_messages == g.permissions("mod", "lounge").manage_messages


async def test_a_bad_body_sent_twice_is_rejected_twice_and_a_good_one_checked_once(harness, monkeypatch):
    g = await harness()
    if not g.spec.available:
        pytest.skip(f"Discord's OpenAPI spec is absent ({g.spec.source}): cannot check request bodies")
    lounge = g.channel("lounge").id
    for _ in range(2):
        with pytest.raises(SpecViolation, match="is too long"):
            await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=lounge,
                                json={"embeds": [{"title": "x" * 257}]})
    walked = []
    real = type(g.spec)._problems
    monkeypatch.setattr(type(g.spec), "_problems", lambda self, *a: walked.append(a) or real(self, *a))
    words = f"same words, checked once ({id(g)})"  # a body this process has not checked before (the
    for _ in range(3):                              # spec's memo outlives a test; the suite runs this twice)
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=lounge, json={"content": words})
    assert len(walked) == 1
    assert [m.content for m in g.channel("lounge").messages][-3:] == [words] * 3
