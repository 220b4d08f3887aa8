"""The dashboard without a browser (issue 19): who gets in, sessions, CSRF on every write, the calendar's
clock changes, the config editor's promises and the reads behind the pages. The browser walk is in
tests/test_web_browser.py."""
from __future__ import annotations

import ast
import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.offline.oauth import serve_dashboard
from bot.offline.world import perms
from bot.services import config_files
from bot.web._session import SESSION_COOKIE
from tests.helpers import config_with, count_sqlite_steps

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ("/login", "/auth/callback", "/signed-out", "/lang/{lang}")


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies on 127.0.0.1


async def sign_in(web_, who="mod") -> tuple[aiohttp.ClientSession, str]:
    """A client signed in through the fake Discord; returns it and the page's CSRF token."""
    http = _client()
    async with http.get(web_.sign_in_link(who)) as r:
        body = await r.text()
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', body)
    return http, (m.group(1) if m else "")


@pytest.fixture
async def dash(harness, tmp_path):
    opened = []

    async def start(**kwargs):
        g = await harness(**kwargs)
        w = await serve_dashboard(g)
        opened.append(w)
        return g, w

    yield start
    for w in opened:
        await w.close()


def _routes(method: str) -> list[str]:
    """Every path of the dashboard for `method`, from the real route table (not a copied list)."""
    from bot.web._server import Dashboard

    dummy = Dashboard.__new__(Dashboard)
    dummy.app = None
    routes = set()
    for route in Dashboard._build(dummy).router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or ""
        if route.method == method and path and not path.startswith(PUBLIC) and "/static" not in path:
            routes.add(path)
    return sorted(routes)


EXAMPLES = {"{verb}": "pause", "{item_id}": "1", "{application_id}": "1", "{key}": "tea-tin"}


def _concrete(path: str) -> str:
    for name, value in EXAMPLES.items():
        path = path.replace(name, value)
    return path


# --- the architecture --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted((ROOT / "bot" / "web").rglob("*.py")), ids=lambda p: p.name)
def test_the_web_layer_imports_neither_discord_nor_the_store(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    assert not {n for n in names if n == "discord" or n.startswith(("discord.", "bot.db"))}
    assert "SELECT " not in path.read_text(encoding="utf-8")


def test_the_routes_are_found():
    assert {"/calendar/{verb}", "/config/save", "/feedback/{item_id}/move"} <= set(_routes("POST"))
    assert {"/calendar", "/health", "/audit", "/drops", "/members", "/config", "/feedback"} <= set(_routes("GET"))


# --- who gets in -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", _routes("GET"))
async def test_every_page_needs_a_sign_in(dash, path):
    g, w = await dash()
    async with _client() as http:
        async with http.get(w.url + _concrete(path), allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"].startswith("/login")


async def test_a_member_with_manage_server_gets_in_without_the_moderator_role(dash):
    g, w = await dash()
    managers = g.world.add_role("Managers", permissions=perms("manage_guild"))
    g.fake.emit("GUILD_ROLE_CREATE", {"guild_id": str(g.world.guild_id), "role": managers.payload()})
    await g.give_role("carol", "Managers")  # as Discord tells the bot: every request asks the bot's view
    http, csrf = await sign_in(w, "carol")
    async with http:
        assert csrf
        async with http.get(w.url + "/feedback") as r:
            assert r.status == 200 and "col-new" in await r.text()


@pytest.mark.parametrize("who", ["alice", "vera"])
async def test_members_and_visitors_are_refused(dash, who):
    g, w = await dash()
    http, csrf = await sign_in(w, who)
    async with http:
        assert csrf == ""
        assert SESSION_COOKIE not in {c.key for c in http.cookie_jar}
        async with http.get(w.url + "/calendar", allow_redirects=False) as r:
            assert r.status == 302


async def test_a_sign_in_link_works_once(dash):
    g, w = await dash()
    link = w.sign_in_link("mod")
    async with _client() as http:
        async with http.get(link) as r:
            assert r.status == 200
    async with _client() as http:
        async with http.get(link) as r:
            assert r.status == 410


async def test_a_callback_with_a_forged_state_is_refused(dash):
    g, w = await dash()
    http, _ = await sign_in(w)
    async with http:
        async with http.get(w.url + "/auth/callback?code=x&state=forged") as r:
            assert r.status == 400


async def test_an_edited_cookie_is_no_session(dash):
    g, w = await dash()
    http, _ = await sign_in(w)
    async with http:
        cookie = next(c for c in http.cookie_jar if c.key == SESSION_COOKIE)
        body, mac = cookie.value.split(".")
    async with aiohttp.ClientSession() as fresh:
        other = "A" if mac[-1] != "A" else "B"
        for value in (f"{body}.{mac}", f"{body[:-2]}xx.{mac}", f"{body}.{mac[:-1]}{other}", body):
            async with fresh.get(w.url + "/calendar", allow_redirects=False,
                                 headers={"Cookie": f"{SESSION_COOKIE}={value}"}) as r:
                assert r.status == (200 if value == f"{body}.{mac}" else 302), value


async def test_a_session_ends_after_its_hours(dash):
    g, w = await dash()
    http, _ = await sign_in(w)
    async with http:
        async with http.get(w.url + "/audit", allow_redirects=False) as r:
            assert r.status == 200
        g.clock.set(g.clock.now() + timedelta(hours=g.app.config.community.web.session_hours, seconds=1))
        async with http.get(w.url + "/audit", allow_redirects=False) as r:
            assert r.status == 302


# --- CSRF: every write ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", _routes("POST"))
async def test_every_write_without_the_csrf_token_is_refused(dash, path):
    g, w = await dash()
    http, csrf = await sign_in(w)
    audited = len(await g.app.audit.search(g.world.guild_id))
    async with http:
        for headers, form in (({}, {"id": "morning-greeting"}), ({"X-CSRF-Token": "wrong"}, {"id": "morning-greeting"}),
                              ({}, {"id": "morning-greeting", "csrf": csrf[:-1]})):
            async with http.post(w.url + _concrete(path), data=form, headers=headers, allow_redirects=False) as r:
                assert r.status == 403, (path, headers, form)
    assert len(await g.app.audit.search(g.world.guild_id)) == audited
    assert g.app.schedules.paused == set()


async def test_the_csrf_token_in_the_form_is_accepted_and_the_write_audited_with_the_person(dash):
    g, w = await dash()
    http, csrf = await sign_in(w)
    async with http:
        async with http.post(w.url + "/calendar/pause", data={"id": "morning-greeting", "csrf": csrf}) as r:
            assert r.status == 200 and "notice ok" in await r.text()
    assert "morning-greeting" in g.app.schedules.paused
    entry = (await g.app.audit.search(g.world.guild_id, action="schedule.pause"))[0]
    assert entry["actor_id"] == g.user_id("mod")


# --- calendar -----------------------------------------------------------------------------------------
async def test_the_calendar_marks_the_day_the_clocks_change(dash, tmp_path):
    config = config_with(tmp_path, {"community.yaml": {"community": {"timezone": "Europe/London"}}})
    g, w = await dash(config=config, clock=FakeClock(datetime(2027, 3, 1, 12, tzinfo=timezone.utc)))
    http, _ = await sign_in(w)
    async with http:
        async with http.get(w.url + "/calendar?view=month&start=2027-03-01") as r:
            html = await r.text()
    assert html.count("Clock change") == 1
    assert "UTC+00:00 → UTC+01:00" in html
    day = re.search(r'<div class="day">28 <small>Sun</small></div>\s*<div class="dst"', html)
    assert day, "the DST mark is on Sunday 28 March"


async def test_the_preview_is_the_post_members_get(dash):
    g, w = await dash()
    http, _ = await sign_in(w)
    when = next(e for e in await g.app.schedules.timeline(g.clock.now(), g.clock.now() + timedelta(days=2))
                if e.schedule_id == "morning-greeting").when
    async with http:
        async with http.get(w.url + "/calendar/preview", params={"id": "morning-greeting", "at": when.isoformat()}) as r:
            html = await r.text()
    await g.advance_to(when)
    posted = g.channel(g.app.schedules.model.by_id("morning-greeting").channel).messages[-1]
    assert g.app.config.community.persona.name in html
    assert posted.content.split("\n")[0] in html.replace("<br>", "\n").replace("&#39;", "'")


# --- config ---------------------------------------------------------------------------------------------
async def test_a_bad_save_changes_nothing(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {}))
    path = Path(g.app.config.dir) / "community.yaml"
    before, config = path.read_bytes(), g.app.config
    broken = before.decode().replace("port: 8080", "port: -1")
    result = await config_files.save(g.app, "community.yaml", broken, actor_id=g.user_id("mod"))
    assert not result.saved and result.problems[0].line == broken.splitlines().index("  port: -1") + 1
    assert path.read_bytes() == before and g.app.config is config
    assert not await g.app.audit.search(g.world.guild_id, action="config.edit")


async def test_a_save_the_dry_run_refuses_puts_the_old_file_back(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {}))
    path = Path(g.app.config.dir) / "community.yaml"
    before, config = path.read_bytes(), g.app.config
    too_long = before.decode().replace("greeting: Irasshaimase!", "greeting: " + "あ" * 2100)
    result = await config_files.save(g.app, "community.yaml", too_long, actor_id=g.user_id("mod"))
    assert not result.saved and result.problems
    assert path.read_bytes() == before and g.app.config is config


async def test_a_good_save_reloads_and_audits_the_diff(harness, tmp_path):
    g = await harness(config=config_with(tmp_path, {}))
    path = Path(g.app.config.dir) / "community.yaml"
    text = path.read_text(encoding="utf-8").replace("port: 8080", "port: 8090")
    result = await config_files.save(g.app, "community.yaml", text, actor_id=g.user_id("mod"))
    assert result.saved and g.app.config.community.web.port == 8090
    entry = (await g.app.audit.search(g.world.guild_id, action="config.edit"))[0]
    assert entry["actor_id"] == g.user_id("mod") and "-  port: 8080\n+  port: 8090" in entry["detail"]


async def test_only_the_config_files_can_be_read_or_written(harness, tmp_path):
    from bot.errors import UserError

    g = await harness(config=config_with(tmp_path, {}))
    for name in ("../pyproject.toml", "/etc/passwd", "community.yaml/../x"):
        with pytest.raises(UserError):
            config_files.read(g.app, name)
        with pytest.raises(UserError):
            await config_files.save(g.app, name, "x: 1", actor_id=1)


# --- the reads behind the pages ---------------------------------------------------------------------
async def test_the_board_filters_by_category_and_flag(harness):
    g = await harness()
    gid = g.world.guild_id
    await g.app.feedback.submit(gid, g.user_id("alice"), category="product", title="Kit", text="A kit please")
    await g.app.feedback.submit(gid, g.user_id("bob"), category="bug", title="Broken", text="The shop is broken, refund?")
    board = await g.app.feedback.board(gid)
    assert [i.title for i in board["new"]] == ["Broken", "Kit"]
    assert [i.title for i in (await g.app.feedback.board(gid, category="product"))["new"]] == ["Kit"]
    assert [i.title for i in (await g.app.feedback.board(gid, flagged=True))["new"]] == ["Broken"]


async def test_the_audit_log_filters_by_person_action_and_date(harness):
    g = await harness()
    gid, mod, bob = g.world.guild_id, g.user_id("mod"), g.user_id("bob")
    await g.app.audit.record(gid, mod, "schedule.pause", "a")
    g.clock.set(g.clock.now() + timedelta(days=2))
    await g.app.audit.record(gid, bob, "config.edit", "b")
    assert [r["target"] for r in await g.app.audit.search(gid, actor_id=bob)] == ["b"]
    assert [r["target"] for r in await g.app.audit.search(gid, action="schedule.pause")] == ["a"]
    assert [r["target"] for r in await g.app.audit.search(gid, since=g.clock.now() - timedelta(days=1))] == ["b"]


async def test_the_member_list_searches_names_and_ids(harness):
    g = await harness()
    gid = g.world.guild_id
    from bot.db import membership as members_repo

    for name in ("alice", "bob"):
        await members_repo.record_join(g.app.db, guild_id=gid, user_id=g.user_id(name), via="open", at=g.clock.now())
    await g.app.stats.names(gid, [g.user_id("alice"), g.user_id("bob")])  # the names, remembered
    everyone = await g.app.membership.directory(gid)
    assert {g.user_id("alice"), g.user_id("bob")} <= {m["user_id"] for m in everyone}
    assert [m["user_id"] for m in await g.app.membership.directory(gid, "ali")] == [g.user_id("alice")]
    assert [m["user_id"] for m in await g.app.membership.directory(gid, str(g.user_id("bob")))] == [g.user_id("bob")]
    assert await g.app.membership.directory(gid, "%") == []  # LIKE wildcards are plain text


async def test_each_file_offers_its_json_schema(dash):
    g, w = await dash()
    http, _ = await sign_in(w)
    async with http:
        for name in config_files.file_names(g.app):
            async with http.get(w.url + "/config/schema", params={"file": name}) as r:
                assert r.status == 200 and (await r.json())["$schema"].startswith("https://json-schema.org/")
        async with http.get(w.url + "/config/schema", params={"file": "../pyproject.toml"}) as r:
            assert r.status == 404


async def test_the_validate_call_names_the_line_as_you_type(dash):
    g, w = await dash()
    http, csrf = await sign_in(w)
    text = config_files.read(g.app, "drops.yaml")
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.strip().startswith("stock:"))
    lines[i] = lines[i].split(":")[0] + ": -5"
    async with http:
        async with http.post(w.url + "/config/validate", data={"file": "drops.yaml", "text": "\n".join(lines)},
                             headers={"X-CSRF-Token": csrf}) as r:
            html = await r.text()
    assert f'data-line="{i + 1}"' in html and "stock" in html


# --- health ---------------------------------------------------------------------------------------------
async def test_retention_by_cohort_counts_who_stayed_active(harness):
    g = await harness(clock=FakeClock(datetime(2026, 12, 1, 12, tzinfo=timezone.utc)))
    gid = g.world.guild_id
    app = g.app
    from bot.db import membership as members_repo

    for name in ("alice", "bob"):
        await members_repo.record_join(app.db, guild_id=gid, user_id=g.user_id(name), via="open", at=g.clock.now())
    g.clock.set(g.clock.now() + timedelta(days=8))  # a week later only alice takes part
    await app.participation.award(gid, g.user_id("alice"), "prompt_answer", ref="r1")
    view = await app.stats.health(gid, "month")
    joined = [c for c in view["cohorts"] if c["size"]]
    assert len(joined) == 1 and joined[0]["size"] == 2
    later = [r for r in joined[0]["rates"][1:] if r]
    assert later == [0.5]


async def test_the_health_numbers_are_kept_five_minutes(harness):
    g = await harness()
    gid = g.world.guild_id
    first = await g.app.stats.health(gid, "week")
    assert await g.app.stats.health(gid, "week") is first and g.app.stats.health_live(first)
    g.clock.set(g.clock.now() + timedelta(minutes=5, seconds=1))
    assert await g.app.stats.health(gid, "week") is first  # stale: shown at once, "as of" its time...
    assert not g.app.stats.health_live(first)
    await g.app.stats.health_settled()  # ...while the new figures are computed in the background
    again = await g.app.stats.health(gid, "week")
    assert again is not first and again["as_of"] == g.clock.now() and g.app.stats.health_live(again)


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
async def test_a_health_request_reads_nothing_however_long_the_history(harness, monkeypatch, period):
    """Issue 19 (< 200 ms at 100,000 members): a request never computes the figures itself once they
    exist: stale ones are shown with their time while the new ones are computed in the background,
    and those equal a recount of the period (the report, counted afresh)."""
    g = await harness(clock=FakeClock(datetime(2026, 12, 1, 12, tzinfo=timezone.utc)))
    gid, app = g.world.guild_id, g.app
    await app.participation.award(gid, g.user_id("alice"), "prompt_answer", ref="r0")
    await app.stats.health(gid, period)
    steps = count_sqlite_steps(monkeypatch)
    for day in range(1, 40):  # more history: more rows every day
        g.clock.set(g.clock.now() + timedelta(days=1))
        for n, who in enumerate(("alice", "bob", "carol")[: 1 + day % 3]):
            await app.participation.award(gid, g.user_id(who), "prompt_answer", ref=f"r{day}-{n}")
        steps[0] = 0
        stale = await app.stats.health(gid, period)
        assert steps[0] == 0, (day, steps[0])  # the request read nothing: the old figures, "as of" their time
        assert not app.stats.health_live(stale)
        await app.stats.health_settled()
    view = await app.stats.health(gid, period)
    assert app.stats.health_live(view)
    app.stats._health.clear()
    recount = await app.stats.health(gid, period)  # (nothing kept: counted now, in full)
    assert view["report"] == recount["report"] and view["cohorts"] == recount["cohorts"]
    assert view["report"].active == 3 and view["members"] == recount["members"]


async def test_the_health_page_answers_before_its_first_figures_are_computed(dash, monkeypatch):
    from bot.services.stats import StatsService

    release = asyncio.Event()
    compute = StatsService._compute_health

    async def slow(self, guild_id, period):
        await release.wait()  # (a quarter at 100,000 members: seconds)
        return await compute(self, guild_id, period)

    monkeypatch.setattr(StatsService, "_compute_health", slow)
    g, w = await dash()
    http, _ = await sign_in(w)
    async with http:
        async with http.get(w.url + "/health?period=quarter") as r:
            html = await r.text()
        assert r.status == 200 and 'http-equiv="refresh"' in html and "being computed" in html
        release.set()
        await g.app.stats.health_settled()
        async with http.get(w.url + "/health?period=quarter") as r:
            html = await r.text()
        assert r.status == 200 and 'http-equiv="refresh"' not in html and "Numbers as of" in html
        shown = re.search(r"Numbers as of ([0-9-]+ [0-9:]+)", html).group(1)
        release.clear()  # five minutes on, the new figures are slow: the old ones, saying when they are from
        g.clock.set(g.clock.now() + timedelta(minutes=6))
        async with http.get(w.url + "/health?period=quarter") as r:
            html = await r.text()
        assert r.status == 200 and 'http-equiv="refresh"' in html and '<figure class="chart">' in html
        assert f"Numbers as of {shown}; newer ones are being computed" in html
        release.set()
        await g.app.stats.health_settled()


# --- the playground ----------------------------------------------------------------------------------
async def test_the_playground_prints_a_sign_in_link_for_anyone(harness):
    from bot.offline.playground import Playground

    g = await harness()
    out: list[str] = []
    pg = Playground(g, out=out.append)
    await pg.run_line(":web alice")
    assert "start the playground with --web" in out[-1]
    pg.web = await serve_dashboard(g)
    try:
        await pg.run_line(":web carol")
        link = re.search(r"(http://\S+/signin/\S+)", out[-1]).group(1)
        async with _client() as http:
            async with http.get(link) as r:
                assert r.status == 403  # carol is a member: the link signs her in to Discord, the dashboard refuses
    finally:
        await pg.web.close()


async def test_the_busiest_channels_and_hours_count_messages_in_community_time(harness):
    g = await harness(clock=FakeClock(datetime(2026, 12, 1, 3, 10, tzinfo=timezone.utc)))  # 12:10 in Tokyo
    gid = g.world.guild_id
    for _ in range(3):
        await g.say("lounge", "hello", user="alice")
    await g.say("quiz", "hi", user="bob")
    view = await g.app.stats.health(gid, "week")
    assert view["busiest_channels"] == [("lounge", 3), ("quiz", 1)]
    assert dict(view["busiest_hours"])[12] == 4 and sum(n for _, n in view["busiest_hours"]) == 4


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def bot_with_web(monkeypatch):
    """KizunaBot as `python -m bot run` builds it (start_web=True), inside the harness."""
    from bot.client import KizunaBot

    original = KizunaBot.__init__

    def init(self, *args, **kwargs):
        original(self, *args, start_web=True, **kwargs)

    monkeypatch.setattr(KizunaBot, "__init__", init)


async def test_the_bot_serves_the_dashboard_when_web_is_enabled_and_stops_it_on_close(harness, tmp_path, bot_with_web):
    port = _free_port()
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"web": {"enabled": True, "port": port}}}))
    assert g.bot.dashboard is not None and g.bot.dashboard.base_url == f"http://127.0.0.1:{port}"
    assert g.bot.moderator_role_id() == g.world.role("moderator").id
    async with _client() as http:
        async with http.get(f"http://127.0.0.1:{port}/login", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"].startswith("https://discord.com/oauth2/authorize?")
    await g.bot.close()
    assert g.bot.dashboard is None
    with pytest.raises(aiohttp.ClientConnectionError):
        async with _client() as http:
            await http.get(f"http://127.0.0.1:{port}/login", allow_redirects=False)


async def test_a_taken_port_leaves_the_bot_running_without_its_dashboard(harness, tmp_path, bot_with_web, caplog):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level("ERROR", logger="bot.client"):
            g = await harness(config=config_with(tmp_path, {"community.yaml": {"web": {"enabled": True, "port": port}}}))
        assert g.bot.dashboard is None
        assert "the dashboard could not start" in caplog.text
        assert (await g.slash("/me", user="alice")).text


async def test_without_web_enabled_the_bot_serves_nothing(harness, tmp_path, bot_with_web):
    g = await harness(config=config_with(tmp_path, {"community.yaml": {"web": {"enabled": False}}}))
    assert g.bot.dashboard is None
