"""The /stats chart is kept by what it is drawn from (issue 17: a render is 100-500 ms of CPU): asked
again with the same figures it is not drawn again, and any change to a day's figure, the days, or the
labels draws it anew, so the PNG served is always the one a fresh render gives."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

import bot.services.stats as stats_module
from bot.app import App
from bot.clock import FakeClock
from bot.config import load_config
from bot.services.stats import CHART_CACHE, DayPoint, Rate, StatsReport

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
async def app(tmp_path):
    app = await App.open(load_config("config"), db_path=tmp_path / "k.db", clock=FakeClock(NOW),
                         real_scheduler=False)
    yield app
    await app.close()


@pytest.fixture
def renders(monkeypatch):
    """The reports actually drawn, in order."""
    drawn: list[StatsReport] = []
    real = stats_module.render_chart

    def counting(report, labels):
        drawn.append(report)
        return real(report, labels)

    monkeypatch.setattr(stats_module, "render_chart", counting)
    return drawn


def report(days: int = 7, **changes) -> StatsReport:
    first = date(2026, 11, 24)
    points = tuple(DayPoint(first + timedelta(days=i), 10 + i, i % 3, i % 2) for i in range(days))
    rate = Rate(1, 1, 1, 0.1)
    base = StatsReport("week" if days == 7 else "month", points[0].day, points[-1].day, 100, 1, 1, 1, 1, 1, 1,
                       rate, rate, {}, (), points)
    return replace(base, **changes)


def changed_day(r: StatsReport, index: int, **fields) -> StatsReport:
    days = list(r.days)
    days[index] = replace(days[index], **fields)
    return replace(r, days=tuple(days))


# every input the chart is drawn from: each must draw anew
CHANGES = {
    "today's active +1": lambda r: changed_day(r, -1, active=r.days[-1].active + 1),
    "first day's active -1": lambda r: changed_day(r, 0, active=r.days[0].active - 1),
    "a join today": lambda r: changed_day(r, -1, joined=r.days[-1].joined + 1),
    "a leave on day 3": lambda r: changed_day(r, 3, left=r.days[3].left + 1),
    "the days move on": lambda r: replace(r, days=tuple(replace(d, day=d.day + timedelta(days=1)) for d in r.days),
                                          first_day=r.first_day + timedelta(days=1),
                                          last_day=r.last_day + timedelta(days=1)),
    "a month": lambda r: report(30),
}


async def test_the_same_figures_are_not_drawn_twice(app, renders):
    first = await app.stats.chart(report())
    again = await app.stats.chart(report())
    assert again == first
    assert len(renders) == 1


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
async def test_any_change_draws_the_chart_anew(app, renders, change):
    before = report()
    await app.stats.chart(before)
    after = CHANGES[change](before)
    png = await app.stats.chart(after)
    assert len(renders) == 2 and renders[-1] is after
    assert png == stats_module.render_chart(after, app.stats._chart_labels(after))  # (a third render: fresh)
    assert await app.stats.chart(before) == stats_module.render_chart(before, app.stats._chart_labels(before))
    assert len(renders) == 4  # `before` came from the cache (the two fresh renders above counted)


async def test_the_labels_are_part_of_the_key(app, renders):
    await app.stats.chart(report())
    app.stats._chart_labels = lambda r: {"title": "other", "active": "a", "joined": "j", "left": "l"}
    await app.stats.chart(report())
    assert len(renders) == 2


async def test_only_the_last_charts_are_kept(app, renders):
    reports = [changed_day(report(), -1, active=100 + i) for i in range(CHART_CACHE + 1)]
    for r in reports:
        await app.stats.chart(r)
    assert len(app.stats._charts) == CHART_CACHE
    await app.stats.chart(reports[-1])  # the newest is kept
    assert len(renders) == CHART_CACHE + 1
    await app.stats.chart(reports[0])  # the oldest went
    assert len(renders) == CHART_CACHE + 2
