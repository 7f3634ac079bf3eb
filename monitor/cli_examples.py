"""The examples ``tiktok-monitor`` shows under each command's help (``EXAMPLES``: top-level commands and the
silence and approvals subcommands; ``SUB_EXAMPLES``: the auth and actions subcommands)."""

from __future__ import annotations

__all__ = ["EXAMPLES", "SUB_EXAMPLES"]

EXAMPLES = {
    "run": "tiktok-monitor run --config /etc/tiktok-monitor/config.toml",
    "once": "tiktok-monitor once --config config.toml --dry-run   (a preview: writes nothing; without it: acts)",
    "explain": "tiktok-monitor explain overspend-no-conversions --config config.toml --advertiser 7000000000000000001",
    "demo": "tiktok-monitor demo --cycles 6",
    "auth": "TIKTOK_APP_ID=7000... TIKTOK_APP_SECRET=... tiktok-monitor auth login",
    "check": "tiktok-monitor check --config /etc/tiktok-monitor/config.toml",
    "sandbox": "tiktok-monitor sandbox --port 8808 --token my-test-token",
    "test-rules": "tiktok-monitor test-rules rules/tests/",
    "history": "tiktok-monitor history --config config.toml --rule overspend-no-conversions --since 2026-11-24T00:00Z",
    "revert": "tiktok-monitor revert --config config.toml 42 --dry-run",
    "actions": "tiktok-monitor actions resume --config config.toml --by alice",
    "completion": "tiktok-monitor completion bash > ~/.local/share/bash-completion/completions/tiktok-monitor",
    "backtest": "tiktok-monitor backtest --config config.toml --rules rules/ --since 7d --advertiser 7000... --json",
    "approvals": "tiktok-monitor approvals list --config config.toml",
    "approvals list": "tiktok-monitor approvals list --config config.toml --all",
    "approvals approve": "tiktok-monitor approvals approve --config config.toml 4821-1 --by alice",
    "approvals reject": "tiktok-monitor approvals reject --config config.toml 4821-1 --by alice",
    "silence": "tiktok-monitor silence add --config config.toml rule=overspend name~'Summer *' --for 2h",
    "silence add": "tiktok-monitor silence add --config config.toml rule=overspend name~'Summer *' --for 2h "
    "--comment 'relaunch, spend expected'",
    "silence list": "tiktok-monitor silence list --config config.toml --all",
    "silence expire": "tiktok-monitor silence expire --config config.toml 3",
    "status": "tiktok-monitor status --config config.toml --json | jq '.alerts[] | select(.state == \"firing\")'",
}


SUB_EXAMPLES = {
    "auth url": "tiktok-monitor auth url --app-id 7000...",
    "auth login": "TIKTOK_APP_ID=7000... TIKTOK_APP_SECRET=... tiktok-monitor auth login --port 8765",
    "auth exchange": "tiktok-monitor auth exchange 1a2b3c... --app-id 7000... --secret ...",
    "auth advertisers": "tiktok-monitor auth advertisers --config config.toml",
    "actions resume": "tiktok-monitor actions resume --config config.toml --by alice",
    "actions status": "tiktok-monitor actions status --config config.toml",
}
