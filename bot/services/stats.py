"""Community health stats: joins and leaves, active members, prompt and quiz participation, feedback
by status, top contributors, and a PNG chart of daily active members and joins.

A period is N local days (week = 7, month = 30) ending on `last_day` inclusive, in the community's
time zone: `/stats` ends today, the `stats.digest` schedule action ends the day before its occurrence
(whole days only). Definitions, so figures can be checked by hand:
- joined / left: `member_events` rows of kind joined / left in the period.
- members: holders of the member role on the server now, from the guild's roster (GuildPort), so
  members from before the bot count; without Discord (the command line) the members the bot
  recorded at the end of the period (`members` table), and the line says so. The base of
  participation rates (the active members when that count is zero).
- active: distinct members who posted (`activity_daily.messages > 0`) or participated (a
  `participation_ledger` row, or a quiz answer) on a day of the period; per day for the chart.
- prompts: prompts posted in the period, answers (`prompt_answer` ledger rows), distinct answerers,
  rate = answerers / base. quizzes: runs started, answers (right or wrong), distinct players,
  rate = players / base.
- feedback: items received in the period, by their current status.
- top contributors: messages + participations (ledger rows), then points, then user id. Their display
  names are read from the server when the bot reports and kept (`member_names`), so the command
  line names them too (members it never saw in a report show as ids).
"""
from __future__ import annotations

import asyncio
import base64
import io
import logging
import sqlite3
import threading
import time as time_module
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from bot.config.actions import StatsDigestParams
from bot.db import stats as repo
from bot.db import stats_build
from bot.db.connection import to_db_time
from bot.errors import UserError

from .messages import OutMessage, Target

log = logging.getLogger(__name__)

PERIOD_DAYS = {"week": 7, "month": 30, "quarter": 91}
HEALTH_FRESH = timedelta(minutes=5)  # how long the dashboard's health numbers are reused
CHART_SIZE = (1000, 500)  # pixels (width, height)
CHART_DPI = 100
CHART_CACHE = 8  # rendered charts kept by their inputs (a few KiB each)
# Steps of the rollups' build a report takes itself before it reads the raw rows and leaves the rest to
# the background: a small community's build (or a day's move of the windows) is done within them, so its
# report reads the rollups at once; a large one's first report is not held up by it.
INLINE_STEPS = 8
STEP_SECONDS = 0.025  # what a background build step aims to hold the writer for (bench/bench_scale.py: < 100 ms)
TOP_CONTRIBUTORS = 5
MEMBER_ROLE = "member"  # the role key that makes a community member (bot/services/membership/_roster.py)
FEEDBACK_STATUSES = ("new", "under_review", "planned", "done", "declined")
_CJK_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic", "TakaoGothic",
              "Source Han Sans JP", "Hiragino Sans", "Yu Gothic", "Meiryo", "VL Gothic")
_render_lock = threading.Lock()  # matplotlib's rcParams are process-global


@dataclass(frozen=True)
class Rate:
    runs: int  # prompts posted / quiz runs started
    answers: int
    participants: int
    rate: float | None  # participants / base, None when there is no base


@dataclass(frozen=True)
class Contributor:
    user_id: int
    messages: int
    participations: int
    points: int
    name: str | None = None  # the display name, when known


@dataclass(frozen=True)
class DayPoint:
    day: date
    active: int
    joined: int
    left: int


@dataclass(frozen=True)
class StatsReport:
    period: str
    first_day: date
    last_day: date
    members: int
    joined: int
    left: int
    active: int
    posters: int
    participants: int
    messages: int
    prompts: Rate
    quizzes: Rate
    feedback: dict[str, int]
    top: tuple[Contributor, ...]
    days: tuple[DayPoint, ...]
    members_source: str = "roster"  # roster (the server, now) | records (joins the bot recorded)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_day"] = self.first_day.isoformat()
        out["last_day"] = self.last_day.isoformat()
        out["days"] = [dict(d, day=d["day"].isoformat()) for d in out["days"]]
        return out


def period_days(period: str) -> int:
    try:
        return PERIOD_DAYS[period]
    except KeyError:
        raise UserError("stats.bad_period", period=period) from None


class StatsService:
    def __init__(self, app) -> None:
        self.app = app
        self.db = app.db
        self._tables: set[str] | None = None
        self._health: dict[tuple[int, str], tuple[datetime, date, dict[str, Any]]] = {}  # see health()
        self._health_tasks: dict[tuple[int, str], asyncio.Task] = {}  # the computations under way
        self._health_warm: asyncio.Task | None = None
        self._charts: dict[tuple, bytes] = {}  # chart_key -> PNG, least recently used first
        self._builds: dict[int, asyncio.Task] = {}  # guild -> the rollups' build going on in the background
        app.actions.register("stats.digest", self.digest)

    async def tables(self) -> set[str]:
        if self._tables is None:  # migrations all ran at open: the set cannot change while running
            self._tables = await repo.existing_tables(self.db)
        return self._tables

    def today(self) -> date:
        return self.app.clock.now().astimezone(self.app.config.timezone).date()

    def _utc_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.app.config.timezone).astimezone(timezone.utc)

    def _local_day(self, when: datetime) -> date:
        return when.astimezone(self.app.config.timezone).date()

    async def report(self, guild_id: int, period: str = "week", *, last_day: date | None = None) -> StatsReport:
        n = period_days(period)
        last_day = last_day or self.today()
        first_day = last_day - timedelta(days=n - 1)
        start, end = self._utc_midnight(first_day), self._utc_midnight(last_day + timedelta(days=1))
        first = first_day.isoformat()
        tables = await self.tables()
        db = self.db

        # aggregated in SQL on the read connections: the loop only sees a few dozen numbers
        day_list = [first_day + timedelta(days=i) for i in range(n)]
        bounds = [(d.isoformat(), self._utc_midnight(d), self._utc_midnight(d + timedelta(days=1))) for d in day_list]
        tz = self.app.config.timezone
        window = (guild_id, n, first, to_db_time(start), getattr(tz, "key", str(tz)))
        await self._advance_rollups(guild_id, window if last_day == self.today() else None)
        kept = await repo.member_days_ready(db, tables, guild_id, self.app.clock.now())
        done = None
        if kept and last_day == self.today() and stats_build.can_build(tables) \
                and await stats_build.window_ready(db, *window):
            # the period ending today: the kept week / month window (one row per active member)
            done = await repo.window_activity(db, tables, guild_id, n, bounds, TOP_CONTRIBUTORS)
        if done is None:  # another last day (the digest), or rows after the period: read the rows
            done = await repo.activity(db, tables, guild_id, bounds, TOP_CONTRIBUTORS, member_days=kept)
        events = await repo.events_per_day(db, tables, guild_id, bounds)
        members, source = await self._member_count(guild_id, tables, end)
        totals = done["totals"]
        base = members or totals["active"]

        def rate(runs: int, answers: int, people: int) -> Rate:
            return Rate(runs, answers, people, (people / base) if base else None)

        prompts = rate(await repo.prompts_posted(db, tables, guild_id, start, end), totals["prompt_answers"],
                       totals["prompt_people"])
        quizzes = rate(await repo.quiz_runs(db, tables, guild_id, start, end), totals["quiz_answers"],
                       totals["quiz_people"])
        leaders = done["top"]
        names = await self._names(guild_id, tables, [u for u, _, _, _ in leaders])
        top = tuple(Contributor(u, m, p, pts, names.get(u)) for u, m, p, pts in leaders)
        days = tuple(DayPoint(d, done["per_day"].get(d.isoformat(), 0), *events.get(d.isoformat(), (0, 0)))
                     for d in day_list)
        return StatsReport(
            period=period, first_day=first_day, last_day=last_day, members=members,
            joined=sum(d.joined for d in days), left=sum(d.left for d in days), active=totals["active"],
            posters=totals["posters"], participants=totals["participants"], messages=totals["messages"],
            prompts=prompts, quizzes=quizzes,
            feedback=await repo.feedback_by_status(db, tables, guild_id, start, end),
            top=top, days=days, members_source=source,
        )

    # --- the rollups' build (bot/db/stats_build.py) -------------------------------------------------------
    async def _advance_rollups(self, guild_id: int, window: tuple | None) -> None:
        """Ask for the window the report reads (when it ends today), then take up to INLINE_STEPS of the
        build's steps here, and leave any more to a background task (one per guild). Each step is one short
        transaction, and the writer is yielded between them. A read-only database builds nothing."""
        tables = await self.tables()
        if not stats_build.can_build(tables):
            return
        try:
            if window is not None and not await stats_build.window_aimed(self.db, *window):
                await stats_build.aim_window(self.db, *window)
            task = self._builds.get(guild_id)
            if task is not None and not task.done():
                return  # (the background build goes on; the report reads the raw rows meanwhile)
            for _ in range(INLINE_STEPS):
                if not await stats_build.step(self.db, tables, guild_id, self.app.clock.now()):
                    return
                await asyncio.sleep(0)  # (writes waiting for the writer go first)
        except sqlite3.OperationalError:  # a read-only database (the command line): read the raw rows
            return
        self._build_in_background(guild_id)

    def _build_in_background(self, guild_id: int) -> None:
        task = self._builds.get(guild_id)
        if task is not None and not task.done():
            return

        async def build() -> None:
            tables = await self.tables()
            rows = stats_build.CHUNK_ROWS
            while True:
                t = time_module.perf_counter()
                if not await stats_build.step(self.db, tables, guild_id, self.app.clock.now(), rows):
                    break
                # chunks sized to the machine: about STEP_SECONDS of the writer each (at most twice the
                # last one's rows, between a tenth of CHUNK_ROWS and 3x); the outcome does not depend on it
                took = max(time_module.perf_counter() - t, 1e-4)
                rows = int(min(rows * 2, max(1, stats_build.CHUNK_ROWS // 10, rows * STEP_SECONDS / took),
                               stats_build.CHUNK_ROWS * 3))
                await asyncio.sleep(0)  # the writer, to whoever waits for it, between steps
            log.info("stats rollups of guild %s built", guild_id)

        def finished(t: asyncio.Task) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("building the stats rollups of guild %s failed", guild_id, exc_info=t.exception())

        task = asyncio.get_running_loop().create_task(build())
        task.add_done_callback(finished)
        self._builds[guild_id] = task

    async def start(self) -> None:
        """A build cut short (a stop, a crash) goes on from where its last step left it."""
        tables = await self.tables()
        try:
            for guild_id in await stats_build.guilds_pending(self.db, tables):
                self._build_in_background(guild_id)
        except sqlite3.OperationalError:
            pass

    async def rollups_settled(self) -> None:
        """Wait for the builds going on in the background (tests, and the bench)."""
        while any(not t.done() for t in self._builds.values()):
            await asyncio.gather(*self._builds.values(), return_exceptions=True)

    async def rollups_building(self, guild_id: int) -> bool:
        """Whether the guild's rollups have steps left (its reports read the raw rows meanwhile)."""
        return await stats_build.pending(self.db, await self.tables(), guild_id)

    async def _member_count(self, guild_id: int, tables: set[str], end: datetime) -> tuple[int, str]:
        guild = self.app.guild
        count = await guild.member_count(guild_id, MEMBER_ROLE) if guild is not None else None
        if count is not None:
            return count, "roster"
        return await repo.member_count_at(self.db, tables, guild_id, end), "records"

    async def names(self, guild_id: int, user_ids) -> dict[int, str]:
        """Display names of these members where the bot knows them (exports name people with it)."""
        return await self._names(guild_id, await self.tables(), sorted(set(user_ids)))

    async def _names(self, guild_id: int, tables: set[str], user_ids: list[int]) -> dict[int, str]:
        """Names from the server when connected (and remembered for the command line), else the
        names remembered."""
        names = await repo.known_names(self.db, tables, guild_id, user_ids)
        if self.app.guild is not None and user_ids:
            seen = await self.app.guild.display_names(guild_id, user_ids)
            changed = {u: n for u, n in seen.items() if names.get(u) != n}
            if changed and "member_names" in tables:
                await repo.remember_names(self.db, guild_id, changed, self.app.clock.now())
            names.update(seen)
        return names

    # --- rendering -----------------------------------------------------------------------------
    def render(self, report: StatsReport, *, mention: bool = True) -> str:
        t = self.app.t

        def pct(r: Rate) -> str:
            return "—" if r.rate is None else f"{round(r.rate * 100)}%"

        lines = [
            t("stats.title", period=t(f"stats.period_{report.period}"), first=report.first_day.isoformat(),
              last=report.last_day.isoformat()),
            t("stats.members" if report.members_source == "roster" else "stats.members_recorded",
              members=report.members, joined=report.joined, left=report.left, net=f"{report.joined - report.left:+d}"),
            t("stats.active", active=report.active, posters=report.posters, participants=report.participants,
              messages=report.messages),
            t("stats.prompts", runs=report.prompts.runs, answers=report.prompts.answers,
              participants=report.prompts.participants, rate=pct(report.prompts)),
            t("stats.quizzes", runs=report.quizzes.runs, answers=report.quizzes.answers,
              participants=report.quizzes.participants, rate=pct(report.quizzes)),
        ]
        if report.feedback:
            known = [s for s in FEEDBACK_STATUSES if s in report.feedback]
            other = sorted(s for s in report.feedback if s not in FEEDBACK_STATUSES)
            parts = [t("stats.feedback_item", status=self._status_label(s), count=report.feedback[s])
                     for s in known + other]
            lines.append(t("stats.feedback", total=sum(report.feedback.values()), items=" · ".join(parts)))
        else:
            lines.append(t("stats.feedback_none"))
        if report.top:
            lines.append(t("stats.top_title"))
            for rank, c in enumerate(report.top, start=1):
                who = f"<@{c.user_id}>" if mention else (c.name or str(c.user_id))
                lines.append(t("stats.top_line", rank=rank, member=who, messages=c.messages,
                               participations=c.participations, points=c.points))
        else:
            lines.append(t("stats.top_none"))
        return "\n".join(lines)[:2000]

    def _status_label(self, status: str) -> str:
        key = f"stats.status_{status}"
        return self.app.t(key) if self.app.catalogue.has(key) else status

    async def chart(self, report: StatsReport) -> bytes:
        """The PNG, rendered in a worker thread: matplotlib is slow and must not block the event loop.
        A chart is drawn from its days' figures and labels alone, so the last CHART_CACHE ones are kept
        by exactly those: /stats asked again while no figure moved answers without drawing (issue 17:
        a render is 100-500 ms of CPU holding the GIL), and any change (today's count, a join, the
        language) draws anew."""
        labels = self._chart_labels(report)
        key = chart_key(report, labels)
        png = self._charts.pop(key, None)
        if png is None:
            png = await asyncio.to_thread(render_chart, report, labels)
        self._charts[key] = png  # (most recent last: the oldest goes first)
        while len(self._charts) > CHART_CACHE:
            self._charts.pop(next(iter(self._charts)))
        return png

    def forget_charts(self) -> None:
        """Drop the kept charts (the bench times a chart drawn anew)."""
        self._charts.clear()

    def _chart_labels(self, report: StatsReport) -> dict[str, str]:
        catalogue = self.app.catalogue
        if catalogue.language != "en" and cjk_font() is None:
            # no font on this machine can draw the community's script: boxes would be worse than English
            from .catalogue import Catalogue

            c = self.app.config.community
            catalogue = Catalogue("en", community_name=c.info.name, persona=c.persona)
        t = catalogue.t
        return {
            "title": t("stats.chart_title", period=t(f"stats.period_{report.period}"),
                       first=report.first_day.isoformat(), last=report.last_day.isoformat()),
            "active": t("stats.chart_active"),
            "joined": t("stats.chart_joined"),
            "left": t("stats.chart_left"),
        }

    # --- the help desk (issue 21): a section of its own, apart from the report's queries ---------------
    async def support_section(self, guild_id: int, report: StatsReport, *,
                              chart: bool = True) -> tuple[str, bytes | None]:
        """The help desk's lines for the report's period, and its chart (None without questions)."""
        support = self.app.support
        if not support.enabled:
            return "", None
        start = self._utc_midnight(report.first_day)
        end = self._utc_midnight(report.last_day + timedelta(days=1))
        figures = await support.figures(guild_id, start, end)
        text = support.render_figures(figures)
        if not figures.overall.asked or not chart:
            return text, None
        t = self.app.t
        labels = {"title": t("support.chart_heading", first=report.first_day.isoformat(),
                             last=report.last_day.isoformat()),
                  "first": t("support.chart_first"), "first_p90": t("support.chart_first_p90"),
                  "solved": t("support.chart_solved"),
                  "topics": [support.topic_name(f.topic) or t("support.no_topic") for f in figures.topics]}
        png = await asyncio.to_thread(render_support_chart, figures, labels)
        return text, png

    # --- schedule action -----------------------------------------------------------------------
    async def health(self, guild_id: int, period: str = "week", *,
                     wait: float | None = None) -> dict[str, Any] | None:
        """The dashboard's health page: the period's report with members per day (worked back from
        today's count), the average active members per weekday and retention by join cohort.

        Stale while revalidate (issue 19: a quarter's cohorts read every active day of the members who
        joined in it, seconds at 100,000 members): figures are computed in a background task and kept;
        within HEALTH_FRESH on the app's clock (and the same local day) they are returned as they are;
        older ones are returned, with their `as_of`, while a new computation runs (one per guild and
        period). `wait`: how long to wait for that computation first (the page: 0.1 s, so a small community
        always sees live figures); None: no wait with older figures, and until done without any. With
        neither new nor old figures after `wait`, None (the page says they are being computed)."""
        now = self.app.clock.now()
        key = (guild_id, period)
        cached = self._health.get(key)
        if cached is not None and cached[0] > now - HEALTH_FRESH and cached[1] == self.today():
            return cached[2]
        task = self._health_refresh(key)
        if wait is None:
            return cached[2] if cached is not None else await asyncio.shield(task)
        done, _ = await asyncio.wait({task}, timeout=wait)
        if done:
            return task.result()
        return cached[2] if cached is not None else None

    def health_live(self, view: dict[str, Any]) -> bool:
        """Whether these health figures are current (else newer ones are being computed)."""
        return view["as_of"] > self.app.clock.now() - HEALTH_FRESH and self._local_day(view["as_of"]) == self.today()

    def warm_health(self, guild_id: int) -> None:
        """Compute every period's health figures in the background, one after the other (the dashboard
        starts this, so the first visit finds them)."""
        if self._health_warm is not None and not self._health_warm.done():
            return
        async def warm() -> None:
            for period in PERIOD_DAYS:
                await self._health_refresh((guild_id, period))
        self._health_warm = asyncio.get_running_loop().create_task(warm())
        self._health_warm.add_done_callback(_log_failure)

    async def health_settled(self) -> None:
        """Wait for the health computations under way (tests, and the bench)."""
        if self._health_warm is not None:
            await asyncio.gather(self._health_warm, return_exceptions=True)
        while self._health_tasks:
            await asyncio.gather(*self._health_tasks.values(), return_exceptions=True)

    def _health_refresh(self, key: tuple[int, str]) -> asyncio.Task:
        task = self._health_tasks.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._compute_health(*key))
            self._health_tasks[key] = task

            def finished(t: asyncio.Task) -> None:
                if self._health_tasks.get(key) is t:
                    del self._health_tasks[key]
                _log_failure(t)
            task.add_done_callback(finished)
        return task

    async def stop(self) -> None:
        tasks = [*self._health_tasks.values(), *([self._health_warm] if self._health_warm else []),
                 *self._builds.values()]
        for task in tasks:
            task.cancel()  # (a build stopped between steps goes on at the next start)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _compute_health(self, guild_id: int, period: str) -> dict[str, Any]:
        now, today = self.app.clock.now(), self.today()
        report = await self.report(guild_id, period)
        members, running = [], report.members
        for d in reversed(report.days):
            members.append((d.day, running))
            running -= d.joined - d.left
        members.reverse()
        weekdays: dict[int, list[int]] = {}
        for d in report.days:
            weekdays.setdefault(d.day.weekday(), []).append(d.active)
        view = {"report": report, "members": members, "as_of": now,
                "busiest_weekdays": [(w, sum(v) / len(v)) for w, v in sorted(weekdays.items())],
                **await self._cohorts(guild_id, report), **await self._busiest(guild_id, report)}
        self._health[(guild_id, period)] = (now, today, view)
        return view

    async def _busiest(self, guild_id: int, report: StatsReport) -> dict[str, Any]:
        """The period's busiest channels (by name where the server is reachable) and hours of the day."""
        await self.app.participation.activity.flush()  # the counts still in memory
        channels, hours = await repo.busiest(self.db, await self.tables(), guild_id, f"{report.first_day} 00",
                                             f"{report.last_day + timedelta(days=1)} 00")
        names = await self.app.guild.channel_names(guild_id, [c for c, _ in channels]) if self.app.guild else {}
        return {"busiest_channels": [(names.get(c, str(c)), n) for c, n in channels],
                "busiest_hours": [(h, hours.get(h, 0)) for h in range(24)] if hours else []}

    async def _cohorts(self, guild_id: int, report: StatsReport) -> dict[str, Any]:
        """Of the members who joined in each week of the period, the share active in each week since."""
        days = [d.day for d in report.days]
        weeks = [(self._utc_midnight(day), day.isoformat()) for day in days[::7]]
        sizes, active = await repo.cohort_activity(self.db, await self.tables(), guild_id, weeks,
                                                   self._utc_midnight(days[-1] + timedelta(days=1)),
                                                   days[-1].isoformat())
        cohorts = []
        for w, (_start, first) in enumerate(weeks):
            size = sizes.get(w, 0)
            rates = [(active.get((w, w + lag), 0) / size) if size else None for lag in range(len(weeks) - w)]
            cohorts.append({"week": first, "size": size, "rates": rates + [None] * w})
        return {"cohorts": cohorts, "cohort_weeks": len(weeks)}

    async def digest(self, guild_id: int, occurrence: datetime,
                     params: StatsDigestParams | Mapping[str, Any] | None) -> bool:
        """`stats.digest`: params `period` (week | month, default week) and `channel` (default the
        mod-log). Covers the whole days before the occurrence; sent once per period end."""
        app = self.app
        params = StatsDigestParams.of(params)
        period = params.period
        channel = params.channel or app.config.community.moderation.mod_log
        last_day = self._local_day(occurrence) - timedelta(days=1)
        dedupe_key = f"stats:digest:{guild_id}:{period}:{last_day.isoformat()}"
        report = await self.report(guild_id, period, last_day=last_day)
        claimed = await repo.claim_digest(self.db, guild_id=guild_id, period=period,
                                          period_end=last_day.isoformat(), summary=report.to_dict(),
                                          now=app.clock.now())
        if not claimed and await repo.queued(self.db, dedupe_key):
            return False  # sent (or queued) already; a claim without a queued post was a crash: go on
        png = await self.chart(report)
        name = f"stats-{period}-{last_day.isoformat()}.png"
        help_text, help_png = await self.support_section(guild_id, report)
        files = ((name, base64.b64encode(png).decode("ascii")),) + (
            ((f"help-{period}-{last_day.isoformat()}.png", base64.b64encode(help_png).decode("ascii")),)
            if help_png else ())
        outbox_id = await app.outbox.post(
            guild_id, Target.channel(channel),
            OutMessage(content=t_digest(app, with_section(self.render(report), help_text)), files=files),
            dedupe_key=dedupe_key,
        )
        return outbox_id is not None


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("computing the health figures failed", exc_info=task.exception())


def with_section(body: str, section: str) -> str:
    """The report with one more section, within a message's 2,000 characters."""
    return (body + "\n" + section)[:2000] if section else body


def render_support_chart(figures, labels: Mapping[str, Any]) -> bytes:
    """The help desk by topic: hours to the team's first answer (median, p90) and to solved (median)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def hours(value) -> float:
        return value.total_seconds() / 3600 if value is not None else 0.0

    with _render_lock, _chart_rc():
        width, height = CHART_SIZE
        fig = Figure(figsize=(width / CHART_DPI, height / CHART_DPI), dpi=CHART_DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        xs = list(range(len(figures.topics)))
        for offset, key, color, pick in ((-0.27, "first", "#7fa7d6", lambda f: f.first_response.median),
                                         (0.0, "first_p90", "#3d6fa8", lambda f: f.first_response.p90),
                                         (0.27, "solved", "#7fbf7f", lambda f: f.solved.median)):
            ax.bar([x + offset for x in xs], [hours(pick(f)) for f in figures.topics], width=0.27, color=color,
                   label=labels[key])
        ax.set_xticks(xs)
        ax.set_xticklabels(labels["topics"])
        ax.set_title(labels["title"])
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=CHART_DPI)
    return buf.getvalue()


def t_digest(app, body: str) -> str:
    return (app.t("stats.digest_intro") + "\n" + body)[:2000]


def cjk_font() -> str | None:
    """The name of an installed font that can draw Japanese, if any."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in _CJK_FONTS if n in names), None)


def chart_key(report: StatsReport, labels: Mapping[str, str]) -> tuple:
    """Everything `render_chart` draws from: equal keys give the same PNG."""
    return (CHART_SIZE, CHART_DPI, tuple(report.days), tuple(sorted(labels.items())))


def render_chart(report: StatsReport, labels: Mapping[str, str]) -> bytes:
    """Daily active members (line) and joins / leaves (bars) as a CHART_SIZE PNG. Thread-safe: uses
    the object API (no pyplot state) and the Agg canvas."""
    with _render_lock, _chart_rc():
        fig = chart_figure(report, labels)
        buf = io.BytesIO()
        # no bbox_inches: keep the exact pixel size; a light zlib level: a few KiB more, a third faster
        fig.savefig(buf, format="png", dpi=CHART_DPI, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _chart_rc():
    import matplotlib

    font = cjk_font()
    return matplotlib.rc_context({"font.family": [font, "DejaVu Sans"]} if font else {})


def chart_figure(report: StatsReport, labels: Mapping[str, str]):
    """The chart's matplotlib Figure (call under `_render_lock`). The y axis counts people: whole
    numbers from 0, and at least 0..1 so a quiet period does not read 0.00-0.05."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    width, height = CHART_SIZE
    fig = Figure(figsize=(width / CHART_DPI, height / CHART_DPI), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(report.days)))
    # each series' bars as one collection (ax.bar makes an artist per bar: a month is 60 of them)
    for offset, values, color, label in ((-0.4, [d.joined for d in report.days], "#7fbf7f", labels["joined"]),
                                         (0.0, [d.left for d in report.days], "#e8a0a0", labels["left"])):
        ax.add_collection(PolyCollection(
            [((x + offset, 0), (x + offset, v), (x + offset + 0.4, v), (x + offset + 0.4, 0))
             for x, v in zip(xs, values)],
            facecolors=color, edgecolors="none", label=label))
    ax.plot(xs, [d.active for d in report.days], color="#d6457a", marker="o", linewidth=2,
            label=labels["active"])
    ax.set_xlim(-0.8, len(xs) - 0.2)
    step = max(1, len(xs) // 10)
    ax.set_xticks(xs[::step])
    ax.set_xticklabels([d.day.strftime("%m-%d") for d in report.days][::step])
    peak = max([max(d.active, d.joined, d.left) for d in report.days] or [0])
    ax.set_ylim(0, max(1, peak) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    # an explicit y: the automatic title position measures the x axis (draws its ticks) once more
    ax.set_title(labels["title"], y=1.0, pad=6)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left")
    # fixed margins (room for six-digit counts and the title): tight_layout would draw the whole figure
    # once more to measure it, 40% of the chart's time (issue 17: /stats end to end)
    fig.subplots_adjust(left=0.07, right=0.985, top=0.92, bottom=0.07)
    return fig


def build(app) -> StatsService:
    return StatsService(app)
