"""quizzes/<bank>.yaml: one quiz bank per file (config.quizzes is {file stem: QuizBank}).

`answer` is the number of the right choice counting from 1, as a person reads the list.
"""
from __future__ import annotations

from pydantic import Field, HttpUrl, ValidationInfo, field_validator

from .base import Model


class Question(Model):
    question: str = Field(min_length=3, max_length=256)  # embed title limit
    """The question text."""
    choices: tuple[str, ...]
    """2 to 5 answers; each becomes a button."""
    answer: int
    """The number of the right choice, counting from 1."""
    explanation: str = Field(min_length=1, max_length=1000)
    """Shown after the question closes."""
    image_url: HttpUrl | None = None
    """A picture shown with the question."""

    @field_validator("choices", mode="before")
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

    @field_validator("choices")
    @classmethod
    def _two_to_five(cls, choices: tuple[str, ...]) -> tuple[str, ...]:
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
    def _answer_in_range(cls, answer: int, info: ValidationInfo) -> int:
        choices = info.data.get("choices")
        if choices is None:
            return answer  # the choices error is reported already
        if not 1 <= answer <= len(choices):
            raise ValueError(f"answer must be the number of the right choice, 1 to {len(choices)} (got {answer})")
        return answer

    @property
    def answer_index(self) -> int:
        """0-based index of the right choice."""
        return self.answer - 1


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
