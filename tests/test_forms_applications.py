"""Richer application forms (issue 20, item 4): a question may be one choice (radio buttons), several
(checkboxes) or a box the applicant must tick ("I accept the rules"), not only text. The answers reach
the moderators' card and the applications export; the form goes through discord.py 2.7's components,
validated against Discord's spec by the harness; `check` refuses a form Discord would."""
from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.offline.harness import OptionRefused
from bot.services.exports import ExportService
from bot.services.feedback import read_csv
from tests.helpers import config_dir_with, config_with
from bot.config import load_config

QUESTIONS = [
    {"key": "blend", "label": "Your favourite blend?", "kind": "single_choice",
     "options": ["Sencha", {"value": "hojicha", "label": "Hojicha", "description": "roasted"}, "Matcha"]},
    {"key": "visits", "label": "What do you come for?", "kind": "multiple_choice",
     "options": ["Collabs", "Events", "Quizzes"], "max_choices": 2},
    {"key": "why", "label": "Why do you want to join?", "style": "short", "required": False},
    {"key": "rules", "label": "I accept the rules", "kind": "accept", "description": "Read them in #welcome"},
]


def form(tmp_path, questions=QUESTIONS):
    return config_with(tmp_path, {"community.yaml": {"membership": {"mode": "approval", "questions": questions}}})


def component_types(g, user):
    return [f["type"] for f in g.modal_fields(g.modal_for(user))]


async def test_an_applicant_answers_radio_checkboxes_and_accepts_the_rules(harness, tmp_path):
    g = await harness(config=form(tmp_path))
    await g.slash("/join", user="vera")
    assert component_types(g, "vera") == [21, 22, 4, 23]  # radio group, checkbox group, text input, checkbox
    reply = await g.submit_modal({"blend": "hojicha", "visits": ["Collabs", "events"], "why": "",
                                  "rules": True}, user="vera")
    assert "#1" in reply.content
    card = g.channel("mod-queue").messages[-1]
    fields = {f["name"]: f["value"] for f in card.embeds[0]["fields"]}
    assert fields == {"Your favourite blend?": "Hojicha", "What do you come for?": "Collabs, Events",
                      "Why do you want to join?": "—", "I accept the rules": "✅ Accepted"}
    [application] = await g.app.membership.applications.list(g.guild.id)
    assert [a["values"] for a in application.answers] == [["hojicha"], ["Collabs", "Events"], [], ["yes"]]
    assert not g.fake.violations


async def test_the_answers_are_in_the_applications_export(harness, tmp_path):
    g = await harness(config=form(tmp_path))
    await g.slash("/join", user="vera")
    await g.submit_modal({"blend": "Matcha", "visits": "Quizzes", "rules": "yes"}, user="vera")
    export = await ExportService(g.app).export(g.guild.id, "applications")
    [row] = read_csv(export.data)
    assert row["answer: Your favourite blend?"] == "Matcha"
    assert row["answer: What do you come for?"] == "Quizzes"
    assert row["answer: I accept the rules"] == "✅ Accepted"


async def test_an_unticked_rules_box_is_refused_and_nothing_is_stored(harness, tmp_path):
    g = await harness(config=form(tmp_path))
    await g.slash("/join", user="vera")
    reply = await g.submit_modal({"blend": "Sencha", "visits": "Events", "rules": False}, user="vera")
    assert "tick the box" in reply.content and "I accept the rules" in reply.content
    assert await g.app.membership.applications.list(g.guild.id) == []
    assert not g.channel("mod-queue").messages


@pytest.mark.parametrize("answers,refusal", [
    ({"visits": "Events", "rules": True}, "requires a choice"),
    ({"blend": "Oolong", "visits": "Events", "rules": True}, "no option 'Oolong'"),
    ({"blend": "Sencha", "visits": "Events, Collabs, Quizzes", "rules": True}, "1 to 2 ticks"),
    ({"blend": "Sencha", "rules": True}, "1 to 2 ticks"),
    ({"blend": "Sencha", "visits": "Events", "rules": "maybe"}, "answer yes or no"),
], ids=["radio left empty", "unknown option", "too many ticks", "no tick", "checkbox not yes/no"])
async def test_the_harness_refuses_what_discords_client_would_not_submit(harness, tmp_path, answers, refusal):
    g = await harness(config=form(tmp_path))
    await g.slash("/join", user="vera")
    with pytest.raises(OptionRefused, match=refusal):
        await g.submit_modal(answers, user="vera")


async def test_the_service_refuses_an_option_the_question_does_not_have(harness, tmp_path):
    """A submission Discord's client would not make (an old form, a forged payload) is still refused."""
    from bot.errors import UserError

    g = await harness(config=form(tmp_path))
    with pytest.raises(UserError) as err:
        await g.app.membership.apply(g.guild.id, g.user_id("vera"),
                                     {"blend": "oolong", "visits": ["Events"], "rules": True})
    assert err.value.key == "membership.answer_not_an_option"


# --- check: the limits of each kind -------------------------------------------------------------------
def _q(**fields):
    return {"key": "q", "label": "Question?", **fields}


OPTS = lambda n: [f"option {i}" for i in range(n)]  # noqa: E731

BROKEN = {
    "a radio with one option": (_q(kind="single_choice", options=OPTS(1)), "2 to 10 options"),
    "a radio with eleven options": (_q(kind="single_choice", options=OPTS(11)), "2 to 10 options"),
    "checkboxes with no option": (_q(kind="multiple_choice"), "1 to 10 options"),
    "checkboxes with eleven options": (_q(kind="multiple_choice", options=OPTS(11)), "1 to 10 options"),
    "an option label over 100": (_q(kind="single_choice", options=["a", {"value": "b", "label": "x" * 101}]),
                                 "at most 100 characters"),
    "an option value over 100": (_q(kind="single_choice", options=["a", "v" * 101]), "at most 100 characters"),
    "an option description over 100": (_q(kind="single_choice",
                                          options=["a", {"label": "b", "description": "d" * 101}]),
                                       "at most 100 characters"),
    "two options with one value": (_q(kind="single_choice", options=["a", "a"]), "unique; repeated: a"),
    "max_choices over the options": (_q(kind="multiple_choice", options=OPTS(3), max_choices=4),
                                     "more than the 3 options"),
    "max_choices over 10": (_q(kind="multiple_choice", options=OPTS(10), max_choices=11),
                            "less than or equal to 10"),
    "min_choices over max_choices": (_q(kind="multiple_choice", options=OPTS(5), min_choices=3, max_choices=2),
                                     "more than max_choices"),
    "a required question with min_choices 0": (_q(kind="multiple_choice", options=OPTS(3), min_choices=0),
                                               "at least 1"),
    "options on a text question": (_q(options=["a", "b"]), "only for single_choice and multiple_choice"),
    "max_length on a radio": (_q(kind="single_choice", options=OPTS(2), max_length=10), "only for text"),
    "min_choices on a radio": (_q(kind="single_choice", options=OPTS(2), min_choices=1), "only for multiple_choice"),
    "an optional accept box": (_q(kind="accept", required=False), "always required"),
    "a label over 45": (_q(label="x" * 46), "at most 45 characters"),
    "a description over 100": (_q(description="d" * 101), "at most 100 characters"),
    "six questions": (None, "at most 5 items"),
}


@pytest.mark.parametrize("question,message", BROKEN.values(), ids=BROKEN.keys())
def test_check_refuses_a_form_discord_would_refuse(tmp_path, question, message):
    questions = [question] if question else [_q(key=f"q{i}") for i in range(6)]
    folder = config_dir_with(tmp_path, {"community.yaml": {"membership": {"mode": "approval",
                                                                          "questions": questions}}})
    with pytest.raises(ConfigError) as err:
        load_config(folder)
    text = str(err.value)
    assert "membership.questions" in text and message in text, text


def test_the_example_form_renders_within_discords_limits():
    """The dry run (`check`) renders the application modal through the cog and validates it against the
    spec: the example's radio question and rules box included."""
    from bot.dryrun import dry_run

    config = load_config("config")
    kinds = {q.kind for q in config.community.membership.questions}
    assert {"single_choice", "accept"} <= kinds
    assert [p for p in dry_run(config, languages=["en"]) if "modal" in p.field] == []


# --- the playground ---------------------------------------------------------------------------------------
@pytest.fixture
def keep_discord_log_level():
    """The playground CLI quiets the `discord` logger for the whole process; later harness tests need it
    (strict mode turns logged errors into failures)."""
    import logging

    logger = logging.getLogger("discord")
    level = logger.level
    yield
    logger.setLevel(level)


def test_the_playground_shows_and_answers_a_radio_question(capsys, tmp_path, keep_discord_log_level):
    """Script mode: `field: value` lines after /join; a radio is answered by an option's label, the
    rules box with yes; the one-line `:modal` form takes the same (checkboxes comma-separated)."""
    from bot.__main__ import main

    folder = config_dir_with(tmp_path, {"community.yaml": {"membership": {"questions": QUESTIONS}}})
    script = tmp_path / "apply.txt"
    script.write_text(":as vera\n/join\nblend: hojicha\nvisits: Collabs, Quizzes\nrules: yes\n",
                      encoding="utf-8")
    assert main(["playground", "--config", str(folder), "--script", str(script)]) == 0
    out = capsys.readouterr().out
    assert "┃ Your favourite blend? (required; choose one: Sencha, Hojicha, Matcha)" in out
    assert "┃ What do you come for? (required; choose 1-2, comma-separated: Collabs, Events, Quizzes)" in out
    assert "┃ I accept the rules (required; tick: yes or no)" in out
    assert "• Your favourite blend?: Hojicha" in out and "• What do you come for?: Collabs, Quizzes" in out

    script.write_text(':as vera\n/join\n:modal blend=Sencha "visits=Events" rules=no\n', encoding="utf-8")
    assert main(["playground", "--config", str(folder), "--script", str(script)]) == 0
    assert "Please tick the box: I accept the rules" in capsys.readouterr().out
