import io
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erlcookie.cookie.resolve import ARGV_WARNING, CookieRequest, otp_default_paths, resolve_cookie
from erlcookie.errors import CookieSourceError, UsageError

cookie_text = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=255
)


def write(path, text, mode=0o400):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


@given(value=cookie_text, newline=st.sampled_from(["", "\n", "\r\n"]))
def test_file_round_trip(tmp_path_factory, value, newline):
    p = write(tmp_path_factory.mktemp("c") / "cookie", value + newline)
    c = resolve_cookie(CookieRequest(file=str(p)), environ={})
    assert c.reveal() == value, "file cookie differs"
    assert c.path == str(p)


@given(value=cookie_text)
def test_stdin_env_and_argv(value):
    assert (
        resolve_cookie(
            CookieRequest(file="-"), environ={}, stdin=io.StringIO(value + "\n")
        ).reveal()
        == value
    )
    from_env = resolve_cookie(CookieRequest(env="MY"), environ={"MY": value})
    assert from_env.reveal() == value and from_env.path is None
    warnings = []
    assert (
        resolve_cookie(CookieRequest(value=value), environ={}, warn=warnings.append).reveal()
        == value
    )
    assert warnings == [ARGV_WARNING]  # a fixed text: it cannot carry the value


def test_default_order_env_then_home_then_xdg(tmp_path):
    home, xdg = tmp_path / "h", tmp_path / "x"
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}
    with pytest.raises(CookieSourceError):
        resolve_cookie(CookieRequest(), environ=env)
    write(xdg / "erlang" / ".erlang.cookie", "XDG")
    assert resolve_cookie(CookieRequest(), environ=env).reveal() == "XDG"
    write(home / ".erlang.cookie", "HOME")
    assert resolve_cookie(CookieRequest(), environ=env).reveal() == "HOME"
    assert (
        resolve_cookie(CookieRequest(), environ={**env, "RELEASE_COOKIE": "ENV"}).reveal() == "ENV"
    )
    assert otp_default_paths(env) == [home / ".erlang.cookie", xdg / "erlang" / ".erlang.cookie"]
    assert str(otp_default_paths({"HOME": "/h"})[1]) == "/h/.config/erlang/.erlang.cookie"


def test_release_cookie(tmp_path):
    write(tmp_path / "rel" / "releases" / "COOKIE", "RELCOOKIE")
    assert (
        resolve_cookie(CookieRequest(release=str(tmp_path / "rel")), environ={}).reveal()
        == "RELCOOKIE"
    )
    with pytest.raises(CookieSourceError, match="no releases/COOKIE"):
        resolve_cookie(CookieRequest(release=str(tmp_path)), environ={})


def test_errors_are_clear_and_secret_free(tmp_path):
    with pytest.raises(UsageError, match="one cookie source"):
        resolve_cookie(CookieRequest(file="a", env="B"), environ={})
    with pytest.raises(CookieSourceError, match="does not exist"):
        resolve_cookie(CookieRequest(file=str(tmp_path / "nope")), environ={})
    write(tmp_path / "empty", "")
    with pytest.raises(CookieSourceError, match="empty"):
        resolve_cookie(CookieRequest(file=str(tmp_path / "empty")), environ={})
    big = tmp_path / "big"
    big.write_bytes(b"A" * 70000)
    with pytest.raises(CookieSourceError, match="64 KiB"):
        resolve_cookie(CookieRequest(file=str(big)), environ={})
    with pytest.raises(CookieSourceError, match="not set"):
        resolve_cookie(CookieRequest(env="UNSET_VAR_X"), environ={})
    with pytest.raises(CookieSourceError, match="directory"):
        resolve_cookie(CookieRequest(file=str(tmp_path)), environ={})
