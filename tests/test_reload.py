"""A brand team's edit applies without a restart; a broken edit changes nothing and never stops the bot."""
from __future__ import annotations

from bot.cli.run import load_with_fallback
from bot.config import load_config
from bot.config.loader import save_last_good
from tests.helpers import config_dir_with


def _edit(folder, old: str, new: str) -> None:
    path = folder / "community.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def test_a_broken_edit_is_refused_with_file_line_and_changes_nothing(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    _edit(folder, "mode: approval", "mode: aproval")
    reply = await g.slash("/admin reload", user="mod")
    assert reply.ephemeral
    assert f"{folder / 'community.yaml'}:" in reply.content
    assert "membership.mode: 'aproval' is not one of open, approval, invite" in reply.content
    assert g.app.config.community.membership.mode == "approval"  # still the last good config
    # the bot keeps working on it
    assert "Only moderators can do that." in (await g.slash("/admin audit", user="alice")).content


async def test_a_good_edit_applies_without_a_restart(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    _edit(folder, "persona:", "messages:\n  core.not_moderator: 'Sorry, {persona.name} only lets moderators do that.'\npersona:")
    _edit(folder, "  name: Sakura Tea House", "  name: Sakura Tea Salon")
    reply = await g.slash("/admin reload", user="mod")
    assert "Sakura Tea Salon" in reply.content
    assert g.bot.config.community.info.name == "Sakura Tea Salon"
    refused = await g.slash("/admin audit", user="alice")
    assert refused.content == "Sorry, Sakura-chan only lets moderators do that."
    assert "config.reload" in [row["action"] for row in await g.app.audit.recent(g.app.guild_id)]
    # and the good config is kept beside the database for the next start
    assert load_config(g.app.last_good_dir).community.info.name == "Sakura Tea Salon"


def test_a_broken_config_at_start_runs_on_the_last_good_one(tmp_path, capsys):
    folder = config_dir_with(tmp_path)
    db = tmp_path / "data" / "kizuna.db"
    save_last_good(load_config(folder), db.parent / "last-good-config")
    _edit(folder, "timezone: Asia/Tokyo", "timezone: Asia/Tokio")
    config = load_with_fallback(str(folder), str(db))
    assert config is not None and config.community.info.timezone == "Asia/Tokyo"
    assert config.dir == folder  # reloads read the folder the brand team edits
    err = capsys.readouterr().err
    assert "community.timezone: 'Asia/Tokio' is not an IANA time zone name" in err
    assert "running on the last good config" in err


def test_a_broken_config_with_nothing_to_fall_back_on_stops(tmp_path, capsys):
    folder = config_dir_with(tmp_path)
    _edit(folder, "timezone: Asia/Tokyo", "timezone: Asia/Tokio")
    assert load_with_fallback(str(folder), str(tmp_path / "nothing" / "k.db")) is None
    assert "no last good config" in capsys.readouterr().err


def test_a_clean_start_saves_the_config_as_last_good(tmp_path):
    folder = config_dir_with(tmp_path)
    db = tmp_path / "data" / "kizuna.db"
    assert load_with_fallback(str(folder), str(db)) is not None
    assert (db.parent / "kizuna.last-good-config" / "community.yaml").read_text() == (folder / "community.yaml").read_text()


async def test_a_new_daily_review_time_applies_after_reload(harness, tmp_path):
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    tz = g.app.config.timezone
    before = g.app.scheduler.jobs["membership:daily"].next_fire.astimezone(tz)
    assert (before.hour, before.minute) == (4, 0)  # the default
    _edit(folder, "membership:\n", "membership:\n  daily_review_at: \"06:30\"\n")
    assert "Sakura" in (await g.slash("/admin reload", user="mod")).content
    after = g.app.scheduler.jobs["membership:daily"].next_fire.astimezone(tz)
    assert (after.hour, after.minute) == (6, 30)
    assert after - g.app.clock.now() <= __import__("datetime").timedelta(days=1)


async def test_changed_command_texts_after_reload_ask_for_a_sync(harness, tmp_path):
    import discord

    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    unchanged = await g.slash("/admin reload", user="mod")
    assert "Config reloaded" in unchanged.content and "python -m bot sync" not in unchanged.content
    _edit(folder, "persona:", "messages:\n  commands.admin reload: 'Re-read the brand YAML'\npersona:")
    reply = await g.slash("/admin reload", user="mod")
    assert "python -m bot sync" in reply.content
    assert g.bot.translator.tables[discord.Locale.american_english]["admin reload"] == "Re-read the brand YAML"


def test_the_last_good_config_is_found_beside_a_database_set_in_community_yaml(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KIZUNA_DB", raising=False)
    folder = config_dir_with(tmp_path)
    db = tmp_path / "elsewhere" / "tea.db"
    _edit(folder, "  language: en", f"  language: en\n  database: {db}")
    assert load_with_fallback(str(folder), None) is not None  # good: saved beside tea.db
    assert (db.parent / "tea.last-good-config" / "community.yaml").exists()
    _edit(folder, "timezone: Asia/Tokyo", "timezone: Asia/Tokio")
    config = load_with_fallback(str(folder), None)
    assert config is not None and config.community.info.timezone == "Asia/Tokyo"
    assert f"running on the last good config saved in {db.parent / 'tea.last-good-config'}" in capsys.readouterr().err


async def test_role_lookups_follow_renamed_roles_and_reloads(harness, tmp_path):
    """Roles are found by name once and remembered; a rename on Discord or a reload forgets that."""
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    guild, alice = g.bot.get_guild(g.app.guild_id), g.user_id("alice")
    assert await g.app.guild.member_role_keys(g.app.guild_id, alice) == {"member"}
    role = g.bot.resolve_role(guild, "member")
    await role.edit(name="Old Members")  # renamed on Discord: the config's "Member" is gone
    await g.settle()
    assert "member" not in g.bot.role_ids(guild)
    assert await g.app.guild.member_role_keys(g.app.guild_id, alice) == set()
    _edit(folder, "member: {name: Member}", "member: {name: Old Members}")
    assert "Config reloaded" in (await g.slash("/admin reload", user="mod")).content
    assert await g.app.guild.member_role_keys(g.app.guild_id, alice) == {"member"}
    assert g.bot.resolve_role(guild, "member").id == role.id


async def test_a_reload_that_check_would_refuse_for_discord_limits_changes_nothing(harness, tmp_path):
    """A modal title of 60 characters loads as YAML but Discord refuses it (45): `/admin reload` says so,
    with file:line, and every member's /feedback send keeps working on the current config."""
    folder = config_dir_with(tmp_path)
    g = await harness(config=load_config(folder))
    _edit(folder, "persona:", "messages:\n  feedback.modal_title: '" + "M" * 60 + "'\npersona:")
    reply = await g.slash("/admin reload", user="mod")
    assert f"{folder / 'community.yaml'}:" in reply.content
    assert "messages.feedback.modal_title" in reply.content and "45" in reply.content
    assert "feedback.modal_title" not in (g.app.config.community.messages or {})
    assert "config.reload" not in [row["action"] for row in await g.app.audit.recent(g.app.guild_id)]


def test_run_starts_on_the_last_good_config_when_a_message_would_be_refused(tmp_path, capsys):
    """`run` starts only on what `check` passes: an override Discord would refuse (a 60-character modal
    title) falls back to the last good copy and says why, as a broken file does."""
    from bot.cli.run import load_or_fall_back

    folder = config_dir_with(tmp_path)
    db = tmp_path / "data" / "kizuna.db"
    assert load_or_fall_back(str(folder), str(db), messages=True)[1] == []  # saved as the last good one
    _edit(folder, "persona:", "messages:\n  feedback.modal_title: '" + "M" * 60 + "'\npersona:")
    config, problems = load_or_fall_back(str(folder), str(db), messages=True)
    assert config is not None and "feedback.modal_title" not in (config.community.messages or {})
    assert any("messages.feedback.modal_title" in p and "45" in p for p in problems), problems
    assert "running on the last good config" in capsys.readouterr().err
