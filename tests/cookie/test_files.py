import os
import signal
import stat
import subprocess
import sys

import pytest

from erlcookie.cookie.files import atomic_write, write_text_preserving_mode
from erlcookie.errors import OperationalError, UsageError
from tests.support.filesystems import full_dir, readonly_dir


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_private_mode_and_content(tmp_path):
    p = atomic_write(tmp_path / "c", "value", mode=0o400, overwrite=False)
    assert mode(p) == 0o400 and p.read_text() == "value"
    assert [x.name for x in tmp_path.iterdir()] == ["c"], "no temporary files left behind"


def test_refuses_to_replace_without_overwrite(tmp_path):
    p = tmp_path / "c"
    p.write_text("old")
    with pytest.raises(UsageError):
        atomic_write(p, "new", overwrite=False)
    assert p.read_text() == "old"
    atomic_write(p, "new", mode=0o600, overwrite=True)
    assert p.read_text() == "new" and mode(p) == 0o600


def test_refuses_symlink_target(tmp_path):
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UsageError):
        atomic_write(tmp_path / "link", "y", overwrite=False)
    assert (tmp_path / "real").read_text() == "x"


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "c", 12345)  # not bytes or str
    assert list(tmp_path.iterdir()) == []


def test_preserving_mode(tmp_path):
    p = tmp_path / "vm.args"
    p.write_text("a")
    os.chmod(p, 0o640)
    write_text_preserving_mode(p, "b")
    assert mode(p) == 0o640 and p.read_text() == "b"


# -- signals mid-write, in a real process -------------------------------------------------

SECRET = "mid-write-secret-cookie-value-0123456789"

# The writer pauses after its data is on disk but before the rename, the window in which a
# signal used to leave `.c.*.tmp` holding the whole cookie. The pause is a slow fsync in the
# child only; atomic_write itself runs unchanged.
CHILD = """
import os, sys, time
real_fsync = os.fsync
def slow_fsync(fd):
    real_fsync(fd)
    if not getattr(slow_fsync, "done", False):
        slow_fsync.done = True
        print("paused", flush=True)
        time.sleep(60)
os.fsync = slow_fsync
from erlcookie.cookie.files import atomic_write
atomic_write(sys.argv[1], sys.stdin.read(), mode=0o400, overwrite=sys.argv[2] == "1")
print("finished", flush=True)
"""


def _paused_writer(target, overwrite):
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), "1" if overwrite else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdin.write(SECRET.encode())
    proc.stdin.close()
    assert proc.stdout.readline() == b"paused\n"
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
@pytest.mark.parametrize("overwrite", [False, True])
def test_signal_between_write_and_rename_leaves_no_temporary_file(tmp_path, signum, overwrite):
    target = tmp_path / "c"
    if overwrite:
        target.write_text("old")
    proc = _paused_writer(target, overwrite)
    try:
        temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert temporaries and temporaries[0].read_text() == SECRET, "the window was not reached"
        proc.send_signal(signum)
        proc.wait(30)
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.wait(10)
    assert b"finished" not in out
    # Ended by the signal itself, as without erlcookie (Python ends an uncaught
    # KeyboardInterrupt by SIGINT too).
    assert proc.returncode == -signum, err.decode(errors="replace")[-500:]
    if signum == signal.SIGINT:
        assert b"KeyboardInterrupt" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == (["c"] if overwrite else [])
    if overwrite:
        assert target.read_text() == "old"


def test_caller_signal_handlers_are_restored(tmp_path):
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda *a: seen.append(a[0]))
    try:
        atomic_write(tmp_path / "c", "x")
        signal.raise_signal(signal.SIGTERM)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- read-only directories and full disks ----------------------------------------------


def test_read_only_directory_is_an_operational_error(tmp_path):
    with readonly_dir(tmp_path) as where:
        with pytest.raises(OperationalError, match="cannot write") as info:
            atomic_write(where / "cookie", SECRET, mode=0o400)
        assert SECRET not in str(info.value)


def test_full_disk_is_an_operational_error_and_leaves_nothing(tmp_path):
    with full_dir(tmp_path) as where:
        with pytest.raises(OperationalError, match="No space left") as info:
            atomic_write(where / "big", "x" * (1024 * 1024))
        assert "xxxx" not in str(info.value)
        assert list(where.iterdir()) == []
