"""The fake Discord OAuth2 (bot/offline/oauth.py) is held to Discord's OpenAPI document like every other
harness request: the dashboard's requests (the authorize link's scopes, the token exchange, the API
calls and the scopes they need) and the fake's answers (/users/@me, /users/@me/guilds,
/users/@me/guilds/{guild_id}/member, errors included) are validated; a wrong field is a SpecViolation
that fails the test."""
from __future__ import annotations

import pytest

from bot.offline.oauth import FakeDiscordOAuth
from bot.offline.spec import SpecViolation
from tests.test_web import dash, sign_in  # noqa: F401  (dash: the fixture)
from tests.test_web_access import give_manage_server

OPERATIONS = {"GET /oauth2/authorize", "POST /oauth2/token", "GET /users/@me", "GET /users/@me/guilds",
              "GET /users/@me/guilds/{guild_id}/member"}


def _pop_violations(g) -> list[SpecViolation]:
    found = list(g.fake.violations)
    g.fake.violations.clear()
    return found


async def test_every_sign_in_exchange_is_checked_against_the_spec(dash):
    g, w = await dash()
    await give_manage_server(g, "carol")
    g.add_user("stranger")  # not on the server: no guild, and the member look-up is Discord's 404
    for who in ("mod", "carol", "alice", "stranger"):
        http, _ = await sign_in(w, who)
        await http.close()
    assert OPERATIONS <= w.fake.checked, w.fake.checked
    # the dashboard does not ask for the stranger's roles (no guild); Discord would answer 404: so does the fake
    import aiohttp

    token = next(t for t, held in w.fake.tokens.items() if held.user_id == g.user_id("stranger"))
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.get(f"{w.fake.base_url}/api/users/@me/guilds/{g.world.guild_id}/member") as r:
            assert r.status == 404 and (await r.json())["code"] == 10004
        async with http.get(f"{w.fake.base_url}/api/users/@me", headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
    assert {"GET /users/@me/guilds/{guild_id}/member 404", "GET /users/@me 401"} <= w.fake.checked_answers
    assert _pop_violations(g) == []


def _corrupt(name: str, change):
    """Wrap one of the fake's answer builders so its body is changed as `change` says."""
    original = getattr(FakeDiscordOAuth, name)

    def wrapped(self, *args, **kwargs):
        body = original(self, *args, **kwargs)
        change(body)
        return body

    return wrapped


WRONG = {  # the answer builder, the change, what the violation must name
    "user without username": ("_me_body", lambda b: b.pop("username"), "username"),
    "user locale not a locale": ("_me_body", lambda b: b.update(locale="english"), "locale"),
    "guild permissions as a number": ("_guild_body", lambda b: b.update(permissions=8), "permissions"),
    "guild without banner": ("_guild_body", lambda b: b.pop("banner"), "banner"),
    "member roles as numbers": ("_member_body", lambda b: b.update(roles=[int(r) for r in b["roles"]] or [1]),
                                "roles"),
    "member without joined_at": ("_member_body", lambda b: b.pop("joined_at"), "joined_at"),
    "token expires_in as text": ("_token_body", lambda b: b.update(expires_in="604800"), "expires_in"),
    "token granting a scope Discord has not": ("_token_body", lambda b: b.update(scope="identify everything"),
                                                "everything"),
}


@pytest.mark.parametrize("case", list(WRONG))
async def test_a_wrong_field_in_a_fake_answer_fails(dash, monkeypatch, case):
    builder, change, named = WRONG[case]
    monkeypatch.setattr(FakeDiscordOAuth, builder, _corrupt(builder, change))
    g, w = await dash()
    http, csrf = await sign_in(w, "mod")
    await http.close()
    found = _pop_violations(g)
    assert found and named in str(found[0]), (case, [str(v) for v in found])
    assert csrf == "", "the broken answer is not passed on as if it were fine"


async def test_a_call_without_its_scope_is_refused_as_discord_would(dash, monkeypatch):
    import bot.web._oauth as oauth

    monkeypatch.setattr(oauth, "SCOPES", "identify guilds")  # no guilds.members.read: the roles call needs it
    g, w = await dash()
    http, csrf = await sign_in(w, "mod")
    await http.close()
    found = _pop_violations(g)
    assert csrf == ""
    assert found and "guilds.members.read" in str(found[0]) and "/member" in found[0].path


async def test_an_authorize_link_asking_an_unknown_scope_is_refused(dash, monkeypatch):
    import bot.web._oauth as oauth

    monkeypatch.setattr(oauth, "SCOPES", "identify guilds guilds.members.read guild.roles")
    g, w = await dash()
    http, csrf = await sign_in(w, "mod")
    await http.close()
    found = _pop_violations(g)
    assert csrf == "" and found and "guild.roles" in str(found[0])


async def test_a_token_exchange_that_is_not_a_form_is_refused(dash):
    import aiohttp

    g, w = await dash()
    async with aiohttp.ClientSession() as http:
        async with http.post(w.fake.base_url + "/api/oauth2/token",
                             json={"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://x"}) as r:
            assert r.status == 400
    found = _pop_violations(g)
    assert found and "application/x-www-form-urlencoded" in str(found[0])


def test_the_spec_checks_answers_by_status():
    from bot.offline.spec import Spec

    spec = Spec.load()
    if not spec.available:
        pytest.skip("the OpenAPI document is not laid out")
    member = {"avatar": None, "banner": None, "communication_disabled_until": None, "flags": 0,
              "joined_at": "2026-01-01T00:00:00+00:00", "nick": None, "pending": False, "premium_since": None,
              "roles": ["1"], "mute": False, "deaf": False,
              "user": {"id": "1", "username": "a", "avatar": None, "discriminator": "0", "public_flags": 0,
                       "flags": 0, "global_name": None, "primary_guild": None}}
    path = "/users/@me/guilds/{guild_id}/member"
    assert spec.response_problems("GET", path, 200, member) == []
    assert any("pending" in p for p in spec.response_problems("GET", path, 200, {**member, "pending": "no"}))
    assert any("'1'" in p or "roles" in p for p in spec.response_problems("GET", path, 200, {**member, "roles": [1]}))
    assert spec.response_problems("GET", path, 404, {"message": "Unknown Guild", "code": 10004}) == []
    assert spec.response_problems("GET", path, 404, {"message": "Unknown Guild"})  # no code
    assert spec.response_problems("GET", path, 500, {"message": "x", "code": 0})  # not an answer it lists
