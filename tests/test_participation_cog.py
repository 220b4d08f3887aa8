"""Points, leaderboards, /me and tiers through the offline harness."""
from __future__ import annotations


async def answer_todays_prompt(g, *users):
    thread = g.channel("daily-prompt").messages[-1].thread
    for user in users:
        await g.say(thread, "my answer", user=user)


async def test_the_leaderboard_ranks_ties_stably(harness):
    g = await harness()
    await g.advance(days=1)
    await answer_todays_prompt(g, "mod")                  # mod reaches 10 points first
    await g.advance(minutes=1)
    await answer_todays_prompt(g, "carol", "bob", "alice")  # three reach 10 points at the same instant
    ids = {name: g.user_id(name) for name in ("mod", "alice", "bob", "carol")}
    tied = sorted(["alice", "bob", "carol"], key=ids.get)  # same points, same time: by user id
    expected = [f"**{i}.** <@{ids[n]}> — 10 points" for i, n in enumerate(["mod"] + tied, start=1)]
    for _ in range(2):                                     # the same order every time
        r = await g.slash("/leaderboard", user="alice", period="all")
        # a card: the title, the podium (each line with the member's avatar beside it), then the rest
        heading, *podium, rest = r.message.layout_texts
        assert not r.ephemeral and r.message.is_layout and heading == "## 🏆 Leaderboard · all time"
        assert podium + rest.splitlines() == expected
        assert len(r.message.thumbnails) == 3 and all(u.startswith("https://") for u in r.message.thumbnails)
        assert not r.message.mentions                      # listing people never pings them
    r = await g.slash("/leaderboard", user="bob")          # default: this week
    assert r.message.layout_texts[0] == "## 🏆 Leaderboard · this week"
    await g.advance(days=8)
    r = await g.slash("/leaderboard", user="bob", period="week")
    assert r.message.layout_texts[1].startswith("No points yet this week.")  # a rolling 7-day window


async def test_points_promote_a_member_to_a_tier_and_me_shows_it(harness):
    g = await harness()
    guild, alice = g.app.guild_id, g.user_id("alice")
    assert "leaf" not in g.member("alice").roles
    await g.app.participation.award(guild, alice, "event_attend", "event:tasting-night", points=90)
    assert "leaf" not in g.member("alice").roles           # 90 of the 100 points the leaf tier needs
    await g.advance(days=1)
    await answer_todays_prompt(g, "alice")                 # +10: 100 points in 30 days
    assert "leaf" in g.member("alice").roles
    r = await g.slash("/me", user="alice")
    assert r.ephemeral
    fields = {f["name"]: f["value"] for f in r.embeds[0]["fields"]}
    assert fields["Points"] == "100 in total · 100 this week · 100 this month"
    assert fields["Daily streak"].startswith("2 days (best 2)")   # Dec 1 (event) and Dec 2 (prompt)
    assert fields["Rank"] == "#1 of 1"
    assert fields["Tier"] == "Green Leaf"
    assert "✔ Green Leaf: 100/100 points in 30 days" in fields["Tier progress"]
    assert "Blossom: 100/500 points in 30 days" in fields["Tier progress"]


async def test_me_for_someone_without_points(harness):
    g = await harness()
    r = await g.slash("/me", user="bob")
    fields = {f["name"]: f["value"] for f in r.embeds[0]["fields"]}
    assert fields["Points"].startswith("0 in total") and fields["Rank"] == "Not ranked yet"
    assert fields["Tier"] == "No tier yet"


import pytest  # noqa: E402


@pytest.mark.parametrize("command, user, options, ephemeral", [
    ("/me", "alice", {}, True),
    ("/leaderboard", "alice", {"period": "month"}, False),
    ("/stats", "mod", {"period": "month"}, True),
    ("/tier check", "alice", {}, True),
])
async def test_reports_that_read_history_defer_their_reply_first(harness, command, user, options, ephemeral):
    """A year of history must not make Discord's three seconds run out: these answer "thinking…" at
    once (a deferred response), then the report as a follow-up."""
    g = await harness()
    r = await g.slash(command, user=user, **options)
    assert r.response_type == 5 and r.deferred
    assert r.message is not None and r.message.ephemeral == ephemeral
