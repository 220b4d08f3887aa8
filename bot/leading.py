"""The lead a task runs the bot under (PostgreSQL replicas, issue 18).

`bot.cli._replica.run_leading` sets `leading` to its `Leadership` (bot/db/leader.py) for the bot's task;
the tasks that one starts inherit it. `App.open` reads it to fence its outbox (`fence_for`): a leader
proves in the database that it still leads before a claimed row reaches Discord. Unset (SQLite, tests,
the playground, every command but `run` on PostgreSQL): no fence. A context variable, not a global: each
task sees the lead it runs under, and only that one.
"""
from __future__ import annotations

import contextvars
from typing import Any

leading: contextvars.ContextVar[Any] = contextvars.ContextVar("kizuna_leading", default=None)
