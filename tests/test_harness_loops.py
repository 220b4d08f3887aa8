"""The harness settles the same on asyncio's loop and on uvloop (which the drops bench and `bot run`
use). It used to read `loop._ready`, which uvloop does not have: there it reported "idle" while the
bot still had work queued, so a step returned before the bot had finished handling it."""
from __future__ import annotations

import asyncio

import pytest
import uvloop

from bot.offline import Harness
from tests.helpers import CONFIG

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
HOPS = 3000  # turns of the loop a handler takes (a long batch that yields between items)


def run_on(loop: str, scenario, tmp_path):
    async def main():
        async with Harness.start(config=CONFIG, db_path=tmp_path / "k.db") as g:
            return await scenario(g)

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        return runner.run(main())


@pytest.mark.parametrize("loop", LOOPS)
def test_a_handler_that_yields_many_times_is_finished_when_the_step_returns(loop, tmp_path):
    async def scenario(g):
        seen: list[str] = []

        async def on_message(message):
            for _ in range(HOPS):
                await asyncio.sleep(0)
            seen.append(message.author.name)

        g.bot.add_listener(on_message)
        await g.say("lounge", "hello", user="alice")
        return seen

    assert run_on(loop, scenario, tmp_path) == ["alice"]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_chain_of_tasks_handing_work_on_is_finished_when_the_step_returns(loop, tmp_path):
    async def scenario(g):
        seen: list[int] = []

        async def relay(n: int) -> None:
            await asyncio.sleep(0)
            if n:
                asyncio.get_running_loop().create_task(relay(n - 1))  # fire and forget, like a dispatch
            else:
                seen.append(n)

        async def on_message(message):
            asyncio.get_running_loop().create_task(relay(HOPS))

        g.bot.add_listener(on_message)
        await g.say("lounge", "hello", user="alice")
        return seen

    assert run_on(loop, scenario, tmp_path) == [0]


@pytest.mark.parametrize("loop", LOOPS)
def test_work_in_a_worker_thread_is_finished_when_the_step_returns(loop, tmp_path):
    def crunch() -> int:
        return sum(i * i for i in range(300_000))

    async def scenario(g):
        seen: list[int] = []

        async def on_message(message):
            seen.append(await asyncio.to_thread(crunch))

        g.bot.add_listener(on_message)
        await g.say("lounge", "hello", user="alice")
        return seen

    assert run_on(loop, scenario, tmp_path) == [crunch()]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_member_journey_reads_the_same_on_both_loops(loop, tmp_path):
    """A slash command, a DB write behind a button and an outbox post, step by step."""

    async def scenario(g):
        r = await g.slash("/admin audit", user="alice")
        refused = r.ephemeral and r.content == g.app.t("core.not_moderator")
        await g.app.audit.record(g.world.guild_id, g.user_id("mod"), "tier.grant", target="bob", detail="helpful")
        r = await g.slash("/admin audit", user="mod", limit=5)
        logged = [m.content or m.embeds for m in g.channel("mod-log").messages]
        return refused, "tier.grant" in r.embeds[0]["description"], bool(logged)

    assert run_on(loop, scenario, tmp_path) == (True, True, True)
