"""Bounded input reading: devices refused, pipes under a deadline, at most limit + 1 bytes."""

import io
import os
import subprocess
import sys
import threading
import time

import pytest

from erlcookie.errors import EXIT_OPERATIONAL, EXIT_USAGE
from erlcookie.inputs import InputError, InputTimeout, read_bounded, read_bounded_text


def run_cli(*args, stdin=None, timeout=30):
    code = "import sys; from erlcookie.cli import main; sys.argv[0] = 'erlcookie'; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], input=stdin, capture_output=True, timeout=timeout
    )


def test_regular_file_within_and_over_limit(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10)
    assert read_bounded(p, limit=10) == b"x" * 10
    p.write_bytes(b"x" * 11)
    with pytest.raises(InputError, match="larger than 10 bytes"):
        read_bounded(p, limit=10, what="thing")


def test_character_device_is_refused_without_reading():
    started = time.monotonic()
    with pytest.raises(InputError, match="character device"):
        read_bounded("/dev/zero", limit=64 * 1024, what="cookie file")
    assert time.monotonic() - started < 1


def test_fifo_without_writer_ends_at_the_deadline(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(InputTimeout, match="within 0.5 s"):
        read_bounded(fifo, limit=100, deadline=0.5)
    assert 0.4 < time.monotonic() - started < 5


def test_fifo_with_a_writer_is_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as handle:
            handle.write(b"node@host\n")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert read_bounded_text(fifo, limit=100, deadline=10) == "node@host\n"
    finally:
        thread.join(10)


def test_endless_fifo_stops_at_limit_plus_one(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer():
        try:
            with open(fifo, "wb") as handle:
                while not stop.is_set():
                    handle.write(b"A" * 4096)
        except BrokenPipeError:
            pass

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(InputError, match="larger than 1 KiB"):
            read_bounded(fifo, limit=1024, deadline=10)
    finally:
        stop.set()
        thread.join(10)


def test_directory_and_missing_keep_their_oserror(tmp_path):
    with pytest.raises(IsADirectoryError):
        read_bounded(tmp_path, limit=10)
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "nope", limit=10)


def test_in_memory_stdin_is_bounded():
    assert read_bounded("-", limit=5, stdin=io.StringIO("abc")) == b"abc"
    with pytest.raises(InputError, match="on stdin is larger"):
        read_bounded("-", limit=5, stdin=io.BytesIO(b"x" * 100))


def test_no_stdin_at_all(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match="no stdin"):
        read_bounded("-", limit=5, what="cookie")


def test_not_utf8_text_is_a_clear_error(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="not UTF-8"):
        read_bounded_text(p, limit=10, what="--nodes-file")


# -- through the CLI, in a real process ---------------------------------------------------


def test_cli_cookie_file_dev_zero_exits_2_fast():
    started = time.monotonic()
    result = run_cli("audit", "--cookie-file", "/dev/zero")
    assert result.returncode == EXIT_USAGE, result.stderr
    assert b"character device" in result.stderr and b"Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_cli_cookie_fifo_ends_at_timeout(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run_cli("ping", "--timeout", "1", "--cookie-file", str(fifo), "a@127.0.0.1")
    assert result.returncode == EXIT_OPERATIONAL, result.stderr
    assert b"no end of data within 1 s" in result.stderr and b"Traceback" not in result.stderr
    assert time.monotonic() - started < 20


def test_cli_nodes_file_fifo_ends_at_timeout(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_cli("ping", "--timeout", "1", "--cookie", "x" * 30, "--nodes-file", str(fifo))
    assert result.returncode == EXIT_OPERATIONAL, result.stderr
    assert b"--nodes-file" in result.stderr and b"Traceback" not in result.stderr


def test_cli_nodes_file_device_is_usage_error():
    result = run_cli("ping", "--cookie", "x" * 30, "--nodes-file", "/dev/zero")
    assert result.returncode == EXIT_USAGE and b"character device" in result.stderr


def test_cli_cookie_on_stdin_over_64k(tmp_path):
    result = run_cli("fingerprint", "--cookie-file", "-", stdin=b"A" * 100_000)
    assert result.returncode == EXIT_USAGE and b"larger than 64 KiB" in result.stderr
    assert b"AAAA" not in result.stderr


def test_cli_process_substitution_pipe_is_read():
    # what bash's <(cmd) hands over: a /dev/fd path onto a pipe
    read_end, write_end = os.pipe()
    os.write(write_end, b"abcdefghijklmnopqrstuvwxyz\n")
    os.close(write_end)
    try:
        code = "import sys; from erlcookie.cli import main; main()"
        result = subprocess.run(
            [sys.executable, "-c", code, "fingerprint", "--cookie-file", f"/dev/fd/{read_end}"],
            pass_fds=(read_end,),
            capture_output=True,
            timeout=30,
        )
    finally:
        os.close(read_end)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"fp1:")


def test_cli_baseline_and_manifest_devices_are_refused(tmp_path):
    result = run_cli("scan", "--baseline", "/dev/zero", str(tmp_path))
    assert result.returncode == EXIT_USAGE and b"character device" in result.stderr, result.stderr
    result = run_cli("k8s", "inject", "/dev/zero")
    assert result.returncode == EXIT_USAGE and b"character device" in result.stderr, result.stderr
