from __future__ import annotations

import re
import textwrap
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from monitor.config import (
    AccountSettings,
    ActionsSettings,
    ConsoleSettings,
    EmailSettings,
    HealthSettings,
    MonitorSettings,
    NotifySettings,
    PageSettings,
    Settings,
    SlackSettings,
    StorageSettings,
    TikTokSettings,
    WebhookSettings,
    load_settings,
)
from monitor.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
TIKTOK = '[tiktok]\naccess_token = "tok-123"\nadvertiser_ids = ["7000000000000000001"]\n'
DURATION = 'expected a number with a unit s, m, h or d, like "90s", "5m", "4h"'
BOOLEAN = '{}: expected a boolean, got the string "{}" (write true or false, without quotes)'


def write(directory: Path, text: str, name: str = "config.toml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={} if env is None else env)
    lines = [str(problem) for problem in caught.value.problems]
    assert str(caught.value) == "\n".join(lines)
    return lines


# --- happy paths -----------------------------------------------------------------------------------------


def test_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, TIKTOK)
    settings = load_settings(path, env={})

    assert settings.source == path
    assert settings.tiktok == TikTokSettings(access_token=SecretStr("tok-123"), advertiser_ids=["7000000000000000001"])
    assert settings.tiktok.base_url == "https://business-api.tiktok.com"
    assert settings.tiktok.app_id is None
    assert settings.tiktok.secret is None
    assert settings.tiktok.max_qps == 10
    assert settings.tiktok.timeout == timedelta(seconds=30)
    assert settings.tiktok.max_retries == 5
    assert settings.monitor.interval == timedelta(minutes=5)
    assert settings.monitor.rules == tmp_path / "rules"
    assert settings.monitor.templates is None
    assert settings.storage.url == f"sqlite:///{tmp_path}/monitor.db"
    assert settings.storage.retention == timedelta(days=90)
    assert (settings.storage.raw, settings.storage.daily) == (timedelta(hours=48), timedelta(days=365))
    assert settings.slack is None
    assert settings.email is None
    assert settings.actions == ActionsSettings(enabled=True, max_writes=10)
    assert settings.actions.window is None and settings.actions.breaker_reset == timedelta(hours=1)
    assert settings.warnings == []


def test_every_value_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [tiktok]
        base_url = "http://127.0.0.1:8080/"
        access_token = "tok"
        advertiser_ids = []
        app_id = "123"
        secret = "app-secret"
        max_qps = 1000
        timeout = "1m30s"
        max_retries = 0
        [monitor]
        interval = "10s"
        rules = "/etc/monitor/rules/*.toml"
        templates = "tpl"
        [storage]
        url = "postgresql+asyncpg://monitor@db/monitor"
        retention = "4h"
        [slack]
        token = "xoxb-1"
        channel = "#ads"
        base_url = "http://127.0.0.1:9000/api"
        [email]
        host = "smtp.example.com"
        port = 587
        from = "Monitor <monitor@example.com>"
        to = ["ops@example.com", "root@localhost"]
        starttls = true
        username = "monitor"
        password = "hunter2"
        timeout = "10s"
        [actions]
        enabled = false
        max_writes = 1
        window = "2m"
        breaker_reset = "30m"
        """,
    )
    settings = load_settings(path, env={})

    assert settings.tiktok.base_url == "http://127.0.0.1:8080"
    assert settings.tiktok.advertiser_ids == []
    assert settings.tiktok.app_id == "123"
    assert settings.tiktok.timeout == timedelta(seconds=90)
    assert settings.monitor.rules == Path("/etc/monitor/rules/*.toml")
    assert settings.monitor.templates == tmp_path / "tpl"
    assert settings.storage.url == "postgresql+asyncpg://monitor@db/monitor"
    assert settings.slack == SlackSettings(
        token=SecretStr("xoxb-1"), channel="#ads", base_url="http://127.0.0.1:9000/api/"
    )
    assert settings.email == EmailSettings(
        host="smtp.example.com",
        port=587,
        from_addr="Monitor <monitor@example.com>",
        to=["ops@example.com", "root@localhost"],
        starttls=True,
        username="monitor",
        password=SecretStr("hunter2"),
        timeout=timedelta(seconds=10),
    )
    assert settings.actions == ActionsSettings(
        enabled=False, max_writes=1, window=timedelta(minutes=2), breaker_reset=timedelta(minutes=30)
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///monitor.db", "sqlite:///{dir}/monitor.db"),
        ("sqlite+aiosqlite:///data/m.db?timeout=5", "sqlite+aiosqlite:///{dir}/data/m.db?timeout=5"),
        ("sqlite:////var/lib/monitor.db", "sqlite:////var/lib/monitor.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_sqlite_path_is_relative_to_the_config_file(tmp_path: Path, url: str, expected: str) -> None:
    path = write(tmp_path, f'{TIKTOK}[storage]\nurl = "{url}"\n')
    assert load_settings(path, env={}).storage.url == expected.format(dir=tmp_path)


def test_rules_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = write(tmp_path / "etc", f'{TIKTOK}[monitor]\nrules = "../rules/*.toml"\n')
    assert load_settings(path, env={}).monitor.rules == tmp_path / "etc" / "../rules/*.toml"


def test_environment_variables_are_interpolated(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [tiktok]
        access_token = "${TOKEN}"
        advertiser_ids = ["${FIRST}", "2"]
        base_url = "http://${HOST}:${PORT}"
        [email]
        host = "localhost"
        from = "monitor@example.com"
        to = ["${USER}@example.com"]
        password = "$${NOT_A_VAR}"
        username = "costs $$ ${USER}"
        """,
    )
    env = {"TOKEN": " tok-from-env\n", "FIRST": "1", "HOST": "127.0.0.1", "PORT": "8080", "USER": "ops"}
    settings = load_settings(path, env=env)

    assert settings.tiktok.access_token.get_secret_value() == "tok-from-env"
    assert settings.tiktok.advertiser_ids == ["1", "2"]
    assert settings.tiktok.base_url == "http://127.0.0.1:8080"
    assert settings.email is not None
    assert settings.email.to == ["ops@example.com"]
    assert settings.email.password == SecretStr("${NOT_A_VAR}")
    assert settings.email.username == "costs $$ ops"


def test_numbers_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}max_qps = "${{QPS}}"\n')
    assert load_settings(path, env={"QPS": "20"}).tiktok.max_qps == 20


def test_secret_files_are_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("  tok-from-file\n", encoding="utf-8")
    (tmp_path / "app-secret").write_text("s3cret\n", encoding="utf-8")
    (tmp_path / "hook").write_text("https://hooks.slack.com/services/T/B/X\n", encoding="utf-8")
    path = write(
        tmp_path,
        """
        [tiktok]
        access_token_file = "secrets/token"
        app_id = "42"
        secret_file = "${CREDS}/app-secret"
        [slack]
        webhook_url_file = "hook"
        """,
    )
    settings = load_settings(path, env={"CREDS": str(tmp_path)})

    assert settings.tiktok.access_token.get_secret_value() == "tok-from-file"
    assert settings.tiktok.secret == SecretStr("s3cret")
    assert settings.slack is not None
    assert settings.slack.webhook_url == SecretStr("https://hooks.slack.com/services/T/B/X")


def test_secrets_are_masked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [tiktok]
        access_token = "tok-AAA"
        app_id = "1"
        secret = "app-BBB"
        [storage]
        url = "postgresql+asyncpg://monitor:db-CCC@db/monitor"
        [slack]
        token = "xoxb-DDD"
        channel = "#ads"
        [email]
        host = "localhost"
        from = "m@example.com"
        to = ["o@example.com"]
        username = "u"
        password = "smtp-EEE"
        """,
    )
    settings = load_settings(path, env={})

    assert sorted(settings.secrets()) == ["app-BBB", "db-CCC", "smtp-EEE", "tok-AAA", "xoxb-DDD"]
    for text in (repr(settings), str(settings), repr(settings.tiktok), str(settings.storage)):
        for secret in settings.secrets():
            assert secret not in text
    assert "postgresql+asyncpg://monitor:***@db/monitor" in repr(settings)
    assert settings.storage.url == "postgresql+asyncpg://monitor:db-CCC@db/monitor"


def test_secrets_lists_only_what_is_set(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TIKTOK), env={})
    assert settings.secrets() == ["tok-123"]


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TIKTOK), env={})
    with pytest.raises(ValueError, match="frozen"):
        settings.tiktok.max_qps = 1  # type: ignore[misc]


def test_settings_built_in_code() -> None:
    settings = Settings(tiktok=TikTokSettings(access_token=SecretStr("t"), advertiser_ids=["1"]))
    assert settings.source is None
    assert settings.monitor == MonitorSettings()
    assert settings.monitor.rules == Path("rules")
    assert settings.storage == StorageSettings()


# --- one clear line per problem --------------------------------------------------------------------------


def test_unknown_key_top_level(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}\n[slak]\ntoken = "x"\n')
    assert problems(path) == [f"{path}:5: slak: unknown key; did you mean 'slack'?"]


def test_unknown_key_without_a_close_match_lists_the_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path, f"{TIKTOK}[actions]\nfrobnicate = 1\n")
    assert problems(path) == [
        f"{path}:5: actions.frobnicate: unknown key; expected one of: enabled, max_writes, window, breaker_reset, "
        "max_change_per_day, override_hold, min_budget"
    ]


def test_actions_change_limit_and_override_hold(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}[actions]\nmax_change_per_day = "+50%"\noverride_hold = "2h"\n')
    actions = load_settings(path).actions
    assert (actions.max_change_per_day, actions.change_percent, actions.override_hold) == (
        "+50%",
        50.0,
        timedelta(hours=2),
    )
    path = write(tmp_path, f"{TIKTOK}[actions]\nmax_change_per_day = 500\n")
    actions = load_settings(path).actions
    assert (actions.max_change_per_day, actions.change_percent) == (500.0, None)
    assert ActionsSettings().override_hold == timedelta(hours=24) and ActionsSettings().change_percent == 100.0
    path = write(tmp_path, f'{TIKTOK}[actions]\nmax_change_per_day = "double"\noverride_hold = "soon"\n')
    found = problems(path)
    assert found[0].startswith(f'{path}:5: actions.max_change_per_day: expected a percentage like "+100%"')
    assert found[1].startswith(f"{path}:6: actions.override_hold: 'soon' is not a duration")
    path = write(tmp_path, f"{TIKTOK}[actions]\nmax_change_per_day = 0\n")
    assert problems(path) == [f"{path}:5: actions.max_change_per_day: expected a positive amount, got 0"]


def test_actions_min_budget_per_currency(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""{TIKTOK}[actions]
        min_budget = {{ BRL = 50, MXN = {{ campaign = 250, adgroup = 100.5 }} }}
        """,
    )
    actions = load_settings(path).actions
    assert actions.min_budget == {"BRL": (50.0, 50.0), "MXN": (250.0, 100.5)}
    from monitor.actions import GuardSettings

    assert GuardSettings.from_config(actions).min_budget == actions.min_budget  # what the guards check
    assert ActionsSettings().min_budget == {}


def test_actions_min_budget_problems_name_the_line_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""{TIKTOK}[actions]
        enabled = true

        [actions.min_budget]
        brl = 50
        COP = -1
        ARS = {{ campaign = 5 }}
        CLP = {{ campaign = 1, adgroup = true, ad = 3 }}
        """,
    )
    assert problems(path) == [
        f"{path}:8: actions.min_budget.brl: expected a currency code of three capital letters, like BRL",
        f"{path}:9: actions.min_budget.COP: expected a positive amount or {{ campaign = ..., adgroup = ... }}, got -1",
        f"{path}:10: actions.min_budget.ARS.adgroup: required: set both campaign and adgroup (or one amount)",
        f"{path}:11: actions.min_budget.CLP.ad: unknown key: expected campaign and adgroup",
        f"{path}:11: actions.min_budget.CLP.adgroup: expected a positive amount, got true",
    ]


def test_max_per_cycle_is_a_deprecated_alias_of_max_writes_with_a_located_warning(tmp_path: Path) -> None:
    path = write(tmp_path, f"{TIKTOK}[actions]\nenabled = true\nmax_per_cycle = 3\n")
    settings = load_settings(path)
    assert settings.actions.max_writes == 3
    [warning] = [str(w) for w in settings.warnings]
    assert warning.startswith(f"{path}:6: actions.max_per_cycle: deprecated name of max_writes (read as max_writes)")
    assert "fleet-wide circuit breaker" in warning
    both = write(tmp_path, f"{TIKTOK}[actions]\nmax_writes = 4\nmax_per_cycle = 3\n")
    assert problems(both) == [
        f"{both}:6: actions.max_per_cycle: the deprecated name of max_writes: set max_writes only"
    ]


def test_the_breaker_window_defaults_to_the_interval(tmp_path: Path) -> None:
    from monitor.actions import GuardSettings

    path = write(tmp_path, f'{TIKTOK}[monitor]\ninterval = "2m"\n[actions]\nmax_writes = 7\n')
    settings = load_settings(path)
    guards = GuardSettings.from_config(settings.actions, settings.monitor.interval)
    assert (guards.max_writes, guards.window, guards.breaker_reset) == (7, timedelta(minutes=2), timedelta(hours=1))
    path = write(tmp_path, f'{TIKTOK}[actions]\nwindow = "0"\nbreaker_reset = "30s"\n')
    assert problems(path) == [
        f"{path}:5: actions.window: must be at least 1s, got '0s'",
        f"{path}:6: actions.breaker_reset: must be at least 1m, got '30s'",
    ]


def test_unknown_key_nested_is_one_line_even_when_it_hides_a_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\nadvertiser_ids = ["1"]\nacces_token = "x"\n')
    assert problems(path) == [f"{path}:3: tiktok.acces_token: unknown key; did you mean 'access_token'?"]


@pytest.mark.parametrize(
    ("table", "key", "meant"),
    [("tiktok", "token", "access_token"), ("storage", "database", "url"), ("monitor", "rules_dir", "rules")],
)
def test_an_unknown_key_that_is_a_common_name_for_one_of_ours_suggests_ours(
    tmp_path: Path, table: str, key: str, meant: str
) -> None:
    header = "" if table == "tiktok" else f"[{table}]\n"
    path = write(tmp_path, f'{TIKTOK}{header}{key} = "x"\n')
    line = 4 if table == "tiktok" else 5
    assert problems(path) == [f"{path}:{line}: {table}.{key}: unknown key; did you mean {meant!r}?"]


def test_misspelt_file_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\nadvertiser_ids = ["1"]\naccess_token_fil = "x"\n')
    assert problems(path) == [f"{path}:3: tiktok.access_token_fil: unknown key; did you mean 'access_token_file'?"]


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path, '# my config\n[tiktok]\nadvertiser_ids = ["1"]\n')
    assert problems(path) == [f"{path}:2: tiktok.access_token: required: set access_token or access_token_file"]


def test_missing_tiktok_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[monitor]\ninterval = "1m"\n')
    assert problems(path) == [f"{path}: tiktok.access_token: required: set access_token or access_token_file"]


def test_discovery_needs_app_id_and_secret(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\naccess_token = "t"\napp_id = "1"\n')
    assert problems(path) == [
        f"{path}:1: tiktok.secret: required when advertiser_ids is empty "
        "(discover every advertiser the token reaches): set secret or secret_file"
    ]


def test_bad_duration(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}[monitor]\ninterval = "5x"\n')
    assert problems(path) == [f"{path}:5: monitor.interval: '5x' is not a duration: {DURATION}"]


def test_bare_number_is_not_a_duration(tmp_path: Path) -> None:
    path = write(tmp_path, f"{TIKTOK}[monitor]\ninterval = 300\n")
    assert problems(path) == [
        f'{path}:5: monitor.interval: 300 is not a duration: add a unit s, m, h or d, like "300s"'
    ]


def test_duration_below_minimum(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}[monitor]\ninterval = "0s"\n')
    assert problems(path) == [f"{path}:5: monitor.interval: must be at least 1s, got '0s'"]


def test_poll_timeout_defaults_to_most_of_the_interval_but_at_least_10s(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, TIKTOK), env={}).monitor.poll_deadline == timedelta(minutes=4)
    path = write(tmp_path, f'{TIKTOK}[monitor]\ninterval = "1m"\n')
    settings = load_settings(path, env={})
    assert settings.monitor.poll_timeout is None and settings.monitor.poll_deadline == timedelta(seconds=48)
    path = write(tmp_path, f'{TIKTOK}[monitor]\ninterval = "2s"\n')
    assert load_settings(path, env={}).monitor.poll_deadline == timedelta(seconds=10)
    path = write(tmp_path, f'{TIKTOK}[monitor]\ninterval = "1m"\npoll_timeout = "30s"\n')
    assert load_settings(path, env={}).monitor.poll_deadline == timedelta(seconds=30)


def test_poll_timeout_is_a_duration_of_at_least_1s(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}[monitor]\npoll_timeout = "0s"\n')
    assert problems(path) == [f"{path}:5: monitor.poll_timeout: must be at least 1s, got '0s'"]
    path = write(tmp_path, f"{TIKTOK}[monitor]\npoll_timeout = 30\n")
    assert problems(path) == [
        f'{path}:5: monitor.poll_timeout: 30 is not a duration: add a unit s, m, h or d, like "30s"'
    ]


def test_unset_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\naccess_token = "${TIKTOK_ACCESS_TOKEN}"\nadvertiser_ids = ["1"]\n')
    assert problems(path, env={"OTHER": "x"}) == [
        f"{path}:2: tiktok.access_token: environment variable TIKTOK_ACCESS_TOKEN is not set"
    ]


def test_unset_environment_variables_everywhere_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\naccess_token = "${A}"\nbase_url = "${B}/x/${C}"\nadvertiser_ids = ["${D}"]\n')
    assert problems(path, env={"C": "c"}) == [
        f"{path}:2: tiktok.access_token: environment variable A is not set",
        f"{path}:3: tiktok.base_url: environment variable B is not set",
        f"{path}:4: tiktok.advertiser_ids[0]: environment variable D is not set",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${}", "'${}' is not a variable reference: expected ${NAME} (letters, digits, _)"),
        ("${A-B}", "'${A-B}' is not a variable reference: expected ${NAME} (letters, digits, _)"),
        ("${OPEN", "'${' without a closing '}' (write $${ for a literal ${)"),
    ],
)
def test_malformed_reference(tmp_path: Path, value: str, message: str) -> None:
    path = write(tmp_path, f'{TIKTOK}base_url = "{value}"\n')
    assert problems(path) == [f"{path}:4: tiktok.base_url: {message}"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('max_qps = "ten"', 'tiktok.max_qps: expected an integer, got the string "ten"'),
        ('max_qps = "10"', 'tiktok.max_qps: expected an integer, got the string "10" (write numbers without quotes)'),
        ('shared_budget = "yes"', BOOLEAN.format("tiktok.shared_budget", "yes")),
        ("max_qps = " + "1" * 300, f"tiktok.max_qps: must be at most 1000, got {'1' * 57}..."),
        ('timeout = "2h"', "tiktok.timeout: must be at most 1h (a request that takes longer has failed), got '2h'"),
        ("max_qps = 2.5", "tiktok.max_qps: expected an integer, got 2.5"),
        ("max_qps = true", "tiktok.max_qps: expected an integer, got true"),
        ("max_qps = 0", "tiktok.max_qps: must be at least 1, got 0"),
        ("max_retries = 21", "tiktok.max_retries: must be at most 20, got 21"),
        ("base_url = 5", "tiktok.base_url: expected a string, got 5"),
        (
            'base_url = "business-api.tiktok.com"',
            "tiktok.base_url: expected an http(s) URL, like 'https://example.com', got 'business-api.tiktok.com'",
        ),
        ('advertiser_ids = "1"', "tiktok.advertiser_ids: expected an array, got '1'"),
        ('advertiser_ids = ["1", "1"]', "tiktok.advertiser_ids[1]: '1' is listed twice"),
        ("app_id = 42", 'tiktok.app_id: ids are strings; quote it: "42"'),
        ("timeout = true", f"tiktok.timeout: true is not a duration: {DURATION}"),
    ],
)
def test_wrong_values_in_tiktok(tmp_path: Path, line: str, message: str) -> None:
    ids = "" if line.startswith("advertiser_ids") else 'advertiser_ids = ["1"]\n'
    path = write(tmp_path, f'[tiktok]\n{line}\naccess_token = "t"\n{ids}')
    assert problems(path) == [f"{path}:2: {message}"]


def test_wrong_types_elsewhere(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'slack = "yes"\n{TIKTOK}[actions]\nenabled = "maybe"\nmax_writes = 0\n[monitor]\nrules = 5\n',
    )
    assert problems(path) == [
        f"{path}:1: slack: expected a table, got 'yes'",
        f"{path}:6: {BOOLEAN.format('actions.enabled', 'maybe')}",
        f"{path}:7: actions.max_writes: must be at least 1, got 0",
        f"{path}:9: monitor.rules: expected a path, got 5",
    ]


@pytest.mark.parametrize(
    ("table", "line", "message"),
    [
        ("actions", 'enabled = "yes"', BOOLEAN.format("actions.enabled", "yes")),
        ("actions", 'enabled = "true"', BOOLEAN.format("actions.enabled", "true")),
        ("actions", "enabled = 1", "actions.enabled: expected a boolean, got 1 (write true or false, without quotes)"),
        ("health", 'enabled = "no"', BOOLEAN.format("health.enabled", "no")),
        ("actions", "max_writes = 1" + "0" * 299, f"actions.max_writes: must be at most 10000, got 1{'0' * 56}..."),
        ("notify", "max_attempts = 100000", "notify.max_attempts: must be at most 10000, got 100000"),
        ("notify", "unreachable_after = 100000", "notify.unreachable_after: must be at most 10000, got 100000"),
        ("monitor", 'interval = "1000d"', "monitor.interval: must be at most 1d (poll at least daily), got '1000d'"),
        (
            "monitor",
            'poll_timeout = "2d"',
            "monitor.poll_timeout: must be at most 1d (a poll is minutes long), got '2d'",
        ),
        (
            "storage",
            'retention = "400d"',
            "storage.retention: must be at most 366d (longer than a year cannot be meant), got '400d'",
        ),
        (
            "actions",
            'override_hold = "1000d"',
            "actions.override_hold: must be at most 366d (longer than a year cannot be meant), got '1000d'",
        ),
        (
            "actions",
            'window = "2d"',
            "actions.window: must be at most 1d (it counts recent writes), got '2d'",
        ),
        (
            "notify",
            'retry_max = "7d"',
            "notify.retry_max: must be at most 1d (a message is retried at least daily), got '7d'",
        ),
        (
            "actions",
            'max_change_per_day = "+100000000%"',
            "actions.max_change_per_day: must be at most +1000%, got '+100000000%'",
        ),
        (
            "actions",
            "max_change_per_day = 1e400",
            "actions.max_change_per_day: must be less than 1e12 (an amount of money), got inf",
        ),
        (
            "actions",
            "max_change_per_day = inf",
            "actions.max_change_per_day: must be less than 1e12 (an amount of money), got inf",
        ),
        (
            "actions",
            "max_change_per_day = 1" + "0" * 399,
            f"actions.max_change_per_day: must be less than 1e12 (an amount of money), got 1{'0' * 56}...",
        ),
    ],
)
def test_loose_types_and_values_that_cannot_be_meant_are_refused(
    tmp_path: Path, table: str, line: str, message: str
) -> None:
    path = write(tmp_path, f"{TIKTOK}[{table}]\n{line}\n")
    assert problems(path) == [f"{path}:5: {message}"]


def test_numbers_and_booleans_from_the_environment_are_parsed(tmp_path: Path) -> None:
    path = write(
        tmp_path, f'{TIKTOK}shared_budget = "${{SHARED}}"\n[actions]\nenabled = "${{ACT}}"\nmax_writes = "${{N}}"\n'
    )
    settings = load_settings(path, env={"SHARED": "false", "ACT": "true", "N": "7"})
    assert (settings.tiktok.shared_budget, settings.actions.enabled, settings.actions.max_writes) == (False, True, 7)


def test_the_upper_bounds_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'{TIKTOK}[monitor]\ninterval = "1d"\npoll_timeout = "1d"\n[storage]\nretention = "366d"\n'
        '[actions]\nmax_change_per_day = "+1000%"\nmax_writes = 10000\n',
    )
    settings = load_settings(path, env={})
    assert (settings.monitor.interval, settings.storage.retention) == (timedelta(days=1), timedelta(days=366))
    assert (settings.actions.change_percent, settings.actions.max_writes) == (1000.0, 10000)


def test_advertiser_id_as_integer(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1", 7000000000000000001]\n')
    assert problems(path) == [f'{path}:3: tiktok.advertiser_ids[1]: ids are strings; quote it: "7000000000000000001"']


def test_advertiser_id_element_line_in_a_multiline_array(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\naccess_token = "t"\nadvertiser_ids = [\n  "1",\n  "x2",\n]\n')
    assert problems(path) == [f"{path}:5: tiktok.advertiser_ids[1]: expected a string of digits, got 'x2'"]


def test_unreadable_secret_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\nadvertiser_ids = ["1"]\naccess_token_file = "missing/token"\n')
    assert problems(path) == [
        f"{path}:3: tiktok.access_token_file: cannot read {tmp_path}/missing/token: No such file or directory"
    ]


def test_secret_file_is_a_directory(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}secret_file = "."\napp_id = "1"\n')
    assert problems(path) == [f"{path}:4: tiktok.secret_file: cannot read {tmp_path}: Is a directory"]


def test_empty_secret_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n", encoding="utf-8")
    path = write(tmp_path, '[tiktok]\nadvertiser_ids = ["1"]\naccess_token_file = "token"\n')
    assert problems(path) == [f"{path}:3: tiktok.access_token_file: {tmp_path}/token is empty"]


def test_secret_file_path_with_unset_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\nadvertiser_ids = ["1"]\naccess_token_file = "${CREDS}/token"\n')
    assert problems(path) == [f"{path}:3: tiktok.access_token_file: environment variable CREDS is not set"]


def test_both_secret_and_secret_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("tok", encoding="utf-8")
    path = write(tmp_path, f'{TIKTOK}access_token_file = "token"\n')
    assert problems(path) == [
        f"{path}:4: tiktok.access_token_file: set either access_token or access_token_file, not both"
    ]


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[tiktok]\naccess_token = \n")
    assert problems(path) == [f"{path}:2: invalid TOML: invalid value (column 16)"]


def test_invalid_toml_duplicate_key(tmp_path: Path) -> None:
    path = write(tmp_path, f'{TIKTOK}access_token = "again"\n')
    [line] = problems(path)
    assert line.startswith(f"{path}:4: invalid TOML: ")
    assert "\n" not in line


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert problems(path) == [f"{path}: cannot read the config file: No such file or directory"]


def test_config_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[tiktok]\naccess_token = "\xff"\n')
    assert problems(path) == [f"{path}:2: cannot read the config file: not UTF-8 text (column 17: byte 0xff)"]


def test_several_problems_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [tiktok]
        access_token = "${TOKEN}"
        advertiser_ids = [1]
        max_qps = "ten"

        [monitor]
        interval = "5x"

        [storage]
        retention = "1m"
        colour = "blue"
        """,
    )
    assert problems(path) == [
        f"{path}:3: tiktok.access_token: environment variable TOKEN is not set",
        f'{path}:4: tiktok.advertiser_ids[0]: ids are strings; quote it: "1"',
        f'{path}:5: tiktok.max_qps: expected an integer, got the string "ten"',
        f"{path}:8: monitor.interval: '5x' is not a duration: {DURATION}",
        f"{path}:11: storage.retention: must be at least 1h, got '1m'",
        f"{path}:12: storage.colour: unknown key; expected one of: url, raw, retention, daily, min_free, max_size",
    ]


def test_history_tiers_follow_retention_and_out_of_order_ones_are_named_with_their_line(tmp_path: Path) -> None:
    head = '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[storage]\n'
    settings = load_settings(write(tmp_path, head + 'retention = "12h"\n'))
    assert (settings.storage.raw, settings.storage.retention) == (timedelta(hours=12), timedelta(hours=12))
    settings = load_settings(write(tmp_path, head + 'raw = "6h"\nretention = "30d"\ndaily = "200d"\n'))
    assert (settings.storage.raw, settings.storage.daily) == (timedelta(hours=6), timedelta(days=200))
    path = write(tmp_path, head + 'retention = "30d"\nraw = "40d"\n')
    assert problems(path) == [
        f"{path}:6: storage.raw: must not be longer than retention (30d): every poll is kept for raw, then one per "
        "hour up to retention"
    ]
    path = write(tmp_path, head + 'daily = "10d"\n')
    assert problems(path) == [
        f"{path}:5: storage.daily: must not be shorter than retention (90d): one poll per hour is kept up to "
        "retention, then one per day up to daily"
    ]


def test_storage_sizes_are_read_and_a_bad_one_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[storage]\nmax_size = "20GB"\n')
    settings = load_settings(path)
    assert (settings.storage.max_size, settings.storage.min_free) == (20 * 1000**3, 1000**3)
    path = write(tmp_path, '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[storage]\nmin_free = "lots"\n')
    assert problems(path) == [f"{path}:5: storage.min_free: expected a size like '500MB', '1GB' or '2GiB', got 'lots'"]


def test_relative_config_path_is_shown_as_given(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiktok]\nacces_token = "t"\nadvertiser_ids = ["1"]\n')
    relative = Path(*[".."] * len(Path.cwd().parts[1:]), *path.parts[1:])
    assert problems(relative) == [f"{relative}:2: tiktok.acces_token: unknown key; did you mean 'access_token'?"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            '[slack]\nchannel = "#a"\n',
            "slack.token: required: set token or token_file (a bot token), or webhook_url or webhook_url_file",
        ),
        ('[slack]\ntoken = "x"\n', "slack.channel: required with token: set channel, like '#ads-alerts'"),
        (
            '[slack]\ntoken = "x"\nchannel = "#a"\nwebhook_url = "https://h"\n',
            "slack.webhook_url: set either token or webhook_url, not both",
        ),
        (
            '[slack]\nwebhook_url = "https://h"\nchannel = "#a"\n',
            "slack.channel: a webhook posts to its own channel: remove channel, or use token",
        ),
        ('[slack]\ntoken = ""\nchannel = "#a"\n', "slack.token: must not be empty"),
    ],
)
def test_slack_problems(tmp_path: Path, section: str, message: str) -> None:
    path = write(tmp_path, f"{TIKTOK}{section}")
    [line] = problems(path)
    assert re.sub(r":\d+: ", ": ", line, count=1) == f"{path}: {message}"


BOT = '[slack]\ntoken = "xoxb-1"\nchannel = "#a"\n'


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (BOT + 'app_token = "xoxb-2"\nallowed_users = ["U1AB"]\n',
         "slack.app_token: expected an app-level token (xapp-...; not shown: it is a secret)"),
        ('[slack]\nwebhook_url = "https://h"\napp_token = "xapp-1"\nallowed_users = ["U1AB"]\n',
         "slack.app_token: buttons need a bot token to update messages: set token, not webhook_url"),
        (BOT + 'app_token = "xapp-1"\n',
         "slack.allowed_users: required with app_token: the Slack users (U...) or allowed_groups (S...) who may click"),
        (BOT + 'allowed_groups = ["S1AB"]\n',
         "slack.app_token: required with allowed_users/allowed_groups: set app_token or app_token_file"),
        (BOT + 'app_token = "xapp-1"\nallowed_users = ["alice"]\n',
         "slack.allowed_users[0]: expected a user id like U0123ABCD (Slack ids, not names), got 'alice'"),
        (BOT + 'app_token = "xapp-1"\nallowed_groups = ["U1AB"]\n',
         "slack.allowed_groups[0]: expected a user group id like S0123ABCD (Slack ids, not names), got 'U1AB'"),
    ],
)  # fmt: skip
def test_slack_button_problems(tmp_path: Path, section: str, message: str) -> None:
    path = write(tmp_path, f"{TIKTOK}{section}")
    [line] = problems(path)
    assert re.sub(r":\d+: ", ": ", line, count=1) == f"{path}: {message}"


def test_slack_buttons_settings_with_the_app_token_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "app-token").write_text("xapp-1-A0-secret\n")
    path = write(tmp_path, f'{TIKTOK}{BOT}app_token_file = "app-token"\nallowed_users = ["U0ALICE", "W0BOB"]\n'
                           'allowed_groups = ["S0OPS"]\n')  # fmt: skip
    slack = load_settings(path).slack
    assert slack is not None and slack.app_token is not None
    assert slack.app_token.get_secret_value() == "xapp-1-A0-secret" and "xapp" not in repr(slack)
    assert (slack.allowed_users, slack.allowed_groups) == (["U0ALICE", "W0BOB"], ["S0OPS"])


def test_email_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'{TIKTOK}[email]\nhost = "h"\nfrom = "nobody"\nto = []\nport = 70000\n',
    )
    assert problems(path) == [
        f"{path}:6: email.from: expected an email address like 'ops@example.com', got 'nobody'",
        f"{path}:7: email.to: must list at least one address",
        f"{path}:8: email.port: must be at most 65535, got 70000",
    ]


def test_email_cross_checks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'{TIKTOK}[email]\nhost = "h"\nfrom = "a@b"\nto = ["c@d"]\ntls = true\nstarttls = true\npassword = "p"\n',
    )
    assert problems(path) == [
        f"{path}:4: email.username: required with password: set username",
        f"{path}:8: email.tls: set either tls (implicit TLS, usually port 465) or starttls, not both",
    ]


def test_email_missing_keys(tmp_path: Path) -> None:
    path = write(tmp_path, f"{TIKTOK}[email]\n")
    assert problems(path) == [
        f"{path}:4: email.host: required: set host",
        f"{path}:4: email.from: required: set from",
        f"{path}:4: email.to: required: set to",
    ]


def test_secret_values_never_appear_in_messages(tmp_path: Path) -> None:
    (tmp_path / "hook").write_text("not-a-url-SECRET", encoding="utf-8")
    path = write(
        tmp_path,
        f'{TIKTOK}secret = 12345\n[slack]\nwebhook_url_file = "hook"\n[storage]\nurl = "postgres-SECRET@host"\n',
    )
    lines = problems(path)
    assert lines == [
        f"{path}:4: tiktok.secret: expected a string",
        f"{path}:6: slack.webhook_url_file: expected an http(s) URL (not shown: it is a secret)",
        f"{path}:8: storage.url: expected a database URL like 'sqlite:///monitor.db' or 'postgresql+asyncpg://...'",
    ]
    assert not any("SECRET" in line or "12345" in line for line in lines)


# --- config.example.toml ---------------------------------------------------------------------------------


def test_example_loads(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE, env={"TIKTOK_ACCESS_TOKEN": "tok", "SLACK_BOT_TOKEN": "xoxb-1"})
    assert settings.tiktok.access_token.get_secret_value() == "tok"
    assert settings.slack is not None and settings.slack.channel == "#ads-alerts"
    assert settings.monitor.rules == EXAMPLE.parent / "rules"


def _uncommented_example() -> str:
    """The example with every commented-out table and key turned back on."""
    return re.sub(r"(?m)^# (\[\w+\]|\[\[[\w.]+\]\]|\w+ = .*)$", r"\1", EXAMPLE.read_text(encoding="utf-8"))


def _deprecated(field: Any) -> bool:
    """A key still read under its old name: the example mentions it in prose only."""
    return isinstance(field.json_schema_extra, dict) and bool(field.json_schema_extra.get("deprecated"))


def test_example_documents_every_key() -> None:
    doc = tomllib.loads(_uncommented_example())
    sections: dict[str, type[BaseModel]] = {
        "tiktok": TikTokSettings,
        "monitor": MonitorSettings,
        "storage": StorageSettings,
        "slack": SlackSettings,
        "email": EmailSettings,
        "actions": ActionsSettings,
        "console": ConsoleSettings,
        "webhook": WebhookSettings,
        "notify": NotifySettings,
        "health": HealthSettings,
        "page": PageSettings,
    }
    assert set(doc) == set(sections) == set(Settings.model_fields)
    for name, model in sections.items():
        keys = {field.alias or key for key, field in model.model_fields.items() if not _deprecated(field)}
        assert set(doc[name]) == keys, name
    account = doc["tiktok"]["accounts"][0]
    assert set(account) == {field.alias or key for key, field in AccountSettings.model_fields.items()}


def test_example_with_optional_sections_turned_on_loads(tmp_path: Path) -> None:
    text = _uncommented_example().replace('webhook_url = "${SLACK_WEBHOOK_URL}"', "")
    text = re.sub(r"(?ms)^\[\[tiktok\.accounts\]\].*?(?=^\[)", "", text)  # access_token or accounts, not both
    path = write(tmp_path, text)
    env = {name: "x" for name in re.findall(r"\$\{(\w+)\}", text)}
    env.update(TIKTOK_APP_ID="123", ALERT_WEBHOOK_URL="https://hooks.example/x", SLACK_APP_TOKEN="xapp-x")
    settings = load_settings(path, env=env)
    assert settings.slack is not None and settings.slack.app_token is not None
    assert settings.email is not None


def test_health_listen_must_be_host_and_port(tmp_path: Path) -> None:
    path = write(tmp_path, TIKTOK + '[health]\nlisten = "localhost"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value) == (f"{path}:5: health.listen: expected HOST:PORT like '127.0.0.1:9108', got 'localhost'")


def test_webhook_url_is_a_secret_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, TIKTOK + '[webhook]\nurl = "ftp://hooks.example/T0PSECRET"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "T0PSECRET" not in str(info.value)
    assert "webhook.url: expected an http(s) URL" in str(info.value)


def test_ops_channels_must_be_configured(tmp_path: Path) -> None:
    path = write(tmp_path, TIKTOK + '[notify]\nops_channels = ["slack"]\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value) == f"{path}:5: notify.ops_channels[0]: channel 'slack' is not configured (configured: none)"


def test_the_sandboxs_own_app_id_passes_the_configs_digits_check(tmp_path) -> None:
    from monitor.sandbox import SandboxSettings

    sandbox = SandboxSettings()
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tiktok]\naccess_token = "{sandbox.token}"\nadvertiser_ids = []\n'
        f'app_id = "{sandbox.app_id}"\nsecret = "{sandbox.secret}"\n'
    )
    assert load_settings(path).tiktok.app_id == sandbox.app_id


def test_console_is_a_channel_rules_may_notify_and_its_stream_is_checked(tmp_path: Path) -> None:
    """Issue 15: a newcomer without Slack had no channel; `[console]` is one (stdout by default)."""
    from monitor.rules.loader import configured_channels

    base = '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n'
    config = tmp_path / "config.toml"
    config.write_text(base + '[console]\n[notify]\nops_channels = ["console"]\n')
    settings = load_settings(config)
    assert settings.console is not None and settings.console.stream == "stdout"
    assert "console" in configured_channels(settings)
    config.write_text(base + '[console]\nstream = "printer"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert str(error.value.problems[0]).startswith(f"{config}:5: console.stream: ")
