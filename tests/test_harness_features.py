"""The fake Discord behaves like Discord for the less common paths: selects, context menus, threads,
persona webhooks, deferrals and follow-ups, reactions, ephemeral visibility, token expiry."""
from __future__ import annotations

from datetime import timedelta

import discord
import pytest

from bot.offline import Forbidden, HarnessError


def add(g, command):
    g.bot.tree.add_command(command)
    return command


async def test_a_string_select_reaches_its_callback_with_the_chosen_values(harness):
    g = await harness()
    picked = {}

    class Pick(discord.ui.View):
        @discord.ui.select(options=[discord.SelectOption(label="Green tea", value="green"),
                                    discord.SelectOption(label="Black tea", value="black"),
                                    discord.SelectOption(label="Oolong", value="oolong")], max_values=2)
        async def choose(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
            picked["values"] = select.values
            await interaction.response.send_message("noted", ephemeral=True)

    @discord.app_commands.command(name="pick", description="pick")
    async def pick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Which?", view=Pick(), ephemeral=True)

    add(g, pick)
    r = await g.slash("/pick", user="bob")
    done = await g.select(["Green tea", "oolong"], on=r, user="bob")
    assert picked["values"] == ["green", "oolong"] and done.content == "noted"
    with pytest.raises(HarnessError, match="only shown to someone else"):
        await g.select(["Green tea"], on=r, user="alice")
    with pytest.raises(HarnessError, match="between 1 and 2"):
        await g.select(["green", "black", "oolong"], on=r, user="bob")


async def test_user_and_message_context_menus_get_their_resolved_targets(harness):
    g = await harness()
    seen = {}

    @discord.app_commands.context_menu(name="Who is this")
    async def who(interaction: discord.Interaction, member: discord.Member) -> None:
        seen["member"] = member.id
        await interaction.response.send_message(member.display_name, ephemeral=True)

    @discord.app_commands.context_menu(name="Quote")
    async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
        seen["message"] = (message.id, message.content)
        await interaction.response.send_message(f"> {message.content}")

    add(g, who), add(g, quote)
    r = await g.context_menu("Who is this", target="carol", user="bob")
    assert seen["member"] == g.user_id("carol") and r.content == "carol" and r.ephemeral
    msg = await g.say("lounge", "tea time", user="alice")
    r = await g.context_menu("Quote", message=msg, user="bob")
    assert seen["message"] == (msg.id, "tea time")  # the resolved message carries content, the gateway did not
    assert not r.ephemeral and g.channel("lounge").messages[-1].content == "> tea time"


async def test_a_deferred_reply_is_filled_by_the_first_follow_up_then_more_follow_ups_are_new_messages(harness):
    g = await harness()

    @discord.app_commands.command(name="slow", description="slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("first")
        await interaction.followup.send("second", ephemeral=True)
        await interaction.edit_original_response(content="first, edited")

    add(g, slow)
    r = await g.slash("/slow", user="bob")
    assert r.response_type == 5 and r.deferred
    assert [m.content for m in r.messages] == ["first, edited", "second"]
    assert all(m.ephemeral for m in r.messages)
    assert g.channel("lounge").messages == []  # ephemeral: nobody else sees them


async def test_an_interaction_answered_twice_gets_discords_40060(harness):
    g = await harness()

    @discord.app_commands.command(name="twice", description="twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")

    add(g, twice)
    r = await g.slash("/twice", user="bob")
    with pytest.raises(discord.HTTPException) as again:
        await g.raw_interaction_callback(r, {"type": 4, "data": {"content": "two"}})
    assert again.value.code == 40060
    assert [m.content for m in r.messages] == ["one"]


async def test_follow_ups_expire_after_fifteen_minutes(harness):
    g = await harness()
    holder = {}

    @discord.app_commands.command(name="later", description="later")
    async def later(interaction: discord.Interaction) -> None:
        holder["i"] = interaction
        await interaction.response.send_message("now", ephemeral=True)

    add(g, later)
    await g.slash("/later", user="bob")
    await g.advance(minutes=16)
    with pytest.raises(discord.NotFound):
        await holder["i"].followup.send("too late")


async def test_threads_on_messages_and_posting_in_them(harness):
    g = await harness()
    channel = g.bot.resolve_channel(g.guild, "daily-prompt")
    sent = await channel.send("Question of the day")
    thread = await sent.create_thread(name="Answers")
    await g.settle()
    fake = g.message(sent.id)
    assert fake.thread is not None and fake.thread.name == "Answers"
    assert g.guild.get_thread(thread.id) is not None  # THREAD_CREATE reached the cache
    answer = await g.say(fake.thread, "Matcha cookies!", user="alice")
    assert fake.thread.messages == [answer]
    with pytest.raises(Forbidden):
        await g.say(fake.thread, "me too", user="vera")


async def test_persona_webhooks_post_under_the_personas_name(harness):
    g = await harness()
    channel = g.bot.resolve_channel(g.guild, "lounge")
    hook = await channel.create_webhook(name="Kizuna persona")
    await hook.send("Irasshaimase!", username="Sakura-chan", wait=True)
    msg = g.channel("lounge").messages[-1]
    assert msg.username == "Sakura-chan" and msg.webhook_id == hook.id
    g.deny_bot("lounge", "manage_webhooks")
    await g.settle()
    with pytest.raises(discord.Forbidden):
        await channel.webhooks()


async def test_reactions_by_members_and_the_bot_reach_the_world_and_the_listeners(harness):
    g = await harness()
    seen = []

    async def on_raw_reaction_add(payload):
        seen.append((payload.user_id, str(payload.emoji)))

    g.bot.add_listener(on_raw_reaction_add)
    channel = g.bot.resolve_channel(g.guild, "announcements")
    post = await channel.send("New blend!")
    await post.add_reaction("👍")
    await g.settle()
    fake = g.message(post.id)
    with pytest.raises(Forbidden):
        await g.react(fake, "🎉", user="vera")  # visitors may not react in read-only channels
    await g.react(fake, "👍", user="alice")
    assert fake.reactions["👍"] == [g.world.bot_user_id, g.user_id("alice")]
    assert (g.user_id("alice"), "👍") in seen


async def test_members_messages_reach_the_bot_without_content_unless_they_mention_it(harness):
    g = await harness()
    got = []

    async def on_message(message):
        if not message.author.bot:
            got.append(message.content)

    g.bot.add_listener(on_message)
    await g.say("lounge", "secret words", user="alice")
    await g.say("lounge", f"<@{g.world.bot_user_id}> hello", user="alice")
    assert got == ["", f"<@{g.world.bot_user_id}> hello"]


async def test_ephemeral_replies_are_not_in_the_channel_and_others_cannot_click_them(harness):
    g = await harness()

    class One(discord.ui.View):
        @discord.ui.button(label="Go")
        async def go(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            await interaction.response.edit_message(content="gone", view=None)

    @discord.app_commands.command(name="one", description="one")
    async def one(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("private", view=One(), ephemeral=True)

    add(g, one)
    r = await g.slash("/one", user="bob")
    assert r.ephemeral and g.channel("lounge").messages == []
    with pytest.raises(HarnessError):
        await g.click("Go", on=r, user="alice")
    clicked = await g.click("Go", on=r, user="bob")
    assert clicked.content == "gone" and clicked.buttons == []


async def test_strict_mode_fails_a_step_when_the_bot_only_logs_an_error(harness):
    from bot.offline import BotError

    g = await harness()

    async def on_message(message):
        raise RuntimeError("listener broke")

    g.bot.add_listener(on_message)
    with pytest.raises(BotError, match="listener broke|on_message"):
        await g.say("lounge", "hi", user="alice")
    with g.allow_errors():
        await g.say("lounge", "hi again", user="alice")


async def test_an_unknown_route_names_itself(harness):
    from bot.offline import HarnessGap

    g = await harness()
    with pytest.raises(HarnessGap, match="GET /guilds/{guild_id}/bans"):
        await g.raw_request("GET", "/guilds/{guild_id}/bans", guild_id=g.world.guild_id)


async def test_timers_fire_in_order_with_the_clock_set_to_each_occurrence(harness):
    g = await harness()
    seen = []

    async def cb(when):
        seen.append((when, g.clock.now()))

    t0 = g.clock.now()
    g.app.scheduler.add_timer("a", t0 + timedelta(hours=3), cb)
    g.app.scheduler.add_timer("b", t0 + timedelta(hours=1), cb)
    await g.advance(days=1)
    assert [w for w, _ in seen] == [t0 + timedelta(hours=1), t0 + timedelta(hours=3)]
    assert all(w == now for w, now in seen)


async def test_files_in_an_interaction_reply_arrive_through_multipart(harness):
    import io

    g = await harness()

    @discord.app_commands.command(name="export", description="export")
    async def export(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("here", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "data.csv"),
                                                ephemeral=True)

    add(g, export)
    r = await g.slash("/export", user="mod")
    assert r.files == [("data.csv", b"a,b\n1,2\n")] and r.content == "here"
    assert g.requests[-1].json["data"]["attachments"][0]["filename"] == "data.csv"


async def test_autocomplete_returns_the_bots_suggestions(harness):
    g = await harness()

    @discord.app_commands.command(name="blend", description="blend")
    async def blend(interaction: discord.Interaction, name: str, cups: int = 1) -> None:
        await interaction.response.send_message(f"{cups} {name}", ephemeral=True)

    @blend.autocomplete("name")
    async def names(interaction: discord.Interaction, current: str):
        seen = interaction.namespace.cups
        return [discord.app_commands.Choice(name=f"{n} x{seen}", value=n)
                for n in ("sencha", "sakura", "genmaicha") if n.startswith(current)]

    add(g, blend)
    assert await g.autocomplete("/blend", "name", "s", user="bob", options={"cups": 2}) == [
        {"name": "sencha x2", "value": "sencha"}, {"name": "sakura x2", "value": "sakura"}]
    assert (await g.slash("/blend", user="bob", name="sakura", cups=3)).content == "3 sakura"
