"""`--staged` and `--history` against real git repositories built by the tests."""

from __future__ import annotations

import json

import pytest

from erlcookie.errors import OperationalError
from erlcookie.git import GitRepo
from erlcookie.scan.engine import ScanOptions, scan_history, scan_staged
from tests.scan.conftest import commit_all, fresh_cookie, git

pytestmark = pytest.mark.timeout(120)


def test_history_finds_a_cookie_committed_then_deleted(repo, run_scan):
    c = fresh_cookie()
    (repo / "README.md").write_text("# app\n")
    first = commit_all(repo, "initial")
    (repo / "rel").mkdir()
    (repo / "rel" / "vm.args").write_text(f"-name app@127.0.0.1\n-setcookie {c}\n")
    leaked = commit_all(repo, "add vm.args")
    (repo / "rel" / "vm.args").write_text("-name app@127.0.0.1\n-setcookie ${RELEASE_COOKIE}\n")
    commit_all(repo, "read the cookie from the environment")
    (repo / "rel" / "vm.args").unlink()
    commit_all(repo, "remove vm.args")
    (repo / "docs.md").write_text("nothing\n")
    commit_all(repo, "docs")

    # the working tree is clean: a plain scan finds nothing
    assert run_scan([str(repo)], cwd=repo).exit_code == 0

    result = run_scan(["--history", "--json"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "history" and data["summary"]["findings"] == 1
    (finding,) = data["findings"]
    assert finding["rule"] == "EC001" and finding["path"] == "rel/vm.args" and finding["line"] == 2
    assert finding["in_head"] is False
    assert [c["commit"] for c in finding["commits"]] == [leaked]
    assert finding["commits"][0]["path"] == "rel/vm.args"
    assert first not in [c["commit"] for c in finding["commits"]]
    assert data["commits_walked"] == 5
    text = run_scan(["--history"], cwd=repo)
    assert text.exit_code == 1 and leaked[:10] in text.stdout and "no longer in HEAD" in text.stdout


def test_history_maps_every_path_and_commit_and_reads_each_blob_once(repo):
    c = fresh_cookie()
    payload = f"export RELEASE_COOKIE={c}\n"
    (repo / "a.sh").write_text(payload)
    one = commit_all(repo, "a")
    (repo / "b.sh").write_text(payload)  # same blob at a second path
    two = commit_all(repo, "b")
    for i in range(5):  # unrelated churn
        (repo / "notes.txt").write_text(f"note {i}\n")
        commit_all(repo, f"note {i}")
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "c.sh").write_text(payload)
    three = commit_all(repo, "c on a side branch")
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", "a.sh")
    commit_all(repo, "drop a.sh")

    report = scan_history(GitRepo(str(repo)), ScanOptions())
    by_path = {f.path: f for f in report.findings}
    assert set(by_path) == {"a.sh", "b.sh", "c.sh"}
    assert [r.sha for r in by_path["a.sh"].commits] == [one]
    assert [r.sha for r in by_path["b.sh"].commits] == [two]
    assert [r.sha for r in by_path["c.sh"].commits] == [three]  # only on a non-HEAD branch
    assert by_path["a.sh"].in_head is False and by_path["b.sh"].in_head is True
    assert by_path["c.sh"].in_head is False
    assert len({f.fingerprint for f in report.findings}) == 1
    # blobs: the cookie payload once, notes.txt x5 (each note differs): 6 blobs in all
    assert report.files_scanned == 6
    assert len({f.blob for f in report.findings}) == 1


def test_history_folds_versions_of_one_file(repo):
    c = fresh_cookie()
    lines = [f"export RELEASE_COOKIE={c}"]
    commits = []
    for i in range(4):
        lines.insert(0, f"# revision {i}")  # the cookie line moves down every commit
        (repo / "env.sh").write_text("\n".join(lines) + "\n")
        commits.append(commit_all(repo, f"rev {i}"))
    report = scan_history(GitRepo(str(repo)), ScanOptions())
    assert len(report.findings) == 1
    (f,) = report.findings
    assert [r.sha for r in f.commits] == commits and f.in_head is True
    # the line is the one in the commit the finding names (the oldest), and every commit
    # carries its own version's line
    assert f.line == 2
    assert [r.line for r in f.commits] == [2, 3, 4, 5]


def test_history_line_is_the_line_in_the_named_commit(repo):
    """The cookie sits on line 3 when committed; later commits push it to line 40. Text, JSON
    and SARIF name the first commit with line 3; JSON lists each commit's own line."""
    c = fresh_cookie()
    (repo / "rel").mkdir()
    (repo / "rel" / "vm.args").write_text(f"-name a@127.0.0.1\n+K true\n-setcookie {c}\n")
    first = commit_all(repo, "add vm.args")
    padding = "".join(f"## note {i}\n" for i in range(37))
    (repo / "rel" / "vm.args").write_text(padding + f"-name a@127.0.0.1\n+K true\n-setcookie {c}\n")
    second = commit_all(repo, "document it")
    (f,) = scan_history(GitRepo(str(repo)), ScanOptions()).findings
    assert [r.sha for r in f.commits] == [first, second]
    assert (f.line, f.commits[0].line, f.commits[1].line) == (3, 3, 40)
    shown = git(repo, "show", f"{first}:rel/vm.args").splitlines()[f.line - 1]
    assert shown.startswith("-setcookie"), "the line does not hold the cookie in that commit"
    data = f.to_dict()
    assert data["line"] == 3 and [r["line"] for r in data["commits"]] == [3, 40]
    assert c not in json.dumps(data)


def test_history_skips_large_blobs_and_honours_excludes(repo):
    (repo / "big.txt").write_text("RELEASE_COOKIE=" + fresh_cookie() + "\n" + "x" * 5000)
    (repo / "vendor").mkdir()
    (repo / "vendor" / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    commit_all(repo, "stuff")
    report = scan_history(GitRepo(str(repo)), ScanOptions(excludes=["vendor"], max_size=1000))
    assert report.findings == []
    assert [(s.path, s.reason) for s in report.skipped] == [("big.txt", "too-large")]


def test_history_of_an_empty_repository(repo, run_scan):
    result = run_scan(["--history"], cwd=repo)
    assert result.exit_code == 0 and "No leaked cookies" in result.stdout


def test_staged_scans_only_the_index(repo, run_scan):
    old = fresh_cookie()
    (repo / "old.sh").write_text(f"export RELEASE_COOKIE={old}\n")  # committed before
    commit_all(repo, "old")
    c = fresh_cookie()
    (repo / "k8s").mkdir()
    (repo / "k8s" / "secret.yaml").write_text(f"kind: Secret\nstringData:\n  cookie: {c}\n")
    (repo / "untracked.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    git(repo, "add", "k8s/secret.yaml")
    result = run_scan(["--staged", "--json"], cwd=repo)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(f["rule"], f["path"]) for f in data["findings"]] == [("EC010", "k8s/secret.yaml")]
    assert data["findings"][0]["blob"]

    # the index, not the working tree: fixing the file without `git add` still fails
    (repo / "k8s" / "secret.yaml").write_text("kind: Secret\nstringData:\n  cookie: ${C}\n")
    assert run_scan(["--staged"], cwd=repo).exit_code == 1
    git(repo, "add", "k8s/secret.yaml")
    assert run_scan(["--staged"], cwd=repo).exit_code == 0
    # a staged deletion of a leaking file is not a finding
    git(repo, "rm", "-q", "old.sh")
    assert run_scan(["--staged"], cwd=repo).exit_code == 0


def test_staged_in_a_repository_without_commits(repo, run_scan):
    (repo / ".erlang.cookie").write_text(fresh_cookie())
    git(repo, "add", ".erlang.cookie")
    result = run_scan(["--staged"], cwd=repo)
    assert result.exit_code == 1 and "EC002" in result.stdout


def test_staged_from_a_subdirectory_reports_repo_relative_paths(repo, run_scan):
    (repo / "deploy").mkdir()
    (repo / "deploy" / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    git(repo, "add", "-A")
    result = run_scan(["--staged", "--json"], cwd=repo / "deploy")
    data = json.loads(result.stdout)
    assert [f["path"] for f in data["findings"]] == ["deploy/env.sh"]
    assert data["root"] == str(repo)


def test_not_a_repository_is_an_operational_error(tmp_path, run_scan):
    with pytest.raises(OperationalError):
        GitRepo(str(tmp_path))
    for flag in ("--staged", "--history"):
        result = run_scan([flag], cwd=tmp_path)
        assert result.exit_code == 3 and "git" in result.stderr


def test_staged_ignores_submodules_and_symlinks(repo, run_scan):
    target = repo / "real.sh"
    target.write_text("echo hi\n")
    (repo / "link.sh").symlink_to("real.sh")
    git(repo, "add", "-A")
    assert scan_staged(GitRepo(str(repo)), ScanOptions()).files_scanned == 1


def _object_file(repo, oid):
    return repo / ".git" / "objects" / oid[:2] / oid[2:]


def _broken_history(repo):
    """A cookie in history, and an innocent file whose blob we damage."""
    (repo / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    (repo / "notes.txt").write_text("nothing to see\n")
    commit_all(repo, "one")
    return git(repo, "rev-parse", "HEAD:notes.txt").strip()


@pytest.mark.parametrize("damage", ["deleted", "corrupt"])
def test_history_on_a_broken_repository_is_exit_3_naming_the_object(repo, run_scan, damage):
    oid = _broken_history(repo)
    path = _object_file(repo, oid)
    if damage == "deleted":
        path.unlink()
    else:
        path.chmod(0o644)
        path.write_bytes(b"not zlib at all")
    for args in (["--history"], ["--history", "--format", "json"]):
        result = run_scan(args, cwd=repo)
        assert result.exit_code == 3, (damage, result.output)
        assert oid in result.stderr and "No leaked cookies" not in result.output
        assert result.stdout == ""


def test_history_on_a_partial_clone_refuses_promisor_objects(tmp_path, run_scan):
    """Blobs a --filter=blob:none clone never fetched are neither skipped nor fetched."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q")
    git(origin, "config", "uploadpack.allowFilter", "true")
    (origin / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    commit_all(origin, "leak")
    old = git(origin, "rev-parse", "HEAD:env.sh").strip()
    git(origin, "rm", "-q", "env.sh")
    (origin / "README").write_text("clean now\n")
    commit_all(origin, "clean")
    git(tmp_path, "clone", "-q", "--filter=blob:none", origin.as_uri(), "partial")
    result = run_scan(["--history"], cwd=tmp_path / "partial")
    assert result.exit_code == 3, result.output
    assert old in result.stderr


def test_staged_blob_missing_is_exit_3(repo, run_scan):
    (repo / "env.sh").write_text(f"export RELEASE_COOKIE={fresh_cookie()}\n")
    git(repo, "add", "env.sh")
    oid = git(repo, "rev-parse", ":env.sh").strip()
    _object_file(repo, oid).unlink()
    result = run_scan(["--staged"], cwd=repo)
    assert result.exit_code == 3 and oid in result.stderr, result.output


# -- trees inside a work tree: build output, .gitignore, tracked/untracked/ignored ------------
def _tree_findings(run_scan, cwd, *args):
    result = run_scan(["--format", "json", *args], cwd=cwd)
    return result, {f["path"]: f for f in json.loads(result.stdout)["findings"]}


def test_tree_skips_build_output_and_ignored_files_by_default(repo, run_scan):
    c = fresh_cookie()
    (repo / "_build/prod/rel/app/releases").mkdir(parents=True)
    (repo / "_build/prod/rel/app/releases/COOKIE").write_text(c)
    (repo / "deps/lib").mkdir(parents=True)
    (repo / "deps/lib/env.sh").write_text(f"export RELEASE_COOKIE={c}\n")
    (repo / "private").mkdir()
    (repo / "private/vm.args").write_text(f"-setcookie {c}\n")
    (repo / ".gitignore").write_text("private/\n*.local\n")
    (repo / "cookie.local").write_text(f"RELEASE_COOKIE={c}\n")
    result, found = _tree_findings(run_scan, repo)
    assert result.exit_code == 0 and found == {}, found
    result, found = _tree_findings(run_scan, repo, "--include-build-output", "--include-ignored")
    assert result.exit_code == 1
    assert set(found) == {
        "_build/prod/rel/app/releases/COOKIE",
        "deps/lib/env.sh",
        "private/vm.args",
        "cookie.local",
    }
    assert found["private/vm.args"]["git"] == "ignored"
    assert "Not committed: git ignores the file." in found["private/vm.args"]["message"]
    assert c not in result.stdout
    # an ignored directory named on the command line is read, and its files are "ignored"
    result, found = _tree_findings(run_scan, repo, "private")
    assert {p: f["git"] for p, f in found.items()} == {"private/vm.args": "ignored"}


def test_tree_findings_say_tracked_untracked_or_ignored(repo, run_scan):
    c = fresh_cookie()
    (repo / "vm.args").write_text(f"-setcookie {c}\n")
    git(repo, "add", "vm.args")
    (repo / ".erlang.cookie").write_text(c)
    (repo / ".gitignore").write_text("secret.env\n")
    (repo / "secret.env").write_text(f"RELEASE_COOKIE={c}\n")
    result, found = _tree_findings(run_scan, repo, "--include-ignored")
    assert {p: f["git"] for p, f in found.items()} == {
        "vm.args": "tracked",
        ".erlang.cookie": "untracked",
        "secret.env": "ignored",
    }
    assert "untracked" in found[".erlang.cookie"]["message"]
    text = run_scan([], cwd=repo)
    assert "GIT" in text.stdout and "untracked" in text.stdout and "doctor --fix" in text.stderr


def test_tree_outside_git_has_no_git_status_and_still_skips_build_output(tmp_path, run_scan):
    c = fresh_cookie()
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "vm.args").write_text(f"-setcookie {c}\n")
    (tmp_path / "vm.args").write_text(f"-setcookie {c}\n")
    result, found = _tree_findings(run_scan, tmp_path)
    assert list(found) == ["vm.args"] and "git" not in found["vm.args"]
    # a directory named on the command line is read, even when it is build output
    result, found = _tree_findings(run_scan, tmp_path, "deps")
    assert list(found) == ["deps/vm.args"]
