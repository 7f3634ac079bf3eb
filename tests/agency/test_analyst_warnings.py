"""Which rules the analyst-access warning names: those whose actions analyst access turns into dry runs."""

from __future__ import annotations

from pathlib import Path

from monitor.accounts import analyst_warnings
from monitor.rules import load_rules

ANALYST = "7000000000000000004"

RULES = """
[[rule]]
name = "stop-spending"
level = "ad"
when = "spend > 100"
action = "pause"

[[rule]]
name = "rehearsed"
level = "ad"
when = "spend > 100"
action = "pause"
dry_run = true

[[rule]]
name = "elsewhere"
level = "ad"
when = "spend > 100"
action = "pause"
[rule.match]
advertiser_ids = ["7000000000000000002"]

[[rule]]
name = "told-only"
level = "ad"
when = "spend > 100"
"""


def test_only_rules_that_would_write_there_are_named(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(RULES)
    ruleset = load_rules(tmp_path, channels={"console"})
    assert analyst_warnings(ruleset, [ANALYST]) == [
        f"rule 'stop-spending' (pause) will only dry-run on {ANALYST}: the token has analyst access there"
    ]
    assert analyst_warnings(ruleset, []) == []
