"""After a large poll ``run`` gives the C allocator's free memory back (monitor.gctune.trim_malloc, through
``Runtime.after_large_poll``): called after a poll of at least ``large_poll_entities`` entities, not after a
smaller one, and not when nothing is set (``once``)."""

from __future__ import annotations

from pathlib import Path

from monitor.config import load_settings
from monitor.wiring import open_runtime

ADV = "7000000000000000001"


def config(tmp_path: Path, base_url: str) -> Path:
    (tmp_path / "rules").mkdir()
    rule = '[[rule]]\nname = "overspend"\nlevel = "campaign"\nwhen = "spend > 1000000"\nnotify = ["console"]\n'
    (tmp_path / "rules" / "a.toml").write_text(rule)
    path = tmp_path / "config.toml"
    path.write_text(
        f'[tiktok]\nbase_url = "{base_url}"\naccess_token = "sandbox-token"\nadvertiser_ids = ["{ADV}"]\n'
        f'[storage]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[console]\n'
    )
    return path


async def test_the_trim_follows_large_polls_only(tmp_path, sandbox, clock) -> None:
    settings = load_settings(config(tmp_path, sandbox.base_url))
    runtime = await open_runtime(settings, clock=clock)
    trims: list[str] = []
    try:
        first = await runtime.poll(ADV)  # nothing set, as in once: nothing called
        assert first.summary is not None and first.summary.entities > 0 and trims == []
        runtime.after_large_poll = lambda: trims.append("trim")
        runtime.large_poll_entities = first.summary.entities + 1
        assert (await runtime.poll(ADV)).ok and trims == []  # smaller than a large poll
        runtime.large_poll_entities = first.summary.entities
        assert (await runtime.poll(ADV)).ok and trims == ["trim"]
    finally:
        await runtime.close()
