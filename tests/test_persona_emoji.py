"""The persona's emoji (issue 20): community.yaml `persona.emoji` names image files in the config
folder; `check` holds them to Discord's rules; /setup uploads each as an application emoji
(GET/POST /applications/{id}/emojis, validated against the spec like every request) once."""
from __future__ import annotations

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from tests.helpers import CONFIG, config_dir_with

SHIPPED = (CONFIG / "emoji" / "sakura_blossom.png").read_bytes()


EMOJI = {"community.yaml": {"persona": {"emoji": {"sakura_blossom": "emoji/sakura_blossom.png"}}}}


async def with_emoji(harness, tmp_path):
    """The example community with its persona emoji on (the example ships the image, commented out)."""
    return await harness(config=load_config(config_dir_with(tmp_path, EMOJI)))


def emoji_requests(g) -> list[str]:
    return [f"{r.method} {r.path}" for r in g.requests if "/emojis" in r.path]


async def test_setup_uploads_the_persona_emoji_once(harness, tmp_path):
    g = await with_emoji(harness, tmp_path)
    r = await g.slash("/setup", user="mod")
    assert "Created: " in r.content and ":sakura_blossom:" in r.content.split("Created: ")[1].splitlines()[0]
    [emoji] = g.world.application_emojis.values()
    assert emoji["name"] == "sakura_blossom" and emoji["image"] == SHIPPED and not emoji["animated"]
    assert emoji_requests(g) == ["GET /applications/{application_id}/emojis",
                                 "POST /applications/{application_id}/emojis"]
    r = await g.slash("/setup", user="mod")  # again: found by its name, kept
    assert ":sakura_blossom:" in r.content.split("Already right: ")[1].splitlines()[0]
    assert len(g.world.application_emojis) == 1
    assert emoji_requests(g)[2:] == ["GET /applications/{application_id}/emojis"]


async def test_a_refused_upload_is_reported_and_setup_goes_on(harness, tmp_path):
    g = await with_emoji(harness, tmp_path)
    g.fake.inject("400", route="POST /applications/{application_id}/emojis")
    r = await g.slash("/setup", user="mod")
    could_not = r.content.split("Could not: ")[1].splitlines()[0]
    assert "emoji :sakura_blossom:" in could_not
    assert "Created: " in r.content and not g.world.application_emojis
    r = await g.slash("/setup", user="mod")  # the next /setup uploads it
    assert len(g.world.application_emojis) == 1 and "Could not" not in r.content


async def test_no_persona_emoji_means_no_emoji_requests(harness):
    g = await harness()
    assert g.config.community.persona.emoji == {}
    await g.slash("/setup", user="mod")
    assert emoji_requests(g) == []


PNG = SHIPPED
BROKEN = {
    "a name with a hyphen": ({"sakura-blossom": "emoji/sakura_blossom.png"}, None, "2 to 32 letters, digits or underscores"),
    "a one-letter name": ({"s": "emoji/sakura_blossom.png"}, None, "2 to 32 letters"),
    "a path outside": ({"sakura": "../secret.png"}, None, "write a path inside the config folder"),
    "an absolute path": ({"sakura": "/etc/passwd"}, None, "write a path inside the config folder"),
    "a missing file": ({"sakura": "emoji/nope.png"}, None, "cannot read the emoji image 'emoji/nope.png'"),
    "not an image": ({"sakura": "emoji/notes.png"}, b"just text", "is not a PNG, JPEG or GIF image"),
    "a WebP image": ({"sakura": "emoji/w.png"}, b"RIFF\x00\x00\x00\x00WEBPVP8 ", "is not a PNG, JPEG or GIF image"),
    "too big": ({"sakura": "emoji/big.png"}, PNG + b"\x00" * (256 * 1024), "an emoji image is at most 256 KiB"),
}


@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_check_names_each_emoji_problem(tmp_path, case):
    emoji, data, message = BROKEN[case]
    folder = config_dir_with(tmp_path, {"community.yaml": {"persona": {"emoji": emoji}}})
    if data is not None:
        (folder / next(iter(emoji.values()))).write_bytes(data)
    with pytest.raises(ConfigError) as info:
        load_config(folder)
    found = info.value.problems
    assert len(found) == 1 and "community.yaml:" in found[0] and "persona.emoji" in found[0], found
    assert message in found[0], found


def test_an_emoji_image_of_256_kib_exactly_is_fine(tmp_path):
    folder = config_dir_with(tmp_path, {"community.yaml": {"persona": {"emoji": {"big": "emoji/big.png"}}}})
    (folder / "emoji" / "big.png").write_bytes(PNG + b"\x00" * (256 * 1024 - len(PNG)))
    assert load_config(folder).community.persona.emoji == {"big": "emoji/big.png"}


def test_the_example_image_passes_check(tmp_path):
    assert load_config(config_dir_with(tmp_path, EMOJI)).community.persona.emoji == EMOJI["community.yaml"]["persona"]["emoji"]
