"""How the harness knows the bot has finished a step, through public asyncio API only.

The same on asyncio's loop and on uvloop (which has no `_ready` queue to peek at):
- every task created on the loop counts its steps (`loop.set_task_factory`): while any task other
  than the one settling takes a step, the bot is not done;
- the loop's default executor counts the jobs in its threads (`loop.set_default_executor`), so a
  task waiting for `asyncio.to_thread` is busy, not parked;
- SQLite work in aiosqlite's thread is waited for by a barrier the harness sends down the same
  connection (its statements run one after another, in order).
A task waiting on anything else (a user, a timer, a future nobody has set) is parked.
"""
from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures
from typing import Any, Callable


class _Stepping(collections.abc.Coroutine):
    """A task's coroutine that counts each step the task takes (the Task drives it by send/throw).
    Kept lean: every task of the harness's loop pays for it (the drops bench measures it)."""

    __slots__ = ("_coro", "_send", "_watch")

    def __init__(self, coro: collections.abc.Coroutine, watch: "LoopWatch") -> None:
        self._coro = coro
        self._send = coro.send
        self._watch = watch

    def send(self, value: Any) -> Any:
        self._watch.steps += 1
        return self._send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._watch.steps += 1
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._coro.close()

    def __await__(self):
        return self._coro.__await__()

    # what asyncio shows for a task (repr, get_stack, "Task was destroyed but it is pending!")
    @property
    def cr_frame(self):
        return getattr(self._coro, "cr_frame", None)

    @property
    def cr_code(self):
        return getattr(self._coro, "cr_code", None)

    def __repr__(self) -> str:
        return repr(self._coro)


class _CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """The loop's default executor (asyncio.to_thread), counting the jobs not yet handed back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(thread_name_prefix="harness-worker")
        self._loop = loop
        self.busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future = super().submit(fn, *args, **kwargs)
        self.busy += 1
        self._idle.clear()
        # registered on the next turn, so after the callback of run_in_executor's wrapping future:
        # that one hands the result to the loop first, and `busy` drops after it (never before)
        self._loop.call_soon(future.add_done_callback, self._finished)
        return future

    def _finished(self, future: concurrent.futures.Future) -> None:
        self._loop.call_soon_threadsafe(self._one_less)  # from the worker thread, or at once

    def _one_less(self) -> None:
        self.busy -= 1
        if not self.busy:
            self._idle.set()

    async def idle(self) -> None:
        await self._idle.wait()


class LoopWatch:
    """Installed once per event loop (and kept for its life: a loop's default executor cannot be
    unset); every harness on the loop shares it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.steps = 0
        self.counting = True  # False inside Harness.unwatched(): new tasks are plain ones
        self.executor = _CountingExecutor(loop)
        self._previous_factory = loop.get_task_factory()
        loop.set_task_factory(self._new_task)
        loop.set_default_executor(self.executor)

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> "LoopWatch":
        watch = getattr(loop.get_task_factory(), "__self__", None)
        return watch if isinstance(watch, cls) else cls(loop)

    def _new_task(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future:
        if self.counting:
            coro = _Stepping(coro, self)
        if self._previous_factory is not None:
            return self._previous_factory(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    def own_steps_per_wait(self) -> int:
        """How many of the counted steps the asking task itself takes each time it awaits one
        future (a sleep(0), a task): one when its own coroutine is counted, else none."""
        task = asyncio.current_task()
        return 1 if task is not None and isinstance(task.get_coro(), _Stepping) else 0

    async def uncounted(self, coro: collections.abc.Coroutine) -> Any:
        """Await `coro` in a task whose steps are not counted (the harness's own database barrier):
        the caller then takes exactly own_steps_per_wait() steps for it."""
        return await asyncio.Task(coro, loop=self.loop)

    @property
    def threads_busy(self) -> int:
        return self.executor.busy
