"""The lines of generated code that read an entity's values: each value once, into a local.

:class:`Reads` is the half of :class:`monitor.rules.codegen.Emitter` that turns a :class:`~monitor.rules.resolve.Ref`
into the local holding its value (``v3 = w1.get(k2)``, the window read once as ``w1``): metrics of a window
(several of one window read with one ``operator.itemgetter`` call, :meth:`Reads.preload`), entity fields (``cur.x``,
``prev.x``), the local day (``hour``, ``weekday``, ``elapsed``), the currency, and the values derived from a day's
spend (budget_used, projected_spend, pace). Every constant is a parameter ``k0``, ``k1``, ... (:meth:`Reads.const`):
no text from a rule file is written into the lines. Reads go to the prologue, read before any condition runs, unless
:attr:`Reads.shared` names the ones to put there (those two conditions share): the others go just before their
first use (:attr:`Reads.inline`). ``indent`` nests lines.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from monitor.domain.budget import DAILY_MODES
from monitor.domain.profile import MIN_SHARE, PROFILE_WINDOW
from monitor.rules import names as N
from monitor.rules.resolve import Ref

#: What the generated code's ``E`` is bound to: a window without data.
EMPTY: Any = MappingProxyType({})
#: The entity fields the generated code may read (``cur.x``, ``prev.x``).
FIELD_ATTRS = frozenset({*N.FIELDS, "id"}) - {"ad_id"}


class Reads:
    """The reads of a group of conditions over one entity: constants as parameters, each value read once
    into a local (in the prologue, or just before its first use when one condition reads it)."""

    def __init__(self) -> None:
        self.consts: list[Any] = []
        self.getters: list[Callable[[Any], tuple[Any, ...]]] = []  # parameters g0, g1, ...: see preload()
        self._const_slots: dict[tuple[type, Any], str] = {}
        self.prologue: list[str] = []
        self._reads: dict[tuple[Any, ...], str] = {}
        self._numbers = itertools.count()
        self.uses_prev = False
        self.shared: set[tuple[Any, ...]] | None = None  # None: every read goes to the prologue
        self.inline: list[str] = []  # where reads used by one condition only go: just before their first use

    def const(self, value: Any) -> str:
        key = (type(value), value)
        if key not in self._const_slots:
            self._const_slots[key] = f"k{len(self.consts)}"
            self.consts.append(value)
        return self._const_slots[key]

    def fresh(self, letter: str) -> str:
        return f"{letter}{next(self._numbers)}"

    def _once(self, key: tuple[Any, ...], letter: str, lines: Callable[[str], list[str]]) -> str:
        if key not in self._reads:
            name = self._reads[key] = self.fresh(letter)
            shared = self.shared is None or key in self.shared
            (self.prologue if shared else self.inline).extend(lines(name))
        return self._reads[key]

    def read_keys(self) -> set[tuple[Any, ...]]:
        return set(self._reads)

    def window(self, window: str, prev: bool) -> str:
        slot = self.const(window)
        if prev:
            self.uses_prev = True
            read = f"E if prev is None else prev.metrics.get({slot}, E)"
            return self._once(("w", window, True), "p", lambda n: [f"{n} = {read}"])
        return self._once(("w", window, False), "w", lambda n: [f"{n} = cur.metrics.get({slot}, E)"])

    def preload(self, keys: Iterable[tuple[Any, ...]]) -> None:
        """Prologue lines reading several metrics of one window with one call, for the read keys ``keys``.

        ``v2, v3, v5 = g0(w1)`` (an ``operator.itemgetter``) costs one call where ``w1.get(k1)`` costs one per
        metric; reads are most of an evaluation's time. A window without data (``E``) gives None for each; a
        row that lacks one of the metrics falls back to ``.get`` for each, so a missing key is still None.
        (Windows are plain dicts behind read-only proxies, as :func:`monitor.domain.values.freeze_metrics`
        makes them, or read-only dicts without ``__missing__``, as the fetch makes them: a mapping with
        ``__missing__`` would answer the getter with its default.)
        """
        groups: dict[tuple[str, bool], list[str]] = {}
        for key in keys:
            if key[0] == "m" and key not in self._reads:
                groups.setdefault((key[1], key[3]), []).append(key[2])
        for (window, prev), metrics in sorted(groups.items()):
            if len(metrics) < 2:
                continue
            # the window must be read in the prologue too: a metric read by two conditions makes its window so
            assert self.shared is None or ("w", window, prev) in self.shared, (window, prev)
            source = self.window(window, prev)
            names = [self._reads.setdefault(("m", window, metric, prev), self.fresh("v")) for metric in metrics]
            getter = f"g{len(self.getters)}"
            self.getters.append(operator.itemgetter(*metrics))
            fallback = [
                f"{name} = {source}.get({self.const(metric)})" for name, metric in zip(names, metrics, strict=True)
            ]
            self.prologue += [
                f"if {source} is E:",
                f"    {' = '.join(names)} = None",
                "else:",
                "    try:",
                f"        {', '.join(names)}, = {getter}({source})",
                "    except KeyError:",
                *indent(fallback, 8),
            ]

    def load(self, ref: Ref) -> str:
        """The local holding what ``ref`` reads (read once per entity, in the prologue)."""
        if ref.kind == "time":
            return {"hour": "hour", "weekday": "weekday", "day_elapsed": "elapsed"}[ref.key]
        if ref.kind == "account":  # currency
            return "currency"
        if ref.kind == "metric":
            assert ref.window is not None
            source, slot = self.window(ref.window, ref.prev), self.const(ref.key)
            return self._once(("m", ref.window, ref.key, ref.prev), "v", lambda n: [f"{n} = {source}.get({slot})"])
        if ref.kind == "derived":
            return self._derived(ref)
        self.uses_prev |= ref.prev
        attr = ref.attr
        if attr not in FIELD_ATTRS:
            raise AssertionError(f"not an entity field: {attr}")
        if ref.prev:
            return self._once(("f", attr, True), "v", lambda n: [f"{n} = None if prev is None else prev.{attr}"])
        return self._once(("f", attr, False), "v", lambda n: [f"{n} = cur.{attr}"])

    def _derived(self, ref: Ref) -> str:
        """budget_used = today's spend / daily budget; projected_spend = today's spend over the share of a day's
        spend expected by now (the entity's hourly profile, else base: monitor.domain.profile.projection; None
        early in the day); pace = budget_used / base (linear)."""
        owner = "prev" if ref.prev else "cur"
        self.uses_prev |= ref.prev
        today, spend = self.window("today", ref.prev), self.const("spend")
        if ref.key == "projected_spend":  # over the entity's hourly profile when it has one, else linear
            profile, least, share = self.window(PROFILE_WINDOW, False), self.const(MIN_SHARE), self.fresh("t")
            return self._once(  # monitor.domain.profile.projection, inlined (the audit allows no calls)
                ("projected_spend",),
                "v",
                lambda n: [f"{n} = None", "if base:", f"    s = {today}.get({spend})", "    if s is not None:",
                           f"        {share} = {profile}.get({spend})", f"        if {share} is None:",
                           f"            {n} = s / base", f"        elif {share} >= {least}:",
                           f"            {n} = s / {share}"],
            )  # fmt: skip
        daily = self.const(DAILY_MODES)
        guard = "prev is not None and " if ref.prev else ""
        over = " and base" if ref.key == "pace" else ""
        divisor = f"{owner}.budget * base" if ref.key == "pace" else f"{owner}.budget"
        return self._once(
            (ref.key, ref.prev),
            "v",
            lambda n: [
                f"{n} = None",
                f"if {guard}{owner}.budget and {owner}.budget_mode in {daily}{over}:",
                f"    s = {today}.get({spend})",
                "    if s is not None:",
                f"        {n} = s / ({divisor})" if over else f"        {n} = s / {divisor}",
            ],
        )


def indent(lines: list[str], spaces: int) -> list[str]:
    return [" " * spaces + line for line in lines]
