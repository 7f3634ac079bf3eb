"""Reloading rules: atomic, and a broken file never replaces working rules."""

from __future__ import annotations

import os

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.rulebook import RuleBook

GOOD = '[[rule]]\nname = "{name}"\nlevel = "campaign"\nwhen = "spend > 1"\nnotify = ["slack"]\n'


def touch_later(path) -> None:
    """Make sure a rewrite is seen even on file systems with coarse timestamps."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_broken_rules_at_start_are_an_error(tmp_path):
    (tmp_path / "a.toml").write_text("[[rule]]\nname = 1\n")
    with pytest.raises(ConfigError):
        RuleBook(tmp_path, {"slack"})


def test_unchanged_files_are_not_reloaded(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD.format(name="one"))
    book = RuleBook(tmp_path, {"slack"})
    before = book.current
    assert book.reload_if_changed().changed is False
    assert book.current is before


def test_a_changed_file_swaps_the_rule_set(tmp_path):
    rule_file = tmp_path / "a.toml"
    rule_file.write_text(GOOD.format(name="one"))
    book = RuleBook(tmp_path, {"slack"})
    rule_file.write_text(GOOD.format(name="one") + GOOD.format(name="two"))
    touch_later(rule_file)
    assert book.reload_if_changed().changed is False  # seen; reloaded once the next look finds it settled
    result = book.reload_if_changed()
    assert result.changed and result.ok
    assert [rule.name for rule in book()] == ["one", "two"]


def test_a_broken_file_keeps_the_old_rules_and_reports_why(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD.format(name="one"))
    book = RuleBook(tmp_path, {"slack"})
    broken = tmp_path / "b.toml"
    broken.write_text('[[rule]]\nname = "two"\nlevel = "campaign"\nwhen = "spend >"\nnotify = ["slack"]\n')
    book.reload_if_changed()
    result = book.reload_if_changed()
    assert not result.changed and not result.ok
    assert str(result.problems[0]).startswith(f"{broken}:4: ")
    assert [rule.name for rule in book()] == ["one"]
    # fixing the file is picked up by the next look
    broken.write_text(GOOD.format(name="two"))
    touch_later(broken)
    book.reload_if_changed()
    assert book.reload_if_changed().changed
    assert [rule.name for rule in book()] == ["one", "two"]


def test_a_missing_rules_directory_is_reported_where_the_config_names_it(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n[monitor]\nrules = "gone"\n')
    settings = load_settings(config, env={})
    with pytest.raises(ConfigError) as caught:
        RuleBook(settings.monitor.rules, {"slack"}, settings.origin("monitor", "rules"))
    assert [str(p) for p in caught.value.problems] == [
        f"{config}:5: monitor.rules: {tmp_path / 'gone'}: the rules directory does not exist"
    ]
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "a.toml").write_text(GOOD.format(name="one"))
    book = RuleBook(settings.monitor.rules, {"slack"}, settings.origin("monitor", "rules"))
    (tmp_path / "gone" / "a.toml").unlink()
    (tmp_path / "gone").rmdir()
    assert [str(p) for p in book.reload().problems] == [
        f"{config}:5: monitor.rules: {tmp_path / 'gone'}: the rules directory does not exist"
    ]


def test_a_file_created_in_two_steps_is_reloaded_once(tmp_path):
    """Issue 15: creating one rule file (empty first, then filled, as editors and `cat >` do) reloaded twice,
    the first time from the half-written file."""
    (tmp_path / "a.toml").write_text(GOOD.format(name="one"))
    book = RuleBook(tmp_path, {"slack"})
    new = tmp_path / "b.toml"
    new.write_text("")  # a look between the two steps sees the empty file
    results = [book.reload_if_changed()]
    new.write_text(GOOD.format(name="two"))
    touch_later(new)
    results += [book.reload_if_changed() for _ in range(3)]
    assert [r.changed for r in results] == [False, False, True, False]
    assert all(r.ok for r in results)  # the half-written file was never loaded
    assert [rule.name for rule in book()] == ["one", "two"]
