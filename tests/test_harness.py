"""The offline harness drives the real bot: checks, transformers, views, modals, dynamic items,
permissions, allowed mentions, restarts, and Discord's spec on every request."""
from __future__ import annotations

import pytest

from bot.offline import Forbidden, HarnessError, SpecViolation


# --- checks and option parsing run for real ------------------------------------------------------------
async def test_a_moderator_command_is_refused_to_a_member_with_the_checks_own_text(harness):
    g = await harness()
    r = await g.slash("/admin audit", user="alice")
    assert r.ephemeral
    assert r.content == g.app.t("core.not_moderator")


async def test_a_moderator_may_run_it(harness):
    g = await harness()
    await g.app.audit.record(g.world.guild_id, g.user_id("mod"), "tier.grant", target="bob", detail="helpful")
    r = await g.slash("/admin audit", user="mod", limit=5)
    assert r.ephemeral
    assert r.content != g.app.t("core.not_moderator")
    assert "tier.grant" in r.embeds[0]["description"]
    assert r.embeds[0]["title"] == g.app.t("admin.audit_title", count=1)


async def test_a_wrong_option_type_gets_discord_py_transformer_error(harness):
    from discord import app_commands
    from discord.enums import AppCommandOptionType

    g = await harness()
    r = await g.slash("/admin audit", user="mod", limit="abc")
    detail = str(app_commands.TransformerError("abc", AppCommandOptionType.integer, _transformer()))
    assert detail == "Failed to convert abc to int"
    assert r.ephemeral and r.content == g.app.t("core.bad_argument", detail=detail)


def _transformer():
    from bot.offline.harness import _ClientSideTransformer
    from discord.enums import AppCommandOptionType

    return _ClientSideTransformer(AppCommandOptionType.integer)


async def test_options_discord_would_never_send_are_refused_before_the_bot(harness):
    from bot.offline import OptionRefused

    g = await harness()
    with pytest.raises(OptionRefused, match="between 1 and 25"):
        await g.slash("/admin audit", user="mod", limit=99)
    with pytest.raises(OptionRefused, match="no option"):
        await g.slash("/admin audit", user="mod", lmit=3)
    with pytest.raises(OptionRefused, match="requires the option 'text'"):
        await g.slash("/admin notice", user="mod")


# --- buttons, dynamic items, restarts ------------------------------------------------------------------
async def test_a_notice_button_reaches_its_callback_once_and_still_works_after_a_restart(harness):
    g = await harness()
    r = await g.slash("/admin notice", user="mod", text="Watch the lounge tonight @everyone")
    assert r.ephemeral
    notice = g.channel("mod-queue").messages[-1]
    assert notice.buttons == [g.app.t("admin.ack_button")]
    assert not notice.pings_anyone
    await g.restart()
    with pytest.raises(HarnessError, match="cannot see"):  # members do not even see the mod queue
        await g.click(g.app.t("admin.ack_button"), on=notice, user="alice")
    done = await g.click(g.app.t("admin.ack_button"), on=notice, user="mod")
    assert done.response_type == 7  # the notice itself was updated
    assert notice.buttons == [g.app.t("admin.acked_button")]
    assert notice.button_components[0]["disabled"] is True
    assert any(f["value"] == f"<@{g.user_id('mod')}>" for f in notice.embeds[0]["fields"])
    assert g.channel("mod-log").messages[-1].content.startswith("📝") or \
        any("acknowledged" in m.content for m in g.channel("mod-log").messages)
    # a second moderator with an old copy of the button: refused from the database's claim
    notice.components[0]["components"][0]["disabled"] = False
    await g.restart()
    again = await g.click(custom_id=notice.button_components[0]["custom_id"], on=notice, user="mod")
    assert again.content == g.app.t("admin.already_acked", id=int(notice.button_components[0]["custom_id"].split(":")[-1]))


async def test_restart_keeps_the_database_the_world_and_the_clock(harness):
    g = await harness()
    await g.slash("/admin notice", user="mod", text="first")
    old_bot, now = g.bot, g.clock.now()
    await g.restart()
    assert g.bot is not old_bot and old_bot.is_closed()
    assert g.clock.now() == now
    r = await g.slash("/admin audit", user="mod")
    assert "notice" in r.embeds[0]["description"]


# --- modals ------------------------------------------------------------------------------------------------
async def test_a_modal_submission_reaches_the_real_on_submit(harness):
    import discord

    g = await harness()
    seen = {}

    class Ask(discord.ui.Modal, title="Tell us"):
        answer = discord.ui.TextInput(label="Your answer", max_length=50)
        extra = discord.ui.Label(text="More", component=discord.ui.TextInput(custom_id="more", required=False))

        async def on_submit(self, interaction: discord.Interaction) -> None:
            seen["answer"] = self.answer.value
            seen["more"] = self.extra.component.value
            await interaction.response.send_message(f"thanks {self.answer.value}", ephemeral=True)

    @discord.app_commands.command(name="ask", description="ask")
    async def ask(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Ask())

    g.bot.tree.add_command(ask)
    shown = await g.slash("/ask", user="bob")
    assert shown.modal["title"] == "Tell us" and g.modal_for("bob") is not None
    with pytest.raises(HarnessError, match="no field"):
        await g.submit_modal({"nope": "x"}, user="bob")
    r = await g.submit_modal({"Your answer": "tea", "More": "green"}, user="bob")
    assert seen == {"answer": "tea", "more": "green"}
    assert r.content == "thanks tea" and r.ephemeral
    assert g.modal_for("bob") is None


# --- permissions like Discord computes them ------------------------------------------------------------
async def test_a_visitor_cannot_post_in_a_public_channel_but_a_member_can(harness):
    g = await harness()
    assert not g.can("vera", "send_messages", "lounge") and g.can("vera", "view_channel", "lounge")
    with pytest.raises(Forbidden) as refused:
        await g.say("lounge", "hi", user="vera")
    assert refused.value.code == 50013
    msg = await g.say("lounge", "hi", user="alice")
    assert g.channel("lounge").messages[-1] is msg
    with pytest.raises(Forbidden):
        await g.say("mod-log", "peek", user="alice")


async def test_the_bot_denied_in_a_channel_gets_discords_403(harness):
    import discord

    g = await harness()
    g.deny_bot("lounge", "send_messages")
    await g.settle()
    channel = g.bot.resolve_channel(g.guild, "lounge")
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send("hello")
    assert refused.value.code == 50013
    g.close_dms("bob")
    with pytest.raises(discord.Forbidden) as closed:
        await (await g.bot.fetch_user(g.user_id("bob"))).send("hi")
    assert closed.value.code == 50007


async def test_role_changes_reach_the_bots_cache_through_gateway_events(harness):
    g = await harness()
    assert await g.app.guild.add_role(g.world.guild_id, g.user_id("bob"), "leaf")
    await g.settle()
    assert "leaf" in g.member("bob").roles
    assert "leaf" in await g.app.guild.member_role_keys(g.world.guild_id, g.user_id("bob"))
    assert g.can("bob", "view_channel", "leaf-lounge")


async def test_a_role_above_the_bots_own_cannot_be_given(harness):
    import discord

    g = await harness()
    top = g.world.add_role("Owner", position=99)
    g.world.version += 1
    guild = g.guild
    member = guild.get_member(g.user_id("bob"))
    with pytest.raises(discord.Forbidden):
        await member.add_roles(discord.Object(top.id))


# --- allowed mentions ------------------------------------------------------------------------------------
async def test_allowed_mentions_are_recorded_and_everyone_pings_nobody(harness):
    g = await harness()
    channel = g.bot.resolve_channel(g.guild, "lounge")
    await channel.send(f"@everyone look <@{g.user_id('bob')}>")
    await g.settle()
    msg = g.channel("lounge").messages[-1]
    assert msg.allowed_mentions == {"parse": []} or msg.allowed_mentions.get("parse") == []
    assert not msg.mention_everyone and msg.mentions == [] and not msg.pings_anyone


async def test_a_member_cannot_ping_everyone_without_the_permission(harness):
    g = await harness()
    msg = await g.say("lounge", "@everyone hello", user="alice")
    assert not msg.mention_everyone


# --- time, DMs, members ------------------------------------------------------------------------------------
async def test_advance_moves_the_fake_clock_and_fires_timers(harness):
    g = await harness()
    fired = []

    async def cb(when):
        fired.append(when)

    start = g.clock.now()
    from datetime import timedelta

    g.app.scheduler.add_timer("test:timer", start + timedelta(hours=2), cb)
    await g.advance(hours=1)
    assert fired == []
    await g.advance(hours=2)
    assert fired == [start + timedelta(hours=2)]
    assert g.clock.now() == start + timedelta(hours=3)


async def test_outbox_dms_and_closed_dms(harness):
    from bot.services.messages import OutMessage, Target

    g = await harness()
    failures = []

    async def on_failure(row, err):
        failures.append(err)

    g.app.outbox.on_failure(on_failure)
    await g.app.outbox.post(g.world.guild_id, Target.dm(g.user_id("bob")), OutMessage(content="hi bob"), dedupe_key="t:1")
    g.close_dms("carol")
    await g.app.outbox.post(g.world.guild_id, Target.dm(g.user_id("carol")), OutMessage(content="hi carol"), dedupe_key="t:2")
    await g.settle()
    assert [m.content for m in g.dms("bob")] == ["hi bob"]
    assert g.dms("carol") == []
    assert failures and "forbidden" in failures[0].lower()


async def test_members_join_and_leave(harness):
    g = await harness()
    erin = await g.add_member("erin", roles=["member", "leaf"])
    assert erin.roles == {"member", "leaf"}
    assert g.guild.get_member(erin.id) is not None
    assert g.can("erin", "view_channel", "leaf-lounge")
    await g.remove_member("erin")
    assert g.guild.get_member(erin.id) is None


# --- Discord's spec on every request -------------------------------------------------------------------------
async def test_an_over_long_embed_title_is_rejected_with_the_specs_message(harness):
    g = await harness()
    if not g.spec.available:
        pytest.skip(f"Discord's OpenAPI spec is absent ({g.spec.source}): cannot check request bodies")
    lounge = g.channel("lounge")
    with pytest.raises(SpecViolation) as bad:
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=lounge.id,
                            json={"embeds": [{"title": "x" * 257}]})
    assert "$.embeds[0].title" in str(bad.value) and "is too long" in str(bad.value)
    assert lounge.messages == []


async def test_six_buttons_in_one_row_are_rejected_with_the_specs_message(harness):
    g = await harness()
    if not g.spec.available:
        pytest.skip(f"Discord's OpenAPI spec is absent ({g.spec.source}): cannot check request bodies")
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": str(i), "custom_id": f"b{i}"} for i in range(6)]}
    with pytest.raises(SpecViolation) as bad:
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("lounge").id,
                            json={"content": "pick", "components": [row]})
    assert "$.components[0].components" in str(bad.value) and "is too long" in str(bad.value)


async def test_a_long_custom_id_and_a_long_modal_title_are_rejected(harness):
    g = await harness()
    if not g.spec.available:
        pytest.skip(f"Discord's OpenAPI spec is absent ({g.spec.source})")
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "ok", "custom_id": "c" * 101}]}
    with pytest.raises(SpecViolation, match="custom_id"):
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("lounge").id,
                            json={"components": [row]})
    pending = await g.pending_interaction("bob")
    modal = {"type": 9, "data": {"custom_id": "m", "title": "t" * 50, "components": [
        {"type": 18, "label": "Name", "component": {"type": 4, "custom_id": "n", "style": 1}}]}}
    with pytest.raises(SpecViolation, match=r"\$\.data\.title"):
        await g.raw_interaction_callback(pending, modal)
    with pytest.raises(SpecViolation, match="2000"):
        await g.raw_request("POST", "/channels/{channel_id}/messages", channel_id=g.channel("lounge").id,
                            json={"content": "x" * 2001})


async def test_a_violation_inside_a_command_fails_the_step_even_if_the_bot_swallows_it(harness):
    import discord

    g = await harness()

    @discord.app_commands.command(name="bad", description="bad")
    async def bad(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(embed=discord.Embed(title="y" * 300))
        except discord.HTTPException:
            pass  # a bot that hides Discord's 400 must still fail its test

    g.bot.tree.add_command(bad)
    if not g.spec.available:
        pytest.skip("spec absent")
    with pytest.raises(SpecViolation, match="title"):
        await g.slash("/bad", user="bob")


async def test_the_command_registration_body_is_checked_against_the_spec(harness):
    import discord

    g = await harness()
    commands = await g.sync()
    names = {c["name"] for c in commands["global"]}
    assert "admin" in names
    if not g.spec.available:
        pytest.skip("spec absent")

    @discord.app_commands.command(name="fine", description="d" * 100)
    async def fine(interaction):
        pass

    fine.description = "d" * 101  # discord.py checks at construction; Discord checks on registration
    g.bot.tree.add_command(fine)
    with pytest.raises(SpecViolation, match="description"):
        await g.sync()


async def test_every_request_is_recorded(harness):
    g = await harness()
    await g.slash("/admin notice", user="mod", text="hello")
    paths = [(r.method, r.path) for r in g.requests]
    assert ("POST", "/interactions/{webhook_id}/{webhook_token}/callback") in paths
    assert ("POST", "/channels/{channel_id}/messages") in paths
