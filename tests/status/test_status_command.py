"""The status command in process: the silences seam (an injected source's ``to_json()`` dicts land in the JSON),
and a broken rule file leaves the severities unknown and says so instead of failing."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schema_check import load_schema, problems

from monitor.clock import FrozenClock
from monitor.config import load_settings
from monitor.status.command import run_status

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


class Silence:
    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def to_json(self) -> dict[str, Any]:
        return self.fields


class Silences:
    def __init__(self, *silences: Silence) -> None:
        self.silences = silences
        self.asked: list[datetime] = []

    async def list(self, now: datetime) -> list[Silence]:
        self.asked.append(now)
        return list(self.silences)


def config(tmp_path: Path, rule: str) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.toml").write_text(rule)
    path = tmp_path / "config.toml"
    path.write_text(
        '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["7000000000000000001"]\n'
        f'[monitor]\nrules = "rules"\n[storage]\nurl = "sqlite:///{tmp_path / "monitor.db"}"\n'
    )
    return path


async def test_silences_come_from_the_injected_source(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, '[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "spend > 1"\n'))
    quiet = Silence(id=7, matchers={"rule": "r"}, starts_at="2026-11-24T19:00:00Z", ends_at="2026-11-24T22:00:00Z",
                    created_by="alice", comment=None)  # fmt: skip
    source, out = Silences(quiet), io.StringIO()
    assert await run_status(settings, as_json=True, clock=FrozenClock(NOW), out=out, silences=source) == 0
    data = json.loads(out.getvalue())
    assert problems(data, load_schema()) == []
    assert data["silences"] == [quiet.fields] and source.asked == [NOW]
    assert [a["id"] for a in data["advertisers"]] == ["7000000000000000001"]  # configured, not polled yet
    assert data["advertisers"][0]["last_poll"] is None and data["notes"] == []
    assert data["replicas"] == [] and data["advertisers"][0]["polled_by"] is None  # no run


async def test_a_broken_rule_file_leaves_severities_unknown_and_says_so(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, '[[rule]]\nname = "r"\nlevel = "campaign"\nwhen = "spend >"\n'))
    out = io.StringIO()
    assert await run_status(settings, clock=FrozenClock(NOW), out=out) == 0
    text = out.getvalue()
    assert "silences (0)" in text
    assert text.endswith("note: the rule files have 1 problem(s) (tiktok-monitor check): severities unknown\n")
