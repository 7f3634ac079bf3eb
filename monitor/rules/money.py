"""Money thresholds across currencies: a rule like ``cpc > 0.7`` means one thing in USD and another in JPY. Pure.

A rule has a *money threshold* when its ``when`` compares a money value (a metric in the account's currency,
see :func:`monitor.notify.units.unit_for`; ``budget``; ``projected_spend``) with a fixed number: one side of a
comparison reads money, the other reads nothing at all (``spend > 100``, ``cpc * 2 >= 1.4``). Comparing money
with money (``spend > 2 * yesterday.spend``) or ratios (``budget_used``, ``pace``) is the same in every
currency. :func:`currency_warnings` names the enabled rules with a money threshold that apply to accounts in
more than one currency (their ``[rule.match]`` advertiser_ids and currencies admit them), and suggests one copy
of the rule per currency (no currency is picked for the reader: the threshold's own is not known); accounts whose
currency is unknown are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from monitor.notify.units import unit_for
from monitor.rules.ir import IR, Const, Load, Op
from monitor.rules.model import Rule
from monitor.rules.resolve import Ref

__all__ = ["CurrencyWatch", "currency_warnings", "money_thresholds"]

_COMPARE = frozenset({"==", "!=", "<", "<=", ">", ">="})
_PROBE = "XXX"  # any currency: unit_for answers it for money


def _is_money(ref: Ref) -> bool:
    if ref.kind == "metric":
        return unit_for(ref.key, _PROBE) == _PROBE
    return (ref.kind == "field" and ref.key == "budget") or (ref.kind == "derived" and ref.key == "projected_spend")


def _loads(node: IR) -> Iterator[Ref]:
    if isinstance(node, Load):
        yield node.ref
    elif isinstance(node, Op):
        for arg in node.args:
            if isinstance(arg, Const | Load | Op):
                yield from _loads(arg)


def _comparisons(node: IR) -> Iterator[Op]:
    if isinstance(node, Op):
        if node.op in _COMPARE:
            yield node
        for arg in node.args:
            if isinstance(arg, Op):
                yield from _comparisons(arg)


def money_thresholds(rule: Rule) -> tuple[str, ...]:
    """The money values ``rule`` compares with a fixed number, as written ("cpc", "yesterday.spend")."""
    found: dict[str, None] = {}
    for comparison in _comparisons(rule.when.ir):
        left, right = (list(_loads(side)) for side in comparison.args)
        for reads, other in ((left, right), (right, left)):
            if not other:
                found.update((ref.text, None) for ref in reads if _is_money(ref))
    return tuple(found)


def currency_warnings(rules: Iterable[Rule], currencies: Mapping[str, str | None]) -> list[str]:
    """One line per enabled rule with a money threshold that applies to accounts (``currencies``: advertiser id
    -> its currency, None when unknown) in more than one currency."""
    lines = []
    for rule in rules:
        if not rule.enabled:
            continue
        money = money_thresholds(rule)
        if not money:
            continue
        seen = {
            currency
            for advertiser_id, currency in currencies.items()
            if currency is not None
            and rule.match.admits_advertiser(advertiser_id)
            and rule.match.admits_currency(currency)
        }
        if len(seen) > 1:
            where = f" ({rule.source})" if rule.source else ""
            codes = sorted(seen)
            choices = ", ".join(f'["{code}"]' for code in codes[:-1]) + f' or ["{codes[-1]}"]'
            lines.append(
                f"rule {rule.name!r}{where} compares {', '.join(money)} with a fixed amount but applies to accounts "
                f"in {len(seen)} currencies ({', '.join(codes)}): the same number is a different amount in each; "
                f"scope it to one currency ([rule.match] currencies = {choices}) and add a copy with a threshold "
                "of its own for each other one (or scope it with advertiser_ids)"
            )
    return lines


class CurrencyWatch:
    """The accounts' currencies as polls learn them (advertiser/info), and the warnings already given: each
    :meth:`observe` returns the warnings that are new, so ``run`` and ``once`` log each once. The warnings are
    worked out again only when an account's currency is new or the rules are another set (a reload)."""

    def __init__(self) -> None:
        self.currencies: dict[str, str | None] = {}
        self._told: set[str] = set()
        self._rules: object = None

    def observe(self, advertiser_id: str, currency: str | None, rules: Iterable[Rule]) -> list[str]:
        """Remember the advertiser's currency; the warnings of :func:`currency_warnings` not returned before."""
        if currency is None or (self.currencies.get(advertiser_id) == currency and rules is self._rules):
            return []
        self.currencies[advertiser_id], self._rules = currency, rules
        new = [line for line in currency_warnings(rules, self.currencies) if line not in self._told]
        self._told.update(new)
        return new
