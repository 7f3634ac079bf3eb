"""``enable_total_metrics=true`` on report/integrated/get/: ``data.total_metrics``, the requested metrics over
every row of the report (all pages), in the same string format as a row's ``metrics``.

Counts and money are sums; ratios are recomputed from the sums (not averaged). Attribute metrics have no total
and answer "-". Reach treats the rows' time buckets as one window.
"""

from __future__ import annotations

from monitor.sandbox.metrics import ATTRIBUTE_SET, NONE, Totals, format_metrics
from monitor.sandbox.report import ReportResult


def total_metrics(result: ReportResult) -> dict[str, str]:
    seconds = {r.bucket: r.totals.seconds for r in result.rows}
    total = Totals(sum(seconds.values()))
    for row in result.rows:
        t = row.totals
        total.spend += t.spend
        total.impressions += t.impressions
        total.clicks += t.clicks
        total.conversion += t.conversion
        total.value += t.value
    names = list(result.query.metrics)
    out = format_metrics(names, total, {})
    return {name: NONE if name in ATTRIBUTE_SET else out[name] for name in names}
