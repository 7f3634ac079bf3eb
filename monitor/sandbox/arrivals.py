"""The request log: one :class:`Arrival` per API request received, in arrival order."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class Arrival:
    """``t`` is ``time.monotonic()`` when the request arrived (real time, even with a frozen world clock);
    ``path`` is relative to /open_api/v1.3/ (the full path for other /open_api/ paths); ``code`` is the
    envelope code answered (None when no envelope was sent: HTTP faults, 404/405, disconnects);
    ``http_status`` is None when the connection was closed without an answer. The last two are filled in
    when the answer is sent."""

    t: float
    method: str
    path: str
    advertiser_id: str | None = None
    code: int | None = None
    http_status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def max_in_window(times: list[float], window: float) -> int:
    """The most ``times`` (seconds) that fall in any ``window`` seconds long: how a rate limit sees a request log."""
    ordered, best, start = sorted(times), 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best
