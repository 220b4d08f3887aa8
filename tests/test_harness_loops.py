"""The harness settles the same on asyncio's loop and on uvloop (which the drops bench and `bot run`
use). It used to read `loop._ready`, which uvloop does not have: there it reported "idle" while the
bot still had work queued, so a step returned before the bot had finished handling it."""
from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
import uvloop

from bot.offline import Harness
from tests.helpers import CONFIG

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
ROOT = Path(__file__).resolve().parent.parent
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


# --- the harness reaches libraries through public API only ---------------------------------------------
OFFLINE = sorted((ROOT / "bot" / "offline").glob("*.py"))
PROTOCOL_KEYS = {"type", "component_type", "style", "context"}


def _raw_protocol_numbers(path: Path) -> list[str]:
    """`"type": 2`, `c.get("type") == 3`, `kind in (6, 7)`: protocol numbers written as bare ints."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def is_int(node) -> bool:
        return isinstance(node, ast.Constant) and type(node.value) is int

    def ints(node) -> bool:
        return is_int(node) or isinstance(node, (ast.Tuple, ast.Set, ast.List)) and any(map(is_int, node.elts))

    def names_a_protocol_field(node) -> bool:
        keyed = any(isinstance(n, ast.Constant) and n.value in PROTOCOL_KEYS for n in ast.walk(node))
        return keyed or ast.unparse(node).split(".")[-1] in {"type", "response_type", "kind"}

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value in PROTOCOL_KEYS and is_int(value):
                    found.append(f"{path.name}:{node.lineno}: {ast.unparse(key)}: {ast.unparse(value)}")
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(map(names_a_protocol_field, sides)) and any(map(ints, sides)):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.keyword) and node.arg in PROTOCOL_KEYS and is_int(node.value):
            found.append(f"{path.name}:{node.value.lineno}: {node.arg}={ast.unparse(node.value)}")
    return found


@pytest.mark.parametrize("path", OFFLINE, ids=lambda p: p.name)
def test_protocol_numbers_are_named_after_discord_enums(path):
    assert _raw_protocol_numbers(path) == []


def test_the_protocol_number_check_catches_bare_numbers(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text('a = {"type": 2}\nif c.get("type") in (3, 5): pass\nif kind == 9: pass\nf(context=1)\n')
    assert len(_raw_protocol_numbers(sample)) == 4


@pytest.mark.parametrize("name", ["_ready", "_execute", "cr_await", "gi_yieldfrom", "f_code"])
def test_the_harness_reads_no_private_loop_or_library_state(name):
    for path in OFFLINE:
        assert f".{name}" not in path.read_text(encoding="utf-8"), f"{path.name} reaches for .{name}"


@pytest.mark.sqlite_only("aiosqlite's statement queue (PostgreSQL's barrier: tests/test_pg_backend.py)")
def test_the_database_barrier_follows_everything_sent_before_it(tmp_path):
    """The harness waits for SQLite work by sending a statement down the same aiosqlite connection:
    that relies on the connection running its statements one at a time, in order (one thread per
    connection, a queue). If an aiosqlite upgrade ever changes that, this fails."""
    from bot.db import open_database

    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c"

    async def main():
        db = await open_database(tmp_path / "barrier.db")
        try:
            first = asyncio.get_running_loop().create_task(db.conn.execute_fetchall(slow))
            await asyncio.sleep(0)  # sent
            await db.conn.execute_fetchall("SELECT 1")
            return first.done() and list(first.result()[0])
        finally:
            await db.close()

    for loop in LOOPS.values():
        with asyncio.Runner(loop_factory=loop) as runner:
            assert runner.run(main()) == [300000]


async def test_tasks_started_unwatched_are_plain_and_the_rest_are_counted(harness):
    g = await harness()

    async def where_am_i():
        return type(asyncio.current_task().get_coro()).__name__

    counted = await asyncio.get_running_loop().create_task(where_am_i())
    with g.unwatched():
        plain = await asyncio.get_running_loop().create_task(where_am_i())
    again = await asyncio.get_running_loop().create_task(where_am_i())
    assert (counted, plain, again) == ("_Stepping", "coroutine", "_Stepping")
