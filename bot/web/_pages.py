"""The dashboard's pages. Each handler parses the request, calls the services the slash commands call,
and renders a template: no SQL and no rules here. Writes pass the signed-in person's id as the actor,
so the services audit them exactly as they audit the commands."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.errors import UserError
from bot.services import config_files
from bot.services.feedback import STATUSES, TRIAGE_STATUSES
from bot.services.upcoming import preview, upcoming

from . import _charts, _render
from ._server import SESSION

if TYPE_CHECKING:
    from ._server import Dashboard

WEEK = timedelta(days=7)
MENTION = re.compile(r"<@!?(\d+)>")


def add_routes(app: web.Application, dash: "Dashboard") -> None:
    pages = Pages(dash)
    r = app.router
    r.add_get("/", pages.home)
    r.add_get("/calendar", pages.calendar)
    r.add_get("/calendar/preview", pages.calendar_preview)
    r.add_post("/calendar/{verb:pause|resume|run}", pages.calendar_write)
    r.add_get("/feedback", pages.feedback)
    r.add_get("/feedback/export.csv", pages.feedback_export)
    r.add_post("/feedback/{item_id:\\d+}/move", pages.feedback_move)
    r.add_get("/members", pages.members)
    r.add_post("/applications/{application_id:\\d+}/{verb:approve|deny}", pages.application_decide)
    r.add_get("/config", pages.config)
    r.add_get("/config/schema", pages.config_schema)
    r.add_post("/config/validate", pages.config_validate)
    r.add_post("/config/save", pages.config_save)
    r.add_get("/audit", pages.audit)
    r.add_get("/drops", pages.drops)
    r.add_post("/drops/{key}/{verb:open|close|reroll}", pages.drops_write)
    r.add_get("/health", pages.health)


class Pages:
    def __init__(self, dash: "Dashboard") -> None:
        self.dash = dash
        self.app = dash.app

    @property
    def guild_id(self) -> int:
        return self.app.guild_id or 0

    def tz(self):
        return self.app.config.timezone

    def error_text(self, request: web.Request, exc: UserError) -> str:
        catalogue = self.dash.catalogue(request)
        try:
            return catalogue.t(exc.key, **exc.params)
        except (KeyError, ValueError, AttributeError, IndexError):
            return exc.key

    async def names(self, user_ids) -> dict[int, str]:
        ids = sorted({int(u) for u in user_ids if u})
        return await self.app.stats.names(self.guild_id, ids) if ids else {}

    async def home(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/calendar")

    # --- calendar -----------------------------------------------------------------------------------
    async def calendar(self, request: web.Request) -> web.Response:
        tz = self.tz()
        today = self.app.clock.now().astimezone(tz).date()
        view = "week" if request.query.get("view") == "week" else "month"
        try:
            anchor = date.fromisoformat(request.query["start"]) if request.query.get("start") else today
        except ValueError:
            anchor = today
        if view == "month":
            first = anchor.replace(day=1)
            start = first - timedelta(days=first.weekday())
            nxt = (first + timedelta(days=32)).replace(day=1)
            end = nxt + timedelta(days=(7 - nxt.weekday()) % 7)
            prev_anchor, next_anchor = (first - timedelta(days=1)).replace(day=1), nxt
            title = f"{first:%Y-%m}"
        else:
            start = anchor - timedelta(days=anchor.weekday())
            end = start + WEEK
            prev_anchor, next_anchor = start - WEEK, start + WEEK
            title = f"{start:%Y-%m-%d} – {end - timedelta(days=1):%Y-%m-%d}"
        lo = datetime.combine(start, time(0), tzinfo=tz).astimezone(timezone.utc)
        hi = datetime.combine(end, time(0), tzinfo=tz).astimezone(timezone.utc)
        now = self.app.clock.now()
        entries = await upcoming(self.app, max(lo, now) - timedelta(microseconds=1), hi, self.guild_id) if hi > now else []
        schedule_ids = set(self.app.schedules.schedule_ids())
        days: dict[date, dict[str, Any]] = {}
        d = start
        while d < end:
            days[d] = {"date": d, "entries": [], "dst": _dst_change(d, tz), "in_month": view == "week" or d.month == anchor.month,
                       "today": d == today}
            d += timedelta(days=1)
        for e in entries:
            local = e.when.astimezone(tz)
            if local.date() in days:
                days[local.date()]["entries"].append({
                    "time": f"{local:%H:%M}", "id": e.schedule_id, "at": e.when.isoformat(), "channel": e.channel,
                    "text": e.first_line, "action": e.action, "paused": e.paused,
                    "kind": _kind(e), "controllable": e.schedule_id in schedule_ids})
        weeks = [list(days.values())[i:i + 7] for i in range(0, len(days), 7)]
        schedules = await self.app.schedules.list()
        return self.dash.render(request, "calendar.html", view=view, weeks=weeks, title=title,
                                prev=prev_anchor.isoformat(), next=next_anchor.isoformat(),
                                zone=tz.key, schedules=schedules)

    async def calendar_preview(self, request: web.Request) -> web.Response:
        entry_id = request.query.get("id", "")
        try:
            when = datetime.fromisoformat(request.query.get("at", ""))
        except ValueError:
            raise web.HTTPBadRequest(text="at: an ISO date-time")
        message = await preview(self.app, self.guild_id, entry_id, when)
        local = when.astimezone(self.tz())
        controllable = entry_id in set(self.app.schedules.schedule_ids())
        paused = entry_id in self.app.schedules.paused
        return self.dash.render(request, "preview.html", entry_id=entry_id, when=f"{local:%Y-%m-%d %a %H:%M}",
                                message=_render.message_view(self.app, message) if message else None,
                                controllable=controllable, paused=paused)

    async def calendar_write(self, request: web.Request) -> web.Response:
        form = await request.post()
        schedule_id, verb = str(form.get("id", "")), request.match_info["verb"]
        actor = request[SESSION].user_id
        try:
            if verb == "pause":
                await self.app.schedules.pause(schedule_id, actor)
            elif verb == "resume":
                await self.app.schedules.resume(schedule_id, actor)
            else:
                result = await self.app.schedules.run_now(schedule_id, actor)
                if result.error:
                    raise UserError("web.failed", reason=result.error)
            text, ok = self.dash.catalogue(request).t(f"web.done_{verb if verb != 'run' else 'run_now'}", id=schedule_id), True
        except UserError as exc:
            text, ok = self.error_text(request, exc), False
        return self.dash.render(request, "notice.html", text=text, ok=ok)

    # --- feedback -----------------------------------------------------------------------------------
    def _feedback_filters(self, query) -> tuple[str | None, bool | None]:
        category = query.get("category") or None
        if category not in self.app.config.community.feedback.categories:
            category = None
        flag = query.get("flag")
        return category, {"yes": True, "no": False}.get(flag or "")

    async def _board(self, request: web.Request, query, notice: str = "", ok: bool = True) -> dict[str, Any]:
        category, flagged = self._feedback_filters(query)
        columns = await self.app.feedback.board(self.guild_id, category=category, flagged=flagged)
        names = await self.names(i.author_id for items in columns.values() for i in items if not i.anonymous)
        catalogue = self.dash.catalogue(request)
        categories = self.app.config.community.feedback.categories
        # labels once per page, not per card (the board draws up to 250 cards: bench/bench_web.py)
        return {"columns": [(s, columns.get(s, [])) for s in STATUSES], "names": names,
                "categories": categories, "category": category or "", "flag": query.get("flag") or "",
                "triage": TRIAGE_STATUSES, "notice": notice, "ok": ok,
                "category_labels": {c: self.app.feedback.category_label(c) for c in categories},
                "status_labels": {s: catalogue.t(f"web.column_{s}") for s in STATUSES},
                "anonymous": catalogue.t("web.anonymous"), "reason_label": catalogue.t("web.reason"),
                "move_label": catalogue.t("web.move"), "move_to": catalogue.t("web.move_to")}

    async def feedback(self, request: web.Request) -> web.Response:
        return self.dash.render(request, "feedback.html", **await self._board(request, request.query))

    async def feedback_move(self, request: web.Request) -> web.Response:
        form = await request.post()
        item_id = int(request.match_info["item_id"])
        status, reason = str(form.get("status", "")), str(form.get("reason", "")) or None
        try:
            change = await self.app.feedback.set_status(self.guild_id, item_id, status,
                                                        actor_id=request[SESSION].user_id, reason=reason)
            item = change.item
            author = "—" if item.anonymous else (await self.names([item.author_id])).get(item.author_id, str(item.author_id))
            notice = self.dash.catalogue(request).t("web.moved", id=item_id, author=author,
                                                    status=self.dash.catalogue(request).t(f"web.column_{status}"))
            ok = True
        except UserError as exc:
            notice, ok = self.error_text(request, exc), False
        return self.dash.render(request, "feedback_board.html", **await self._board(request, form, notice, ok))

    async def feedback_export(self, request: web.Request) -> web.Response:
        data, count = await self.app.feedback.export_csv(self.guild_id, None)
        await self.app.feedback.record_export(self.guild_id, request[SESSION].user_id, count, None)
        return web.Response(body=data, content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})

    # --- members and applications -------------------------------------------------------------------
    async def _applications(self) -> tuple[list, dict[int, str]]:
        pending = await self.app.membership.applications.list(self.guild_id, "pending")
        return pending, await self.names(a.user_id for a in pending)

    async def members(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "")
        pending, app_names = await self._applications()
        members = await self.app.membership.directory(self.guild_id, query, limit=100)
        tiers = {t.key: t.name for t in self.app.config.community.tiers}
        tz = self.tz()
        for m in members:
            m["tier_name"] = tiers.get(m.get("tier") or "", m.get("tier") or "—")
            m["joined"] = m["joined_at"].astimezone(tz).strftime("%Y-%m-%d") if m.get("joined_at") else ""
        return self.dash.render(request, "members.html", pending=pending, app_names=app_names, members=members,
                                q=query, notice="")

    async def application_decide(self, request: web.Request) -> web.Response:
        form = await request.post()
        application_id, verb = int(request.match_info["application_id"]), request.match_info["verb"]
        actor = request[SESSION].user_id
        try:
            if verb == "approve":
                await self.app.membership.applications.approve(application_id, actor)
            else:
                await self.app.membership.applications.deny(application_id, actor, str(form.get("reason", "")))
            notice, ok = self.dash.catalogue(request).t(f"web.{verb}d" if verb == "approve" else "web.denied",
                                                        id=application_id), True
        except UserError as exc:
            notice, ok = self.error_text(request, exc), False
        pending, app_names = await self._applications()
        return self.dash.render(request, "applications.html", pending=pending, app_names=app_names,
                                notice=notice, ok=ok)

    # --- config -------------------------------------------------------------------------------------
    async def config(self, request: web.Request) -> web.Response:
        names = config_files.file_names(self.app)
        name = request.query.get("file") or (names[0] if names else "")
        if name not in names:
            raise web.HTTPNotFound(text=f"no config file {name}")
        problems = await config_files.check(self.app)
        by_file: dict[str, int] = {}
        for p in problems:
            by_file[p.file] = by_file.get(p.file, 0) + 1
        return self.dash.render(request, "config.html", names=names, name=name,
                                text=config_files.read(self.app, name), by_file=by_file,
                                problems=[p for p in problems if p.file in (name, "")], result=None)

    async def config_schema(self, request: web.Request) -> web.Response:
        try:
            return web.json_response(config_files.schema(self.app, request.query.get("file", "")))
        except UserError as exc:
            raise web.HTTPNotFound(text=self.error_text(request, exc))

    async def config_validate(self, request: web.Request) -> web.Response:
        form = await request.post()
        name, text = str(form.get("file", "")), str(form.get("text", ""))
        try:
            problems = await config_files.check(self.app, name, text)
        except UserError as exc:
            return self.dash.render(request, "notice.html", text=self.error_text(request, exc), ok=False)
        return self.dash.render(request, "config_problems.html", problems=problems, name=name)

    async def config_save(self, request: web.Request) -> web.Response:
        form = await request.post()
        name, text = str(form.get("file", "")), str(form.get("text", ""))
        try:
            result = await config_files.save(self.app, name, text, actor_id=request[SESSION].user_id)
        except UserError as exc:
            return self.dash.render(request, "notice.html", text=self.error_text(request, exc), ok=False)
        return self.dash.render(request, "config_result.html", result=result, name=name,
                                problems=result.problems)

    # --- audit --------------------------------------------------------------------------------------
    async def audit(self, request: web.Request) -> web.Response:
        q = request.query
        tz = self.tz()

        def day(key: str, plus: int = 0) -> datetime | None:
            try:
                d = date.fromisoformat(q[key]) + timedelta(days=plus)
            except (KeyError, ValueError):
                return None
            return datetime.combine(d, time(0), tzinfo=tz).astimezone(timezone.utc)

        actor = int(q["actor"]) if q.get("actor", "").isdigit() else None
        rows = await self.app.audit.search(self.guild_id, actor_id=actor, action=q.get("action") or None,
                                           since=day("from"), until=day("to", 1), limit=300)
        actions, actors = await self.app.audit.filter_choices(self.guild_id)
        mentioned = [int(m) for r in rows for m in MENTION.findall(f"{r['target'] or ''} {r['detail']}")]
        names = await self.names(list(actors) + [r["actor_id"] for r in rows] + mentioned)

        def named(text: str | None) -> str:  # <@id> as the member's name, as Discord shows it
            return MENTION.sub(lambda m: "@" + names.get(int(m.group(1)), m.group(1)), text or "")

        for r in rows:
            r["local"] = r["created_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
            r["target"], r["detail"] = named(r["target"]), named(r["detail"])
        return self.dash.render(request, "audit.html", rows=rows, actions=actions, actors=actors, names=names,
                                actor=actor, action=q.get("action", ""), since=q.get("from", ""), until=q.get("to", ""))

    # --- drops --------------------------------------------------------------------------------------
    async def _drop_cards(self) -> list[dict[str, Any]]:
        cards = []
        for spec in self.app.drops.specs:
            try:
                status = await self.app.drops.status(self.guild_id, spec.id)
            except UserError:
                status = None
            view = await self.app.drops.dashboard_view(self.guild_id, spec.id) if status else None
            winners = await self.names(view["winners"]) if view else {}
            cards.append({"spec": spec, "status": status, "view": view, "winners": winners,
                          "chart": _charts.bars([(f"{m.astimezone(self.tz()):%H:%M}", n) for m, n in view["per_minute"]], width=420)
                          if view and view["per_minute"] else ""})
        return cards

    async def drops(self, request: web.Request) -> web.Response:
        return self.dash.render(request, "drops.html", cards=await self._drop_cards(), notice="", ok=True)

    async def drops_write(self, request: web.Request) -> web.Response:
        key, verb = request.match_info["key"], request.match_info["verb"]
        actor = request[SESSION].user_id
        try:
            if verb == "open":
                await self.app.drops.open(self.guild_id, key, by=actor)
            elif verb == "close":
                await self.app.drops.close(self.guild_id, key, by=actor)
            else:
                await self.app.drops.reroll(self.guild_id, key, by=actor)
            notice, ok = self.dash.catalogue(request).t("web.drop_done", id=key, what=verb), True
        except UserError as exc:
            notice, ok = self.error_text(request, exc), False
        return self.dash.render(request, "drops_cards.html", cards=await self._drop_cards(), notice=notice, ok=ok)

    # --- health -------------------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        period = request.query.get("period", "week")
        if period not in ("week", "month", "quarter"):
            period = "week"
        # figures kept (and recomputed in the background when older than 5 minutes); none yet: wait a
        # moment, else the page says they are being computed and reloads itself (issue 19: < 200 ms)
        view = await self.app.stats.health(self.guild_id, period, wait=HEALTH_WAIT)
        if view is None:
            return self.dash.render(request, "health.html", period=period, view=None, as_of=None, live=False,
                                    charts=[])
        as_of = view["as_of"].astimezone(self.tz()).strftime("%Y-%m-%d %H:%M")
        return self.dash.render(request, "health.html", period=period, view=view, as_of=as_of,
                                live=self.app.stats.health_live(view),
                                charts=_charts.health_charts(view, self.dash.catalogue(request)))


HEALTH_WAIT = 0.1  # seconds the health page waits for figures not computed yet


def _kind(entry) -> str:
    if entry.schedule_id.startswith("content:"):
        return "content"
    if entry.schedule_id.startswith("drop:"):
        return "drop"
    return {"quiz.start": "quiz", "prompt.post": "prompt", "drop.open": "drop", "content.reveal": "content",
            "ama.announce": "ama"}.get(entry.action or "", "post")


def _dst_change(day: date, tz) -> tuple[str, str] | None:
    """(offset before, offset after) when the clocks change on this local day."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    before, after = start.utcoffset(), end.utcoffset()
    if before == after:
        return None
    return _offset(before), _offset(after)


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
