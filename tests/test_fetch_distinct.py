"""A level's async reports joined as their distinct rows (monitor.fetch_distinct, through LevelReports) make the
very windows the column reading makes of them: the same entities in the same order, each with its windows in
the same order, values of the same types (a shared window only where equal values are the same values)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from monitor.domain import Level
from monitor.domain.values import ReadOnlyDict
from monitor.fetch_windows import LevelReports
from monitor.tiktok.models import Report
from monitor.tiktok.reports import CsvBody, parse_csv_table

CELLS = st.sampled_from(["0", "0.0", "-0.0", "0.00", "-", "1", "2", "1.5", "-1.5", "2.50", "100"])
WANTED = ("spend", "clicks", "cpc")


@st.composite
def level_reports(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Some windows' reports of one level: the ids of the first again (often), some of them, or others; rows
    repeating a few texts of values (so they are read as distinct rows), with or without the wanted metrics'
    denominators."""
    first = draw(st.lists(st.sampled_from([str(i) for i in range(1, 30)] + [""]), min_size=5, max_size=40))
    reports = []
    for window in draw(st.lists(st.sampled_from(["today", "yesterday", "last_7d", "lifetime"]), min_size=1,
                                max_size=4, unique=True)):  # fmt: skip
        how = draw(st.sampled_from(["same", "same", "fewer", "other"]))
        ids = (
            first
            if how == "same"
            else first[: len(first) // 2 + 3]
            if how == "fewer"
            else draw(st.lists(st.sampled_from([str(i) for i in range(1, 40)]), min_size=5, max_size=40))
        )
        names = draw(st.lists(st.sampled_from(["spend", "clicks", "cpc", "conversion"]), min_size=1, max_size=4))
        pool = draw(st.lists(st.lists(CELLS, min_size=len(names), max_size=len(names)), min_size=1, max_size=3))
        lines = [",".join(["ad_id", *names])] + [",".join([i, *draw(st.sampled_from(pool))]) for i in ids]
        reports.append((window, "\n".join(lines) + "\n"))
    return reports


def shown(windows: dict[str, Any]) -> list[Any]:
    """Entities in order, each's windows in order, each value with its type."""
    assert all(type(w) is ReadOnlyDict for ws in windows.values() for w in ws.values())
    return [(i, [(w, [(k, type(v).__name__, repr(v)) for k, v in m.items()]) for w, m in ws.items()])
            for i, ws in windows.items()]  # fmt: skip


async def joined(reports: list[tuple[str, str]], as_text: bool) -> list[Any]:
    level = LevelReports(Level.AD)
    for window, text in reports:
        body = CsvBody(text, ("ad_id",))
        report = Report(unread=body) if as_text else Report(table=parse_csv_table(text, ("ad_id",)))
        if as_text and await report.distinct_off_loop() is not None:
            event("read as distinct rows")
        assert await level.join(report, window, WANTED) is True
    return shown(level.windows)


@settings(max_examples=300, deadline=None)
@given(level_reports())
def test_reports_joined_as_their_distinct_rows_make_the_windows_their_columns_make(
    reports: list[tuple[str, str]],
) -> None:
    assert asyncio.run(joined(reports, as_text=True)) == asyncio.run(joined(reports, as_text=False))
