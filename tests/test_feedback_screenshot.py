"""Feedback with a screenshot (issue 20, item 4): the /feedback send form offers an optional file upload
(discord.py 2.7's `ui.FileUpload`); the uploaded image's metadata is kept with the item, shown to
moderators (the mod-queue copy, /feedback show, the export) and never on the public post."""
from __future__ import annotations

import json

from bot.config import load_config
from bot.services.feedback import read_csv
from tests.helpers import config_dir_with

FILE_UPLOAD = 19


async def send(g, user, *, text="The checkout page breaks on my phone.", screenshot=None, title="Checkout"):
    await g.slash("/feedback send", user=user)
    values = {"category": "Bug", "title": title, "text": text}
    if screenshot is not None:
        values["screenshot"] = screenshot
    return await g.submit_modal(values, user=user)


async def test_the_form_offers_an_optional_screenshot_upload(harness):
    g = await harness()
    await g.slash("/feedback send", user="alice")
    fields = g.modal_fields(g.modal_for("alice"))
    assert len(fields) == 5  # a modal's limit in discord.py: the upload is the fifth
    upload = fields[-1]
    assert upload["type"] == FILE_UPLOAD and upload["required"] is False and upload["max_values"] == 1
    assert upload["label"] == "Screenshot (optional)"
    assert not g.fake.violations


async def test_a_screenshot_is_kept_and_shown_to_moderators_only(harness):
    g = await harness()
    reply = await send(g, "alice", screenshot=("checkout.png", b"\x89PNG fake"))
    assert "#1" in reply.content
    item = await g.app.feedback.get(g.guild.id, 1)
    [shot] = item.attachments
    assert shot["filename"] == "checkout.png" and shot["content_type"] == "image/png"
    assert shot["url"] in g.world.cdn and shot["size"] == len(b"\x89PNG fake")
    public = g.channel("feedback").messages[-1].embeds[0]
    assert "image" not in public and shot["url"] not in json.dumps(public)
    assert "a screenshot is attached" in json.dumps(public, ensure_ascii=False)
    shown = await g.slash("/feedback show", user="mod", item=1)
    embed = shown.embeds[0]
    assert embed["image"]["url"] == shot["url"]
    assert f"[checkout.png]({shot['url']})" in json.dumps(embed)
    await g.restart()
    assert (await g.app.feedback.get(g.guild.id, 1)).attachments == item.attachments


async def test_a_flagged_items_mod_queue_copy_carries_the_screenshot(harness):
    g = await harness()
    await send(g, "alice", text="This is a scam, I want a refund.", screenshot="receipt.jpg")
    copy = g.channel("mod-queue").messages[-1].embeds[0]
    assert copy["image"]["url"].endswith("/receipt.jpg")


async def test_a_file_that_is_not_an_image_is_refused_and_the_text_given_back(harness):
    g = await harness()
    reply = await send(g, "alice", screenshot=("notes.txt", b"hello"))
    assert "must be an image" in reply.content and "notes.txt" in reply.content
    assert reply.embeds[0]["description"] == "The checkout page breaks on my phone."
    assert await g.app.feedback.mine(g.guild.id, g.user_id("alice")) == []


async def test_the_export_lists_the_screenshot(harness):
    g = await harness()
    await send(g, "alice", screenshot="a.png")
    await send(g, "bob")
    data, count = await g.app.feedback.export_csv(g.guild.id, None)
    rows = {r["id"]: r for r in read_csv(data)}
    assert rows["1"]["screenshots"].endswith("/a.png") and rows["2"]["screenshots"] == ""


async def test_screenshots_can_be_turned_off(harness, tmp_path):
    folder = config_dir_with(tmp_path, {"community.yaml": {"feedback": {"screenshots": False}}})
    g = await harness(config=load_config(folder))
    await g.slash("/feedback send", user="alice")
    assert FILE_UPLOAD not in [f["type"] for f in g.modal_fields(g.modal_for("alice"))]
