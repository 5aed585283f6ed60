"""Real projects, made by rebar3 and mix, fixed by erlcookie, built offline and started.

Each test proves with two independent witnesses that the running node accepts the cookie
it was given in RELEASE_COOKIE and refuses any other (including the cookie it had before
the fix, and for mix the build-time releases/COOKIE): a real OTP 25 `erl` peer whose
cookie sits in a private HOME's 0400 .erlang.cookie, and `erlcookie ping`. The fixed
releases started without RELEASE_COOKIE refuse to start with a clear message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from erlcookie.cli import cli
from erlcookie.cookie.generate import generate
from erlcookie.cookie.value import Cookie
from tests.release import builds
from tests.release.conftest import assert_no_leak, expect_in
from tests.support.nodes import free_port, start_node

pytestmark = [pytest.mark.interop, pytest.mark.timeout(600)]

ERLCOOKIE = Path(sys.executable).parent / "erlcookie"


def fix(path: Path, *args: str):
    return CliRunner().invoke(cli, ["release", "fix", str(path), *args], catch_exceptions=False)


def check(path: Path):
    return CliRunner().invoke(
        cli, ["release", "check", str(path), "--json"], catch_exceptions=False
    )


def erl_peer_ping(cookie: Cookie, node: str, *, long_names: bool = False) -> str:
    """pong or pang, from a real erl node that holds `cookie` in its private HOME."""
    host = node.split("@", 1)[1] if long_names else None
    with start_node(cookie, long_names=long_names, host=host) as peer:
        return text(peer.eval(f"net_adm:ping('{node}')."))


def text(atom) -> str:
    value = getattr(atom, "value", atom)
    return value.decode() if isinstance(value, bytes) else str(value)


def erlcookie_ping(cookie: Cookie, node: str, tmp: Path) -> str:
    """The verdict of `erlcookie ping NODE --cookie-file F` (the file is 0600, not argv)."""
    path = tmp / f"ping-cookie-{os.getpid()}-{len(list(tmp.iterdir()))}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(cookie.reveal())
    proc = subprocess.run(
        [str(ERLCOOKIE), "ping", node, "--cookie-file", str(path), "--json", "--timeout", "10"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "RELEASE_COOKIE"},
    )
    assert_no_leak(proc.stdout + proc.stderr, (cookie.reveal(),))
    return json.loads(proc.stdout)["results"][0]["verdict"]


def wait_accepting(cookie: Cookie, node: str, tmp: Path, started) -> None:
    ok = builds.wait_until(
        lambda: started.proc.poll() is None and erlcookie_ping(cookie, node, tmp) == "accepted",
        timeout=90,
        interval=1,
    )
    log = (started.release / "erlcookie-test-start.log").read_text(errors="replace")
    assert ok, f"{node} never accepted its RELEASE_COOKIE; start log:\n{log[-3000:]}"


def prove_pod_ip_node(cookie: Cookie, name: str, port: int, tmp: Path, started) -> None:
    """The node is NAME@POD_IP (long names), listens on the pinned port, refuses others."""
    node = f"{name}@127.0.0.1"
    wait_accepting(cookie, node, tmp, started)
    with start_node(cookie, long_names=True, host="127.0.0.1") as peer:
        assert text(peer.eval(f"net_adm:ping('{node}').")) == "pong"
        answer = peer.eval(f'erl_epmd:port_please("{name}", "127.0.0.1").')
        assert answer[1] == port, "the node does not listen on the pinned port"
    assert erl_peer_ping(generate(), node, long_names=True) == "pang"


def release_env(home: Path, cookie: Cookie | None, **extra: str) -> dict[str, str]:
    env = builds.tool_env(home, **extra)
    if cookie is not None:
        env["RELEASE_COOKIE"] = cookie.reveal()
    return env


def short_host() -> str:
    import socket

    return socket.gethostname().split(".")[0]


# -- rebar3 / relx ---------------------------------------------------------------------------
def test_rebar3_release_reads_release_cookie_after_fix(tmp_path):
    home = tmp_path / "home"
    name = builds.unique_name("ecrel")
    project = builds.rebar3_project(tmp_path, name, home)
    template_cookie = Cookie(f"{name}_cookie")  # what `rebar3 new release` wrote

    before = check(project)
    assert before.exit_code == 1
    rules = {f["rule"] for f in json.loads(before.stdout)["findings"]}
    assert "release/relx-template-cookie" in rules

    result = fix(project)
    assert_no_leak(result.output, (template_cookie.reveal(),))
    assert result.exit_code == 0, result.output
    assert (project / "config" / "vm.args.src").is_file()
    assert not (project / "config" / "vm.args").exists()
    expect_in(
        "-setcookie ${RELEASE_COOKIE}",
        (project / "config" / "vm.args.src").read_text(),
        "vm.args.src",
    )
    again = fix(project)
    assert again.exit_code == 0 and "nothing to change" in again.stderr
    assert check(project).exit_code == 0

    release = builds.rebar3_release(project, home)
    node = f"{name}@{short_host()}"
    cookie, other = generate(), generate()

    # Without RELEASE_COOKIE: the pre_start hook refuses, for foreground and daemon alike.
    for command in ("foreground", "daemon"):
        refused = builds.attempt_start(release, command, release_env(home, None))
        assert refused.returncode != 0
        assert "RELEASE_COOKIE is not set" in refused.stderr + refused.stdout
    assert f"name {name} " not in builds.epmd_names()

    with builds.running(release, "foreground", release_env(home, cookie)) as started:
        wait_accepting(cookie, node, tmp_path, started)
        assert erl_peer_ping(cookie, node) == "pong"
        assert erl_peer_ping(other, node) == "pang"
        assert erl_peer_ping(template_cookie, node) == "pang"
        assert erlcookie_ping(other, node, tmp_path) == "rejected"
        assert erlcookie_ping(template_cookie, node, tmp_path) == "rejected"
        log = (release / "erlcookie-test-start.log").read_text(errors="replace")
        assert_no_leak(log, (template_cookie.reveal(),))
    assert builds.wait_until(lambda: f"name {name} " not in builds.epmd_names(), timeout=30)


def test_rebar3_pod_ip_names_and_pinned_port(tmp_path):
    home = tmp_path / "home"
    name = builds.unique_name("ecpod")
    project = builds.rebar3_project(tmp_path, name, home)
    port = free_port()
    result = fix(project, "--node-name", "pod-ip", "--dist-port", str(port))
    assert_no_leak(result.output, (f"{name}_cookie",))
    assert result.exit_code == 0, result.output
    vm_args = (project / "config" / "vm.args.src").read_text()
    assert_no_leak(vm_args, (f"{name}_cookie",))
    assert f"-name {name}@${{POD_IP}}" in vm_args and "-sname" not in vm_args
    assert f"-kernel inet_dist_listen_min {port}" in vm_args
    assert (
        fix(project, "--node-name", "pod-ip", "--dist-port", str(port)).stderr.count(
            "nothing to change"
        )
        == 1
    )

    release = builds.rebar3_release(project, home)
    cookie = generate()
    refused = builds.attempt_start(release, "foreground", release_env(home, cookie))
    assert refused.returncode != 0 and "POD_IP is not set" in refused.stderr + refused.stdout

    with builds.running(
        release, "foreground", release_env(home, cookie, POD_IP="127.0.0.1")
    ) as started:
        prove_pod_ip_node(cookie, name, port, tmp_path, started)


# -- mix -------------------------------------------------------------------------------------
def _add_literal_cookie(project: Path, value: str) -> None:
    """Give the generated project the mistake the issue is about: a literal :cookie."""
    mix_exs = project / "mix.exs"
    text = mix_exs.read_text()
    marker = "      deps: deps()\n"
    assert marker in text
    release = (
        f"      deps: deps(),\n      releases: [\n        {project.name}: [\n"
        f"          include_executables_for: [:unix],\n"
        f'          cookie: "{value}"\n        ]\n      ]\n'
    )
    mix_exs.write_text(text.replace(marker, release))


def test_mix_release_reads_release_cookie_after_fix(tmp_path):
    home = tmp_path / "home"
    name = builds.unique_name("ecmix")
    project = builds.mix_project(tmp_path, name, home)
    literal = Cookie(f"{name}_committed_cookie_1")
    _add_literal_cookie(project, literal.reveal())
    before = check(project)
    rules = {f["rule"] for f in json.loads(before.stdout)["findings"]}
    assert {"release/mix-literal-cookie", "release/mix-cookie-fallback"} <= rules

    original = (project / "mix.exs").read_text()
    result = fix(project)
    assert_no_leak(result.output, (literal.reveal(),))
    assert result.exit_code == 0, result.output
    fixed = (project / "mix.exs").read_text()
    assert_no_leak(fixed, (literal.reveal(),))
    # Only the :cookie entry (and its separating comma) went; every other line is as it was.
    removed = [line for line in original.splitlines() if line not in fixed.splitlines()]
    ok = (
        len(removed) == 2
        and removed[1].strip().startswith("cookie:")
        and removed[0].rstrip(",") in fixed
    )
    assert ok, "mix.exs changed more than the :cookie entry and its comma"
    fmt = subprocess.run(
        ["mix", "format", "--check-formatted", "mix.exs"],
        cwd=project,
        env=builds.tool_env(home),
        capture_output=True,
        timeout=120,
    )
    assert fmt.returncode == 0, fmt.stderr
    expect_in(
        "erlcookie:begin release-cookie-guard",
        (project / "rel" / "env.sh.eex").read_text(),
        "env.sh.eex",
    )
    assert fix(project).stderr.count("nothing to change") == 1
    assert check(project).exit_code == 0

    release = builds.mix_release(project, home)
    build_time = (release / "releases" / "COOKIE").read_text().strip()
    node = f"{name}@{short_host()}"
    cookie, other = generate(), generate()

    for command in ("start", "daemon"):
        refused = builds.attempt_start(release, command, release_env(home, None))
        assert refused.returncode != 0
        assert "RELEASE_COOKIE is not set" in refused.stderr
        assert "refusing to " + command in refused.stderr
    assert f"name {name} " not in builds.epmd_names()

    with builds.running(release, "start", release_env(home, cookie)) as started:
        wait_accepting(cookie, node, tmp_path, started)
        assert erl_peer_ping(cookie, node) == "pong"
        assert erl_peer_ping(other, node) == "pang"
        assert erl_peer_ping(literal, node) == "pang"
        assert erl_peer_ping(Cookie(build_time), node) == "pang"
        assert erlcookie_ping(other, node, tmp_path) == "rejected"
        assert erlcookie_ping(Cookie(build_time), node, tmp_path) == "rejected"
        # Commands that talk to the running node work with the same RELEASE_COOKIE...
        rpc = subprocess.run(
            [str(release / "bin" / name), "rpc", "IO.puts(:ok_from_node)"],
            env=release_env(home, cookie),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rpc.returncode == 0 and "ok_from_node" in rpc.stdout, rpc.stderr
        # ...and refuse clearly without it, instead of trying the build-time cookie.
        rpc = subprocess.run(
            [str(release / "bin" / name), "rpc", "IO.puts(:x)"],
            env=release_env(home, None),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rpc.returncode != 0 and "RELEASE_COOKIE is not set" in rpc.stderr
    assert builds.wait_until(lambda: f"name {name} " not in builds.epmd_names(), timeout=30)


def test_mix_pod_ip_names_and_pinned_port(tmp_path):
    home = tmp_path / "home"
    name = builds.unique_name("ecmpod")
    project = builds.mix_project(tmp_path, name, home)
    port = free_port()
    result = fix(project, "--node-name", "pod-ip", "--dist-port", str(port))
    assert result.exit_code == 0, result.output
    env_sh = (project / "rel" / "env.sh.eex").read_text()
    assert f"inet_dist_listen_min {port} inet_dist_listen_max {port}" in env_sh
    # A later run without the flags keeps them (the block remembers), so it changes nothing.
    assert fix(project).stderr.count("nothing to change") == 1

    release = builds.mix_release(project, home)
    cookie = generate()
    refused = builds.attempt_start(release, "start", release_env(home, cookie))
    assert refused.returncode != 0 and "POD_IP is not set" in refused.stderr

    env = release_env(home, cookie, POD_IP="127.0.0.1")
    with builds.running(release, "start", env) as started:
        prove_pod_ip_node(cookie, name, port, tmp_path, started)
        # remote commands are not pinned to the same port (start/daemon only): rpc works.
        rpc = subprocess.run(
            [str(release / "bin" / name), "rpc", "IO.puts(node())"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rpc.returncode == 0 and re.search(rf"{name}@127\.0\.0\.1", rpc.stdout), rpc.stderr


def test_rebar3_profiles_get_the_fix_too(tmp_path):
    """`rebar3 as prod release` uses the profile's own vm.args.src and still runs the guard."""
    import shutil

    from tests.release.conftest import FIXTURES

    home = tmp_path / "home"
    project = tmp_path / "shop"
    shutil.copytree(FIXTURES / "rebar3_commented", project)
    result = fix(project)
    assert_no_leak(result.output, ("dev shop cookie", "Zq7_prodShopCookie_Lw2"))
    assert result.exit_code == 1  # the literal in shop_app.erl is left for a human
    builds.run(["rebar3", "as", "prod", "release"], project, builds.tool_env(home))
    builds.run(["rebar3", "release"], project, builds.tool_env(home))
    for profile, first_line in (("prod", "# Production node"), ("default", "## Name of the node")):
        rel = project / "_build" / profile / "rel" / "shop"
        vm_args = (rel / "releases" / "1.4.2" / "vm.args.src").read_text()
        assert_no_leak(vm_args, ("dev shop cookie", "Zq7_prodShopCookie_Lw2"))
        assert vm_args.startswith(first_line)
        assert "\n-setcookie ${RELEASE_COOKIE}" in vm_args
        assert (rel / "bin" / "hooks" / "erlcookie_require_cookie.sh").is_file()
        assert (
            'PRE_START_HOOKS="hooks/erlcookie_require_cookie.sh"'
            in (rel / "bin" / "shop").read_text()
        )
