"""The YAML files Kizuna reads. Adding a file = one model module, one line here and one typed field
on `Config` (bot/config/loader.py; tests/test_wiring.py checks they match).

A model may define `references(self, config)` yielding (location, message) for problems that need
other files (unknown channel keys, ...); the loader turns them into file:line errors.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property

from .base import Model


@dataclass(frozen=True)
class FileSpec:
    attr: str  # Config.<attr>
    pattern: str  # file name, or a glob for one-file-per-item folders
    model_path: str  # "module:Class"
    required: bool = False

    @property
    def many(self) -> bool:
        return "*" in self.pattern

    @cached_property
    def model(self) -> type[Model]:
        module, name = self.model_path.split(":")
        return getattr(importlib.import_module(module), name)


_ALL: list[FileSpec] = [
    FileSpec("community", "community.yaml", "bot.config.community:CommunityFile", required=True),
    FileSpec("schedules", "schedules.yaml", "bot.config.schedules:SchedulesFile"),
    FileSpec("prompts", "prompts.yaml", "bot.config.prompts:PromptsFile"),
    FileSpec("participation", "participation.yaml", "bot.config.participation:ParticipationFile"),
    FileSpec("quizzes", "quizzes/*.yaml", "bot.config.quizzes:QuizBank"),
    FileSpec("content", "content.yaml", "bot.config.content:ContentFile"),
    FileSpec("drops", "drops.yaml", "bot.config.drops:DropsFile"),
    FileSpec("faq", "faq.yaml", "bot.config.faq:FaqFile"),
]

ALL_FILES: tuple[FileSpec, ...] = tuple(_ALL)  # every file Kizuna reads (also the unknown-file check)
FILES: list[FileSpec] = list(_ALL)  # a model module that cannot be imported is an ImportError, not a skip
