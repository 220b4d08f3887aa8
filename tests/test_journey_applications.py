"""Journeys through the moderators' queue of applications (issue 15, "Membership"): a card whose
application can no longer be decided (it expired, or the applicant left) greys out its Approve / Deny
buttons and says why, as a decided card loses them; after a restart too."""
from __future__ import annotations

import pytest

from bot.offline.harness import HarnessError
from tests.helpers import config_with


def approval(tmp_path, **membership):
    return config_with(tmp_path, {"community.yaml": {"membership": {"mode": "approval", **membership}}})


async def apply(g, user="vera"):
    await g.slash("/join", user=user)
    await g.submit_modal({"favourite": "Hojicha", "why": "I love roasted tea", "rules": True}, user=user)
    return g.channel("mod-queue").messages[-1]


def greyed_out(card) -> bool:
    return card.buttons == ["Approve", "Deny"] and all(b.get("disabled") for b in card.button_components)


def footer(card) -> str:
    return (card.embeds[0].get("footer") or {}).get("text", "")


@pytest.mark.parametrize("restart", [False, True], ids=["running", "after a restart"])
async def test_an_expired_application_greys_out_its_card(harness, tmp_path, restart):
    g = await harness(config=approval(tmp_path, application_expiry_days=2))
    card = await apply(g)
    assert not greyed_out(card) and "if nobody decides" in card.embeds[0]["description"]
    if restart:
        await g.restart()
    await g.advance(days=2, hours=1)
    assert "expired" in g.dms("vera")[-1].content
    assert greyed_out(card), card.button_components
    assert footer(card) == g.app.t("membership.outcome_expired", id=1, reason="—")
    assert "if nobody decides" not in card.embeds[0]["description"]
    with pytest.raises(HarnessError, match="disabled"):
        await g.click("Approve", on=card, user="mod")


async def test_a_withdrawn_application_greys_out_its_card(harness, tmp_path):
    g = await harness(config=approval(tmp_path))
    card = await apply(g)
    await g.remove_member("vera")
    assert greyed_out(card) and "Withdrawn" in footer(card)
    with pytest.raises(HarnessError, match="disabled"):
        await g.click("Deny", on=card, user="mod")


async def test_a_decided_card_keeps_no_live_buttons(harness, tmp_path):
    g = await harness(config=approval(tmp_path))
    card = await apply(g)
    await g.click("Deny", on=card, user="mod")
    await g.submit_modal({"reason": "Tell us more"}, user="mod")
    assert not any(not b.get("disabled") for b in card.button_components)
    assert "Denied" in footer(card)


async def test_a_card_an_older_version_left_live_is_greyed_out_at_the_next_start(harness, tmp_path):
    g = await harness(config=approval(tmp_path, application_expiry_days=2))
    card = await apply(g)
    await g.advance(days=2, hours=1)
    # as an older version left it: expired, but the greyed-out card never queued
    await g.app.db.execute("DELETE FROM outbox WHERE dedupe_key = 'membership:queue:1:closed'")
    card.components[0]["components"][0]["disabled"] = False
    edits = len(card.history)
    await g.restart()
    assert greyed_out(card) and len(card.history) == edits + 1
    await g.restart()
    assert len(card.history) == edits + 1  # once
