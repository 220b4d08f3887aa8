"""The first-come claim path (`DropsService.press`, the step a burst takes 200,000 times) answers every
case it answered before it was trimmed for bench/bench_clicks.py: the member's rank is looked up, then
the run is checked again, so a run closed (or a member gone) while the lookup waited is refused for
that reason, and no guild at all means the public's window."""
from __future__ import annotations

import asyncio

import pytest

from bot.clock import FakeClock
from tests.test_drops_service import GUILD, MEMBER, T0, VISITOR, FakeGuild, make_config, open_app, refused


class WaitingGuild(FakeGuild):
    """A guild whose role lookup waits until the test lets it go (as a lookup that must ask Discord)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.go = asyncio.Event()

    async def member_role_keys(self, guild_id, user_id):
        self.asked.set()
        await self.go.wait()
        return await super().member_role_keys(guild_id, user_id)


@pytest.fixture
async def app(tmp_path):
    app = await open_app(tmp_path, make_config(tmp_path), FakeClock(T0))
    yield app
    await app.close()


async def test_a_run_closed_while_the_members_roles_are_looked_up_refuses_as_closed(app, monkeypatch):
    run = await app.drops.open(GUILD, "quick", by=99)
    queued = []
    real_submit = app.drops.writer.submit
    monkeypatch.setattr(app.drops.writer, "submit", lambda *a: queued.append(a) or real_submit(*a))
    guild = app.guild = WaitingGuild()
    claim = asyncio.ensure_future(app.drops.press(GUILD, run.run_id, MEMBER))
    await guild.asked.wait()
    await app.drops.close(GUILD, "quick", by=99)
    guild.go.set()
    assert (await refused(claim)).key == "drops.closed"
    assert queued == []  # refused on the way in, as before the lookup: the writer never saw it
    assert (await app.drops.status(GUILD, "quick")).counts["claimed"] == 0


async def test_a_member_who_left_during_the_lookup_is_refused_like_a_visitor(app):
    run = await app.drops.open(GUILD, "quick", by=99)
    guild = app.guild = WaitingGuild()
    claim = asyncio.ensure_future(app.drops.press(GUILD, run.run_id, MEMBER))
    await guild.asked.wait()
    del guild.roles[MEMBER]
    guild.go.set()
    assert (await refused(claim)).key == "drops.members_only"


async def test_without_a_guild_everyone_is_in_the_publics_window(app):
    run = await app.drops.open(GUILD, "quick", by=99)  # members only: no public window
    app.guild = None
    assert (await refused(app.drops.press(GUILD, run.run_id, MEMBER))).key == "drops.members_only"
    app.guild = FakeGuild()
    assert (await app.drops.press(GUILD, run.run_id, MEMBER)).status == "granted"
    assert (await refused(app.drops.press(GUILD, run.run_id, VISITOR))).key == "drops.members_only"
