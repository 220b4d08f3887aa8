"""Guessing invite codes: wrong guesses are counted atomically with the check, per member and per
community; a success does not wipe the count; the refusal says how long to wait."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.config.loader import Config
from bot.db import membership as repo
from bot.errors import UserError
from bot.services.catalogue import Catalogue
from bot.services.membership._codes import ALPHABET, code_hash, format_code
from bot.services.messages import Sent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GUILD = 1000
MOD = 99
VISITORS = list(range(200, 220))  # 20 accounts
VERA = VISITORS[0]


class NullSender:
    async def send(self, guild_id, target, message):
        return Sent(message_id=1, channel_id=1)


class FakeGuild:
    def __init__(self) -> None:
        self.roles = {uid: {"visitor"} for uid in VISITORS} | {MOD: {"moderator", "member"}}

    async def add_role(self, guild_id, user_id, role_key, reason=""):
        self.roles[user_id].add(role_key)
        return True

    async def remove_role(self, guild_id, user_id, role_key, reason=""):
        self.roles[user_id].discard(role_key)
        return True

    async def member_role_keys(self, guild_id, user_id):
        return set(self.roles.get(user_id, ()))

    async def members_with_role(self, guild_id, role_key):
        return sorted(u for u, keys in self.roles.items() if role_key in keys)


def invite_config(**invites) -> Config:
    config = load_config("config")
    community = config.community
    ms = community.membership.model_copy(update={"mode": "invite"})
    ms = ms.model_copy(update={"invites": ms.invites.model_copy(update=invites)})
    return Config(dir=config.dir, files={**config.files, "community": community.model_copy(update={"membership": ms})},
                  sources=config.sources)


@pytest.fixture
async def make_app(tmp_path):
    opened = []

    async def make(**invites):
        app = await App.open(invite_config(**invites), db_path=tmp_path / "k.db", clock=FakeClock(T0),
                             real_scheduler=False)
        app.outbox.sender = NullSender()
        app.guild = FakeGuild()
        app.guild_id = GUILD
        await app.start()
        opened.append(app)
        return app

    yield make
    for app in opened:
        await app.close()


def wrong_code(n: int) -> str:
    """A well-formed code that no invite has (so it is looked up, not rejected by its shape)."""
    raw = "".join(ALPHABET[(n // len(ALPHABET) ** i) % len(ALPHABET)] for i in range(12))
    return format_code(raw)


def count_checks(monkeypatch) -> list[str]:
    """Every time a code is actually looked up against the stored invites."""
    checked: list[str] = []
    lookup = repo.invite_by_hash

    async def spy(db, guild_id, code_hash):
        checked.append(code_hash)
        return await lookup(db, guild_id, code_hash)

    monkeypatch.setattr(repo, "invite_by_hash", spy)
    return checked


async def outcome(coro) -> str:
    try:
        await coro
    except UserError as err:
        return err.key
    return "joined"


async def test_41_simultaneous_wrong_codes_check_exactly_the_budget(make_app, monkeypatch):
    app = await make_app()  # the shipped budget: 5 wrong codes per member
    budget = app.config.community.membership.invites.max_failed_attempts
    assert budget == 5
    checked = count_checks(monkeypatch)
    results = await asyncio.gather(*(outcome(app.membership.join_with_code(GUILD, VERA, wrong_code(n)))
                                     for n in range(41)))
    print(f"\n41 simultaneous wrong codes: {len(checked)} checked (budget {budget}), "
          f"{Counter(results)}")
    assert len(checked) == budget
    assert Counter(results) == {"membership.code_wrong": budget - 1, "membership.locked_out": 41 - budget + 1}
    failures = await app.db.fetchval("SELECT COUNT(*) FROM invite_failures WHERE user_id = ?", (VERA,))
    assert failures == budget


async def test_a_success_does_not_reset_the_count_of_wrong_codes(make_app, monkeypatch):
    """A guesser holding one good multi-use code must not win more guesses by using it: join, leave,
    guess again. The failures of the window still count."""
    app = await make_app()
    good = await app.membership.invites.create(GUILD, MOD, is_moderator=True, max_uses=50)
    checked = count_checks(monkeypatch)
    wrong = 0
    for _cycle in range(5):
        for _ in range(4):
            await outcome(app.membership.join_with_code(GUILD, VERA, wrong_code(wrong)))
            wrong += 1
        await outcome(app.membership.join_with_code(GUILD, VERA, good.code))
        if "member" in app.guild.roles[VERA]:
            await app.membership.leave(GUILD, VERA)
    wrong_checked = [h for h in checked if h != code_hash(good.code)]
    print(f"\n20 wrong codes around 5 good joins: {len(wrong_checked)} wrong ones checked")
    assert len(wrong_checked) == 5


async def test_twenty_accounts_share_one_community_budget(make_app, monkeypatch):
    app = await make_app()  # the shipped budgets
    s = app.config.community.membership.invites
    assert s.community_max_failed_attempts < len(VISITORS) * s.max_failed_attempts
    checked = count_checks(monkeypatch)
    results = Counter()
    for user_id in VISITORS:
        for n in range(5):
            results[await outcome(app.membership.join_with_code(GUILD, user_id, wrong_code(user_id * 10 + n)))] += 1
    print(f"\n20 accounts x 5 wrong codes: {len(checked)} checked "
          f"(community budget {s.community_max_failed_attempts}), {dict(results)}")
    assert len(checked) == s.community_max_failed_attempts
    assert results["membership.guessing_paused"] == 100 - s.community_max_failed_attempts
    # moderators hear about it once
    notes = await app.db.fetchall("SELECT payload FROM outbox WHERE dedupe_key LIKE 'membership:guessing-paused:%'")
    assert len(notes) == 1
    # the pause ends when the window has passed, and a good code works again
    good = await app.membership.invites.create(GUILD, MOD, is_moderator=True)
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, VISITORS[-1], good.code)
    assert err.value.key == "membership.guessing_paused"
    app.clock.advance(minutes=s.attempt_window_minutes + 1)
    assert await outcome(app.membership.join_with_code(GUILD, VISITORS[-1], good.code)) == "joined"


def say(app, language: str, err: UserError) -> str:
    c = app.config.community
    return Catalogue(language, community_name=c.community.name, persona=c.persona).t(err.key, **err.params)


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_the_lockout_says_how_long_to_wait(make_app, language):
    app = await make_app(max_failed_attempts=2, lockout_minutes=30)
    assert [await outcome(app.membership.join_with_code(GUILD, VERA, wrong_code(n))) for n in range(2)] == [
        "membership.code_wrong", "membership.locked_out"]
    app.clock.advance(minutes=10)
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, VERA, wrong_code(9))
    assert err.value.key == "membership.locked_out"
    assert err.value.params["minutes"] == 20
    assert "20" in say(app, language, err.value)


@pytest.mark.parametrize("language", ["en", "ja"])
async def test_the_community_pause_says_how_long_to_wait(make_app, language):
    app = await make_app(community_max_failed_attempts=3, attempt_window_minutes=15)
    for user_id in VISITORS[:3]:
        await outcome(app.membership.join_with_code(GUILD, user_id, wrong_code(user_id)))
    app.clock.advance(minutes=5)
    with pytest.raises(UserError) as err:
        await app.membership.join_with_code(GUILD, VISITORS[5], wrong_code(1))
    assert err.value.key == "membership.guessing_paused"
    assert err.value.params["minutes"] == 10
    assert "10" in say(app, language, err.value)
