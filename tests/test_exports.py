"""The exports brand teams ask for: members, a leaderboard period, applications — as CSV from the
command line (`python -m bot export ...`) and from Discord (`/admin export`), the same file both ways."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.__main__ import main
from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.db import membership as members_repo
from bot.db import participation as points_repo
from bot.services.safety import CONTROL_STARTS, FORMULA_STARTS, csv_cell as csv_safe_cell

FORMULA_START = sorted(FORMULA_STARTS | CONTROL_STARTS)
from bot.services.feedback import read_csv
from tests.helpers import CONFIG

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Tokyo
GUILD = 1
ALICE, BOB, CAROL, MOD = 11, 12, 13, 99
TRICKY = '=HYPERLINK("http://evil.example","click"), "quoted"\n抹茶 🍵'


def seed(db_path, extra_answer: str = "Hojicha") -> None:
    async def go():
        clock = FakeClock(T0)
        app = await App.open(load_config(CONFIG), db_path=db_path, clock=clock, real_scheduler=False)
        db = app.db
        try:
            for uid, via in ((ALICE, "open"), (BOB, "approval")):
                await members_repo.record_join(db, guild_id=GUILD, user_id=uid, via=via, at=clock.now())
            await members_repo.set_manual_tier(db, guild_id=GUILD, user_id=ALICE, tier="blossom", by=MOD, at=clock.now())

            async def award(uid, points, ref, when):
                async with db.transaction() as tx:
                    await points_repo.award_in(tx, guild_id=GUILD, user_id=uid, action="prompt_answer", ref=ref,
                                               points=points, day=when.astimezone(TOKYO).date().isoformat(), at=when)

            await award(ALICE, 5, "prompt:1", T0)                       # Dec 1
            await award(BOB, 3, "prompt:1", T0 + timedelta(days=1))     # Dec 2
            await award(BOB, 4, "prompt:2", T0 + timedelta(days=8))     # Dec 9
            answers = [{"key": "favourite", "label": "Favourite tea", "answer": extra_answer},
                       {"key": "why", "label": "Why join?", "answer": "To swap brewing tips"}]
            first = await members_repo.create_application(db, guild_id=GUILD, user_id=BOB, answers=answers, at=T0,
                                                           expires_at=T0 + timedelta(days=14))
            await members_repo.decide_application(db, first["id"], status="approved", by=MOD,
                                                  at=T0 + timedelta(hours=2))
            second = await members_repo.create_application(db, guild_id=GUILD, user_id=CAROL, answers=answers[:1],
                                                           at=T0 + timedelta(days=2), expires_at=T0 + timedelta(days=16))
            await members_repo.decide_application(db, second["id"], status="denied", by=MOD,
                                                  at=T0 + timedelta(days=3), reason="-not this time")
            clock.set(T0 + timedelta(days=10))
        finally:
            await app.close()

    asyncio.run(go())


def export(tmp_path, capsys, *args: str) -> list[dict[str, str]]:
    db = tmp_path / "k.db"
    if not db.exists():
        seed(db)
    out = tmp_path / "out.csv"
    code = main(["export", *args, "--config", str(CONFIG), "--db", str(db), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the Japanese
    return read_csv(data)


def test_members_with_tier_points_and_join_date(tmp_path, capsys):
    rows = export(tmp_path, capsys, "members")
    assert [r["user_id"] for r in rows] == [str(ALICE), str(BOB)]
    alice = rows[0]
    assert alice["joined_at (Asia/Tokyo)"] == "2026-12-01T09:00:00+09:00"
    assert (alice["tier"], alice["tier_name"], alice["tier_granted_by_moderator"]) == ("blossom", "Blossom", "yes")
    assert alice["points"] == "5" and rows[1]["points"] == "7" and rows[1]["joined_via"] == "approval"
    assert "wrote 2 members row(s)" in capsys.readouterr().err


def test_the_leaderboard_for_a_period(tmp_path, capsys):
    first_week = export(tmp_path, capsys, "leaderboard", "--since", "2026-12-01", "--until", "2026-12-07")
    assert [(r["rank"], r["user_id"], r["points"]) for r in first_week] == [("1", str(ALICE), "5"), ("2", str(BOB), "3")]
    assert first_week[0]["period_from (Asia/Tokyo)"] == "2026-12-01T00:00:00+09:00"
    assert first_week[0]["period_until (Asia/Tokyo)"] == "2026-12-08T00:00:00+09:00"
    all_time = export(tmp_path, capsys, "leaderboard")
    assert [(r["user_id"], r["points"]) for r in all_time] == [(str(BOB), "7"), (str(ALICE), "5")]


def test_applications_with_answers_and_decisions(tmp_path, capsys):
    rows = export(tmp_path, capsys, "applications")
    assert [(r["user_id"], r["decision"]) for r in rows] == [(str(BOB), "approved"), (str(CAROL), "denied")]
    assert rows[0]["answer: Favourite tea"] == "Hojicha" and rows[0]["answer: Why join?"] == "To swap brewing tips"
    assert rows[1]["answer: Why join?"] == ""  # asked later, or skipped: an empty cell, not a shifted column
    assert rows[0]["decided_at (Asia/Tokyo)"] == "2026-12-01T11:00:00+09:00" and rows[0]["decided_by"] == str(MOD)
    assert rows[1]["reason"] == "'-not this time"  # starts like a formula: stays text


@pytest.mark.parametrize("start", FORMULA_START)
def test_text_that_starts_like_a_formula_stays_text(start, tmp_path, capsys):
    seed(tmp_path / "k.db", extra_answer=f"{start}SUM(A1:A9)")
    rows = export(tmp_path, capsys, "applications")
    assert rows[0]["answer: Favourite tea"] == f"'{start}SUM(A1:A9)"


def test_csv_safe_cell_leaves_numbers_and_plain_text_alone():
    assert csv_safe_cell(-5) == -5 and csv_safe_cell(None) is None
    assert csv_safe_cell("Hojicha") == "Hojicha" and csv_safe_cell(TRICKY) == "'" + TRICKY


def test_a_bad_date_is_one_clear_line(tmp_path, capsys):
    seed(tmp_path / "k.db")
    code = main(["export", "leaderboard", "--config", str(CONFIG), "--db", str(tmp_path / "k.db"), "--since", "last week"])
    assert code == 2 and "YYYY-MM-DD" in capsys.readouterr().err


# --- from Discord: /admin export --------------------------------------------------------------------
async def test_moderators_export_from_discord_with_names_and_it_is_audited(harness):
    g = await harness()
    app = g.app
    alice = g.user_id("alice")
    await members_repo.record_join(app.db, guild_id=app.guild_id, user_id=alice, via="open", at=g.clock.now())
    reply = await g.slash("/admin export", user="mod", options={"kind": "members"})
    assert "members export: 1 row." in reply.text and "Asia/Tokyo" in reply.text
    (name, data), = reply.files
    rows = read_csv(data)
    assert name.startswith("members-") and name.endswith(".csv")
    assert rows[0]["user_id"] == str(alice) and rows[0]["name"] == (g.member("alice").nick or "alice")
    entry = (await app.audit.recent(app.guild_id, 1))[0]
    assert (entry["action"], entry["target"]) == ("export", "members")


async def test_members_cannot_export(harness):
    g = await harness()
    reply = await g.slash("/admin export", user="alice", options={"kind": "applications"})
    assert "Only moderators" in reply.text and not reply.files
