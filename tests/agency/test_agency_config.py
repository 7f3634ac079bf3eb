"""[[tiktok.accounts]]: several tokens in one config, validated with file:line messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import DEFAULT_ACCOUNT, load_settings
from monitor.errors import ConfigError

HEAD = '[tiktok]\napp_id = "123"\nsecret = "s"\n'


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    return [line.replace(f"{path}:", "") for line in str(info.value).splitlines()]


def test_accounts_load_with_token_files(tmp_path: Path) -> None:
    (tmp_path / "b.token").write_text("token-b\n")
    path = tmp_path / "config.toml"
    path.write_text(
        HEAD + '[[tiktok.accounts]]\nname = "a"\naccess_token = "token-a"\nadvertiser_ids = ["1", "2"]\n'
        '[[tiktok.accounts]]\nname = "b"\naccess_token_file = "b.token"\nbc_ids = ["9"]\n'
    )
    settings = load_settings(path, env={})
    a, b = settings.tiktok.token_accounts()
    assert (a.name, a.advertiser_ids, a.bc_ids) == ("a", ["1", "2"], None)
    assert (b.name, b.access_token.get_secret_value(), b.advertiser_ids, b.bc_ids) == ("b", "token-b", [], ["9"])
    assert settings.tiktok.configured_advertiser_ids() == ["1", "2"]
    assert {"token-a", "token-b"} <= set(settings.secrets())


def test_single_token_is_one_implicit_account(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n')
    (account,) = load_settings(path, env={}).tiktok.token_accounts()
    assert (account.name, account.access_token.get_secret_value(), account.advertiser_ids) == (
        DEFAULT_ACCOUNT,
        "t",
        ["1"],
    )


def test_access_token_and_accounts_both_set(tmp_path: Path) -> None:
    text = HEAD + 'access_token = "t"\n[[tiktok.accounts]]\nname = "a"\naccess_token = "x"\n'
    assert problems(tmp_path, text) == [
        "4: tiktok.access_token: set either access_token (one token) or [[tiktok.accounts]] tables (several), not both"
    ]


def test_duplicate_names_and_shared_advertisers(tmp_path: Path) -> None:
    text = (
        HEAD
        + '[[tiktok.accounts]]\nname = "a"\naccess_token = "x"\nadvertiser_ids = ["1", "2"]\n'
        + '[[tiktok.accounts]]\nname = "a"\naccess_token = "y"\n'
        + '[[tiktok.accounts]]\nname = "c"\naccess_token = "z"\nadvertiser_ids = ["3", "2"]\n'
    )
    assert problems(tmp_path, text) == [
        "9: tiktok.accounts[1].name: 'a' is also the name of account 1",
        "14: tiktok.accounts[2].advertiser_ids[1]: '2' is also listed under account 'a': "
        "each advertiser is polled with one token",
    ]


def test_unknown_key_in_an_account_names_its_line(tmp_path: Path) -> None:
    text = HEAD + '[[tiktok.accounts]]\nname = "a"\naccess_token = "x"\nadvertiser_id = ["1"]\n'
    assert problems(tmp_path, text) == [
        "7: tiktok.accounts[0].advertiser_id: unknown key; did you mean 'advertiser_ids'?"
    ]


def test_account_needs_a_name_and_a_token_and_discovery_needs_the_app(tmp_path: Path) -> None:
    text = "[tiktok]\n[[tiktok.accounts]]\nadvertiser_ids = []\n"
    found = problems(tmp_path, text)
    assert any("tiktok.accounts[0].name: required" in line for line in found)
    assert any(
        "tiktok.accounts[0].access_token: required: set access_token or access_token_file" in line for line in found
    )


def test_discovering_account_needs_app_credentials(tmp_path: Path) -> None:
    text = '[tiktok]\n[[tiktok.accounts]]\nname = "a"\naccess_token = "x"\n'
    found = problems(tmp_path, text)
    assert any("tiktok.app_id: required when advertiser_ids is empty" in line for line in found)


def test_top_level_ids_with_accounts_are_refused(tmp_path: Path) -> None:
    text = HEAD + 'advertiser_ids = ["1"]\n[[tiktok.accounts]]\nname = "a"\naccess_token = "x"\n'
    assert problems(tmp_path, text) == [
        "4: tiktok.advertiser_ids: with [[tiktok.accounts]], set advertiser_ids in each account"
    ]
