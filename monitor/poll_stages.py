"""Where a running poll is: its :class:`Stage` (before the seven steps, one of them, or committing) and the
:class:`Progress` that :meth:`Pipeline.poll <monitor.pipeline.Pipeline.poll>` moves on and its caller reads (the
poller names the stage when the poll deadline cancels the poll; ``PollSummary.stage_seconds`` adds up the wall
seconds of each)."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

__all__ = ["Progress", "Stage"]


class Stage(enum.StrEnum):
    """Where a poll is: before its seven steps, one of them, or committing."""

    START = "start"  # taking the advertiser's lease, loading the previous snapshot
    FETCH = "fetch"
    STORE = "store"
    DIFF = "diff"
    EVALUATE = "evaluate"
    LIFECYCLE = "lifecycle"
    ACT = "act"
    NOTIFY = "notify"
    COMMIT = "commit"  # writing everything in one transaction, fenced by the lease


@dataclass
class Progress:
    """The stage a running poll is in; :meth:`Pipeline.poll` moves it on (:meth:`enter`), its caller reads it.

    ``seconds`` adds up the wall time spent in each stage (one ``perf_counter`` call per stage change), up to
    the last :meth:`enter` or :meth:`stop`.
    """

    stage: Stage = Stage.START
    seconds: dict[Stage, float] = field(default_factory=dict)
    _since: float | None = None

    def start(self) -> None:
        """Begin a poll: stage START, no time counted yet."""
        self.seconds.clear()
        self.stage, self._since = Stage.START, time.perf_counter()

    def enter(self, stage: Stage) -> None:
        """Move on to ``stage``, adding the time since the last change to the stage left."""
        self.stop()
        self.stage = stage

    def stop(self) -> None:
        """Add the time since the last change to the current stage (the poll ended, or left it)."""
        now = time.perf_counter()
        if self._since is not None:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self._since
        self._since = now
