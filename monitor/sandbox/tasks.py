"""Async report tasks (report/task/create|check|download|cancel). The report is computed when the task is
created (a snapshot at that world time); a check answers SUCCESS once the task is :data:`READY_AFTER` seconds
old (real time) or has been checked before, QUEUING otherwise (so a check right after creation is QUEUING and
the next one SUCCESS) — unless a ``task_failed`` fault or a cancel got there first."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

QUEUING, SUCCESS, FAILED, CANCELED = "QUEUING", "SUCCESS", "FAILED", "CANCELED"
#: A task is ready this many seconds (``time.monotonic``) after it was created, or at its second check.
READY_AFTER = 1.0


@dataclass(slots=True)
class ReportTask:
    task_id: str
    advertiser_id: str
    csv_text: str
    output_format: str
    file_name: str
    status: str = QUEUING
    checks: int = 0
    message: str = ""
    created: float = 0.0  # monotonic seconds


class ReportTasks:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._tasks: dict[str, ReportTask] = {}
        self._seq = itertools.count(1)
        self._monotonic = monotonic

    def create(self, advertiser_id: str, csv_text: str, output_format: str, file_name: str) -> ReportTask:
        task_id = f"73{next(self._seq):017d}"
        task = self._tasks[task_id] = ReportTask(
            task_id, advertiser_id, csv_text, output_format, file_name, created=self._monotonic()
        )
        return task

    def get(self, advertiser_id: str, task_id: str) -> ReportTask | None:
        task = self._tasks.get(task_id)
        return task if task is not None and task.advertiser_id == advertiser_id else None

    def by_id(self, task_id: str) -> ReportTask | None:
        return self._tasks.get(task_id)

    def check(self, task: ReportTask, fail_message: str | None = None) -> ReportTask:
        """Advance the task's state machine by one check."""
        if fail_message is not None and task.status in (QUEUING, SUCCESS):
            task.status, task.message = FAILED, fail_message
        elif task.status == QUEUING and (task.checks >= 1 or self._monotonic() - task.created >= READY_AFTER):
            task.status = SUCCESS
        task.checks += 1
        return task
