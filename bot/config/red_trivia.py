"""Red-DiscordBot Trivia lists -> a Kizuna quiz bank (`python -m bot import trivia FILE`).

A Red list is a YAML mapping of `question: [answer, ...]` with optional `AUTHOR` (text), `CONFIG`
(Red's game settings) and `$schema` keys. Each question becomes a free-text question whose `answers`
are the list's text answers. What cannot be carried over is reported, one line each, with the line in
the source file, and left out: answers that are not text (YAML reads unquoted yes/no as true/false,
1.50 as 1.5, 010 as 8, so their text is lost), empty answer lists, questions and answers over Kizuna's
limits, and the CONFIG settings (Kizuna's quiz settings live in participation.yaml and /quiz start).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .quizzes import MAX_ANSWER_LENGTH, MAX_ANSWERS, Question
from .yamlsrc import Source

from bot.services.text import answer_key, typed_answer_in

QUESTION_LIMITS = (Question.model_fields["question"].metadata[0].min_length,
                   Question.model_fields["question"].metadata[1].max_length)
RED_KEYS = ("AUTHOR", "CONFIG", "$schema")
NAME_LIMIT, DESCRIPTION_LIMIT = 100, 500


@dataclass
class Conversion:
    bank: dict[str, Any]                           # the quizzes/<key>.yaml document (may have no questions)
    problems: list[str] = field(default_factory=list)  # "line N: what was left out and why"
    questions_in: int = 0                          # questions in the source list

    @property
    def converted(self) -> int:
        return len(self.bank.get("questions") or [])


def bank_key(stem: str) -> str:
    """A file name for quizzes/: lower case letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "trivia"


def convert(source: Source, *, name: str) -> Conversion:
    data = source.data
    if not isinstance(data, dict):
        return Conversion({}, [f"line 1: a Red trivia list is a mapping of `question: [answers]` (got "
                               f"{type(data).__name__})"])
    out = Conversion({"name": name[:NAME_LIMIT]})
    author = data.get("AUTHOR")
    if isinstance(author, str) and author.strip():
        out.bank["description"] = f"Trivia by {author.strip()}"[:DESCRIPTION_LIMIT]
    elif author is not None:
        out.problems.append(f"line {source.line_of(('AUTHOR',))}: AUTHOR is not text: left out")
    settings = data.get("CONFIG")
    if isinstance(settings, dict) and settings:
        out.problems.append(f"line {source.line_of(('CONFIG',))}: CONFIG ({', '.join(map(str, settings))}) is Red's"
                            " game settings: not converted (set seconds and questions in participation.yaml"
                            " quiz: or with /quiz start)")
    questions = []
    for key, value in data.items():
        if key in RED_KEYS:
            continue
        out.questions_in += 1
        node = key if isinstance(key, str) else str(key)  # Source keeps keys as written (1234 -> "1234")
        line = source.line_of((node,))
        question = _question(key, value, f"line {line}", out.problems,
                             lambda i, node=node: f"line {source.line_of((node, i))}")
        if question is not None:
            questions.append(question)
    out.bank["questions"] = questions
    return out


def _question(key: Any, value: Any, where: str, problems: list[str], at) -> dict[str, Any] | None:
    """One question, or None; `at(i)` is where answer i is in the source."""
    if not isinstance(key, str):
        problems.append(f"{where}: the question {key!r} is not text: left out")
        return None
    text = " ".join(key.split())
    low, high = QUESTION_LIMITS
    shown = _short(text)
    if not low <= len(text) <= high:
        problems.append(f"{where}: question {shown}: {len(text)} characters; a question is {low} to {high}: left out")
        return None
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: question {shown}: no answers (an empty list): left out")
        return None
    answers: list[str] = []
    keys: list[str] = []  # answer_key of each kept answer
    for i, answer in enumerate(value):
        if not isinstance(answer, str):
            problems.append(f"{at(i)}: question {shown}: the answer {answer!r} is not text (YAML read it as"
                            f" {type(answer).__name__}; quote it in the list to keep it): left out")
            continue
        answer = " ".join(answer.split())
        key_ = answer_key(answer)
        if not key_:
            problems.append(f"{at(i)}: question {shown}: the answer {answer!r} is only punctuation: left out")
        elif len(answer) > MAX_ANSWER_LENGTH:
            problems.append(f"{at(i)}: question {shown}: an answer of {len(answer)} characters (at most"
                            f" {MAX_ANSWER_LENGTH}): left out")
        elif any(typed_answer_in(key_, frozenset({k})) for k in keys):
            continue  # Red lists often give "Paris" and "paris": one answer here (and "Wow" takes "Wow!")
        else:  # "Wow!" then "Wow": the one that accepts both takes the first one's place
            taken = [i for i, k in enumerate(keys) if typed_answer_in(k, frozenset({key_}))]
            at = taken[0] if taken else len(keys)
            keys[at:at + 1], answers[at:at + 1] = [key_], [answer]
            for i in reversed(taken[1:]):
                del keys[i], answers[i]
    if len(answers) > MAX_ANSWERS:
        problems.append(f"{where}: question {shown}: {len(answers)} answers; the first {MAX_ANSWERS} are kept")
        answers = answers[:MAX_ANSWERS]
    if not answers:
        problems.append(f"{where}: question {shown}: no answer left that can be typed: left out")
        return None
    return {"question": text, "answers": answers}


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")
