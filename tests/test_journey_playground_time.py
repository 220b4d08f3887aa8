"""The playground shows Discord timestamps as a Discord client would (issue 15, "Saying it once"): a
20-second quiz question says "Closes in 20 seconds", not "Closes 09:00"; each style (`t`, `T`, `d`, `D`,
`f`, `F`, `R`) is rendered in the community's time zone and language, `R` relative to the fake clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.offline.playground import render_timestamps
from tests.test_playground import block_after
from tests.test_playground_journeys import play

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Tokyo, a Tuesday
WHEN = NOW + timedelta(hours=12, minutes=5, seconds=30)  # 21:05:30 in Tokyo


def ts(when: datetime, style: str = "") -> str:
    return f"<t:{int(when.timestamp())}{':' + style if style else ''}>"


@pytest.mark.parametrize("style, en, ja", [
    ("t", "21:05", "21:05"),
    ("T", "21:05:30", "21:05:30"),
    ("d", "01/12/2026", "2026/12/01"),
    ("D", "1 December 2026", "2026年12月1日"),
    ("f", "1 December 2026 21:05", "2026年12月1日 21:05"),
    ("", "1 December 2026 21:05", "2026年12月1日 21:05"),  # no style: Discord's default, f
    ("F", "Tuesday, 1 December 2026 21:05", "2026年12月1日火曜日 21:05"),
    ("R", "in 12 hours", "12 時間後"),
])
def test_each_timestamp_style_reads_as_in_a_discord_client(style, en, ja):
    assert render_timestamps(f"Closes {ts(WHEN, style)}.", NOW, TOKYO, "en") == f"Closes {en}."
    assert render_timestamps(f"Closes {ts(WHEN, style)}.", NOW, TOKYO, "ja") == f"Closes {ja}."


@pytest.mark.parametrize("delta, en, ja", [
    (timedelta(seconds=20), "in 20 seconds", "20 秒後"),
    (timedelta(seconds=1), "in 1 second", "1 秒後"),
    (timedelta(0), "now", "今"),
    (timedelta(seconds=-45), "45 seconds ago", "45 秒前"),
    (timedelta(minutes=1), "in 1 minute", "1 分後"),
    (timedelta(minutes=90), "in 2 hours", "2 時間後"),
    (timedelta(minutes=-30), "30 minutes ago", "30 分前"),
    (timedelta(days=1), "in 1 day", "1 日後"),
    (timedelta(days=3, hours=2), "in 3 days", "3 日後"),
    (timedelta(days=-60), "2 months ago", "2 か月前"),
    (timedelta(days=400), "in 1 year", "1 年後"),
])
def test_relative_timestamps_count_from_the_fake_clock(delta, en, ja):
    assert render_timestamps(ts(NOW + delta, "R"), NOW, TOKYO, "en") == en
    assert render_timestamps(ts(NOW + delta, "R"), NOW, TOKYO, "ja") == ja


def test_a_twenty_second_quiz_question_says_it_closes_in_twenty_seconds(capsys, tmp_path):
    t = play(capsys, tmp_path, "/quiz start bank:tea questions:1 seconds:20\n")
    block = block_after(t, "mod> /quiz start bank:tea questions:1 seconds:20")
    assert "Closes in 20 seconds." in block, block
