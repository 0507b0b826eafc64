"""Task supervision: every background task of the worker runs here, kept and watched.

A task that raises is logged with context (``logger.exception``), counted
(``streaming_task_restarts_total``) and restarted with capped backoff; a task that keeps failing
(``crash_loop_limit`` failures without a healthy minute between them) stops the process with
exit code 1. A `FatalWorkerError` (e.g. Kite's 403) stops the process with its own exit code.
Nothing dies silently: there is no un-awaited task anywhere else in the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from streaming.backoff import Backoff
from streaming.config import EXIT_FAILURE, EXIT_OK
from streaming.metrics import TASK_RESTARTS

log = structlog.get_logger(__name__)

TaskFactory = Callable[[], Awaitable[None]]
HEALTHY_RUN_SECONDS = 60.0


class FatalWorkerError(Exception):
    """Ends the worker with ``exit_code`` (raised by a task; handled by the supervisor)."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TaskSupervisor:
    """Owns the worker's tasks; ``wait()`` returns the exit code once a stop is requested."""

    def __init__(
        self,
        *,
        restart_initial_seconds: float = 0.5,
        restart_max_seconds: float = 30.0,
        crash_loop_limit: int = 20,
        context: dict[str, Any] | None = None,
    ) -> None:
        self._restart_initial = restart_initial_seconds
        self._restart_max = restart_max_seconds
        self._crash_loop_limit = crash_loop_limit
        self._context = dict(context or {})
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self.exit_code = EXIT_OK
        self.stop_reason = ""
        self.failures = 0  # every task failure since start (reported in the heartbeat)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def spawn(self, name: str, factory: TaskFactory, *, restart: bool = True) -> None:
        """Run ``factory()`` as task ``name``; with ``restart`` it is restarted when it ends."""
        if name in self._tasks and not self._tasks[name].done():
            raise RuntimeError(f"task {name} is already running")
        task = asyncio.create_task(self._supervise(name, factory, restart), name=name)
        self._tasks[name] = task
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        if self._tasks.get(task.get_name()) is task:
            del self._tasks[task.get_name()]

    async def cancel(self, name: str) -> None:
        """Cancel one task and wait for it to finish."""
        task = self._tasks.get(name)
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def request_stop(self, *, exit_code: int = EXIT_OK, reason: str = "") -> None:
        """Ask the worker to drain and exit; the first non-zero exit code wins."""
        if self.exit_code == EXIT_OK and exit_code != EXIT_OK:
            self.exit_code = exit_code
        if not self.stop_reason:
            self.stop_reason = reason
        self._stop.set()

    async def wait(self) -> int:
        await self._stop.wait()
        return self.exit_code

    async def sleep_unless_stopping(self, seconds: float) -> None:
        """Sleep, waking early when a stop is requested."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        except TimeoutError:
            return

    async def cancel_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, name: str, factory: TaskFactory, restart: bool) -> None:
        loop = asyncio.get_running_loop()
        backoff = Backoff(initial=self._restart_initial, maximum=self._restart_max)
        consecutive = 0
        while not self._stop.is_set():
            started = loop.time()
            try:
                await factory()
            except FatalWorkerError as exc:
                log.exception("worker_fatal", task=name, exit_code=exc.exit_code, **self._context)
                self.request_stop(exit_code=exc.exit_code, reason=str(exc))
                return
            except Exception:
                # The supervised boundary: log with context, count, restart with backoff.
                self.failures += 1
                if loop.time() - started >= HEALTHY_RUN_SECONDS:
                    consecutive = 0
                    backoff.reset()
                consecutive += 1
                TASK_RESTARTS.labels(task=name).inc()
                log.exception(
                    "task_failed", task=name, consecutive_failures=consecutive, **self._context
                )
            else:
                if not restart:
                    return
                log.warning("task_returned_restarting", task=name, **self._context)
            if consecutive >= self._crash_loop_limit:
                log.error("task_crash_loop", task=name, failures=consecutive, **self._context)
                self.request_stop(exit_code=EXIT_FAILURE, reason=f"task {name} crash loop")
                return
            await self.sleep_unless_stopping(backoff.next_delay())
