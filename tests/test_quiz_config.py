"""Quiz banks, prompts.yaml and participation.yaml are validated like all config: file:line: field: problem."""
from __future__ import annotations

import pytest

from bot.config import load_config
from bot.errors import ConfigError
from tests.helpers import CONFIG, config_dir_with

BAD_BANK = """\
name: Broken
questions:
  - question: Only one choice?
    choices: [only]
    answer: 1
    explanation: A question needs two choices at least.
  - question: Answer out of range?
    choices: [a, b, c]
    answer: 4
    explanation: There is no fourth choice.
  - question: No explanation?
    choices: [a, b]
    answer: 0
"""


def problems(tmp_path, patches) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir_with(tmp_path, patches))
    return info.value.problems


def test_the_shipped_banks_and_prompts_are_valid():
    config = load_config(CONFIG)
    tea = config.quizzes["tea"]
    assert len(tea.questions) >= 8
    assert all(2 <= len(q.choices) <= 5 and 0 <= q.answer_index < len(q.choices) and q.explanation
               for q in tea.questions)
    assert len(config.prompts.prompts) >= 7
    assert config.participation.quiz.bank == "tea"


def test_a_broken_bank_names_file_line_and_field(tmp_path):
    found = problems(tmp_path, {"quizzes/broken.yaml": BAD_BANK})
    assert any(p.endswith("quizzes/broken.yaml:4: questions[0].choices: a question needs 2 to 5 choices (got 1)")
               for p in found), found
    assert any(p.endswith("quizzes/broken.yaml:9: questions[1].answer: answer must be the number of the right"
                          " choice, 1 to 3 (got 4)") for p in found), found
    assert any(p.endswith("quizzes/broken.yaml:13: questions[2].answer: answer must be the number of the right"
                          " choice, 1 to 2 (got 0)") for p in found), found
    # explanation is optional (issue 20): a question without one is no problem
    assert len(found) == 3, found


def test_unquoted_yes_and_no_are_explained_and_numbers_are_fine(tmp_path):
    bank = ("questions:\n  - question: Is matcha green?\n    choices: [yes, no]\n    answer: 1\n"
            "    explanation: It is.\n")
    [problem] = problems(tmp_path, {"quizzes/yesno.yaml": bank})
    assert problem.endswith('yesno.yaml:3: questions[0].choices: a choice was read as true/false: put it in quotes,'
                            ' like "Yes" or "No"')
    bank = ("questions:\n  - question: How many minutes for sencha?\n    choices: [1, 5, 10]\n    answer: 1\n"
            "    explanation: About one.\n")
    config = load_config(config_dir_with(tmp_path, {"quizzes/numbers.yaml": bank}))
    assert config.quizzes["numbers"].questions[0].choices == ("1", "5", "10")


def test_six_choices_are_too_many(tmp_path):
    bank = ("questions:\n  - question: Six?\n    choices: [a, b, c, d, e, f]\n    answer: 1\n"
            "    explanation: Five buttons at most.\n")
    [problem] = problems(tmp_path, {"quizzes/six.yaml": bank})
    assert problem.endswith("six.yaml:3: questions[0].choices: a question needs 2 to 5 choices (got 6)")


def test_participation_refers_to_known_channels_and_banks(tmp_path):
    found = problems(tmp_path, {"participation.yaml": {"quiz": {"channel": "trivia", "bank": "coffee"},
                                                        "activity": {"channels": ["lounge", "kitchen"]}}})
    assert any("participation.yaml" in p and "quiz.channel: unknown channel key 'trivia'" in p for p in found), found
    assert any("quiz.bank: unknown quiz bank 'coffee'" in p for p in found), found
    assert any("activity.channels[1]: unknown channel key 'kitchen'" in p for p in found), found


def test_two_prompts_may_not_share_a_key(tmp_path):
    prompts = ("prompts:\n  - key: same\n    text: First prompt text here\n"
               "  - key: same\n    text: Second prompt text here\n")
    # (only this file's problems: the example's poll schedule also misses its prompt here)
    [problem] = [p for p in problems(tmp_path, {"prompts.yaml": prompts}) if "prompts.yaml:" in p]
    assert problem.endswith("prompts.yaml:4: prompts[1].key: the key 'same' is already used by prompts[0];"
                            " every prompt must be different")
