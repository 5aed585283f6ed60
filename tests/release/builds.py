"""Real rebar3 and mix projects, built offline, and their releases run with bounded waits.

Builds get a private HOME (and MIX_HOME, HEX_HOME, REBAR_CACHE_DIR) with HEX_OFFLINE=1, so
nothing is fetched and nothing of the user's is read. A running release is its own process
group; leaving the `with` block asks it to stop (`bin/NAME stop`, bounded) and then kills
the group whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BUILD_TIMEOUT = 240
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def tool_env(home: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MIX_HOME": str(home / ".mix"),
        "HEX_HOME": str(home / ".hex"),
        "HEX_OFFLINE": "1",
        "REBAR_CACHE_DIR": str(home / ".cache" / "rebar3"),
        "REBAR_OFFLINE": "1",
        "ERL_AFLAGS": "",
        "TERM": "dumb",
    }
    env.update(extra)
    return env


def unique_name(prefix: str) -> str:
    """A node/release name no other test on this host's shared EPMD will use."""
    return f"{prefix}{secrets.token_hex(3)}"


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = BUILD_TIMEOUT) -> str:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


def rebar3_project(parent: Path, name: str, home: Path) -> Path:
    run(["rebar3", "new", "release", name], parent, tool_env(home))
    return parent / name


def rebar3_release(project: Path, home: Path) -> Path:
    run(["rebar3", "release"], project, tool_env(home))
    return project / "_build" / "default" / "rel" / project.name


def mix_project(parent: Path, name: str, home: Path) -> Path:
    run(["mix", "new", name, "--sup"], parent, tool_env(home))
    return parent / name


def mix_release(project: Path, home: Path) -> Path:
    run(["mix", "release", "--overwrite"], project, tool_env(home, MIX_ENV="prod"))
    return project / "_build" / "prod" / "rel" / project.name


def epmd_names() -> str:
    proc = subprocess.run(["epmd", "-names"], capture_output=True, text=True, timeout=10)
    return proc.stdout


@dataclass
class Started:
    proc: subprocess.Popen
    release: Path
    env: dict[str, str]


def attempt_start(
    release: Path, command: str, env: dict[str, str], timeout: float = START_TIMEOUT
) -> subprocess.CompletedProcess:
    """Run a start command that is expected to refuse and return quickly."""
    script = release / "bin" / release.name
    proc = subprocess.Popen(
        [str(script), command],
        cwd=release,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate(timeout=10)
        raise AssertionError(f"`{command}` did not return within {timeout}s") from None
    finally:
        _kill_group(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running(release: Path, command: str, env: dict[str, str]):
    """Start a release in the foreground (its own process group); always stop it."""
    script = release / "bin" / release.name
    log = open(release / "erlcookie-test-start.log", "w+")
    proc = subprocess.Popen(
        [str(script), command],
        cwd=release,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield Started(proc, release, env)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                subprocess.run(
                    [str(script), "stop"],
                    cwd=release,
                    env=env,
                    capture_output=True,
                    timeout=STOP_TIMEOUT,
                    stdin=subprocess.DEVNULL,
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT)
        _kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        log.close()


def wait_until(predicate, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
