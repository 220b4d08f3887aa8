"""quizzes/<bank>.yaml: one quiz bank per file (config.quizzes is {file stem: QuizBank}).

A question either has `choices` (buttons) and `answer`, the number of the right choice counting from 1
as a person reads the list, or `answers`: the texts accepted when members type their answer (the style
of Red-DiscordBot's Trivia lists; `python -m bot import trivia` converts one). Typed answers are compared
with `bot.services.text.answer_matches` (case, width, kana, quotes or brackets around the answer and a
final . 。 ! ? do not matter; every other mark, as in C# or .NET, is part of the answer).
"""
from __future__ import annotations

from pydantic import Field, HttpUrl, ValidationInfo, field_validator, model_validator

from bot.services.text import answer_key, typed_answer_in

from .base import Model

MAX_ANSWERS = 20         # accepted answers of a free-text question
MAX_ANSWER_LENGTH = 100  # characters of one accepted answer (what fits in the modal's text input)


class Question(Model):
    question: str = Field(min_length=3, max_length=256)  # embed title limit
    """The question text."""
    choices: tuple[str, ...] = ()
    """2 to 5 answers; each becomes a button. Leave out for a free-text question (see `answers`)."""
    answer: int | None = None
    """The number of the right choice, counting from 1 (with `choices`)."""
    answers: tuple[str, ...] = ()
    """A free-text question instead of choices: the answers accepted when a member types one (1 to 20,
    each up to 100 characters). Case, full-/half-width, hiragana/katakana, quotes or brackets around the
    answer and a final . 。 ! ? do not matter; other marks count ("C#" is not "C"). An answer that ends
    with ! ? . or 。 ("Wow!") must be typed with it."""
    explanation: str | None = Field(default=None, min_length=1, max_length=1000)
    """Shown after the question closes (optional)."""
    image_url: HttpUrl | None = None
    """A picture shown with the question."""

    @field_validator("choices", "answers", mode="before")
    @classmethod
    def _plain_text(cls, choices: object) -> object:
        if not isinstance(choices, (list, tuple)):
            return choices
        out = []
        for choice in choices:
            if isinstance(choice, bool):
                # YAML reads unquoted yes/no/on/off/true/false as booleans
                raise ValueError("a choice was read as true/false: put it in quotes, like \"Yes\" or \"No\"")
            out.append(str(choice) if isinstance(choice, (int, float)) else choice)
        return out

    @field_validator("answers")
    @classmethod
    def _accepted_answers(cls, answers: tuple[str, ...]) -> tuple[str, ...]:
        if len(answers) > MAX_ANSWERS:
            raise ValueError(f"at most {MAX_ANSWERS} accepted answers (got {len(answers)})")
        keys: dict[str, str] = {}  # answer_key -> the answer as written
        for text in answers:
            if not 1 <= len(text) <= MAX_ANSWER_LENGTH:
                raise ValueError(f"each accepted answer is 1 to {MAX_ANSWER_LENGTH} characters (got {len(text)})")
            key = answer_key(text)
            if not key:
                raise ValueError(f"the answer {text!r} is only punctuation: nobody could type it")
            # the same answer, or one that accepts everything the other does ("Wow" accepts "Wow!")
            same = next((t for k, t in keys.items()
                         if typed_answer_in(key, frozenset({k})) or typed_answer_in(k, frozenset({key}))), None)
            if same is not None:
                raise ValueError(f"{same!r} and {text!r} are the same answer (case, width, kana, quotes around it"
                                 " and a final . ! ? do not count): keep one")
            keys[key] = text
        return answers

    @field_validator("choices")
    @classmethod
    def _two_to_five(cls, choices: tuple[str, ...]) -> tuple[str, ...]:
        if not choices:
            return choices  # a free-text question (the model check below wants one or the other)
        if not 2 <= len(choices) <= 5:
            raise ValueError(f"a question needs 2 to 5 choices (got {len(choices)})")
        for choice in choices:
            if not choice or len(choice) > 80:
                raise ValueError("each choice is 1 to 80 characters (it becomes a button label)")
        if len(set(choices)) != len(choices):
            raise ValueError("two choices are the same")
        return choices

    @field_validator("answer")
    @classmethod
    def _answer_in_range(cls, answer: int | None, info: ValidationInfo) -> int | None:
        choices = info.data.get("choices")
        if not choices or answer is None:
            return answer  # the choices error is reported already, or the model check below speaks
        if not 1 <= answer <= len(choices):
            raise ValueError(f"answer must be the number of the right choice, 1 to {len(choices)} (got {answer})")
        return answer

    @model_validator(mode="after")
    def _choices_or_answers(self) -> "Question":
        if self.choices and self.answers:
            raise ValueError("a question has either choices (buttons, with answer:) or answers (typed), not both")
        if not self.choices and not self.answers:
            raise ValueError("a question needs choices (2 to 5 buttons, with answer:) or answers (the typed"
                             " answers accepted)")
        if self.choices and self.answer is None:
            raise ValueError("answer: required with choices: the number of the right choice, counting from 1")
        if self.answers and self.answer is not None:
            raise ValueError("answer: is for choices; a free-text question lists what it accepts in answers:")
        return self

    @property
    def free_text(self) -> bool:
        """Members type their answer (a modal) instead of pressing a choice."""
        return bool(self.answers)

    @property
    def answer_index(self) -> int | None:
        """0-based index of the right choice (None for a free-text question)."""
        return None if self.answer is None else self.answer - 1


class QuizBank(Model):
    name: str = Field(default="", max_length=100)  # shown to members; defaults to the file name
    """The bank's name as members see it."""
    description: str = Field(default="", max_length=500)
    """What the bank is about."""
    questions: tuple[Question, ...]
    """The questions of this bank."""

    @field_validator("questions")
    @classmethod
    def _distinct(cls, questions: tuple[Question, ...]) -> tuple[Question, ...]:
        if not questions:
            raise ValueError("a bank needs at least one question")
        texts = [q.question for q in questions]
        dupes = sorted({t for t in texts if texts.count(t) > 1})
        if dupes:
            raise ValueError(f"a question appears twice: {dupes[0]!r}")
        return questions
