"""`python -m bot export feedback`: the same CSV as /feedback export, from the command line."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from bot.__main__ import main
from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.services.feedback import read_csv

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
TRICKY = 'a, "b"\nc 🍵 抹茶'


def _seed(db_path) -> None:
    async def seed():
        clock = FakeClock(T0)
        app = await App.open(load_config("config"), db_path=db_path, clock=clock, real_scheduler=False)
        try:
            await app.feedback.submit(1, 11, category="product", title="old", text="old one")
            clock.advance(days=5)
            await app.feedback.submit(1, 12, category="bug", title="t", text=TRICKY, anonymous=True)
        finally:
            await app.close()

    asyncio.run(seed())


def test_export_feedback_to_a_file_round_trips(tmp_path, capsys):
    db = tmp_path / "k.db"
    _seed(db)
    out = tmp_path / "fb.csv"
    assert main(["export", "feedback", "--db", str(db), "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    assert [r["text"] for r in rows] == ["old one", TRICKY]
    assert rows[1]["anonymous"] == "yes" and rows[1]["category"] == "bug"
    assert "wrote 2 feedback row(s)" in capsys.readouterr().err


def test_export_feedback_since_a_date(tmp_path):
    db = tmp_path / "k.db"
    _seed(db)
    out = tmp_path / "fb.csv"
    since = (T0 + timedelta(days=3)).date().isoformat()
    assert main(["export", "feedback", "--db", str(db), "--since", since, "--out", str(out)]) == 0
    assert [r["title"] for r in read_csv(out.read_bytes())] == ["t"]


def test_export_a_bad_date_or_unknown_kind_is_refused(tmp_path, capsys):
    db = tmp_path / "k.db"
    _seed(db)
    assert main(["export", "feedback", "--db", str(db), "--since", "yesterday"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    try:
        main(["export", "nonsense", "--db", str(db)])
    except SystemExit as exc:  # argparse: invalid choice
        assert exc.code == 2
    else:
        raise AssertionError("an unknown export kind must be refused")
