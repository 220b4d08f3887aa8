"""The offline Discord: a harness for tests and the playground (see docs/HARNESS.md).

    from bot.offline import Harness, SpecViolation, Forbidden
"""
from discord import Forbidden, HTTPException, NotFound

from .harness import BotError, Harness, HarnessError, OptionRefused
from .http import HarnessGap, Reply
from .spec import Spec, SpecViolation
from .world import FakeChannel, FakeMember, FakeMessage, FakeUser, World

__all__ = [
    "BotError", "FakeChannel", "FakeMember", "FakeMessage", "FakeUser", "Forbidden", "Harness", "HarnessError",
    "HarnessGap", "HTTPException", "NotFound", "OptionRefused", "Reply", "Spec", "SpecViolation", "World",
]
