"""What the mod-log says when a message cannot be delivered: the real cause and who sent it, in each
language; and the nonce each outbox row carries."""
from __future__ import annotations

import pytest

from bot.services.catalogue import Catalogue
from bot.services.outbox import CAUSES, failure_notice, nonce_for
from tests.helpers import config_with

EN_WORDS = {
    "too_large": "too large", "invalid_form": "invalid", "missing_permission": "permission",
    "unknown_channel": "does not exist", "unknown_user": "no longer exists", "dms_closed": "direct messages",
    "refused": "refused", "gave_up": "kept failing",
}


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cat")
    en = Catalogue.for_config(config_with(tmp))
    ja = Catalogue.for_config(config_with(tmp, {"community.yaml": {"community": {"language": "ja"}}}))
    return {"en": en, "ja": ja}


def row(cause: str, key: str = "schedule:morning-tea:2026-12-01T09:00:00+09:00", field: str | None = None) -> dict:
    return {"id": 7, "guild_id": 1, "dedupe_key": key, "target_kind": "channel", "target": "lounge",
            "failure": cause, "field": field}


@pytest.mark.parametrize("cause", CAUSES)
@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_cause_has_its_own_words_and_names_the_schedule(catalogues, cause, language):
    t = catalogues[language].t
    text = failure_notice(t, row(cause, field="embeds.0.description"), "400 Invalid Form Body")
    assert "morning-tea" in text and "#lounge" in text
    others = {failure_notice(t, row(other), "x") for other in CAUSES if other != cause}
    assert failure_notice(t, row(cause), "x") not in others  # each cause reads differently
    if language == "en":
        assert EN_WORDS[cause] in text
        # only a missing permission sends the moderators to the permissions
        assert ("permission" in text) == (cause == "missing_permission")
    if cause in ("too_large", "invalid_form"):
        assert "embeds.0.description" in text


@pytest.mark.parametrize("key,source", [
    ("schedule:morning-tea:2026-12-01T09:00:00+09:00", "Schedule `morning-tea`"),
    ("drop:12:announce", "drop"), ("quiz:3:q:1", "quiz"), ("feedback:9:public", "feedback"),
    ("audit:4", "audit"),
])
def test_the_notice_names_the_feature_from_the_dedupe_key(catalogues, key, source):
    text = failure_notice(catalogues["en"].t, row("too_large", key=key), "x")
    assert source in text and (key in text or key.startswith("schedule:"))


def test_a_dm_failure_names_the_member():
    text = failure_notice(lambda key, **kw: f"{key}:{kw}", dict(row("dms_closed"), target_kind="dm", target="42"), "x")
    assert "<@42>" in text


def test_the_nonce_is_stable_per_row_within_discords_limit_and_differs_between_rows_and_databases():
    a = {"id": 1, "dedupe_key": "schedule:x:1", "created_at": "2026-12-01T00:00:00.000000Z"}
    assert nonce_for(a) == nonce_for(dict(a)) and 0 < len(nonce_for(a)) <= 25
    assert nonce_for(a) != nonce_for(dict(a, id=2))
    assert nonce_for(a) != nonce_for(dict(a, created_at="2026-12-02T00:00:00.000000Z"))  # a fresh database
