"""`python -m bot import trivia FILE`: a Red-DiscordBot trivia list becomes quizzes/<name>.yaml, what
cannot be converted is reported with its line, and the result passes `check`. The fixtures are our own."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.__main__ import main
from bot.config import load_config
from tests.helpers import config_dir_with

FIXTURE = Path(__file__).parent / "fixtures" / "red_trivia_teatime.yaml"
GOOD = "Which Japanese tea is made from stems?:\n- Kukicha\n- くきちゃ\n"


def run_import(tmp_path, capsys, text: str | None = None, *extra: str) -> tuple[int, str, str, Path]:
    config = config_dir_with(tmp_path)
    source = FIXTURE
    if text is not None:
        source = tmp_path / "my_list.yaml"
        source.write_text(text, encoding="utf-8")
    code = main(["import", "trivia", str(source), "--config", str(config), *extra])
    out, err = capsys.readouterr()
    return code, out, err, config


def test_a_red_list_becomes_a_bank_of_typed_questions_that_passes_check(tmp_path, capsys):
    code, out, err, config = run_import(tmp_path, capsys)
    assert code == 0, err
    written = config / "quizzes" / "red-trivia-teatime.yaml"
    assert out.strip() == f"wrote {written}: 6 of 10 questions (4 left out, listed above)"
    bank = load_config(config).quizzes["red-trivia-teatime"]
    assert bank.description == "Trivia by Kizuna test team"
    stems = {q.question: q.answers for q in bank.questions}
    assert stems["Which country drinks the most tea per person?"] == ("Turkey", "Türkiye")  # "turkey" merged
    assert stems["Which Japanese tea is made from stems?"] == ("Kukicha", "くきちゃ")
    assert all(q.free_text and q.explanation is None for q in bank.questions)
    assert main(["check", "--config", str(config), "--now", "2026-12-01T00:00+09:00"]) == 0


REPORTED = {  # line in the fixture -> what the report says
    3: "CONFIG (max_score, timeout, delay, reveal_answer) is Red's game settings: not converted",
    16: "question 'Is rooibos a true tea?': the answer False is not text (YAML read it as bool",
    19: "the answer 3 is not text (YAML read it as int; quote it in the list to keep it): left out",
    24: "question 'What is this empty question for?': no answers (an empty list): left out",
    25: "question 'What year did the Boston Tea Party happen?': no answer left that can be typed: left out",
    26: "the answer 1773 is not text",
    27: "question '??': 2 characters; a question is 3 to 256: left out",
    29: "305 characters; a question is 3 to 256: left out",
    34: "an answer of 138 characters (at most 100): left out",
}


@pytest.mark.parametrize("line", REPORTED)
def test_what_cannot_be_converted_is_reported_with_its_line(tmp_path, capsys, line):
    code, out, err, _ = run_import(tmp_path, capsys)
    assert code == 0
    assert any(l.startswith(f"{FIXTURE}:{line}: ") and REPORTED[line] in l for l in err.splitlines()), err


CANNOT = {
    "a number answer": ("How hot for sencha, in degrees?:\n- 80\n", "the answer 80 is not text"),
    "a yes/no answer": ("Is matcha green?:\n- yes\n", "the answer True is not text"),
    "a float answer": ("How many grams, roughly?:\n- 2.5\n", "the answer 2.5 is not text"),
    "an empty list": ("Nothing to answer?: []\n", "no answers (an empty list)"),
    "not a list": ("A lone answer?: Kukicha\n", "no answers (an empty list)"),
    "a number as question": ("1234:\n- four\n", "the question 1234 is not text"),
    "a long question": ("Q" * 257 + ":\n- x\n", "257 characters; a question is 3 to 256"),
    "a long answer": ("Which tea is it?:\n- " + "a" * 101 + "\n", "an answer of 101 characters"),
    "punctuation only": ("Which sign?:\n- '?!'\n", "is only punctuation"),
}


@pytest.mark.parametrize("case", CANNOT, ids=str)
def test_each_kind_of_unconvertible_item_is_left_out_and_the_rest_kept(tmp_path, capsys, case):
    bad, message = CANNOT[case]
    code, out, err, config = run_import(tmp_path, capsys, "AUTHOR: us\n" + bad + GOOD)
    assert code == 0, err
    # the line of the question, or of the answer at fault
    assert any(f"my_list.yaml:{n}: " in l and message in l for l in err.splitlines() for n in (2, 3)), err
    bank = load_config(config).quizzes["my-list"]
    assert [q.question for q in bank.questions] == ["Which Japanese tea is made from stems?"]


def test_a_list_with_nothing_to_convert_writes_nothing(tmp_path, capsys):
    code, out, err, config = run_import(tmp_path, capsys, "AUTHOR: us\nEmpty?: []\n")
    assert code == 1 and "nothing to convert" in err
    assert not (config / "quizzes" / "my-list.yaml").exists()


def test_an_existing_bank_is_not_replaced_without_force(tmp_path, capsys):
    code, out, err, config = run_import(tmp_path, capsys, GOOD, "--as", "tea")
    assert code == 1 and "exists already" in err
    assert load_config(config).quizzes["tea"].name == "Tea basics"
    assert main(["import", "trivia", str(tmp_path / "my_list.yaml"), "--config", str(config), "--as", "tea",
                 "--force", "--name", "Stems"]) == 0
    assert load_config(config).quizzes["tea"].name == "Stems"


def test_config_before_the_kind_counts_too(tmp_path, capsys):
    config = config_dir_with(tmp_path)
    assert main(["import", "--config", str(config), "trivia", str(FIXTURE)]) == 0
    assert (config / "quizzes" / "red-trivia-teatime.yaml").is_file()


@pytest.mark.parametrize("text,message", [("- just\n- a list\n", "is a mapping of `question: [answers]`"),
                                          ("Q?: [a\n", "YAML syntax error"),
                                          ("Same?: [a]\nSame?: [b]\n", "Same?")])
def test_a_file_that_is_no_trivia_list_is_refused(tmp_path, capsys, text, message):
    code, out, err, config = run_import(tmp_path, capsys, text)
    assert code == 1 and message in err, err
    assert not (config / "quizzes" / "my-list.yaml").exists()


def test_a_written_bank_is_plain_yaml_a_person_can_edit(tmp_path, capsys):
    code, _, _, config = run_import(tmp_path, capsys)
    text = (config / "quizzes" / "red-trivia-teatime.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Converted from the Red-DiscordBot trivia list red_trivia_teatime.yaml")
    assert "くきちゃ" in text                        # not \u escapes
    assert yaml.safe_load(text)["questions"][2] == {"question": "Is rooibos a true tea?", "answers": ["No"]}


MARKED = ("Which language did Microsoft make for .NET?:\n- C#\n- c#\n- Ｃ＃\n- C sharp\n"
          "Which language came before C++?:\n- C\n- '\"C\"'\n"
          "What do you shout at a surprise?:\n- Wow!\n- Wow?\n- wow\n- ＷＯＷ！\n")


def test_answers_that_differ_in_a_mark_are_kept_apart_and_the_bank_passes_check(tmp_path, capsys):
    """Issue 20's closing note: "C#" was keyed as "C", so a list's "C#" and "C" were merged into one."""
    code, out, err, config = run_import(tmp_path, capsys, "AUTHOR: us\n" + MARKED + GOOD)
    assert code == 0, err
    bank = {q.question: q.answers for q in load_config(config).quizzes["my-list"].questions}
    assert bank["Which language did Microsoft make for .NET?"] == ("C#", "C sharp")
    assert bank["Which language came before C++?"] == ("C",)
    # "wow" accepts "Wow!" and "Wow?" as typed: it takes the first one's place, the other is dropped
    assert bank["What do you shout at a surprise?"] == ("wow",)
    assert main(["check", "--config", str(config), "--now", "2026-12-01T00:00+09:00"]) == 0
