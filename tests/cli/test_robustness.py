"""Every way a command can fail ends in a message and an exit code: no traceback, no cookie.

Run as real processes: tracebacks, exit statuses, signals and failing stdout only show
there as users meet them.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from erlcookie.cli import COMMANDS, cli
from erlcookie.errors import EXIT_FINDINGS, EXIT_OPERATIONAL
from tests.support.filesystems import readonly_dir

MAIN = "import sys; from erlcookie.cli import main; sys.argv[0] = 'erlcookie'; main()"
NOT_UTF8 = b"Str0ng-but-\xff\xfe-not-utf8-cookie-Value"


def erlcookie(*args, stdout=subprocess.PIPE, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-c", MAIN, *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        timeout=timeout,
    )


def assert_clean_failure(result, code):
    err = result.stderr.decode(errors="replace")
    assert result.returncode == code, err
    assert "Traceback" not in err and err.splitlines()[-1].startswith("erlcookie: "), err


# -- cookies that are not UTF-8 -----------------------------------------------------------


@pytest.mark.parametrize("command", [["audit"], ["audit", "--json"], ["fingerprint"]])
def test_not_utf8_cookie_file_is_judged_without_a_byte_of_it(tmp_path, command):
    path = tmp_path / "cookie"
    path.write_bytes(NOT_UTF8 + b"\n")
    path.chmod(0o600)
    result = erlcookie(*command, "--cookie-file", path)
    output = result.stdout + result.stderr
    assert b"Traceback" not in output and b"position" not in output
    for fragment in (b"\xff", b"\\udcff", b"udcff", b"not-utf8-cookie"):
        assert fragment not in output
    if command[0] == "audit":
        assert result.returncode == EXIT_FINDINGS and b"not-utf8" in result.stdout
    else:
        assert result.returncode == 0 and result.stdout.startswith(b"fp1:")


def test_not_utf8_cookie_from_the_environment(tmp_path):
    env = {**os.environ, "RELEASE_COOKIE": os.fsdecode(NOT_UTF8)}
    result = erlcookie("audit", env=env)
    assert result.returncode == EXIT_FINDINGS and b"not-utf8" in result.stdout
    assert b"\xff" not in result.stdout + result.stderr


def test_not_utf8_cookie_has_one_fingerprint_from_every_source(tmp_path):
    path = tmp_path / "cookie"
    path.write_bytes(NOT_UTF8)
    path.chmod(0o600)
    from_file = erlcookie("fingerprint", "--cookie-file", path).stdout
    env = {**os.environ, "RELEASE_COOKIE": os.fsdecode(NOT_UTF8)}
    assert from_file == erlcookie("fingerprint", env=env).stdout


# -- read-only directories and full disks ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--write", "{dir}/cookie"],
        ["k8s", "secret", "--write", "{dir}/secret.yaml"],
        ["scan", "-o", "{dir}/report.txt", "{src}"],
        ["scan", "--json", "-o", "{dir}/report.json", "{src}"],
    ],
)
def test_write_into_read_only_directory(tmp_path, args):
    src = tmp_path / "src"
    src.mkdir()
    (src / "vm.args").write_text("-name a@b\n")
    with readonly_dir(tmp_path) as where:
        result = erlcookie(*[a.format(dir=where, src=src) for a in args])
        assert_clean_failure(result, EXIT_OPERATIONAL)
        assert b"cannot write" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["generate"], ["fingerprint", "--cookie", "x" * 40], ["scan", "--json", "{src}"], ["--help"]],
)
def test_full_stdout(tmp_path, args):
    (tmp_path / "vm.args").write_text("-setcookie monster\n")
    with open("/dev/full", "wb") as full:
        result = erlcookie(*[a.format(src=tmp_path) for a in args], stdout=full)
    assert_clean_failure(result, EXIT_OPERATIONAL)
    assert b"No space left on device" in result.stderr


# -- Ctrl-C ------------------------------------------------------------------------------


def test_ctrl_c_exits_3_without_aborted(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-c", MAIN, "audit", "--cookie-file", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # a writer can open the FIFO once erlcookie has it open for reading
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                break
            except OSError:
                assert time.monotonic() < deadline, "erlcookie never opened the FIFO"
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    finally:
        proc.kill()
        proc.wait(10)
    err = proc.stderr.read().decode()
    assert proc.returncode == EXIT_OPERATIONAL, err
    assert "interrupted" in err and "Aborted" not in err and "Traceback" not in err


# -- a bug is reported, not dumped ---------------------------------------------------------


@click.command()
def broken():
    """A command with a bug whose exception message holds a secret."""
    raise RuntimeError("the-secret-in-the-message")


def test_unexpected_exception_is_one_line_without_its_message(monkeypatch):
    monkeypatch.setitem(COMMANDS, "broken", ("tests.cli.test_robustness:broken", "A bug."))
    monkeypatch.delenv("ERLCOOKIE_DEBUG", raising=False)
    result = CliRunner().invoke(cli, ["broken"])
    assert result.exit_code == EXIT_OPERATIONAL
    assert "internal error (RuntimeError)" in result.output
    assert "the-secret-in-the-message" not in result.output
    monkeypatch.setenv("ERLCOOKIE_DEBUG", "1")
    result = CliRunner().invoke(cli, ["broken"])
    assert isinstance(result.exception, RuntimeError)


@click.command()
def unreadable():
    """A command meeting an OSError about a file whose name holds an escape sequence."""
    raise PermissionError(errno.EACCES, "Permission denied", "evil\x1b]0;title\x07name")


def test_os_error_is_one_line_with_control_characters_escaped(monkeypatch):
    monkeypatch.setitem(COMMANDS, "unreadable", ("tests.cli.test_robustness:unreadable", "."))
    result = CliRunner().invoke(cli, ["unreadable"])
    assert result.exit_code == EXIT_OPERATIONAL
    assert "Permission denied" in result.output and "\x1b" not in result.output
    assert "\\x1b]0;title" in result.output
