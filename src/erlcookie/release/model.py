"""Findings, rules and fix plans shared by the release analysers.

Rule ids are stable: users suppress them, CI greps them and SARIF keys on them, so an id is
never renamed or reused. A finding carries the literal cookie only inside a `Cookie` (which
never prints); reports show its fingerprint and audit verdict instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from erlcookie.cookie.value import Cookie
from erlcookie.errors import OperationalError

SEVERITIES = ("critical", "high", "medium", "low")
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    fix: str


_RULES = [
    Rule("release/vm-args-literal-cookie", "high",
         "vm.args sets a literal cookie with -setcookie",
         "use vm.args.src with `-setcookie ${RELEASE_COOKIE}` and fill RELEASE_COOKIE from a "
         "Kubernetes Secret; the old value is in version control: rotate it"),
    Rule("release/vm-args-per-node-cookie", "high",
         "vm.args sets a literal cookie for one peer (-setcookie Node Cookie)",
         "give every node the cluster cookie from RELEASE_COOKIE, or take the peer's cookie "
         "from its own environment variable (-setcookie Node ${PEER_COOKIE}) in vm.args.src"),
    Rule("release/relx-template-cookie", "critical",
         "vm.args still has the cookie from the rebar3/relx template ({{name}}_cookie)",
         "use vm.args.src with `-setcookie ${RELEASE_COOKIE}`; the template value is public"),
    Rule("release/relx-default-vm-args", "critical",
         "the relx release has no vm.args, so relx generates one with -setcookie <release name>",
         "add config/vm.args.src with `-setcookie ${RELEASE_COOKIE}`"),
    Rule("release/vm-args-build-time-cookie", "high",
         "vm.args takes its cookie from a build-time template variable",
         "use vm.args.src with `-setcookie ${RELEASE_COOKIE}`, read when the node starts"),
    Rule("release/vm-args-cookie-default", "high",
         "vm.args.src falls back to a literal cookie (${VAR:-literal}) when the variable is unset",
         "drop the default (`-setcookie ${RELEASE_COOKIE}`): a missing Secret must stop the "
         "node, not start it on a cookie from version control"),
    Rule("release/vm-args-unrendered-variable", "high",
         "a plain vm.args uses ${VAR}: relx does not expand it, so the text itself is the cookie",
         "rename the file to vm.args.src (relx renders .src files at start-up)"),
    Rule("release/vm-args-no-cookie", "medium",
         "vm.args sets no cookie, so the node uses ~/.erlang.cookie (OTP creates a predictable one)",
         "add `-setcookie ${RELEASE_COOKIE}` to vm.args.src"),
    Rule("release/vm-args-empty-cookie", "medium",
         "-setcookie has no value, so the node falls back to ~/.erlang.cookie",
         "write `-setcookie ${RELEASE_COOKIE}` in vm.args.src"),
    Rule("release/relx-setcookie-not-at-line-start", "low",
         "-setcookie does not open its line, so relx's start script cannot find the cookie",
         "put `-setcookie ${RELEASE_COOKIE}` on a line of its own (the script greps "
         "'^-setcookie'; without it stop, ping, rpc and remote_console cannot reach the node)"),
    Rule("release/relx-vm-args-src-ignored", "high",
         "vm.args.src exists but relx will not use it",
         "name it in the relx section: {vm_args_src, \"./config/vm.args.src\"} (rebar3 before "
         "3.14 does not pick it up by itself; an explicit {vm_args, ...} wins over the file)"),
    Rule("release/relx-no-cookie-guard", "medium",
         "the relx release starts even when RELEASE_COOKIE is unset, on ~/.erlang.cookie",
         "add a pre_start hook that refuses to start without RELEASE_COOKIE "
         "(`erlcookie release fix` adds one)"),
    Rule("release/mix-literal-cookie", "high",
         "mix.exs gives the release a literal cookie (the :cookie option)",
         "remove the :cookie option and set RELEASE_COOKIE from a Kubernetes Secret; the old "
         "value is in version control: rotate it"),
    Rule("release/mix-build-time-cookie", "medium",
         "mix.exs computes the release cookie at build time (the :cookie option)",
         "remove the :cookie option: the value is baked into releases/COOKIE in every image; "
         "set RELEASE_COOKIE when the release starts instead"),
    Rule("release/mix-cookie-fallback", "high",
         "the mix release falls back to the build-time releases/COOKIE when RELEASE_COOKIE is unset",
         "guard rel/env.sh.eex so start/daemon fail without RELEASE_COOKIE (every clean build "
         "writes a new random releases/COOKIE: the cluster splits on the next deploy)"),
    Rule("release/mix-vm-args-setcookie", "high",
         "the mix release's vm.args sets -setcookie, which overrides RELEASE_COOKIE",
         "remove the -setcookie line: mix passes RELEASE_COOKIE to the node itself"),
    Rule("release/env-script-literal-cookie", "high",
         "a release env script sets RELEASE_COOKIE to a literal value",
         "remove the assignment and let Kubernetes set RELEASE_COOKIE from a Secret"),
    Rule("release/set-cookie-literal", "high",
         "code sets the cookie to a literal (Node.set_cookie / erlang:set_cookie)",
         "remove the call, or read the value from the environment (RELEASE_COOKIE)"),
    Rule("release/dockerfile-literal-cookie", "high",
         "a Dockerfile bakes a literal RELEASE_COOKIE into the image",
         "remove it from the Dockerfile; set RELEASE_COOKIE at run time from a Secret"),
    Rule("release/committed-cookie-file", "critical",
         "a cookie file is committed to version control",
         "`git rm --cached` it, add it to .gitignore and rotate the cookie: it stays in the "
         "git history (see `erlcookie scan --history`)"),
    Rule("release/cookie-file-in-tree", "medium",
         "a cookie file sits in the project tree and is not git-ignored",
         "delete it or add it to .gitignore so it never gets committed or copied into images"),
]
RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


@dataclass
class CookieInfo:
    """What a report may say about a literal cookie: never the value itself."""

    fingerprint: str
    verdict: str | None
    bits: float | None
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, value: str) -> "CookieInfo":
        cookie = Cookie(value, source="release file")
        try:
            from erlcookie.audit import audit_cookie
        except ImportError:  # the audit is optional for a report; the fingerprint is not
            return cls(cookie.fingerprint(), None, None)
        result = audit_cookie(cookie)
        return cls(cookie.fingerprint(), result.verdict, round(result.bits, 1),
                   [reason.code for reason in result.reasons])

    def to_dict(self) -> dict:
        return {"fingerprint": self.fingerprint, "verdict": self.verdict, "bits": self.bits,
                "reasons": self.reasons}


@dataclass
class Finding:
    rule: str
    file: str            # relative to the checked path
    line: int
    column: int
    message: str
    fixable: bool = False
    cookie: CookieInfo | None = None
    secret: Cookie | None = field(default=None, repr=False, compare=False)

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity

    @property
    def fix(self) -> str:
        return RULES[self.rule].fix

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "rule": self.rule,
                "severity": self.severity, "message": self.message, "fix": self.fix,
                "fixable": self.fixable,
                "cookie": None if self.cookie is None else self.cookie.to_dict()}


@dataclass
class ProjectInfo:
    kind: str            # rebar3, mix, mix-umbrella
    root: str            # relative to the checked path ("." for the path itself)
    releases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "root": self.root, "releases": self.releases,
                "notes": self.notes}


class ReleaseParseError(OperationalError):
    """A file the analysers cannot read with certainty; fix then touches nothing."""

    def __init__(self, file: str, detail: str):
        self.file = file
        self.detail = detail
        super().__init__(f"cannot parse {file}: {detail}")


@dataclass
class Report:
    path: Path
    projects: list[ProjectInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[ReleaseParseError] = field(default_factory=list)

    def sort(self) -> None:
        self.findings.sort(key=lambda f: (f.file, f.line, f.column, f.rule))

    def to_dict(self) -> dict:
        counts = {sev: 0 for sev in SEVERITIES}
        for finding in self.findings:
            counts[finding.severity] += 1
        return {"path": str(self.path), "projects": [p.to_dict() for p in self.projects],
                "findings": [f.to_dict() for f in self.findings],
                "errors": [{"file": e.file, "message": e.detail} for e in self.errors],
                "summary": {"findings": len(self.findings), **counts}}


@dataclass
class FileChange:
    """One file the fix writes, creates, renames or deletes (paths relative to the root)."""

    path: str                      # where the new content goes
    old_path: str | None           # where the old content was (None: a new file)
    old_text: str | None
    new_text: str | None           # None: delete old_path
    reason: str
    mode: int | None = None        # for new files; edits keep the file's own mode
    secrets: list[Cookie] = field(default_factory=list, repr=False)

    @property
    def action(self) -> str:
        if self.new_text is None:
            return "delete"
        if self.old_path is None:
            return "create"
        if self.old_path != self.path:
            return "rename"
        return "edit"


@dataclass
class FixPlan:
    root: Path
    changes: list[FileChange] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)   # need a human
    notes: list[str] = field(default_factory=list)
