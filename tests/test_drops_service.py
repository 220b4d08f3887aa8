"""Drops on a real SQLite file with the fake clock: tier windows, atomic claims, waitlist, raffles,
campaigns, codes once each, export."""
from __future__ import annotations

import asyncio
import csv
import io
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import drops as repo
from bot.errors import UserError
from bot.services.drops import pick_winners
from bot.services.messages import OutMessage, Sent

ROOT = Path(__file__).resolve().parent.parent
GUILD = 1
BLOSSOM, LEAF, MEMBER, VISITOR = 10, 11, 12, 13
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Tokyo


class FakeGuild:
    def __init__(self) -> None:
        self.roles: dict[int, set[str]] = {
            BLOSSOM: {"member", "blossom"}, LEAF: {"member", "leaf"}, MEMBER: {"member"}, VISITOR: {"visitor"}}

    async def member_role_keys(self, guild_id, user_id):
        return self.roles.get(user_id)

    async def add_role(self, *a, **k):
        return True

    async def remove_role(self, *a, **k):
        return True

    async def members_with_role(self, guild_id, role_key):
        return [u for u, r in self.roles.items() if role_key in r]

    async def display_names(self, guild_id, user_ids):
        return {u: f"member {u}" for u in user_ids if u in self.roles}


class RecordingSender:
    def __init__(self, closed: set[int] = frozenset()) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.closed = set(closed)

    async def send(self, guild_id, target, message):
        from bot.services.outbox import Undeliverable

        if target.kind == "dm" and int(target.value) in self.closed:
            raise Undeliverable("forbidden: Cannot send messages to this user")
        self.sent.append((target.kind, target.value, message.content))
        return Sent(len(self.sent), 1)


DROPS = """
drops:
  - id: tin
    item: Tea tin
    stock: 3
    opens: "2026-12-02 20:00"
    early: {blossom: 24h, leaf: 6h}
    public: 2h
    waitlist: true
    codes: codes/tin.csv
  - id: quick
    item: Quick drop
    stock: 5
    limit: 2
  - id: lottery
    item: Workshop seat
    stock: 2
    mode: raffle
    early: {blossom: 1h}
    closes_after: 48h
    codes: codes/tin.csv
  - id: champions
    item: Postcards
    stock: 2
    mode: raffle
    entries: {from: participation, action: prompt_answer, since: week}
"""


def make_config(tmp_path: Path, drops: str = DROPS, codes: int = 10):
    target = tmp_path / "config"
    if not target.exists():
        shutil.copytree(ROOT / "config", target)
    (target / "drops.yaml").write_text(drops, encoding="utf-8")
    (target / "codes" / "tin.csv").write_text("code\n" + "".join(f"TIN-{i:04d}\n" for i in range(codes)),
                                              encoding="utf-8")
    return load_config(target)


async def open_app(tmp_path: Path, config, clock: FakeClock, sender=None) -> App:
    app = await App.open(config, db_path=tmp_path / "k.db", clock=clock, real_scheduler=False)
    app.guild = FakeGuild()
    app.guild_id = GUILD
    app.outbox.sender = sender or RecordingSender()
    await app.start()
    return app


@pytest.fixture
async def world(tmp_path):
    clock = FakeClock(T0)
    app = await open_app(tmp_path, make_config(tmp_path), clock)
    yield app
    await app.close()


async def refused(coro) -> UserError:
    with pytest.raises(UserError) as info:
        await coro
    return info.value


async def test_tier_windows_open_in_order_and_refusals_name_the_time(world):
    app = world
    clock = app.clock
    # the drop's own `opens:` is armed: the blossom window (24h early) opens the run
    await app.scheduler.advance_to(datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc))
    run = await app.drops.latest_run(GUILD, "tin")
    assert run is not None and run["opens_at"] == datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
    assert (await app.drops.press(GUILD, run["id"], BLOSSOM)).status == "granted"
    err = await refused(app.drops.press(GUILD, run["id"], LEAF))
    assert err.key == "drops.not_open_yet"
    assert err.params["when"] == "2026-12-02 14:00 JST"  # 6h before 20:00, in the community's time zone
    assert err.params["relative"] == f"<t:{int(datetime(2026, 12, 2, 5, tzinfo=timezone.utc).timestamp())}:R>"
    err = await refused(app.drops.press(GUILD, run["id"], VISITOR))
    assert (err.key, err.params["when"]) == ("drops.not_open_yet", "2026-12-02 22:00 JST")

    clock.set(datetime(2026, 12, 2, 5, 0, tzinfo=timezone.utc))
    assert (await app.drops.press(GUILD, run["id"], LEAF)).status == "granted"
    err = await refused(app.drops.press(GUILD, run["id"], MEMBER))
    assert err.params["when"] == "2026-12-02 20:00 JST"
    clock.set(datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc))
    assert (await app.drops.press(GUILD, run["id"], MEMBER)).status == "granted"
    # sold out now (stock 3): the visitor's window is not open yet, and that is what they hear first
    assert (await refused(app.drops.press(GUILD, run["id"], VISITOR))).key == "drops.not_open_yet"


async def test_members_only_drop_refuses_visitors_with_the_members_time(world):
    app = world
    result = await app.drops.open(GUILD, "quick", by=99)
    err = await refused(app.drops.press(GUILD, result.run_id, VISITOR))
    assert err.key == "drops.members_only"
    assert err.params["when"] == "2026-12-01 09:00 JST"


async def test_concurrent_claims_never_oversell_or_exceed_the_limit(world):
    app = world
    run = await app.drops.open(GUILD, "quick", by=99)  # stock 5, limit 2
    users = list(range(100, 140))
    for u in users:
        app.guild.roles[u] = {"member"}
    attempts = [u for u in users for _ in range(3)]  # everyone clicks three times at once
    results = await asyncio.gather(*(app.drops.press(GUILD, run.run_id, u) for u in attempts),
                                   return_exceptions=True)
    granted = [u for u, r in zip(attempts, results) if not isinstance(r, Exception)]
    assert len(granted) == 5
    assert max(granted.count(u) for u in set(granted)) <= 2
    check = await repo.stock_check(app.db, run.run_id)
    assert check["remaining"] + check["held"] == check["stock"] == 5
    assert check["held"] == 5 and check["over_limit"] == 0
    reasons = {r.key for r in results if isinstance(r, UserError)}
    assert reasons <= {"drops.sold_out", "drops.already_claimed"}


async def test_sold_out_goes_to_the_waitlist_and_a_release_promotes_the_next(world):
    app = world
    sender = app.outbox.sender
    run = await app.drops.open(GUILD, "tin", by=99)  # opened now: blossom now, members in 24h
    app.clock.advance(hours=26)
    for u in (BLOSSOM, LEAF, MEMBER):
        assert (await app.drops.press(GUILD, run.run_id, u)).status == "granted"
    for u in (200, 201):
        app.guild.roles[u] = {"member"}
        assert (await app.drops.press(GUILD, run.run_id, u)).status == "waitlisted"
    assert (await app.drops.status(GUILD, "tin")).counts["waiting"] == 2

    outcome = await app.drops.release(GUILD, "tin", LEAF, by=LEAF)
    assert outcome.promoted_user == 200
    await app.drops.stop()  # let delivery finish
    await app.outbox.drain()
    dms = [(v, c) for k, v, c in sender.sent if k == "dm"]
    assert any(v == "200" and "waitlist" in c and "TIN-" in c for v, c in dms)
    check = await repo.stock_check(app.db, run.run_id)
    assert (check["remaining"], check["held"]) == (0, 3)

    # a moderator releases the next one: 201 is promoted; then nobody waits and stock comes back
    assert (await app.drops.release(GUILD, "tin", MEMBER, by=99)).promoted_user == 201
    assert (await app.drops.release(GUILD, "tin", BLOSSOM, by=BLOSSOM)).promoted_user is None
    check = await repo.stock_check(app.db, run.run_id)
    assert (check["remaining"], check["held"]) == (1, 2)
    assert (await refused(app.drops.release(GUILD, "tin", BLOSSOM, by=BLOSSOM))).key == "drops.nothing_to_release"


async def test_codes_are_distinct_and_each_sent_once_across_a_restart(tmp_path):
    clock = FakeClock(T0)
    config = make_config(tmp_path)
    sender = RecordingSender()
    app = await open_app(tmp_path, config, clock, sender)
    run = await app.drops.open(GUILD, "tin", by=99)
    clock.advance(hours=30)
    for u in (BLOSSOM, LEAF, MEMBER):
        await app.drops.press(GUILD, run.run_id, u)
    await app.drops.stop()
    app.outbox.settings.batch = 1
    rows = await app.db.fetchall("SELECT id FROM outbox WHERE dedupe_key LIKE 'drop:%:dm:%'")
    assert len(rows) == 3
    # send one, then "crash": the process dies with the rest still queued
    from bot.db import outbox as outbox_repo

    first = await outbox_repo.claim_due(app.db, clock.now(), 1)
    await app.outbox._send_one(first[0])
    await app.close()

    app = await open_app(tmp_path, config, clock, sender)  # restart: delivery runs again at start
    await app.drops.deliver(run.run_id)
    await app.drops.stop()
    await app.outbox.drain()
    dms = [(v, c) for k, v, c in sender.sent if k == "dm"]
    assert sorted(v for v, _ in dms) == sorted(str(u) for u in (BLOSSOM, LEAF, MEMBER))
    codes = [c.split("`")[1] for _, c in dms]
    assert len(set(codes)) == 3
    status = await app.drops.status(GUILD, "tin")
    assert status.dms == {"sent": 3} and status.codes["assigned"] == 3
    await app.close()


async def test_closed_dms_are_listed_for_moderators(tmp_path):
    clock = FakeClock(T0)
    sender = RecordingSender(closed={LEAF})
    app = await open_app(tmp_path, make_config(tmp_path), clock, sender)
    run = await app.drops.open(GUILD, "tin", by=99)
    clock.advance(hours=30)
    for u in (BLOSSOM, LEAF):
        await app.drops.press(GUILD, run.run_id, u)
    await app.drops.stop()
    await app.outbox.drain()
    status = await app.drops.status(GUILD, "tin")
    assert status.dm_failed == [LEAF]
    assert status.dms == {"sent": 1, "failed": 1}
    await app.outbox.drain()
    notes = [c for k, v, c in sender.sent if k == "channel" and "Could not DM" in c]
    assert notes and f"<@{LEAF}>" in notes[0]
    await app.close()


async def test_raffle_with_a_fixed_seed_draws_the_same_winners_and_replays(tmp_path):
    winners = []
    for attempt in range(2):
        folder = tmp_path / f"run{attempt}"
        folder.mkdir()
        clock = FakeClock(T0)
        app = await open_app(folder, make_config(folder), clock)
        run = await app.drops.open(GUILD, "lottery", by=99)
        clock.advance(hours=2)
        for u in range(300, 320):
            app.guild.roles[u] = {"member"}
            assert (await app.drops.press(GUILD, run.run_id, u)).status == "entered"
        assert (await app.drops.press(GUILD, run.run_id, 300)).status == "already_entered"
        _, draw = await app.drops.close(GUILD, "lottery", by=99, seed="sakura-2026")
        assert draw.seed == "sakura-2026" and len(draw.winners) == 2
        assert await app.drops.replay_draw(run.run_id, 1) == draw.winners
        winners.append(draw.winners)
        # re-roll for a prize given back: a new winner, never an earlier one
        await app.drops.release(GUILD, "lottery", draw.winners[0], by=99)
        again = await app.drops.reroll(GUILD, "lottery", by=99, seed="second")
        assert len(again.winners) == 1 and again.winners[0] not in draw.winners
        status = await app.drops.status(GUILD, "lottery")
        assert status.verified == [True, True]
        await app.close()
    assert winners[0] == winners[1]


def test_pick_winners_is_deterministic_and_weighted():
    entrants = [(u, 1) for u in range(1000)]
    assert pick_winners("x", entrants, 10) == pick_winners("x", entrants, 10)
    assert pick_winners("x", entrants, 10) != pick_winners("y", entrants, 10)
    heavy = [(1, 1000)] + [(u, 1) for u in range(2, 200)]
    wins = sum(1 in pick_winners(str(s), heavy, 1) for s in range(200))
    assert wins > 150  # 1000 tickets of 1198
    # excluding earlier winners does not reshuffle everyone else
    base = pick_winners("z", entrants, 5)
    assert pick_winners("z", entrants, 4, {base[0]}) == base[1:]


async def test_campaign_entries_come_from_the_participation_ledger(world):
    app = world
    from bot.db import participation as ledger

    app.guild.roles.update({400: {"member"}, 401: {"member"}, 402: {"visitor"}})
    run = await app.drops.open(GUILD, "champions", by=99)
    for user, answers in ((400, 5), (401, 1), (402, 3)):
        for n in range(answers):
            await ledger.award(app.db, guild_id=GUILD, user_id=user, action="prompt_answer", ref=f"prompt:{n}",
                               points=10, day="2026-12-01", at=app.clock.now())
    await ledger.award(app.db, guild_id=GUILD, user_id=401, action="quiz_answer", ref="quiz:1", points=5,
                       day="2026-12-01", at=app.clock.now())
    mine = await app.drops.press(GUILD, run.run_id, 400)
    assert (mine.status, mine.tickets) == ("entries", 5)
    _, draw = await app.drops.close(GUILD, "champions", by=99, seed="week-49")
    assert draw.entrants == 2  # the visitor's answers do not count: members only
    assert sorted(draw.winners) == [400, 401]
    assert await repo.entries(app.db, run.run_id) == [(400, 5), (401, 1)]


async def test_export_lists_claims_and_winners(world):
    app = world
    run = await app.drops.open(GUILD, "quick", by=99)
    await app.drops.press(GUILD, run.run_id, MEMBER)
    await app.drops.press(GUILD, run.run_id, LEAF)
    await app.drops.release(GUILD, "quick", LEAF, by=99)
    name, data = await app.drops.export_csv(GUILD, "quick")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert name.startswith("quick")
    assert [(r["user_id"], r["status"]) for r in rows] == [(str(MEMBER), "claimed"), (str(LEAF), "released")]
    assert [r["name"] for r in rows] == [f"member {MEMBER}", f"member {LEAF}"]


async def test_a_drop_opens_once_per_occurrence_and_once_at_a_time(world):
    app = world
    first = await app.drops.open(GUILD, "quick", occurrence="2026-12-01T00:00:00.000000Z")
    again = await app.drops.open(GUILD, "quick", occurrence="2026-12-01T00:00:00.000000Z")
    assert first.opened and not again.opened and again.run_id == first.run_id
    assert (await refused(app.drops.open(GUILD, "quick", by=99))).key == "drops.already_open"
    await app.drops.close(GUILD, "quick", by=99)
    assert (await refused(app.drops.press(GUILD, first.run_id, MEMBER))).key == "drops.closed"
    second = await app.drops.open(GUILD, "quick", by=99)
    assert second.run_id != first.run_id
    announcements = await app.db.fetchall("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'drop:%:announce'")
    assert len(announcements) == 2


async def test_drop_open_schedule_action_is_registered(world):
    app = world
    await app.actions.get("drop.open")(GUILD, T0 + timedelta(hours=1), {"id": "quick"})
    run = await app.drops.latest_run(GUILD, "quick")
    assert run["occurrence"] == "2026-12-01T01:00:00.000000Z"


async def test_a_raffle_closes_and_draws_by_itself_at_its_closing_time(world):
    app = world
    run = await app.drops.open(GUILD, "lottery", by=99)  # blossoms now, members in 1h, closes 48h after that
    await app.scheduler.advance_to(T0 + timedelta(hours=2))
    for u in (BLOSSOM, LEAF, MEMBER):
        assert (await app.drops.press(GUILD, run.run_id, u)).status == "entered"
    await app.scheduler.advance_to(T0 + timedelta(hours=48))
    assert await repo.draws(app.db, run.run_id) == []
    await app.scheduler.advance_to(T0 + timedelta(hours=49))
    [draw] = await repo.draws(app.db, run.run_id)
    assert len(draw["winners"]) == 2 and draw["drawn_by"] is None
    assert (await refused(app.drops.press(GUILD, run.run_id, VISITOR))).key == "drops.closed"


async def test_the_early_limit_refusal_follows_releases(world):
    """A member at the limit is refused without the writer; after giving one back, they may claim again
    (the in-memory holdings are exact after each commit, releases included)."""
    app = world
    run = await app.drops.open(GUILD, "quick", by=99)  # stock 5, limit 2
    assert (await app.drops.press(GUILD, run.run_id, MEMBER)).status == "granted"
    assert (await app.drops.press(GUILD, run.run_id, MEMBER)).status == "granted"
    assert (await refused(app.drops.press(GUILD, run.run_id, MEMBER))).key == "drops.already_claimed"
    await app.drops.release(GUILD, "quick", MEMBER, by=MEMBER)
    assert (await app.drops.press(GUILD, run.run_id, MEMBER)).status == "granted"
    assert (await refused(app.drops.press(GUILD, run.run_id, MEMBER))).key == "drops.already_claimed"
    check = await repo.stock_check(app.db, run.run_id)
    assert (check["held"], check["over_limit"], check["remaining"] + check["held"]) == (2, 0, 5)


async def test_a_closed_drop_greys_out_its_announcement_even_after_a_crash(tmp_path):
    """Closing queues the announcement's closed version; if the process died between closing and
    queueing it, the next start queues it. Once either way (a dedupe key)."""
    from bot.db import outbox as outbox_repo

    clock = FakeClock(T0)
    config = make_config(tmp_path)
    app = await open_app(tmp_path, config, clock)
    quick = await app.drops.open(GUILD, "quick", by=99)
    await app.drops.close(GUILD, "quick", by=99)
    tin = await app.drops.open(GUILD, "tin", by=99)
    assert await repo.close_run(app.db, tin.run_id, clock.now())  # closed, then the crash
    await app.close()

    app = await open_app(tmp_path, config, clock)
    for run in (quick, tin):
        row = await outbox_repo.by_key(app.db, f"drop:{run.run_id}:announce:closed")
        message = OutMessage.from_json(row["payload"])
        assert message.replaces == f"drop:{run.run_id}:announce"
        assert [b.disabled for b in message.buttons] == [True]
    assert await app.db.fetchval("SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'drop:%:announce:closed'") == 2
    await app.close()


async def test_the_announcement_follows_sold_out_and_restock_once_each_across_a_restart(tmp_path):
    clock = FakeClock(T0)
    config = make_config(tmp_path)
    app = await open_app(tmp_path, config, clock)
    run = await app.drops.open(GUILD, "quick", by=99)  # stock 5, limit 2, no waitlist

    async def edits() -> list[str]:
        rows = await app.db.fetchall("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE ? ORDER BY id",
                                     (f"drop:{run.run_id}:announce:%",))
        return [r[0].rsplit(":announce:", 1)[1] for r in rows]

    for user in (BLOSSOM, BLOSSOM, LEAF, LEAF):
        await app.drops.press(GUILD, run.run_id, user)
    await app.drops.stop()
    assert await edits() == []  # one left: still in stock, the first post says so
    await app.drops.press(GUILD, run.run_id, MEMBER)
    await app.drops.stop()
    assert await edits() == ["sold-out:0"]
    await app.close()

    app = await open_app(tmp_path, config, clock)  # a restart finds it sold out: nothing new to say
    await app.drops.stop()
    assert await edits() == ["sold-out:0"]
    await app.drops.release(GUILD, "quick", LEAF, by=LEAF)
    await app.drops.stop()
    assert await edits() == ["sold-out:0", "in-stock:1"]
    [row] = await app.db.fetchall("SELECT payload FROM outbox WHERE dedupe_key LIKE '%:in-stock:1'")
    message = OutMessage.from_json(row[0])
    assert message.replaces == f"drop:{run.run_id}:announce" and "Sold out" not in "\n".join(message.card.texts())
    await app.close()


async def test_after_a_reload_an_open_run_answers_with_the_new_item_name_and_limit(world, tmp_path):
    """The claim path keeps runs in memory; a reload of drops.yaml reaches them (the item's name in
    the reply), while what the run opened with (its limit, its stock) stays the run's."""
    app = world
    run = await app.drops.open(GUILD, "quick", by=99)  # stock 5, limit 2
    assert (await app.drops.press(GUILD, run.run_id, MEMBER)).item == "Quick drop"
    renamed = DROPS.replace("item: Quick drop\n    stock: 5\n    limit: 2", "item: Quick tin\n    stock: 5\n    limit: 1")
    assert renamed != DROPS
    (tmp_path / "config" / "drops.yaml").write_text(renamed, encoding="utf-8")
    assert await app.reload_config() == []
    assert (await app.drops.press(GUILD, run.run_id, LEAF)).item == "Quick tin"
    again = await app.drops.press(GUILD, run.run_id, LEAF)  # the open run keeps the limit it opened with
    assert (again.status, again.held, again.limit) == ("granted", 2, 2)
    assert (await refused(app.drops.press(GUILD, run.run_id, LEAF))).params["limit"] == 2


async def test_a_freshly_opened_drop_is_known_to_the_writer_so_its_first_batch_reads_nothing(world, monkeypatch):
    """The burst's first batch waits on every read it makes: a run just opened holds nothing, so the
    writer knows that from the open itself (and the claims still agree with the database). SQLite
    reads the run's row inside the batch's own transaction anyway (in its thread, no round trip)."""
    app = world
    run = await app.drops.open(GUILD, "quick", by=99)  # stock 5, limit 2
    assert app.drops.writer.held(run.run_id, 100) == 0  # known as committed, not "unknown" (None)

    def no_read(*args, **kwargs):
        raise AssertionError("the first batch of a just-opened run read what the open already told")

    for name in ("holdings", "holdings_pg", "claim_facts_pg"):
        monkeypatch.setattr(repo, name, no_read)
    users = list(range(100, 104))
    for u in users:
        app.guild.roles[u] = {"member"}
    results = await asyncio.gather(*(app.drops.press(GUILD, run.run_id, u) for u in users + users),
                                   return_exceptions=True)
    assert not [r for r in results if isinstance(r, AssertionError)]
    assert sum(getattr(r, "status", None) == "granted" for r in results) == 5
    monkeypatch.undo()
    check = await repo.stock_check(app.db, run.run_id)
    assert check["held"] == 5 and check["remaining"] == 0 and check["over_limit"] == 0
