"""OTP writes its own ~/.erlang.cookie; audit must call it predictable and prove it."""

import json
import os
import shutil
import subprocess

import pytest

from erlcookie.audit import audit_text
from erlcookie.audit.otp_generator import otp_cookie

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("erl") is None, reason="erl not installed"),
]


def fresh_otp_cookie(home, name, erl=("erl",), chroot=None):
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    subprocess.run(
        [*erl, "-noshell", "-sname", name, "-eval", "halt()."],
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
    )
    path = (chroot + str(home) if chroot else str(home)) + "/.erlang.cookie"
    return open(path).read().strip()


@pytest.mark.parametrize("run", range(5))
def test_fresh_otp25_cookies_are_predictable(tmp_path, run):
    cookie = fresh_otp_cookie(tmp_path, f"audit{run}")
    result = audit_text(cookie)
    assert result.verdict == "predictable"
    assert otp_cookie(result.generator.seed) == cookie, "recovered state does not regenerate it"


def test_cli_reports_predictable_and_revealed_seed_regenerates(tmp_path):
    cookie = fresh_otp_cookie(tmp_path, "auditcli")
    cli = shutil.which("erlcookie") or os.path.join(os.path.dirname(os.sys.executable), "erlcookie")
    env = {**os.environ, "HOME": str(tmp_path)}
    env.pop("RELEASE_COOKIE", None)
    plain = subprocess.run([cli, "audit"], env=env, capture_output=True, text=True, timeout=30)
    assert plain.returncode == 1
    assert "PREDICTABLE" in plain.stdout
    assert cookie not in plain.stdout + plain.stderr, "audit printed the cookie"
    out = subprocess.run(
        [cli, "audit", "--json", "--reveal"], env=env, capture_output=True, text=True, timeout=30
    )
    data = json.loads(out.stdout)
    assert data["verdict"] == "predictable"
    assert otp_cookie(data["predictable"]["seed"]) == cookie, "revealed seed does not regenerate"


OTP27 = os.environ.get("ERLCOOKIE_OTP27_ROOT", "/var/cache/erlcookie/trixie")


@pytest.mark.otp27
@pytest.mark.skipif(
    not os.path.exists(OTP27 + "/usr/bin/erl") and not os.environ.get("ERLCOOKIE_REQUIRE_OTP27"),
    reason="no OTP 27 root (scripts/test builds it)",
)
@pytest.mark.parametrize("run", range(3))
def test_fresh_otp27_cookies_are_predictable(run):
    home = f"/tmp/erlcookie-audit-{os.getpid()}-{run}"
    os.makedirs(OTP27 + home, exist_ok=True)
    try:
        cookie = fresh_otp_cookie(
            home, f"audit27x{run}", erl=("chroot", OTP27, "erl"), chroot=OTP27
        )
        result = audit_text(cookie)
        assert result.verdict == "predictable"
        assert otp_cookie(result.generator.seed) == cookie, "recovered state does not regenerate it"
    finally:
        shutil.rmtree(OTP27 + home, ignore_errors=True)
