"""Scanning: bytes in, findings out; trees (optionally in parallel), the index, history.

The pipeline per file or blob: size and binary checks, a cheap byte-level prefilter for
cookie keywords, UTF-8 decoding, the detectors, `erlcookie:allow` suppression, then the
audit verdict and fingerprint of each distinct cookie (cached: scrypt costs ~40 ms).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from erlcookie.errors import UsageError
from erlcookie.findings.model import CommitRef, CookieInfo, Finding
from erlcookie.findings.severity import Severity
from erlcookie.scan.detectors import Source, detect_source, needs_scan
from erlcookie.scan.model import ScanReport, assign_occurrences
from erlcookie.scan.walker import (
    BINARY_PROBE,
    BUILD_OUTPUT_DIRS,
    DEFAULT_MAX_SIZE,
    Excluder,
    Skip,
    iter_files,
    read_candidate,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

ALLOW_MARKER = "erlcookie:allow"
_COMMENT_ONLY = re.compile(r"^\s*(?:#+|//+|%+|--|;+|<!--|/\*+|\*|\{#|REM\b|::)?\s*$", re.I)
PARALLEL_THRESHOLD = 2000  # files; below this a process pool costs more than it saves
BATCH = 128


@dataclass
class ScanOptions:
    """Everything that decides what a scan reports, handed from the CLI (or a program) to
    the engine: what to read, the severity floor, and the baseline of accepted findings."""

    excludes: Sequence[str] = ()
    max_size: int = DEFAULT_MAX_SIZE
    jobs: int = 0  # 0: one per available CPU
    min_severity: Severity = Severity.LOW  # findings below it are dropped (counted)
    baseline: str | None = None  # a baseline file: findings recorded there are accepted
    build_output: bool = False  # also read _build/ and deps/ (skipped by default)
    ignored: bool = False  # also read files git ignores (skipped by default in a work tree)

    def accepted(self) -> set[str] | None:
        """The identities the baseline accepts (read once per scan, before any work)."""
        if self.baseline is None:
            return None
        from erlcookie.scan import baseline

        return baseline.load(self.baseline)

    def worker_count(self) -> int:
        """`jobs`, or as many workers as there are idle CPUs (measured: on a busy shared
        host a process pool is slower than one process, on an idle one it is faster)."""
        if self.jobs > 0:
            return self.jobs
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:
            cpus = os.cpu_count() or 1
        try:
            idle = cpus - os.getloadavg()[0]
        except OSError:
            idle = cpus
        return max(1, min(cpus, int(idle + 0.5)))


MODES = ("tree", "staged", "history")


def scan(paths: Sequence[str], options: ScanOptions, mode: str = "tree") -> ScanReport:
    """One entry point: a tree of PATHs, or (staged/history) the repository at PATH."""
    if mode not in MODES:
        raise UsageError(f"unknown scan mode {mode!r}")
    if mode == "tree":
        paths = tuple(paths) or (".",)
        for p in paths:
            if not os.path.lexists(p):
                raise UsageError(f"no such file or directory: {p}")
        return scan_tree(paths, options)
    if len(paths) > 1:
        raise UsageError("--staged/--history take at most one PATH: the repository")
    from erlcookie.git import GitRepo

    repo = GitRepo(paths[0] if paths else ".")
    return scan_staged(repo, options) if mode == "staged" else scan_history(repo, options)


def _finish(
    report: ScanReport, options: ScanOptions, accepted: set[str] | None, started: float
) -> ScanReport:
    """The options' last word: the severity floor, then the baseline; then sort and time."""
    kept = [f for f in report.findings if f.severity >= options.min_severity]
    report.below_floor = len(report.findings) - len(kept)
    report.findings = kept
    if accepted is not None:
        from erlcookie.scan import baseline

        baseline.apply(report, accepted)
    _sort(report)
    report.elapsed = time.perf_counter() - started
    return report


# -- judging cookies (per process cache, in threads) -------------------------------------------
# hashlib.scrypt releases the GIL, so fingerprints (~40 ms each) are computed in threads while
# the scan goes on reading files; findings are completed once their futures resolve.
_JUDGED: dict[tuple[str, tuple[str, ...]], Future[tuple[str, str, float, tuple[str, ...]]]] = {}
_EXECUTOR: list = [None, 0]  # [ThreadPoolExecutor, pid that created it]


def _judge_now(value: str, context: tuple[str, ...]) -> tuple[str, str, float, tuple[str, ...]]:
    from erlcookie.audit import audit_text
    from erlcookie.cookie.fingerprint import fingerprint

    result = audit_text(value, context=context)
    reasons = tuple(r.code for r in result.reasons if r.verdict != "ok")
    return fingerprint(value), result.verdict, float(result.bits), reasons


def judge_async(
    value: str, context: tuple[str, ...] = ()
) -> Future[tuple[str, str, float, tuple[str, ...]]]:
    """(fingerprint, verdict, bits, reason codes) of a cookie, once per distinct value.
    `context`: the project's own names, which a guessing attack tries first."""
    pid = os.getpid()
    if _EXECUTOR[1] != pid:  # first use, or a forked worker: threads do not survive fork
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR[0] = ThreadPoolExecutor(
            max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="erlcookie-fp"
        )
        _EXECUTOR[1] = pid
        for key in [k for k, fut in _JUDGED.items() if not fut.done()]:
            del _JUDGED[key]
    got = _JUDGED.get((value, context))
    if got is None:
        got = _EXECUTOR[0].submit(_judge_now, value, context)
        _JUDGED[(value, context)] = got
    return got


def judge(value: str) -> tuple[str, str, float, tuple[str, ...]]:
    return judge_async(value).result()


Pending = list  # [(Finding, Future)]


def complete(pending: Pending, findings: list[Finding]) -> None:
    """Fill in fingerprints and verdicts, then number repeats (needs the fingerprints)."""
    for finding, future in pending:
        finding.cookie = CookieInfo(*future.result())
    pending.clear()
    assign_occurrences(findings)


# -- one file ------------------------------------------------------------------------------------
def allowed_lines(src: Source) -> set[int]:
    """Lines carrying `erlcookie:allow`, and the line after a comment-only allow line."""
    lines: set[int] = set()
    text = src.text
    pos = text.find(ALLOW_MARKER)
    while pos >= 0:
        line, _ = src.line_col(pos)
        lines.add(line)
        before = src.line_text(line)[: pos - (text.rfind("\n", 0, pos) + 1)]
        if _COMMENT_ONLY.match(before):
            lines.add(line + 1)
        pos = text.find(ALLOW_MARKER, pos + len(ALLOW_MARKER))
    return lines


def scan_text(path: str, text: str) -> tuple[list[Finding], list[Finding]]:
    """(findings, suppressed) of one decoded file."""
    return _completed(_scan_text, path, text)


def scan_bytes(path: str, data: bytes) -> tuple[list[Finding], list[Finding]]:
    """(findings, suppressed) of one file's bytes (prefilter first, then decoding)."""
    return _completed(_scan_bytes, path, data)


def _completed(scan, path, content) -> tuple[list[Finding], list[Finding]]:
    pending: Pending = []
    found, suppressed = scan(path, content, pending)
    complete(pending, found + suppressed)
    return found, suppressed


def _scan_text(
    path: str, text: str, pending: Pending, context: tuple[str, ...] = ()
) -> tuple[list[Finding], list[Finding]]:
    src = Source(path, text)
    detections = detect_source(src)
    if not detections:
        return [], []
    allowed = allowed_lines(src) if ALLOW_MARKER in text else set()
    found, suppressed = [], []
    for d in detections:
        line, column = src.line_col(d.start)
        end_line, end_column = src.line_col(d.end)
        key_line = src.line_col(d.key_start)[0] if d.key_start is not None else line
        finding = Finding(
            rule_id=d.rule_id,
            path=path,
            line=line,
            column=column,
            end_line=end_line,
            end_column=max(end_column, column + 1),
            key=d.key,
            note=d.note,
        )
        pending.append((finding, judge_async(d.value, context)))
        (suppressed if line in allowed or key_line in allowed else found).append(finding)
    return found, suppressed


def _scan_bytes(
    path: str, data: bytes, pending: Pending, context: tuple[str, ...] = ()
) -> tuple[list[Finding], list[Finding]]:
    if not needs_scan(path, data):
        return [], []
    return _scan_text(path, data.decode("utf-8", "replace"), pending, context)


_APP_NAMES = (
    ("mix.exs", re.compile(r"\bapp:\s*:(\w+)")),
    ("rebar.config", re.compile(r"\{release,\s*\{'?(\w+)")),
    ("relx.config", re.compile(r"\{release,\s*\{'?(\w+)")),
    ("Chart.yaml", re.compile(r"(?m)^name:\s*[\"']?([\w.-]+)")),
    ("fly.toml", re.compile(r"(?m)^app\s*=\s*[\"']([\w.-]+)")),
)


def project_words(roots: Iterable[str]) -> tuple[str, ...]:
    """The project's own names (directory, mix app, relx release, chart, fly app), which an
    attacker tries first in a human-chosen cookie: context for the audit."""
    words: set[str] = set()
    for root in roots:
        directory = os.path.abspath(root)
        if not os.path.isdir(directory):
            directory = os.path.dirname(directory)
        names = [os.path.basename(directory)]
        for filename, pattern in _APP_NAMES:
            try:
                with open(os.path.join(directory, filename), "rb") as fh:
                    head = fh.read(65536).decode("utf-8", "replace")
            except OSError:
                continue
            names += pattern.findall(head)
        for name in names:
            for word in [name, *re.split(r"[-_.\s]+", name)]:
                if len(word) >= 3:
                    words.add(word.lower())
    return tuple(sorted(words))


# -- trees ---------------------------------------------------------------------------------------
@dataclass
class _Partial:
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    binary: int = 0
    files: int = 0
    nbytes: int = 0

    def merge(self, other: _Partial) -> None:
        self.findings += other.findings
        self.suppressed += other.suppressed
        self.skipped += other.skipped
        self.binary += other.binary
        self.files += other.files
        self.nbytes += other.nbytes


def _scan_files(
    batch: list[tuple[str, str]],
    max_size: int,
    part: _Partial,
    pending: Pending,
    context: tuple[str, ...] = (),
) -> None:
    for absolute, shown in batch:
        data, skip, nread = read_candidate(absolute, shown, max_size)
        if skip is not None:
            if skip.reason == "binary":
                part.binary += 1
            else:
                part.skipped.append(skip)
            continue
        assert data is not None
        part.files += 1
        part.nbytes += nread
        found, suppressed = _scan_bytes(shown, data, pending, context)
        part.findings += found
        part.suppressed += suppressed


def _pool_task(args: tuple[list[tuple[str, str]], int, tuple[str, ...]]) -> _Partial:
    """One batch in a worker process; returns completed findings (no cookie crosses over)."""
    batch, max_size, context = args
    part, pending = _Partial(), []
    _scan_files(batch, max_size, part, pending, context)
    complete(pending, part.findings + part.suppressed)
    return part


def _batches(files: Iterable[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    for item in files:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def scan_tree(roots: Sequence[str], options: ScanOptions, cwd: str | None = None) -> ScanReport:
    """Scan files and directories; paths in the report are relative to `cwd`."""
    started = time.perf_counter()
    accepted = options.accepted()
    cwd = os.path.abspath(cwd or os.getcwd())
    statuses = _git_statuses(roots)
    files = iter_files(roots, Excluder(options.excludes), cwd, _skipper(options, statuses))
    head: list[tuple[str, str]] = []
    for item in files:
        head.append(item)
        if len(head) >= PARALLEL_THRESHOLD:
            break
    total = _Partial()
    workers = options.worker_count()
    context = project_words(roots)
    if len(head) < PARALLEL_THRESHOLD or workers == 1 or not _can_fork():
        pending: Pending = []
        _scan_files(head, options.max_size, total, pending, context)
        for batch in _batches(files, BATCH):
            _scan_files(batch, options.max_size, total, pending, context)
        complete(pending, total.findings + total.suppressed)
    else:

        def everything() -> Iterator[tuple[list[tuple[str, str]], int, tuple[str, ...]]]:
            for batch in _batches(head, BATCH):
                yield batch, options.max_size, context
            for batch in _batches(files, BATCH):
                yield batch, options.max_size, context

        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers) as pool:
            for part in pool.imap_unordered(_pool_task, everything(), chunksize=1):
                total.merge(part)
    report = ScanReport(
        mode="tree",
        root=cwd,
        findings=total.findings,
        suppressed=total.suppressed,
        skipped=total.skipped,
        binary_files=total.binary,
        files_scanned=total.files,
        bytes_scanned=total.nbytes,
    )
    if statuses:
        for f in report.findings + report.suppressed:
            absolute = os.path.normpath(os.path.join(cwd, f.path))
            status = next(
                (
                    s
                    for s in statuses
                    if (absolute + os.sep).startswith(s.root.rstrip(os.sep) + os.sep)
                ),
                None,
            )
            if status is not None:
                f.git = status.status(absolute)
    return _finish(report, options, accepted, started)


def _git_statuses(roots: Sequence[str]) -> list:
    """What git says about each root's files (none outside a work tree), deepest root first."""
    from erlcookie.git import work_tree_status

    found = []
    for root in roots:
        directory = os.path.abspath(root)
        if not os.path.isdir(directory):
            directory = os.path.dirname(directory)
        if any(s.root == directory for s in found):
            continue
        status = work_tree_status(directory)
        if status is not None:
            found.append(status)
    return sorted(found, key=lambda s: -len(s.root))


def _skipper(options: ScanOptions, statuses: list):
    """The walker's `skip`: build output and files git ignores, unless asked for."""
    if options.build_output and options.ignored:
        return None

    def skip(path: str, is_dir: bool) -> bool:
        if is_dir and not options.build_output and os.path.basename(path) in BUILD_OUTPUT_DIRS:
            return True
        if not options.ignored:
            for status in statuses:
                if (path + os.sep).startswith(status.root.rstrip(os.sep) + os.sep):
                    return path in (status.ignored_dirs if is_dir else status.ignored_files)
        return False

    return skip


def _can_fork() -> bool:
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _sort(report: ScanReport) -> None:
    for items in (report.findings, report.suppressed):
        items.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    report.skipped.sort(key=lambda s: s.path)


# -- git: the index and history --------------------------------------------------------------------
def scan_staged(repo, options: ScanOptions) -> ScanReport:
    """Scan what is staged for the next commit (added, copied, modified, type-changed)."""
    started = time.perf_counter()
    accepted = options.accepted()
    excluder = Excluder(options.excludes)
    entries = [(path, oid) for path, oid in repo.staged_blobs() if not excluder.excluded(path)]
    report = ScanReport(mode="staged", root=repo.toplevel)
    pending: Pending = []
    context = project_words([repo.toplevel])
    for (path, oid), (size, data) in zip(
        entries, repo.read_blobs([oid for _, oid in entries], options.max_size)
    ):
        _scan_blob(report, path, oid, size, data, options.max_size, pending, context)
    complete(pending, report.findings + report.suppressed)
    return _finish(report, options, accepted, started)


def _scan_blob(
    report: ScanReport,
    path: str,
    oid: str,
    size: int,
    data: bytes | None,
    max_size: int,
    pending: Pending,
    context: tuple[str, ...] = (),
) -> list[Finding]:
    if data is None:
        report.skipped.append(Skip(path, "too-large" if size > max_size else "unreadable", size))
        return []
    if data.find(b"\0", 0, BINARY_PROBE) >= 0:
        report.binary_files += 1
        return []
    report.files_scanned += 1
    report.bytes_scanned += len(data)
    found, suppressed = _scan_bytes(path, data, pending, context)
    for f in found + suppressed:
        f.blob = oid
    report.findings += found
    report.suppressed += suppressed
    return found


def scan_history(repo, options: ScanOptions) -> ScanReport:
    """Every blob reachable from any ref, each read once; findings mapped to commits/paths."""
    started = time.perf_counter()
    accepted = options.accepted()
    excluder = Excluder(options.excludes)
    report = ScanReport(mode="history", root=repo.toplevel)
    per_blob: list[Finding] = []
    per_blob_suppressed: list[Finding] = []
    pending: Pending = []
    context = project_words([repo.toplevel])
    for oid, path, size, data in repo.reachable_blobs(options.max_size, excluder.excluded):
        before = len(report.suppressed)
        per_blob += _scan_blob(report, path, oid, size, data, options.max_size, pending, context)
        per_blob_suppressed += report.suppressed[before:]
    complete(pending, per_blob + per_blob_suppressed)
    report.findings, report.suppressed = [], []
    oids = {f.blob for f in per_blob + per_blob_suppressed if f.blob}
    introductions, commits = repo.introductions(oids) if oids else ({}, 0)
    head = repo.head_entries() if oids else set()
    report.commits = commits
    report.findings = _fold_history(per_blob, introductions, head)
    report.suppressed = _fold_history(per_blob_suppressed, introductions, head)
    return _finish(report, options, accepted, started)


def _fold_history(
    per_blob: list[Finding], introductions: dict[str, list[CommitRef]], head: set[tuple[str, str]]
) -> list[Finding]:
    """One finding per (rule, path, cookie, ordinal), with every commit that brought it.

    A blob can sit at several paths over time (renames, copies); each path is its own
    finding. Every commit carries the cookie's line in the version that commit made; the
    finding's own line (and blob) is the one in the commit it names first, the oldest, so
    `path:line` and that commit agree. A blob no commit introduced keeps its own line.
    """
    folded: dict[str, Finding] = {}
    shown: dict[str, int] = {}  # age of the commit whose version gives the finding's line
    for f in per_blob:
        refs = introductions.get(f.blob or "", [])
        paths = sorted({r.path for r in refs}) or [f.path]
        for path in paths:
            copy = dataclasses.replace(f, path=path, commits=[])
            at_path = [
                dataclasses.replace(r, line=f.line, column=f.column) for r in refs if r.path == path
            ]
            in_head = (path, f.blob) in head
            key = copy.identity_base + f":{f.occurrence}"
            existing = folded.get(key)
            oldest = max((r.age for r in at_path), default=-1)
            if existing is None:
                copy.commits = list(at_path)
                copy.in_head = in_head
                folded[key] = copy
                shown[key] = oldest
                continue
            existing.commits += [r for r in at_path if r not in existing.commits]
            existing.in_head = bool(existing.in_head or in_head)
            if oldest > shown[key]:
                shown[key] = oldest
                existing.line, existing.column = copy.line, copy.column
                existing.end_line, existing.end_column = copy.end_line, copy.end_column
                existing.blob = copy.blob
    out = list(folded.values())
    for f in out:
        f.commits.sort(key=lambda r: -r.age)  # oldest first
    return out
