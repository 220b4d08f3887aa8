"""Daily prompts through the offline harness: the schedule posts them, members answer in threads,
members suggest, moderators approve."""
from __future__ import annotations

from bot.db import participation as repo


async def test_prompts_rotate_without_repeats_over_the_pool(harness):
    g = await harness()
    pool = [p.text for p in g.config.prompts.prompts]
    await g.advance(days=len(pool))      # schedules.yaml: prompt.post daily at 09:00 Tokyo
    posts = [m for m in g.channel("daily-prompt").messages if m.embeds]
    polls = [m.poll.question for m in g.channel("daily-prompt").messages if m.poll]  # `kind: poll` prompts
    texts = [m.embeds[0]["description"] for m in posts] + polls
    assert polls and len(texts) == len(pool) and sorted(texts) == sorted(pool)   # every prompt once, none twice
    assert all(m.thread is not None and m.thread.name.startswith("Answers · ") for m in posts)
    notes = [m.content for m in g.channel("mod-log").messages if "unused daily prompts" in m.content]
    assert notes == [f"🫖 Only 3 unused daily prompts left (of {len(pool)}). Add prompts to prompts.yaml or approve"
                     " member suggestions before the pool runs dry."]
    await g.advance(days=len(pool))      # the second cycle: again each prompt once
    texts2 = [m.embeds[0]["description"] if m.embeds else m.poll.question
              for m in g.channel("daily-prompt").messages if m.embeds or m.poll][len(pool):]
    assert sorted(texts2) == sorted(pool)
    assert len([m for m in g.channel("mod-log").messages if "unused daily prompts" in m.content]) == 2  # once a cycle


async def test_answering_in_the_thread_earns_points_once_per_prompt(harness):
    g = await harness()
    await g.advance(days=1)
    thread = g.channel("daily-prompt").messages[-1].thread
    await g.say(thread, "Gyokuro at my grandmother's house!", user="alice")
    await g.say(thread, "And sencha later.", user="alice")
    await g.say("lounge", "hello", user="bob")                  # not an answer
    guild, alice, bob = g.app.guild_id, g.user_id("alice"), g.user_id("bob")
    assert await g.app.participation.points(guild, alice) == 10
    assert await g.app.participation.points(guild, bob) == 0
    await g.restart()
    await g.say(thread, "One more thought.", user="alice")      # still once, after a restart
    await g.say(thread, "Hojicha!", user="bob")
    assert await g.app.participation.points(guild, alice) == 10
    assert await g.app.participation.points(guild, bob) == 10


async def test_a_suggestion_goes_to_the_mod_queue_and_approval_adds_it_to_the_pool(harness):
    g = await harness()
    r = await g.slash("/prompt suggest", user="alice", text="Which tea would you bring to a picnic @everyone?")
    assert r.ephemeral and "#1" in r.content
    card = g.channel("mod-queue").messages[-1]
    assert card.buttons == ["Approve", "Reject"]
    assert card.embeds[0]["description"] == "Which tea would you bring to a picnic @everyone?"
    assert not card.mention_everyone and not card.mentions     # relayed text never pings
    r = await g.click("Approve", on=card, user="mod")
    assert r.ephemeral and "joins the prompt pool" in r.content
    assert card.buttons == [] and "approved" in card.embeds[0]["fields"][-1]["value"]
    assert "approved" in g.dms("alice")[-1].content
    pool = await g.app.participation.prompts.pool(g.app.guild_id)
    assert pool[-1].key == "s-1" and pool[-1].text.startswith("Which tea would you bring")
    assert pool[-1].suggested_by == g.user_id("alice")          # credited when it is posted
    await g.restart()                                           # the buttons are persistent
    await g.slash("/prompt suggest", user="bob", text="What is your favourite tea snack?")
    card2 = g.channel("mod-queue").messages[-1]
    await g.restart()
    r = await g.click("Reject", on=card2, user="mod")
    assert "Rejected" in r.content
    assert [p.key for p in await g.app.participation.prompts.pool(g.app.guild_id)].count("s-2") == 0
    audit = await g.app.audit.recent(g.app.guild_id)
    assert [a["action"] for a in audit][:2] == ["prompt.suggestion.reject", "prompt.suggestion.approve"]


async def test_messages_are_counted_in_community_channels_only(harness):
    g = await harness()
    for _ in range(3):
        await g.say("lounge", "hi", user="alice")
    await g.say("mod-log", "note to self", user="mod")          # a moderators' channel: not counted
    await g.advance(days=1)
    await g.say(g.channel("daily-prompt").messages[-1].thread, "answer", user="alice")  # threads count
    await g.app.participation.flush_activity()
    guild = g.app.guild_id
    assert await repo.activity_total(g.app.db, guild, user_id=g.user_id("alice")) == 4
    assert await repo.activity_total(g.app.db, guild, user_id=g.user_id("mod")) == 0
    await g.say("lounge", "bye", user="bob")
    await g.restart()                                           # shutdown flushes the buffer
    assert await repo.activity_total(g.app.db, guild, user_id=g.user_id("bob")) == 1
