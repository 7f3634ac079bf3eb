"""The diurnal delivery curve and its closed-form integral ("F-space").

Every ad of one advertiser spends at ``rate × f(t)`` where ``rate`` is the ad's average spend per second and

    f(t) = 1 + A · sin(2π (t − φ) / P),      P = 86 400 s, 0 < A < 1

peaks in the advertiser's evening and dips before dawn. Its antiderivative

    F(t) = t − A · P / (2π) · cos(2π (t − φ) / P)

is strictly increasing, so spend over [t0, t1) is ``rate × (F(t1) − F(t0))``. Because all ads of an advertiser
share ``f``, budget caps, pauses and shares between ads are all linear in F: the ledger works in F-space and
never has to invert F. Over any whole day F advances by exactly P, so daily uncapped spend is 24 × hourly rate.
The phase follows the account's *standard* UTC offset (daylight saving shifts the peak by an hour; nobody minds).
"""

from __future__ import annotations

import math

PERIOD = 86_400.0
AMPLITUDE = 0.6
PEAK_LOCAL_HOUR = 20.0


class DiurnalCurve:
    """``F`` for one advertiser. ``utc_offset_hours`` is the standard offset of the account's time zone."""

    __slots__ = ("_k", "_omega", "_phi")

    def __init__(self, utc_offset_hours: float, amplitude: float = AMPLITUDE) -> None:
        if not 0.0 <= amplitude < 1.0:
            raise ValueError("amplitude must be in [0, 1)")
        # sin peaks a quarter period after φ; we want the peak at PEAK_LOCAL_HOUR local time.
        self._phi = ((PEAK_LOCAL_HOUR - utc_offset_hours) * 3600.0 - PERIOD / 4) % PERIOD
        self._omega = 2.0 * math.pi / PERIOD
        self._k = amplitude * PERIOD / (2.0 * math.pi)

    def f(self, t: float) -> float:
        """Relative delivery intensity at epoch second ``t`` (mean 1 over a day)."""
        return 1.0 + self._k * self._omega * math.sin(self._omega * (t - self._phi))

    def F(self, t: float) -> float:
        """Antiderivative of :meth:`f`; ±inf map to themselves."""
        if math.isinf(t):
            return t
        return t - self._k * math.cos(self._omega * (t - self._phi))
