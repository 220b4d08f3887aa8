"""Feedback rules on a real SQLite file: store, flags, rate limit, triage DMs, upvotes, votes, CSV, digest."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.config.loader import Config
from bot.errors import UserError
from bot.services.feedback import FlagMatcher, read_csv, to_csv
from bot.services.messages import Sent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
GUILD = 1000
ALICE, BOB, MOD = 431000000000000011, 431000000000000012, 431000000000000099


class RecordingSender:
    def __init__(self) -> None:
        self.sent = []
        self._next = 5000

    async def send(self, guild_id, target, message):
        self._next += 1
        self.sent.append((target, message))
        return Sent(message_id=self._next, channel_id=77)

    def to(self, kind, value=None):
        return [m for t, m in self.sent if t.kind == kind and (value is None or t.value == str(value))]


def feedback_config(**changes) -> Config:
    config = load_config("config")
    community = config.community
    fb = community.feedback.model_copy(update=changes)
    return dataclasses.replace(config, community=community.model_copy(update={"feedback": fb}))


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    app.outbox.sender = RecordingSender()
    yield app
    await app.close()


async def submit(app, author=ALICE, **kw):
    kw.setdefault("category", "product")
    kw.setdefault("title", "More oolong")
    kw.setdefault("text", "Please bring back the winter oolong.")
    return await app.feedback.submit(GUILD, author, **kw)


async def test_an_item_is_stored_then_posted_with_triage_and_upvote_buttons(app):
    item = await submit(app)
    assert (item.status, item.category, item.upvotes, item.flagged) == ("new", "product", 0, False)
    await app.outbox.drain()
    [post] = app.outbox.sender.to("channel", "feedback")
    assert post.embeds[0]["description"] == "Please bring back the winter oolong."
    ids = [b.custom_id for b in post.buttons]
    assert ids == [f"kizuna:feedback:status:{item.id}:{s}" for s in ("under_review", "planned", "done", "declined")] + [
        f"kizuna:feedback:upvote:{item.id}"]
    stored = await app.feedback.get(GUILD, item.id)
    assert (stored.post_message_id, stored.post_channel_id) == (5001, 77)  # remembered from the outbox
    assert app.outbox.sender.to("channel", "mod-queue") == []


async def test_an_anonymous_public_post_never_carries_the_author(app):
    item = await submit(app, anonymous=True)
    await app.outbox.drain()
    [post] = app.outbox.sender.to("channel", "feedback")
    assert str(ALICE) not in post.to_json()
    assert "anonymous" in json.dumps(post.embeds[0])
    assert str(ALICE) in json.dumps(app.feedback.queue_embed(item))  # moderators still see who


@pytest.mark.parametrize("text,key", [("", "feedback.empty_text"), ("   \n ", "feedback.empty_text"),
                                      ("x" * 2001, "feedback.too_long")])
async def test_empty_or_too_long_text_is_refused_with_a_reason(app, text, key):
    with pytest.raises(UserError) as err:
        await submit(app, text=text)
    assert err.value.key == key
    if key == "feedback.too_long":
        assert err.value.params == {"length": 2001, "max": 2000}
    assert await app.db.fetchval("SELECT COUNT(*) FROM feedback_items") == 0


async def test_an_unknown_category_or_long_title_is_refused(app):
    with pytest.raises(UserError) as err:
        await submit(app, category="weather")
    assert err.value.key == "feedback.unknown_category" and "Product" in err.value.params["choices"]
    with pytest.raises(UserError) as err:
        await submit(app, title="t" * 101)
    assert err.value.key == "feedback.title_too_long"


async def test_a_missing_title_comes_from_the_first_line(app):
    item = await submit(app, title="", text="First line here\nsecond line")
    assert item.title == "First line here"


async def test_the_sixth_submission_in_a_minute_is_refused_until_the_window_passes(app):
    for i in range(5):
        await submit(app, text=f"idea {i}")
        app.clock.advance(seconds=5)
    with pytest.raises(UserError) as err:
        await submit(app, text="idea 6")
    assert err.value.key == "feedback.rate_limited"
    assert err.value.params["count"] == 5
    assert err.value.params["ts"] == int((T0 + timedelta(seconds=60)).timestamp())  # the first one ages out
    assert err.value.params["wait"] == 35
    await submit(app, author=BOB)  # other members are not affected
    app.clock.set(T0 + timedelta(seconds=60))
    await submit(app, text="idea 6 again")


def test_flags_match_keywords_on_word_boundaries_and_japanese_substrings():
    m = FlagMatcher(["refund", "scam", "返金"], ["worst", "最悪"])
    assert m.check("I want a REFUND now").keywords == ("refund",)
    assert m.check("the scamper toy").keywords == ()
    assert m.check("refundしたいです").keywords == ("refund",)
    assert m.check("商品の返金をお願いします").keywords == ("返金",)
    assert m.check("This is the worst tea").negative == ("worst",)
    assert m.check("味が最悪でした").negative == ("最悪",)
    assert not m.check("Lovely blend, worsted wool cosy").flagged


async def test_a_flagged_item_goes_to_the_mod_queue_with_priority(app):
    item = await submit(app, text="This is a scam, worst purchase ever", anonymous=True)
    assert item.flagged and "keyword: scam" in item.flag_reasons and "negative: worst" in item.flag_reasons
    await app.outbox.drain()
    [queued] = app.outbox.sender.to("channel", "mod-queue")
    assert "PRIORITY" in queued.content
    assert str(ALICE) in json.dumps(queued.embeds[0])  # the mod copy names the anonymous author
    assert (await app.feedback.get(GUILD, item.id)).queue_message_id is not None


async def test_configured_negative_words_and_switching_off_the_builtin_lexicon(tmp_path):
    config = feedback_config(negative_words=("meh",), builtin_negative_words=False, flag_keywords=())
    app = await App.open(config, db_path=tmp_path / "k.db", clock=FakeClock(T0), real_scheduler=False)
    try:
        assert (await submit(app, text="meh tea")).flagged
        assert not (await submit(app, text="worst tea")).flagged
    finally:
        await app.close()


async def test_each_status_change_is_audited_and_dmed_once(app):
    item = await submit(app)
    for status in ("under_review", "planned", "done"):
        change = await app.feedback.set_status(GUILD, item.id, status, actor_id=MOD)
        assert change.item.status == status
    await app.outbox.drain()
    dms = app.outbox.sender.to("dm", ALICE)
    assert [m.content.split("**")[1] for m in dms] == ["Under review", "Planned", "Done"]
    audit = await app.audit.recent(GUILD)
    assert [a["detail"] for a in reversed(audit)] == ["new → under_review", "under_review → planned",
                                                       "planned → done"]
    history = (await app.feedback.details(GUILD, item.id)).history
    assert [h["new_status"] for h in history] == ["under_review", "planned", "done"]
    with pytest.raises(UserError) as err:
        await app.feedback.set_status(GUILD, item.id, "done", actor_id=MOD)
    assert err.value.key == "feedback.already_status"


async def test_declining_needs_a_reason_and_the_member_reads_it(app):
    item = await submit(app)
    with pytest.raises(UserError) as err:
        await app.feedback.set_status(GUILD, item.id, "declined", actor_id=MOD, reason="  ")
    assert err.value.key == "feedback.reason_required"
    await app.feedback.set_status(GUILD, item.id, "declined", actor_id=MOD, reason="Out of season")
    await app.outbox.drain()
    [dm] = app.outbox.sender.to("dm", ALICE)
    assert "Out of season" in dm.content
    assert "Out of season" in json.dumps(app.feedback.public_embed(await app.feedback.get(GUILD, item.id)))


async def test_unknown_items_and_statuses_are_refused(app):
    with pytest.raises(UserError) as err:
        await app.feedback.set_status(GUILD, 42, "done", actor_id=MOD)
    assert err.value.key == "feedback.not_found"
    item = await submit(app)
    with pytest.raises(UserError) as err:
        await app.feedback.set_status(GUILD, item.id, "new", actor_id=MOD)
    assert err.value.key == "feedback.unknown_status"
    with pytest.raises(UserError):
        await app.feedback.get(GUILD + 1, item.id)  # another guild's item is invisible


async def test_upvotes_once_each_and_not_on_your_own(app):
    item = await submit(app)
    assert (await app.feedback.upvote(GUILD, item.id, BOB)).upvotes == 1
    with pytest.raises(UserError) as err:
        await app.feedback.upvote(GUILD, item.id, BOB)
    assert err.value.key == "feedback.already_upvoted"
    with pytest.raises(UserError) as err:
        await app.feedback.upvote(GUILD, item.id, ALICE)
    assert err.value.key == "feedback.own_upvote"
    assert (await app.feedback.upvote(GUILD, item.id, MOD)).upvotes == 2


async def test_mine_lists_only_your_items_newest_first(app):
    a = await submit(app, title="first")
    await submit(app, author=BOB, title="bob's")
    b = await submit(app, title="second")
    assert [i.id for i in await app.feedback.mine(GUILD, ALICE)] == [b.id, a.id]


async def test_one_reaction_vote_per_member_per_post_and_changes_allowed(app):
    kw = dict(channel_key="announcements", channel_id=5, message_id=777)
    assert await app.feedback.record_reaction(GUILD, user_id=ALICE, emoji="👍", **kw)
    assert await app.feedback.record_reaction(GUILD, user_id=BOB, emoji="👍🏽", **kw)
    assert await app.feedback.record_reaction(GUILD, user_id=ALICE, emoji="👎", **kw)  # changed her mind
    assert await app.feedback.reaction_totals(777) == (1, 1)
    assert not await app.feedback.remove_reaction(GUILD, message_id=777, user_id=ALICE, emoji="👍")  # old one
    assert await app.feedback.reaction_totals(777) == (1, 1)
    assert await app.feedback.remove_reaction(GUILD, message_id=777, user_id=ALICE, emoji="👎")
    assert await app.feedback.reaction_totals(777) == (1, 0)
    assert not await app.feedback.record_reaction(GUILD, user_id=ALICE, emoji="🎉", **kw)
    assert not await app.feedback.record_reaction(GUILD, user_id=ALICE, emoji="👍", channel_key="lounge",
                                                  channel_id=6, message_id=778)


TRICKY = 'Commas, "quotes", and\nnew lines — 🍵✨ 抹茶が大好きです！\r\nend'


async def test_export_csv_round_trips_tricky_text(app):
    a = await submit(app, title='Tea, "please"', text=TRICKY, anonymous=True)
    await app.feedback.upvote(GUILD, a.id, BOB)
    data, count = await app.feedback.export_csv(GUILD, None)
    assert count == 1 and data.startswith(b"\xef\xbb\xbf")
    [row] = read_csv(data)
    assert row["text"] == TRICKY and row["title"] == 'Tea, "please"'
    # an anonymous item names nobody in the export (moderators still see the author with /feedback show)
    assert (row["id"], row["author_id"], row["author_name"], row["anonymous"], row["upvotes"], row["flagged"]) == (
        str(a.id), "", "", "yes", "1", "no")
    assert list(row) == ["id", "created_at (Asia/Tokyo)", "category", "status", "title", "text", "author_id",
                         "author_name", "anonymous", "upvotes", "flagged", "screenshots"]


async def test_export_since_a_date_in_the_community_time_zone(app):
    await submit(app, text="old")
    app.clock.set(T0 + timedelta(days=3))
    await submit(app, text="new")
    since = app.feedback.parse_since("2026-12-03")  # midnight Asia/Tokyo = 2026-12-02 15:00 UTC
    assert since == datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)
    assert [r["text"] for r in await app.feedback.export_rows(GUILD, since)] == ["new"]
    with pytest.raises(UserError) as err:
        app.feedback.parse_since("last tuesday")
    assert err.value.key == "feedback.bad_date"


def test_csv_helpers_alone():
    rows = [{"id": 1, "text": TRICKY, "title": "a,b"}]
    assert read_csv(to_csv(rows))[0]["text"] == TRICKY


async def test_weekly_digest_counts_top_voted_and_oldest_untriaged_and_posts_once(app):
    old = await submit(app, title="Waiting the longest", category="bug")
    app.clock.advance(days=2)
    popular = await submit(app, author=BOB, title="Popular idea")
    await app.feedback.upvote(GUILD, popular.id, ALICE)
    await app.feedback.upvote(GUILD, popular.id, MOD)
    third = await submit(app, author=MOD, title="Event idea", category="event")
    await app.feedback.set_status(GUILD, third.id, "planned", actor_id=MOD)
    await app.feedback.record_reaction(GUILD, channel_key="announcements", channel_id=5, message_id=9,
                                       user_id=ALICE, emoji="👍")
    occurrence = T0 + timedelta(days=6)
    handler = app.actions.get("feedback.digest")
    await handler(GUILD, occurrence, {})
    await handler(GUILD, occurrence, {})  # a second run of the same occurrence posts nothing new
    await app.outbox.drain()
    [digest] = app.outbox.sender.to("channel", "feedback")[-1:]
    assert len([m for m in app.outbox.sender.to("channel", "feedback") if m.embeds and
                m.embeds[0]["title"].startswith("📬")]) == 1
    fields = {f["name"]: f["value"] for f in digest.embeds[0]["fields"]}
    assert "Product: **1**" in fields["By category"] and "Bug: **1**" in fields["By category"]
    assert "Planned: **1**" in fields["By status"] and "New: **2**" in fields["By status"]
    assert fields["Most upvoted"].startswith(f"#{popular.id} Popular idea — 2")
    assert fields["Waiting for a look (2)"].startswith(f"#{old.id} Waiting the longest")
    assert "1 👍" in fields["Reactions on announcements"]
    assert str(ALICE) not in digest.to_json()


async def test_participation_points_are_awarded_when_the_service_exists(app):
    calls = []

    class FakeParticipation:
        async def award(self, guild_id, user_id, action, **kw):
            calls.append((guild_id, user_id, action))

    app.participation = FakeParticipation()
    await submit(app)
    assert calls == [(GUILD, ALICE, "feedback")]


async def test_submitting_earns_participation_points_once_per_item(app):
    before = await app.participation.points(GUILD, ALICE)
    await submit(app)
    await submit(app, text="another idea")
    gained = await app.participation.points(GUILD, ALICE) - before
    assert gained == 2 * app.config.participation.points_for("feedback") and gained > 0
