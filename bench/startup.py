"""What a command costs before it does its work: CPU of short commands, and what each one imports.

Runs ``python -m monitor`` as a child process for ``--version``, ``--help``, ``once --help``, ``completion bash``,
``check --config config.example.toml`` and (with ``--once``) ``once`` against the sandbox (started as a process of
its own, its four small advertisers, the example rules with their messages sent to the console channel, a SQLite
file in a temporary directory; one unmeasured ``once`` first, so the database exists), each ``--repeats`` times
(default 5): the median CPU seconds (user + system, ``os.wait4`` of the child) and wall seconds; as many runs
again through ``bench/import_clock.py``: the median CPU seconds of them spent importing modules (at start-up and
while the command works: jinja2 when ``once`` first renders a message, say). Then once more with
``-X importtime`` (which slows each import down: its numbers are larger than the CPU it measures): the whole
import time (the sum of the top-level imports' cumulative microseconds), the
number of modules imported (those the interpreter imports before ``-X importtime`` starts aside), the ``--top``
top-level modules by cumulative microseconds, and which of the heavy libraries (and SQLAlchemy's ORM, which no
command uses: ``monitor.lazy.defer_asyncio_orm``) were loaded.

    .venv/bin/python bench/startup.py [--repeats 5] [--top 6] [--once]

``PYTHONPATH`` chooses the code measured (e.g. a ``git archive`` of an older commit, for a before/after); its
bytecode is written first and the children run without ``PYTHONDONTWRITEBYTECODE`` (``bench/bytecode.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bytecode import installed_env  # bench/: run as a script, this folder is on sys.path

REPO = Path(__file__).resolve().parent.parent
IMPORT_CLOCK = Path(__file__).resolve().parent / "import_clock.py"
HEAVY = (
    "sqlalchemy", "alembic", "aiohttp", "slack_sdk", "aiosmtplib", "jinja2", "apscheduler", "prometheus_client",
    "aiosqlite", "asyncpg",
)  # fmt: skip
#: Parts of libraries shown apart from their library when loaded.
HEAVY_PARTS = ("sqlalchemy.orm",)
CHANNEL = re.compile(r'"(slack|email|webhook|ops)"')
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")
#: ``check`` of the example configuration reads these from the environment.
EXAMPLE_ENV = {"TIKTOK_ACCESS_TOKEN": "bench-token", "SLACK_BOT_TOKEN": "xoxb-bench"}


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of ``python -m monitor ARGS`` as a child process."""
    start = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "monitor", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd,
    )  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited with {child.returncode}")
    return usage.ru_utime + usage.ru_stime, wall


def import_cpu(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """CPU seconds ``python -m monitor ARGS`` spends importing modules (``bench/import_clock.py``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "imports.json"
        subprocess.run(  # noqa: S603
            [sys.executable, str(IMPORT_CLOCK), str(out), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=False,
        )  # fmt: skip
        found = json.loads(out.read_text())
    if found["code"] not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited with {found['code']}")
    return float(found["imports"])


def imports(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int, list[tuple[int, str]], list[str]]:
    """``-X importtime``: the whole import time (µs), the number of modules imported, the top-level modules by
    cumulative µs, the heavy libraries (and :data:`HEAVY_PARTS`) loaded."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-m", "monitor", *args],
        capture_output=True, text=True, env=env, cwd=cwd, check=False,
    )  # fmt: skip
    top: list[tuple[int, str]] = []
    loaded: set[str] = set()
    count = 0
    for line in done.stderr.splitlines():
        match = LINE.match(line)
        if match is None:
            continue
        count += 1
        cumulative, indent, name = int(match[2]), len(match[3]), match[4]
        if indent == 0:
            top.append((cumulative, name))
        if name.split(".")[0] in HEAVY:
            loaded.add(name.split(".")[0])
        if name in HEAVY_PARTS:
            loaded.add(name)
    return sum(c for c, _ in top), count, sorted(top, reverse=True), sorted(loaded)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def sandbox_config(folder: Path, env: dict[str, str]) -> Iterator[Path]:
    """The sandbox as a process of its own and a config of ``once`` against it (console channel only)."""
    port = free_port()
    sandbox = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "monitor", "sandbox", "--port", str(port), "--qps", "1000"],
        stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            with contextlib.suppress(urllib.error.URLError, ConnectionError):
                urllib.request.urlopen(f"{url}/sandbox/arrivals", timeout=1).close()  # noqa: S310
                break
            time.sleep(0.1)
        rules = folder / "rules"
        rules.mkdir()
        for example in (REPO / "rules").glob("*.toml"):
            (rules / example.name).write_text(CHANNEL.sub('"console"', example.read_text()))
        config = folder / "config.toml"
        config.write_text(
            f'[tiktok]\nbase_url = "{url}"\naccess_token = "sandbox-token"\nmax_qps = 1000\n'
            'app_id = "4242424242"\nsecret = "sandbox-secret"\n'  # discovery: the sandbox's four advertisers
            f'[monitor]\nrules = "{rules}"\n[storage]\nurl = "sqlite:///{folder / "monitor.db"}"\n'
            "[actions]\nenabled = false\n[console]\n"
        )
        yield config
    finally:
        sandbox.terminate()
        sandbox.wait(30)


def measure(name: str, args: list[str], env: dict[str, str], repeats: int, top: int, cwd: Path) -> None:
    runs = [timed(args, env, cwd) for _ in range(repeats)]
    cpu, wall = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
    importing = statistics.median(import_cpu(args, env, cwd) for _ in range(repeats))
    total, count, modules, loaded = imports(args, env, cwd)
    print(
        f"{name:18s} CPU {cpu * 1000:6.0f} ms (importing {importing * 1000:4.0f} ms)  wall {wall * 1000:6.0f} ms  "
        f"-X importtime {total / 1000:6.0f} ms ({count} modules)"
    )
    print("    top-level imports (cumulative µs): " + ", ".join(f"{m} {c:,}" for c, m in modules[:top]))
    print(f"    heavy libraries loaded: {', '.join(loaded) or 'none'}")


def main(repeats: int, top: int, once: bool) -> None:
    env = {k: v for k, v in installed_env().items() if not k.startswith(("TIKTOK_", "SLACK_"))}  # bytecode as installed
    example = {**env, **EXAMPLE_ENV}
    print(f"medians of {repeats} runs; Python {sys.version.split()[0]}; PYTHONPATH={env.get('PYTHONPATH', '')}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)  # check: no database beside the example config, as on a first install
        example_config = folder / "config.example.toml"
        example_config.write_text((REPO / "config.example.toml").read_text())
        (folder / "rules").symlink_to(REPO / "rules")
        commands = {
            "--version": ["--version"],
            "--help": ["--help"],
            "once --help": ["once", "--help"],
            "completion bash": ["completion", "bash"],
            "check (example)": ["check", "--config", str(example_config)],
        }
        for name, args in commands.items():
            measure(name, args, example, repeats, top, folder)
    if once:
        with tempfile.TemporaryDirectory() as tmp, sandbox_config(Path(tmp), env) as config:
            args = ["once", "--config", str(config)]
            timed(args, env, Path(tmp))  # creates and migrates the database: not measured
            measure("once (sandbox)", args, env, repeats, top, Path(tmp))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=6, help="top-level modules shown by cumulative import time")
    parser.add_argument("--once", action="store_true", help="also `once` against the sandbox")
    args = parser.parse_args()
    main(args.repeats, args.top, args.once)
