"""`erlcookie rotate` options, output and exit codes (usage errors in-process, the rest
against small real clusters)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from erlcookie.cli import cli
from erlcookie.cookie.generate import generate
from erlcookie.cookie.value import Cookie
from tests.support.rotate_cluster import LocalCluster, assert_no_cookie, read_cookie, write_cookie


def invoke(*args, env=None):
    return CliRunner().invoke(cli, ["rotate", *args], env=env, catch_exceptions=False)


def private(path, text):
    return str(write_cookie(path, text))


@pytest.fixture
def old_file(tmp_path):
    return private(tmp_path / "old", generate("elixir").reveal())


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "which nodes?"),
        (["--nodes", "a@h"], "where do new nodes read the cookie?"),
        (["--nodes", "a@h", "--persist-file", "x", "--no-persist"], "give one place"),
        (["--nodes", "a@h", "--no-persist", "--restart"], "add -l SELECTOR"),
        (["--nodes", "a@h", "--no-persist", "--dist-port", "9"], "--node-host NODE=ADDR:PORT"),
        (["--nodes", "a@h", "--no-persist", "--node-host", "a@h"], "NODE=ADDRESS"),
        (["--nodes", "bare", "--no-persist"], "no host part"),
        (["--epmd-match", "x*", "--nodes", "a@h", "--no-persist"], "give --epmd-host too"),
        (["--resume", "--rollback"], "exclude each other"),
        (["--resume", "--dry-run"], "--dry-run plans a new rotation"),
        (["--nodes", "a@h", "--no-persist", "--crash-at", "nowhere"], "--crash-at"),
        (["--nodes", "a@h", "--no-persist", "--secret-key", "k"], "go with --secret"),
    ],
)
def test_usage_errors_exit_2(tmp_path, old_file, args, message):
    result = invoke(*args, "--cookie-file", old_file, "--journal", str(tmp_path / "j.json"))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_weak_new_cookie_is_refused_without_showing_it(tmp_path, old_file):
    weak = private(tmp_path / "weak", "secretcookie")
    result = invoke(
        "--nodes",
        "a@h",
        "--no-persist",
        "--cookie-file",
        old_file,
        "--new-cookie-file",
        weak,
        "--journal",
        str(tmp_path / "j.json"),
    )
    assert result.exit_code == 2
    assert "fails the audit" in result.output and "fp1:" in result.output
    assert_no_cookie(result.output, Cookie("secretcookie"))
    assert not (tmp_path / "j.json").exists()


def test_same_cookie_twice_is_refused(tmp_path, old_file):
    result = invoke(
        "--nodes",
        "a@h",
        "--no-persist",
        "--cookie-file",
        old_file,
        "--new-cookie-file",
        old_file,
        "--journal",
        str(tmp_path / "j.json"),
    )
    assert result.exit_code == 2 and "the new cookie is the old one" in result.output


def test_resume_without_journal(tmp_path):
    result = invoke("--resume", "--journal", str(tmp_path / "none.json"))
    assert result.exit_code == 2 and "no rotation journal" in result.output


def test_cli_module_imports_nothing_heavy():
    code = (
        "import sys, erlcookie.cli.rotate; "
        "print(sorted(m for m in ('rich', 'kubernetes', 'erlang', 'asyncio', 'ruamel', "
        "'cryptography', 'erlcookie.rotate.engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def run_cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "erlcookie", "rotate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "ERLCOOKIE_ROTATE_CRASH_AT"},
    )


@pytest.mark.interop
@pytest.mark.timeout(180)
def test_dry_run_json_and_plain_then_a_real_rotation(tmp_path):
    old = generate("elixir")
    with LocalCluster(old, 3) as cluster:
        old_file = private(tmp_path / "old", old.reveal())
        store = tmp_path / "store"
        journal = tmp_path / "j.json"
        args = [
            "--nodes",
            cluster.names[0],
            "--cookie-file",
            old_file,
            "--persist-file",
            str(store),
            "--journal",
            str(journal),
            "--converge-settle",
            "0",
        ]
        dry = run_cli(*args, "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        lines = [json.loads(line) for line in dry.stdout.splitlines()]
        assert {e["event"] for e in lines} >= {"cookies", "phase", "plan"}
        plan = [e for e in lines if e["event"] == "plan"][0]
        assert plan["members"] == cluster.names and plan["pairs"] == 3 and plan["pins"] == 6
        assert not journal.exists() and not store.exists()
        plain = run_cli(*args, "--dry-run")
        assert plain.returncode == 0
        assert (
            "dry run: nothing was changed" in plain.stdout and "5. unpin: 3 pair(s)" in plain.stdout
        )

        done = run_cli(*args)  # the new cookie is generated and lands only in the store
        assert done.returncode == 0, done.stderr
        assert "done: 3 node(s) run the new cookie fp1:" in done.stdout
        assert stat.S_IMODE(store.stat().st_mode) == 0o400
        new = Cookie(store.read_text())
        for proc in (dry, plain, done):
            assert_no_cookie(proc.stdout + proc.stderr, old, new)
        views = cluster.views({"old": old, "new": new})
        assert {v[0] for v in views.values()} == {"new"}
        # the journal is kept (fingerprints only), the secrets file is gone
        data = json.loads(journal.read_text())
        assert data["status"] == "done" and data["fingerprints"]["new"] == new.fingerprint()
        assert not journal.with_name("j.json.secrets").exists()
        # preflight against the old cookie now fails on every node: nothing changes
        again = run_cli(*args)
        assert again.returncode == 1, again.stderr
        assert "nothing was changed" in again.stderr


@pytest.mark.interop
@pytest.mark.timeout(180)
def test_persist_command_and_unreachable_exit_code(tmp_path):
    old, new = generate("elixir"), generate("elixir")
    with LocalCluster(old, 2) as cluster:
        old_file = private(tmp_path / "old", old.reveal())
        new_file = private(tmp_path / "new", new.reveal())
        sink = tmp_path / "hook-got"
        base = [
            "--cookie-file",
            old_file,
            "--new-cookie-file",
            new_file,
            "--journal",
            str(tmp_path / "j.json"),
            "--converge-settle",
            "0",
        ]
        unreachable = run_cli(
            "--nodes",
            cluster.names[0] + ",ghost@127.0.0.1",
            "--node-host",
            "ghost@127.0.0.1=127.0.0.1:1",
            "--timeout",
            "2",
            "--persist-command",
            f"cat > {sink}",
            *base,
        )
        assert unreachable.returncode == 3, unreachable.stderr
        assert "ghost@127.0.0.1" in unreachable.stderr and not sink.exists()
        ok = run_cli(
            "--nodes", cluster.names[0], "--persist-command", f"umask 077; cat > {sink}", *base
        )
        assert ok.returncode == 0, ok.stderr
        assert read_cookie(sink) == new, "the hook got another cookie"


def test_terminal_renderer_shows_phases_and_nodes(monkeypatch, capsys):
    """On a terminal: a rich progress display per phase, advanced per node (smoke test
    with the events of a real run's shape; rich writes to the captured stderr)."""
    import io

    from erlcookie.cli import rotate as cli_rotate

    fake_err = io.StringIO()
    fake_err.isatty = lambda: True
    monkeypatch.setattr(sys, "stderr", fake_err)
    renderer = cli_rotate.Renderer(as_json=False)
    assert renderer._progress is not None
    renderer(event="cookies", ts=1.0, old="fp1:aa", new="fp1:bb", old_source="f", new_source="g")
    renderer(event="phase", ts=1.0, phase="switch", status="start", members=2, direction="forward")
    for node in ("a@h", "b@h"):
        renderer(
            event="node",
            ts=1.0,
            phase="switch",
            node=node,
            action="switch",
            result="ok",
            detail="1 pin(s)",
            direction="forward",
        )
    renderer(
        event="node",
        ts=1.0,
        phase="switch",
        node="c@h",
        action="switch",
        result="failed",
        detail="gone",
        direction="forward",
    )
    renderer(event="phase", ts=1.1, phase="switch", status="done", switched=2, direction="forward")
    task = renderer._progress.tasks[0]
    assert task.description == "switch" and task.completed == task.total == 2
    renderer.close()
    assert renderer.failures and renderer.failures[0]["node"] == "c@h"
    assert "fp1:aa" in fake_err.getvalue() and "c@h: switch failed: gone" in fake_err.getvalue()


def test_preflight_problems_name_their_source(capsys):
    """A store or restart problem is labelled as such (it used to read "store:" for every
    problem without a node, an RBAC problem of the restart target included)."""
    from erlcookie.cli import rotate as cli_rotate

    renderer = cli_rotate.Renderer(as_json=False)
    renderer(
        event="phase",
        ts=1.0,
        phase="preflight",
        status="failed",
        problems=[
            {
                "node": None,
                "source": "restart",
                "verdict": "error",
                "detail": "missing permission in namespace 'chat': patch statefulsets.apps 'chat'",
            },
            {"node": "a@h", "verdict": "rejected", "detail": "refuses the old cookie"},
        ],
    )
    out = capsys.readouterr().out
    assert "  restart: error: missing permission in namespace 'chat'" in out
    assert "  a@h: rejected: refuses the old cookie" in out and "store" not in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--persist-owner", "rabbitmq"], "goes with --persist-file"),
        (["--persist-file", "/x/c", "--persist-owner", "no-such-user-here"], "no user"),
        (["--persist-file", "/x/c", "--persist-owner", "root:no-such-group-here"], "no group"),
    ],
)
def test_persist_owner_usage_errors(tmp_path, old_file, args, message):
    base = ["--nodes", "a@h", "--cookie-file", old_file, "--journal", str(tmp_path / "j.json")]
    if "--persist-file" not in args:
        base.append("--no-persist")
    result = invoke(*base, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_persist_owner_is_resolved_into_the_settings():
    from erlcookie.cli.rotate import parse_owner

    assert parse_owner("root") == (0, 0) and parse_owner("0:65534") == (0, 65534)
    assert parse_owner("65534:65534") == (65534, 65534)


def journal_of(tmp_path, cookies):
    from erlcookie.rotate.journal import Journal
    from erlcookie.rotate.plan import NEW, OLD, ClusterModel
    from erlcookie.rotate.settings import CommandStore, DiscoverySettings, RotateSettings

    model = ClusterModel.uniform(["a@127.0.0.1"], OLD)
    settings = RotateSettings(
        discovery=DiscoverySettings(nodes=("a@127.0.0.1",)),
        persist=CommandStore(f"touch {tmp_path / 'ran'}"),
    )
    journal = Journal.create(
        tmp_path / "j.json",
        old_fingerprint=cookies[OLD].fingerprint(),
        new_fingerprint=cookies[NEW].fingerprint(),
        members=model.members,
        model=model,
        settings=settings,
        secrets_file=None,
    )
    journal.save()
    return journal


@pytest.mark.parametrize("action", ["--resume", "--rollback"])
def test_resume_refuses_a_journal_of_another_user(tmp_path, cookies, action):
    """The journal's persist command would run as us with the new cookie on its stdin."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make another user's file")
    journal = journal_of(tmp_path, cookies)
    os.chown(journal.path, 65534, 65534)
    result = invoke(action, "--journal", str(journal.path))
    assert result.exit_code == 2, result.output
    assert "refusing to trust it" in result.output
    assert not (tmp_path / "ran").exists()


def test_a_symlinked_lock_file_is_refused(tmp_path, cookies):
    journal = journal_of(tmp_path, cookies)
    (tmp_path / "j.json.lock").symlink_to(tmp_path / "elsewhere")
    result = invoke("--resume", "--journal", str(journal.path))
    assert result.exit_code == 2 and "is a symlink" in result.output
    assert not (tmp_path / "elsewhere").exists()


def invoke_as(uid: int, *args) -> tuple[int, str]:
    """`erlcookie rotate ARGS` in a forked child that runs as `uid` (exit code, output).
    Forked rather than executed: the interpreter itself may not be readable by that user."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(read_end)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            result = CliRunner().invoke(cli, ["rotate", *args], catch_exceptions=True)
            text = result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                import traceback

                text += "".join(traceback.format_exception(result.exception))
            os.write(write_end, json.dumps([result.exit_code, text]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    exit_code, output = json.loads(data)
    return exit_code, output


def test_unreadable_journal_is_a_clear_error_without_traceback(tmp_path, cookies):
    """A user who cannot read the journal (or make its lock) gets a message and exit 3."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the command as another user")
    os.chmod(tmp_path, 0o755)
    private_dir = tmp_path / "private"
    private_dir.mkdir(mode=0o700)
    journal_of(private_dir, cookies)
    code, output = invoke_as(65534, "--resume", "--journal", str(private_dir / "j.json"))
    assert code == 3, output
    assert "Traceback" not in output and "Permission denied" in output
    assert output.startswith("erlcookie: error: ")
    # readable directory, unreadable journal (ours, but another user runs the command)
    os.chmod(private_dir, 0o755)
    code, output = invoke_as(65534, "--resume", "--journal", str(private_dir / "j.json"))
    assert code in (2, 3) and "Traceback" not in output, output
    assert output.startswith("erlcookie: error: ")


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a container's init)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.interop
@pytest.mark.timeout(180)
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_during_persist_stops_the_persist_command_then_rollback(tmp_path, signame):
    """Ctrl-C (a real SIGINT to the real process; SIGTERM alike) while the persist command
    runs: erlcookie ends the command and what it started before exiting (it must not write
    the new cookie after we are gone, racing a --rollback), exits 3 and says how to go on."""
    import signal
    import time

    old, new = generate("elixir"), generate("elixir")
    with LocalCluster(old, 2) as cluster:
        old_file = private(tmp_path / "old", old.reveal())
        new_file = private(tmp_path / "new", new.reveal())
        store = write_cookie(tmp_path / "store", old, mode=0o600)
        started, pidfile = tmp_path / "started", tmp_path / "pid"
        # the hook: takes the cookie, then writes it only 3 s later (a slow remote store),
        # from a background job that ignores SIGTERM
        hook = (
            f"umask 077; cat > {tmp_path / 'got'}; (trap '' TERM; sleep 3; "
            f"cp {tmp_path / 'got'} {store}) & echo $! > {pidfile}; touch {started}; wait"
        )
        journal = tmp_path / "j.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "erlcookie",
                "rotate",
                "--nodes",
                cluster.names[0],
                "--cookie-file",
                old_file,
                "--new-cookie-file",
                new_file,
                "--persist-command",
                hook,
                "--journal",
                str(journal),
                "--converge-settle",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.02)
            assert started.exists(), proc.communicate(timeout=30)
            proc.send_signal(getattr(signal, signame))
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        exited = time.monotonic()
        assert proc.returncode == 3, err
        assert "interrupted" in err and "--resume" in err and "Traceback" not in err
        assert_no_cookie(out + err, old, new)
        assert not running(int(pidfile.read_text())), "the persist command outlived erlcookie"
        time.sleep(max(0.0, exited + 3.5 - time.monotonic()))
        assert read_cookie(store) == old, "the persist command wrote after erlcookie exited"
        rollback = run_cli("--rollback", "--journal", str(journal))
        assert rollback.returncode == 0, rollback.stderr
        views = cluster.views({"old": old, "new": new})
        assert {v[0] for v in views.values()} == {"old"}


@pytest.mark.interop
@pytest.mark.timeout(180)
def test_journal_unwritable_mid_rotation_exit_3_then_resume(tmp_path):
    """The journal's directory stops being writable during the persist step (the hook swaps
    it for a file): exit 3 with guidance and no traceback; once it is back, --resume
    finishes the rotation."""
    old, new = generate("elixir"), generate("elixir")
    with LocalCluster(old, 2) as cluster:
        old_file = private(tmp_path / "old", old.reveal())
        new_file = private(tmp_path / "new", new.reveal())
        sink = tmp_path / "got"
        state = tmp_path / "state"
        once = tmp_path / "swapped"
        hook = (
            f"umask 077; cat > {sink}; if [ ! -e {once} ]; then touch {once}; "
            f"mv {state} {tmp_path / 'away'}; echo not-a-directory > {state}; fi"
        )
        first = run_cli(
            "--nodes",
            cluster.names[0],
            "--cookie-file",
            old_file,
            "--new-cookie-file",
            new_file,
            "--persist-command",
            hook,
            "--journal",
            str(state / "j.json"),
            "--converge-settle",
            "0",
        )
        assert first.returncode == 3, first.stderr
        assert "cannot save the rotation journal" in first.stderr
        assert "--resume" in first.stderr and "Traceback" not in first.stderr
        assert_no_cookie(first.stdout + first.stderr, old, new)
        state.unlink()
        (tmp_path / "away").rename(state)
        resumed = run_cli("--resume", "--journal", str(state / "j.json"))
        assert resumed.returncode == 0, resumed.stderr
        assert read_cookie(sink) == new
        views = cluster.views({"old": old, "new": new})
        assert {v[0] for v in views.values()} == {"new"}


@pytest.mark.interop
@pytest.mark.timeout(180)
def test_persist_file_of_the_service_user_keeps_its_owner(tmp_path):
    """Debian's layout: /var/lib/rabbitmq/.erlang.cookie belongs to rabbitmq, 0400. Run as
    root, rotate replaces it and it still belongs to rabbitmq (here uid 65534); a missing
    file in that user's directory is refused in preflight until --persist-owner says whose."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make another user's file")
    old, new = generate("elixir"), generate("elixir")
    with LocalCluster(old, 2) as cluster:
        home = tmp_path / "rabbitmq"
        home.mkdir(mode=0o755)
        os.chown(home, 65534, 65534)
        old_file = private(tmp_path / "old", old.reveal())
        new_file = private(tmp_path / "new", new.reveal())
        base = [
            "--nodes",
            cluster.names[0],
            "--cookie-file",
            old_file,
            "--new-cookie-file",
            new_file,
            "--journal",
            str(tmp_path / "j.json"),
            "--converge-settle",
            "0",
        ]
        cookie_file = home / ".erlang.cookie"
        refused = run_cli(*base, "--persist-file", str(cookie_file))
        assert refused.returncode == 2, refused.stderr
        assert "--persist-owner" in refused.stderr and "nothing was changed" in refused.stderr
        assert not cookie_file.exists()
        write_cookie(cookie_file, old, mode=0o400)
        os.chown(cookie_file, 65534, 65534)
        done = run_cli(*base, "--persist-file", str(cookie_file))
        assert done.returncode == 0, done.stderr
        st = cookie_file.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o400)
        assert read_cookie(cookie_file) == new
        assert_no_cookie(done.stdout + done.stderr, old, new)


@pytest.mark.interop
@pytest.mark.timeout(180)
def test_failing_persist_command_echoing_the_cookie_leaks_it_nowhere(tmp_path):
    """The hook prints the new cookie (raw, base64, hex) and fails: the automatic rollback's
    error, the --json events and the journal show `<redacted>`, never a piece of it."""
    import base64

    old, new = generate("elixir"), generate("elixir")
    with LocalCluster(old, 2) as cluster:
        old_file = private(tmp_path / "old", old.reveal())
        new_file = private(tmp_path / "new", new.reveal())
        journal = tmp_path / "j.json"
        hook = (
            'read c; printf \'%s\\n\' "$c" >&2; printf %s "$c" | base64 -w0 >&2; '
            "printf %s \"$c\" | od -An -tx1 | tr -d ' \\n' >&2; printf '%0250d' 0 >&2; exit 5"
        )
        proc = run_cli(
            "--nodes",
            cluster.names[0],
            "--cookie-file",
            old_file,
            "--new-cookie-file",
            new_file,
            "--persist-command",
            hook,
            "--journal",
            str(journal),
            "--converge-settle",
            "0",
            "--json",
        )
        assert proc.returncode == 3, proc.stderr
        everything = proc.stdout + proc.stderr + journal.read_text()
        assert "exited with 5" in everything and "<redacted>" in everything
        value = new.as_bytes()
        for form in (value, base64.b64encode(value), value.hex().encode()):
            for i in range(len(form) - 8):
                assert form[i : i + 8].decode() not in everything, (
                    f"a piece of the new cookie {new.fingerprint()} leaked"
                )
        assert_no_cookie(everything, old, new)


def test_the_text_renderer_escapes_what_nodes_report(capsys):
    """Node names and details come from the cluster: no control sequence reaches the terminal
    and no newline forges a line."""
    from erlcookie.cli.rotate import Renderer

    renderer = Renderer(False)
    renderer(
        event="node",
        phase="converge",
        node="evil\x1b]0;pwned\x07@h\nFORGED",
        action="newcomer",
        result="ok",
        detail="[link=https://example.invalid]x[/link]",
    )
    renderer.close()
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert out.count("\n") == 1 and "\\nFORGED" in out
