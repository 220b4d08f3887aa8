"""Schedule actions: each declares typed params in the config layer, the running bot has exactly those
actions, handlers get the validated model, and `/schedule run-now` tells a failure as a failure."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.clock import FakeClock
from bot.config.actions import ACTIONS, KNOWN_ACTIONS, QuizStartParams, StatsDigestParams
from bot.config.schedules import KNOWN_ACTIONS as SCHEDULE_ACTIONS
from tests.helpers import config_with

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 12, 1, 8, 0, tzinfo=TOKYO).astimezone(timezone.utc)

RUN_NOW = """
schedules:
  - id: champions
    weekly: {days: [sun], at: "20:00"}
    action: drop.open
    params: {id: prompt-champions}
  - id: quiz
    weekly: {days: [sat], at: "20:00"}
    action: quiz.start
    params: {bank: tea, questions: 2, seconds: 30}
  - id: morning
    channel: lounge
    daily: "09:00"
    text: "Morning post"
"""


@pytest.mark.parametrize("action", KNOWN_ACTIONS)
def test_every_action_has_frozen_params_that_refuse_unknown_keys(action):
    model = ACTIONS[action]
    assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]
    with pytest.raises(ValidationError) as err:
        model.model_validate({"id": "x", "definitely_misspelt": 1})
    assert any(e["type"] == "extra_forbidden" and e["loc"] == ("definitely_misspelt",) for e in err.value.errors())


def test_params_of_accepts_the_model_or_a_mapping():
    typed = QuizStartParams(bank="tea", questions=3)
    assert QuizStartParams.of(typed) is typed
    assert QuizStartParams.of({"bank": "tea", "questions": 3}) == typed
    assert StatsDigestParams.of(None).period == "week"
    with pytest.raises(ValidationError):
        StatsDigestParams.of({"period": "year"})


async def test_the_running_bot_has_exactly_the_actions_check_knows(harness):
    g = await harness(clock=FakeClock(START))
    assert g.app.actions.names() == sorted(KNOWN_ACTIONS)
    assert SCHEDULE_ACTIONS == KNOWN_ACTIONS


async def test_a_handler_receives_the_validated_params(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": RUN_NOW})
    g = await harness(config=config, clock=FakeClock(START))
    seen = []

    async def spy(guild_id, occurrence, params):
        seen.append(params)

    g.app.actions._handlers["quiz.start"] = spy  # the registry has no public replace: a test-only swap
    reply = await g.slash("/schedule run-now", user="mod", schedule="quiz")
    assert "Ran `quiz` now" in reply.content
    assert seen == [QuizStartParams(bank="tea", questions=2, seconds=30)]


async def test_run_now_of_a_failing_action_says_it_failed(harness, tmp_path):
    """Today's bug: `/schedule run-now` answered "Ran … now" although the drop was already open."""
    config = config_with(tmp_path, {"schedules.yaml": RUN_NOW})
    g = await harness(config=config, clock=FakeClock(START))
    first = await g.slash("/schedule run-now", user="mod", schedule="champions")
    assert "Ran `champions` now" in first.content and first.ephemeral
    await g.advance(minutes=1)
    with g.allow_errors():  # the schedules service logs the failed action before noting it
        second = await g.slash("/schedule run-now", user="mod", schedule="champions")
    assert second.ephemeral
    assert "Ran `champions` now:" not in second.content
    assert second.content.startswith("❌") and "`drop.open` failed" in second.content
    assert "is already open" in second.content
    notes = [m.content for m in g.channel("mod-log").messages if "`drop.open` failed" in m.content]
    assert len(notes) == 1
    ledger = await g.app.db.fetchall(
        "SELECT status FROM schedule_ledger WHERE schedule_id = 'champions' ORDER BY id")
    assert [r[0] for r in ledger] == ["posted", "failed"]


async def test_run_now_of_a_quiz_while_one_runs_says_it_failed(harness, tmp_path):
    """The quiz action used to swallow its error, so run-now said it ran."""
    config = config_with(tmp_path, {"schedules.yaml": RUN_NOW})
    g = await harness(config=config, clock=FakeClock(START))
    assert "Ran `quiz` now" in (await g.slash("/schedule run-now", user="mod", schedule="quiz")).content
    await g.advance(seconds=5)
    with g.allow_errors():
        reply = await g.slash("/schedule run-now", user="mod", schedule="quiz")
    assert reply.ephemeral and "`quiz.start` failed" in reply.content and "already running" in reply.content


async def test_run_now_failure_is_told_in_japanese_too(harness, tmp_path):
    config = config_with(tmp_path, {"schedules.yaml": RUN_NOW, "community.yaml": {"community": {"language": "ja"}}})
    g = await harness(config=config, clock=FakeClock(START))
    await g.slash("/schedule run-now", user="mod", schedule="champions")
    await g.advance(minutes=1)
    with g.allow_errors():
        reply = await g.slash("/schedule run-now", user="mod", schedule="champions")
    assert reply.ephemeral and "失敗しました" in reply.content
