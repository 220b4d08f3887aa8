"""The dashboard's door follows Discord, not the sign-in (issue 19's gap: "a moderator whose role is
removed keeps access until the session ends"). Every request asks the bot's own view of the server
(the gateway member cache, through GuildPort.member_standing) whether the person is still a moderator
or still has Manage Server; someone who lost it, left or was banned is refused at the next request,
writes included, with a page saying why, and the refusal is audited. Generated over every route."""
from __future__ import annotations

import re

import aiohttp
import pytest

from bot.offline.world import perms
from bot.services.catalogue import Catalogue
from bot.web._server import ANY_SESSION
from bot.web._session import SESSION_COOKIE
from tests.test_web import _client, _concrete, _routes, dash, sign_in  # noqa: F401  (dash: the fixture)

ENDED = "dashboard.access_ended"


async def give_manage_server(g, who="carol"):
    """A 'Managers' role with Manage Server made on the server and given to `who`, as Discord tells the
    bot (GUILD_ROLE_CREATE, then GUILD_MEMBER_UPDATE)."""
    role = g.world.add_role("Managers", permissions=perms("manage_guild"))
    g.world.version += 1
    g.fake.emit("GUILD_ROLE_CREATE", {"guild_id": str(g.world.guild_id), "role": role.payload()})
    await g.give_role(who, "Managers")
    return role


async def strip_manage_server(g, role) -> None:
    """The role stays, but an admin unticks Manage Server on it (GUILD_ROLE_UPDATE)."""
    role.permissions = 0
    g.world.version += 1
    g.fake.emit("GUILD_ROLE_UPDATE", {"guild_id": str(g.world.guild_id), "role": role.payload()})
    await g.settle()


async def ban(g, who) -> None:
    """Discord's ban: GUILD_BAN_ADD, and the member is removed (GUILD_MEMBER_REMOVE)."""
    g.fake.emit("GUILD_BAN_ADD", {"guild_id": str(g.world.guild_id), "user": g.world.users[g.user_id(who)].payload()})
    await g.remove_member(who)


def catalogue(g, lang="en") -> Catalogue:
    c = g.app.config.community
    return Catalogue(lang, community_name=c.info.name, persona=c.persona)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html.replace("&#39;", "'").replace("&amp;", "&").replace("&#34;", '"'))


async def _ended_entries(g) -> list[dict]:
    return await g.app.audit.search(g.world.guild_id, action=ENDED)


# --- the losses, each walked over every route ---------------------------------------------------------
async def _lose_moderator_role(g):
    await g.take_role("mod", "moderator")


async def _leave(g):
    await g.remove_member("mod")


async def _banned(g):
    await ban(g, "mod")


LOSSES = {  # what happened -> (who, how they got in, what takes it away, the reason the page gives)
    "moderator role removed": ("mod", None, _lose_moderator_role, "moderator_role"),
    "left the server": ("mod", None, _leave, "left"),
    "banned": ("mod", None, _banned, "left"),
    "Manage Server role taken": ("carol", give_manage_server, lambda g: g.take_role("carol", "Managers"),
                                 "manage_server"),
    "Manage Server unticked on the role": ("carol", give_manage_server,
                                           lambda g: strip_manage_server(g, g.world.role("Managers")), "manage_server"),
}


@pytest.mark.parametrize("loss", list(LOSSES))
async def test_access_ends_at_the_next_request_on_every_page_and_every_write(dash, loss):
    who, setup, take_away, reason = LOSSES[loss]
    g, w = await dash()
    if setup is not None:
        await setup(g)
    http, csrf = await sign_in(w, who)
    async with http:
        assert csrf, "signed in"
        async with http.get(w.url + "/calendar", allow_redirects=False) as r:
            assert r.status == 200
        await take_away(g)
        expected = catalogue(g).t(f"web.access_ended_{reason}")
        assert len(_routes("GET")) >= 7 and len(_routes("POST")) >= 5
        for path in _routes("GET"):
            async with http.get(w.url + _concrete(path), allow_redirects=False) as r:
                html = await r.text()
                assert r.status == 403, (loss, path, r.status)
                assert expected in _text(html), (loss, path)
                assert 'id="nav-calendar"' not in html  # the pages are not offered any more
        for path in [p for p in _routes("POST") if not p.startswith(ANY_SESSION)]:  # sign-out stays open
            form = {"id": "morning-greeting", "csrf": csrf, "file": "community.yaml", "text": "x: 1",
                    "status": "done", "reason": "r"}
            async with http.post(w.url + _concrete(path), data=form, allow_redirects=False) as r:
                assert r.status == 403, (loss, path, r.status)
                assert expected in _text(await r.text()), (loss, path)
    assert g.app.schedules.paused == set()
    entries = await g.app.audit.search(g.world.guild_id)
    assert [e["action"] for e in entries] == [ENDED], "nothing was written but the refusal"
    assert entries[0]["actor_id"] == g.user_id(who) and entries[0]["target"] == reason


async def test_the_role_given_back_opens_the_dashboard_again(dash):
    g, w = await dash()
    http, csrf = await sign_in(w)
    async with http:
        await g.take_role("mod", "moderator")
        for _ in range(3):
            async with http.get(w.url + "/audit", allow_redirects=False) as r:
                assert r.status == 403
        await g.give_role("mod", "moderator")
        async with http.get(w.url + "/audit", allow_redirects=False) as r:
            assert r.status == 200 and 'id="nav-calendar"' in await r.text()
        async with http.post(w.url + "/calendar/pause", data={"id": "morning-greeting", "csrf": csrf}) as r:
            assert r.status == 200 and "notice ok" in await r.text()
    assert "morning-greeting" in g.app.schedules.paused
    assert len(await _ended_entries(g)) == 1, "one refusal audited, not one per click"


async def test_a_moderator_who_also_manages_the_server_keeps_access_without_the_role(dash):
    g, w = await dash()
    await give_manage_server(g, "mod")
    http, _ = await sign_in(w)
    async with http:
        await g.take_role("mod", "moderator")
        async with http.get(w.url + "/calendar", allow_redirects=False) as r:
            assert r.status == 200
    assert await _ended_entries(g) == []


async def test_the_session_remembers_how_the_person_got_in(dash):
    g, w = await dash()
    await give_manage_server(g, "carol")
    for who, via in (("mod", "moderator_role"), ("carol", "manage_server")):
        http, _ = await sign_in(w, who)
        async with http:
            token = next(c for c in http.cookie_jar if c.key == SESSION_COOKIE).value
        session = w.dashboard.signer.session(token, g.clock.now().timestamp())
        assert session.user_id == g.user_id(who) and session.via == via


async def test_the_refusal_page_is_in_japanese_when_chosen(dash):
    g, w = await dash()
    http, _ = await sign_in(w)
    async with http:
        async with http.get(w.url + "/lang/ja?next=/calendar") as r:
            assert r.status == 200
        await g.take_role("mod", "moderator")
        async with http.get(w.url + "/calendar", allow_redirects=False) as r:
            html = await r.text()
    assert r.status == 403
    assert catalogue(g, "ja").t("web.access_ended_moderator_role") in _text(html)
    assert catalogue(g, "ja").t("web.access_ended_title") in html


async def test_an_htmx_click_after_the_loss_reloads_into_the_refusal_page(dash):
    g, w = await dash()
    http, csrf = await sign_in(w)
    async with http:
        await g.take_role("mod", "moderator")
        async with http.post(w.url + "/calendar/pause", data={"id": "morning-greeting"},
                             headers={"X-CSRF-Token": csrf, "HX-Request": "true"}) as r:
            assert r.status == 403 and r.headers.get("HX-Refresh") == "true"
    assert g.app.schedules.paused == set()


async def test_someone_refused_can_still_sign_out(dash):
    g, w = await dash()
    http, csrf = await sign_in(w)
    async with http:
        await g.remove_member("mod")
        async with http.post(w.url + "/logout", data={"csrf": csrf}) as r:
            assert r.status == 200 and str(r.url).endswith("/signed-out")
        assert SESSION_COOKIE not in {c.key for c in http.cookie_jar}


async def test_when_the_bot_cannot_see_the_server_the_door_stays_shut(dash, monkeypatch):
    g, w = await dash()
    http, _ = await sign_in(w)

    async def unknown(guild_id, user_id):
        return None  # not connected: nothing to check access against

    monkeypatch.setattr(g.app.guild, "member_standing", unknown)
    async with http:
        async with http.get(w.url + "/calendar", allow_redirects=False) as r:
            assert r.status == 503
            assert catalogue(g).t("web.access_unknown") in _text(await r.text())
    assert await _ended_entries(g) == []  # not a refusal of the person: nothing to audit


# --- the port, on the bot's gateway cache ----------------------------------------------------------
async def test_the_guild_port_reads_the_standing_from_the_gateway_cache(harness):
    g = await harness()
    gid = g.world.guild_id
    port = g.app.guild
    mod = await port.member_standing(gid, g.user_id("mod"))
    assert mod.present and "moderator" in mod.role_keys and not mod.manages_server
    await give_manage_server(g, "carol")
    carol = await port.member_standing(gid, g.user_id("carol"))
    assert carol.present and carol.manages_server and "moderator" not in carol.role_keys
    requests = len(g.requests)
    await g.remove_member("mod")
    assert not (await port.member_standing(gid, g.user_id("mod"))).present
    assert len(g.requests) == requests, "read from the cache, not asked of Discord"
    assert await port.member_standing(gid + 1, g.user_id("carol")) is None  # a server the bot is not on
