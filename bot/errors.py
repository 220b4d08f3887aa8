"""Errors a member or moderator can fix. No discord import: services raise these.

A `UserError` carries a message-catalogue key and its parameters; the command tree renders it as an
ephemeral reply in the community's language.
"""
from __future__ import annotations

from typing import Any


class UserError(Exception):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"UserError({self.key!r}, {self.params!r})"


class NotModerator(UserError):
    def __init__(self) -> None:
        super().__init__("core.not_moderator")


class ConfigError(Exception):
    """One or more problems in the YAML config; each line names file, line and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
