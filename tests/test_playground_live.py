"""The playground shows Discord's native surfaces (issue 20): `/ama open` planned for later shows its
scheduled event, a member presses Interested and sees the reminder DM; a poll is shown with its answers
and voted with `:vote`, and its results come at its end."""
from __future__ import annotations

from tests.test_playground import block_after
from tests.test_playground_journeys import play


def test_ama_open_shows_the_scheduled_event_and_its_reminder_dm(capsys, tmp_path):
    t = play(capsys, tmp_path, """\
/ama open guest:carol topic:"Blending winter teas" starts:1h
:as alice
:interested
:events
:wait 31m
:wait 30m
/ama ask question:"Which blend for a snowy night?"
:as mod
/ama close
""")
    opened = block_after(t, 'mod> /ama open guest:carol topic:"Blending winter teas" starts:1h')
    assert "planned for" in opened
    assert "📅 [event] AMA: Blending winter teas (scheduled)" in opened
    assert "0 interested" in opened
    assert "1 interested" in block_after(t, "alice> :interested")
    assert "1. AMA: Blending winter teas (scheduled)" in block_after(t, "alice> :events")
    reminder = block_after(t, "alice> :wait 31m")
    assert "[DM → alice]" in reminder and "Blending winter teas" in reminder and "starts in 29 minutes" in reminder
    live = block_after(t, "alice> :wait 30m")
    assert "📅 [event updated] AMA: Blending winter teas (active)" in live
    assert "[#lounge] Sakura-chan:" in live  # the session opened by itself: its post with the Ask button
    assert "(completed)" in block_after(t, "mod> /ama close")


def test_a_poll_can_be_voted_with_vote(capsys, tmp_path):
    t = play(capsys, tmp_path, """\
/poll post question:"Your winter tea?" answers:"Sencha | Matcha | Hojicha" hours:1
:as alice
:vote Matcha
:as bob
:vote 3
:read daily-prompt 1
:wait 61m
""")
    posted = block_after(t, 'mod> /poll post question:"Your winter tea?" answers:"Sencha | Matcha | Hojicha" hours:1')
    assert "📊 Your winter tea?" in posted and "2) Matcha: 0" in posted
    assert "(voted 'Matcha'" in block_after(t, "alice> :vote Matcha")
    read = block_after(t, "bob> :read daily-prompt 1")
    assert "2) Matcha: 1" in read and "3) Hojicha: 1" in read
    results = block_after(t, "bob> :wait 61m")
    assert "The poll is closed" in results and "A tie between **Matcha / Hojicha**" in results
