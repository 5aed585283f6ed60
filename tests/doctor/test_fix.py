"""`erlcookie doctor --fix` on the issue's project: afterwards every check calls the tree
clean, no cookie is left in a file git would commit, and the Secret it wrote holds the
cookie the cluster runs (by fingerprint)."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.doctor.project import git
from tests.k8s.conftest import assert_hidden, fp
from tests.release.builds import mix_release, rebar3_release

pytestmark = pytest.mark.timeout(300)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def committable_files(root: Path) -> list[Path]:
    """Every file git tracks or would add (not ignored)."""
    out = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [root / p for p in out.split("\0") if p and (root / p).is_file()]


def assert_all_clean(run_cli, root: Path, cookie: str) -> None:
    checks = {
        "release check": ("release", "check", str(root)),
        "k8s inject --check": ("k8s", "inject", str(root / "k8s"), "--check"),
        "scan": ("scan", str(root)),
        "doctor": ("doctor", str(root)),
    }
    for name, args in checks.items():
        result = run_cli(*args)
        assert_hidden(result.stdout + result.stderr, cookie)
        assert result.exit_code == 0, f"{name}: {result.stdout}\n{result.stderr}"


def secret_cookie_fingerprint(path: Path) -> str:
    doc = YAML(typ="safe").load(path.read_text())
    from erlcookie.cookie.value import Cookie

    return Cookie(base64.b64decode(doc["data"]["cookie"]).decode()).fingerprint()


def test_dry_run_writes_nothing_and_a_pipe_needs_yes(project, run_cli):
    root, cookie = project
    before = snapshot(root)
    dry = run_cli("doctor", str(root), "--fix", "--dry-run")
    assert dry.exit_code == 1, dry.stderr
    assert "--- a/mix.exs" in dry.stdout and "+++ b/k8s/deployment.yaml" in dry.stdout
    assert "nothing written" in dry.stderr
    assert_hidden(dry.stdout + dry.stderr, cookie)
    no = run_cli("doctor", str(root), "--fix")  # CliRunner: not a terminal
    assert no.exit_code == 2 and "--yes" in no.stderr
    assert snapshot(root) == before


def test_fix_leaves_a_tree_every_check_calls_clean(project, run_cli):
    root, cookie = project
    literal = fp(cookie)
    result = run_cli("doctor", str(root), "--fix", "--yes")
    assert_hidden(result.stdout + result.stderr, cookie)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "No cookie problems found in the files." in result.stdout
    # the migration goes on: the Secret before any restart, the rollout, then rotate
    out = " ".join(result.stdout.split())
    secret_step = out.index("kubectl apply -n shop -f")
    assert literal in out[secret_step - 120 : secret_step]
    assert (
        secret_step < out.index("roll them out") < out.index("erlcookie rotate -n shop -l app=shop")
    )
    assert_all_clean(run_cli, root, cookie)
    # no cookie in any file git would commit
    for path in committable_files(root):
        assert_hidden(path.read_text(errors="replace"), cookie, where=str(path))
    # the running cookie went into the Secret manifest, in a directory git ignores
    secret = root / ".erlcookie" / "shop.erlang-cookie.secret.yaml"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    check = subprocess.run(["git", "check-ignore", "-q", str(secret)], cwd=root, timeout=30)
    assert check.returncode == 0
    got = secret_cookie_fingerprint(secret)
    assert got == literal
    assert ".erlcookie" not in git(root, "status", "--porcelain")
    # the ConfigMap lost only the cookie key; the Deployment reads both variables
    configmap = YAML(typ="safe").load((root / "k8s" / "configmap.yaml").read_text())
    assert configmap["data"] == {"PHX_HOST": "shop.example.com"}
    deploy = YAML(typ="safe").load((root / "k8s" / "deployment.yaml").read_text())
    env = {e["name"]: e for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    for var in ("RELEASE_COOKIE", "ERLANG_COOKIE"):
        assert env[var]["valueFrom"]["secretKeyRef"] == {"name": "erlang-cookie", "key": "cookie"}
    # the init container's multi-line command is untouched, byte for byte
    assert (
        "- until nslookup shop-headless.shop.svc.cluster.local; do\n              sleep 1; done"
        in (root / "k8s" / "deployment.yaml").read_text()
    )
    # a second run has nothing to do
    again = run_cli("doctor", str(root), "--fix", "--yes")
    assert again.exit_code == 0 and "nothing that doctor --fix can change" in again.stderr


def test_secret_dir_must_be_safe(project, run_cli, tmp_path):
    root, cookie = project
    inside = run_cli("doctor", str(root), "--fix", "--yes", "--secret-dir", str(root / "secrets"))
    assert inside.exit_code == 2 and "git does not ignore it" in inside.stderr
    assert not (root / "secrets").exists()
    outside = tmp_path / "vault"
    outside.mkdir()
    result = run_cli("doctor", str(root), "--fix", "--yes", "--secret-dir", str(outside))
    assert result.exit_code == 0, result.stderr
    literal = fp(cookie)
    assert secret_cookie_fingerprint(outside / "shop.erlang-cookie.secret.yaml") == literal
    assert not (root / ".erlcookie").exists()


def test_outside_git_a_cookie_needs_a_place(project, run_cli):
    root, _ = project
    subprocess.run(["rm", "-rf", str(root / ".git")], check=True, timeout=30)
    result = run_cli("doctor", str(root), "--fix", "--yes")
    assert result.exit_code == 2 and "not in a git work tree" in result.stderr


def test_fix_moves_committed_secret_manifests_and_cookie_files(project, run_cli):
    root, cookie = project
    other = "z" + cookie[1:]
    (root / "k8s" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old-cookie\n  namespace: shop\n"
        f"stringData:\n  cookie: {other}\n"
    )
    (root / "rel").mkdir()
    (root / "rel" / ".erlang.cookie").write_text(other)
    git(root, "add", "-f", "k8s/secret.yaml", "rel/.erlang.cookie")
    git(root, "commit", "-q", "-m", "secrets")
    result = run_cli("doctor", str(root), "--fix", "--yes")
    assert_hidden(result.stdout + result.stderr, cookie, other)
    assert result.exit_code == 0, result.stdout + result.stderr
    moved = root / ".erlcookie" / "moved"
    assert (moved / "k8s" / "secret.yaml").read_text().endswith(f"cookie: {other}\n")
    assert stat.S_IMODE((moved / "rel" / ".erlang.cookie").stat().st_mode) == 0o600
    assert not (root / "k8s" / "secret.yaml").exists()
    assert "deploy the moved Secret manifests" in " ".join(result.stdout.split())
    staged = git(root, "diff", "--cached", "--name-status")
    assert "D\tk8s/secret.yaml" in staged and "D\trel/.erlang.cookie" in staged
    assert_all_clean(run_cli, root, cookie)


@pytest.mark.interop
def test_clean_after_real_mix_and_rebar3_builds(project, template, run_cli):
    root, cookie = project
    _, home, _ = template
    result = run_cli("doctor", str(root), "--fix", "--yes")
    assert result.exit_code == 0, result.stdout + result.stderr
    mix_rel = mix_release(root, home)
    assert (mix_rel / "releases" / "COOKIE").is_file()  # the build-time cookie, in _build
    rebar_rel = rebar3_release(root / "billing", home)
    assert (rebar_rel / "releases").is_dir()
    assert_all_clean(run_cli, root, cookie)
    assert os.path.isdir(root / "_build")


def test_fix_apply_creates_the_secret_in_the_cluster_first(project, run_cli, kube):
    root, cookie = project
    kube.namespaces.add("shop")
    literal = fp(cookie)
    result = run_cli("doctor", str(root), "--fix", "--yes", "--apply")
    assert_hidden(result.stdout + result.stderr, cookie)
    assert result.exit_code == 0, result.stdout + result.stderr
    from erlcookie.k8s.manifests import secret_value

    stored = secret_value(kube.get("Secret", "erlang-cookie", "shop"), "cookie")
    got = stored.cookie.fingerprint()
    assert got == literal
    assert not (root / ".erlcookie").exists()  # nothing to keep on disk
    assert_all_clean(run_cli, root, cookie)


def test_fix_apply_stops_before_any_edit_when_the_secret_differs(project, run_cli, kube):
    root, cookie = project
    kube.namespaces.add("shop")
    import base64 as b64

    kube.add(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "erlang-cookie"},
            "data": {"cookie": b64.b64encode(b"someOtherCookie123").decode()},
        },
        namespace="shop",
    )
    before = snapshot(root)
    result = run_cli("doctor", str(root), "--fix", "--yes", "--apply")
    assert result.exit_code == 3 and "holds another cookie" in result.stderr
    assert snapshot(root) == before


def _on_a_terminal(args: list[str], answer: str, timeout: float = 60.0) -> tuple[int, str]:
    """Run erlcookie on a pseudo-terminal, answer its question, return (exit code, output)."""
    import pty
    import select
    import sys
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "erlcookie", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    out, answered, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not answered and b"Apply these changes?" in out:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=10), out.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)


def test_on_a_terminal_the_diff_comes_first_and_no_writes_nothing(project):
    root, cookie = project
    before = snapshot(root)
    code, out = _on_a_terminal(["doctor", str(root), "--fix"], "n")
    assert_hidden(out, cookie)
    assert code == 1 and "nothing written" in out
    assert out.index("+++ b/k8s/deployment.yaml") < out.index("Apply these changes?")
    assert snapshot(root) == before
    code, out = _on_a_terminal(["doctor", str(root), "--fix"], "y")
    assert_hidden(out, cookie)
    assert code == 0, out
    assert (root / ".erlcookie" / "shop.erlang-cookie.secret.yaml").is_file()


def test_the_migration_guide_adopt_fix_roll_out_then_status(project, run_cli, kube):
    """docs/k8s.md's steps, against the local API server: adopt the running cookie into the
    Secret, fix the tree, roll the edited manifests out; `k8s status` then finds every
    workload and pod reading that Secret (the rotation is tested in tests/rotate)."""
    root, cookie = project
    kube.namespaces.add("shop")
    literal = fp(cookie)
    adopted = run_cli("k8s", "secret", "-n", "shop", "--adopt-from", str(root / "k8s"), "--apply")
    assert adopted.exit_code == 0, adopted.stderr
    assert adopted.stdout.strip() == f"created Secret shop/erlang-cookie key cookie ({literal})"
    fixed = run_cli("doctor", str(root), "--fix", "--yes", "--apply")
    assert_hidden(adopted.stdout + adopted.stderr + fixed.stdout + fixed.stderr, cookie)
    assert fixed.exit_code == 0, fixed.stdout + fixed.stderr
    assert "kept Secret shop/erlang-cookie" in fixed.stderr  # already holds that cookie
    for name in ("configmap.yaml", "deployment.yaml"):  # the rollout: kubectl apply -f k8s/
        kube.add(YAML(typ="safe").load((root / "k8s" / name).read_text()), namespace="shop")
    status = run_cli("k8s", "status", "-n", "shop", "-l", "app=shop")
    assert status.exit_code == 0, status.stdout + status.stderr
    assert literal in status.stdout
