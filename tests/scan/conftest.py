"""Fixtures for the scanner tests: throwaway cookies, git repositories, the CLI."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from erlcookie.cli import cli

ALNUM = string.ascii_letters + string.digits


def fresh_cookie(length: int = 24) -> str:
    """A random, never-committed cookie that starts with a lowercase letter (valid atom)."""
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(ALNUM) for _ in range(length - 1)
    )


@pytest.fixture
def cookie() -> str:
    return fresh_cookie()


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, f"git {' '.join(args[:2])} failed: {out.stderr[-500:]}"
    return out.stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """An empty git repository with an identity, on branch main."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "Test")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


class CliResult:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_scan(monkeypatch):
    """Run `erlcookie scan ARGS` in-process from directory `cwd`."""

    def run(args, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        result = CliRunner().invoke(cli, ["scan", *args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
