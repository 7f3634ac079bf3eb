"""The limiter's sliding windows, counted by the time a request left, not the time it was granted.

A grant is a promise about the server: it must see at most ``max_qps`` requests in any second. A request
granted at ``g`` leaves when its task next runs; CPU-bound work on the event loop (parsing a big page) can hold
it back, and requests granted a second apart then leave together (issue 18: 18 in one second at 10 QPS).
So each grant is a :class:`Slot` of the windows: *pending* from the grant until the request is written (the
transport says so, :meth:`Slot.sent`), then counted at its send time. A pending slot counts in every window
until it is sent. With that, whatever delays a send, at most ``limit`` requests are written in any window:
when the last of them was granted, every other one was either pending (counted) or already written, and a
request written before that grant but less than one window before its own send was still in the window then.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: How often a caller waiting only for pending requests to leave looks again (seconds): they leave within
#: milliseconds when the event loop is free.
SEND_POLL = 0.005


@dataclass(slots=True, eq=False)
class Slot:
    """One grant's place in the windows: ``at`` is the grant time while ``pending``, then the send time."""

    at: float
    pending: bool = False

    def sent(self, now: float) -> None:
        """The request left at ``now`` (the first call counts; later ones change nothing)."""
        if self.pending:
            self.pending = False
            self.at = max(self.at, now)


class SendWindow:
    """The slots of the last ``length`` seconds, and those still pending."""

    def __init__(self, length: float) -> None:
        self.length = length
        self._slots: deque[Slot] = deque()

    def add(self, slot: Slot) -> None:
        self._slots.append(slot)

    def _live(self, now: float) -> tuple[int, list[float]]:
        """(pending slots, send times of the sent slots still in the window, oldest first)."""
        start = now - self.length
        while self._slots and not self._slots[0].pending and self._slots[0].at <= start:
            self._slots.popleft()
        pending, times = 0, []
        for slot in self._slots:
            if slot.pending:
                pending += 1
            elif slot.at > start:
                times.append(slot.at)
        times.sort()
        return pending, times

    def used(self, now: float, ahead: float = 0.0) -> int:
        """Slots that count now: pending ones and those sent within the window; with ``ahead``, those that will
        still count ``ahead`` seconds from now (no more sent meanwhile)."""
        pending, times = self._live(now)
        start = now + ahead - self.length
        return pending + sum(1 for t in times if t > start)

    def wait(self, limit: int, now: float) -> float:
        """Seconds until one more slot fits under ``limit`` (0 now). While pending slots alone fill it, the
        time to look again (:data:`SEND_POLL`): only a send can tell when there is room."""
        pending, times = self._live(now)
        if pending + len(times) < limit:
            return 0.0
        if pending >= limit:
            return SEND_POLL
        # the oldest sent slots must leave the window until pending + the rest < limit
        return max(0.0, times[len(times) - (limit - pending)] + self.length - now)
