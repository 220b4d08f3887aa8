"""The offline harness leans on discord.py 2.7 internals. If an upgrade moves one of them, this file
says exactly which, instead of the cog tests failing in confusing ways.

pyproject pins `discord.py>=2.7,<2.8`; raise the pin only together with these checks."""
from __future__ import annotations

import inspect
import warnings

import discord
import pytest


def test_discord_py_is_the_minor_version_the_harness_was_built_for():
    assert discord.__version__.startswith("2.7."), (
        f"discord.py {discord.__version__} is installed; bot/offline was built against 2.7.x. "
        "Re-check the private hooks in tests/test_harness_compat.py, then move the pin in pyproject.toml.")


def test_httpclient_request_keeps_its_signature():
    from discord.http import HTTPClient, Route

    params = inspect.signature(HTTPClient.request).parameters
    assert list(params)[:2] == ["self", "route"] and "files" in params and "form" in params, (
        f"HTTPClient.request is now {inspect.signature(HTTPClient.request)}: FakeDiscord.request "
        "(bot/offline/http.py) replaces it on the bot's http instance")
    route = Route("GET", "/channels/{channel_id}/messages/{message_id}", channel_id=1, message_id=2)
    assert route.path == "/channels/{channel_id}/messages/{message_id}" and route.url.endswith("/channels/1/messages/2"), \
        "Route.path/Route.url changed: the harness matches handlers and spec paths by route.path"
    assert hasattr(HTTPClient, "static_login") and hasattr(HTTPClient, "get_from_cdn")


def test_the_webhook_adapter_context_var_and_request_signature():
    from discord.webhook import async_ as webhook_async

    assert isinstance(webhook_async.async_context.get(), webhook_async.AsyncWebhookAdapter), (
        "discord.webhook.async_.async_context is gone: interaction responses are captured by setting it")
    params = inspect.signature(webhook_async.AsyncWebhookAdapter.request).parameters
    for name in ("route", "session", "payload", "multipart", "files", "params"):
        assert name in params, f"AsyncWebhookAdapter.request lost {name!r}: FakeWebhookAdapter.request must follow"


def test_the_gateway_parsers_the_harness_feeds_exist():
    from discord.state import ConnectionState

    needed = ["READY", "GUILD_CREATE", "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "GUILD_MEMBER_ADD",
              "GUILD_MEMBER_REMOVE", "GUILD_MEMBER_UPDATE", "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE",
              "GUILD_ROLE_DELETE", "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "THREAD_CREATE",
              "THREAD_UPDATE", "THREAD_DELETE", "INTERACTION_CREATE", "MESSAGE_REACTION_ADD",
              "MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_ALL"]
    for event in needed:
        assert hasattr(ConnectionState, f"parse_{event.lower()}"), \
            f"discord.py no longer parses {event}: the harness delivers it through bot._connection.parsers"
    assert "guild_ready_timeout" in inspect.getsource(ConnectionState.__init__), \
        "guild_ready_timeout is gone: the harness passes 0 so READY does not wait 2 s"


def test_an_interaction_builds_from_a_gateway_payload():
    from discord.interactions import Interaction

    source = inspect.getsource(Interaction._from_data)
    for key in ("attachment_size_limit", "authorizing_integration_owners", "context", "app_permissions"):
        assert key in source, f"Interaction._from_data no longer reads {key!r}: update Harness._interaction"
    assert "_HTTPClient__session" in inspect.getsource(Interaction.__init__), \
        "Interaction takes its session elsewhere now: the harness relies on static_login creating it"


async def test_a_harness_starts_and_answers_a_command(harness):
    g = await harness()
    r = await g.slash("/admin audit", user="mod")
    assert r.responded and r.ephemeral


def test_the_spec_is_present_or_the_skip_says_so_loudly():
    from bot.offline.spec import Spec, default_spec_path

    spec = Spec.load()
    if not spec.available:
        warnings.warn(f"Discord's OpenAPI spec is absent at {default_spec_path()}: request bodies are NOT "
                      "validated in this run")
        pytest.skip(f"Discord's OpenAPI spec not found at {default_spec_path()} (set KIZUNA_DISCORD_OPENAPI)")
    assert spec.operation_path("POST", "/channels/{channel_id}/messages") == "/channels/{channel_id}/messages"
    assert spec.operation_path("POST", "/interactions/{webhook_id}/{webhook_token}/callback") == \
        "/interactions/{interaction_id}/{interaction_token}/callback"
    assert spec.operation_path("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original") == \
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    assert spec.problems("POST", "/channels/{channel_id}/messages", {"content": "hi"}) == []


def test_a_missing_spec_file_warns_and_validates_nothing(tmp_path):
    from bot.offline.spec import Spec

    with pytest.warns(UserWarning, match="NOT validated"):
        spec = Spec.load(tmp_path / "nope.json")
    assert not spec.available and spec.problems("POST", "/channels/{channel_id}/messages", {"content": "x" * 9000}) == []


async def test_the_event_loop_and_aiosqlite_hooks_settling_relies_on():
    import asyncio

    import aiosqlite

    loop = asyncio.get_running_loop()
    assert hasattr(loop, "_ready"), "asyncio's loop has no _ready queue: Harness._quiesce cannot tell it is idle"
    assert hasattr(aiosqlite.Connection, "_execute"), \
        "aiosqlite.Connection._execute is gone: Harness._count_db_work counts SQLite work in flight through it"
