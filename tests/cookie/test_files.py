import os
import stat

import pytest

from erlcookie.cookie.files import atomic_write, write_text_preserving_mode
from erlcookie.errors import UsageError


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
