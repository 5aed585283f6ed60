"""The rule registry: every rule erlcookie reports, for `scan` and for `release check`.

Rule ids never change meaning once released: baselines, SARIF partial fingerprints (GitHub
code scanning alerts), suppressions and CI greps are keyed on them. Add new ids; never
renumber or reuse one. Detectors and analyzers name rules through the constants below.

One severity policy for every command: a rule has a base severity, and a finding whose
cookie the audit calls weak or predictable is raised one step (`Rule.severity_for`). So the
same problem has the same severity in `scan` and `release check`: a literal `cookie:` in
mix.exs is high (EC003, release/mix-literal-cookie), critical when the cookie is weak; a
committed cookie file is high (EC002, release/committed-cookie-file), critical when weak.
"""

from __future__ import annotations

from dataclasses import dataclass

from erlcookie.findings.severity import Severity

__all__ = ["RULES", "Rule", "get", "rules_of"]

SCAN = "scan"
RELEASE = "release"
K8S = "k8s"
K8S_STATUS = "k8s-status"
WEAK_VERDICTS = ("weak", "predictable")


@dataclass(frozen=True, eq=False)
class Rule:
    """A rule is known by its id: it equals, hashes and prints as its id, so `finding.rule`
    can be compared with "EC001" or "release/mix-literal-cookie" directly."""

    id: str
    name: str
    short: str  # one sentence, shown in tables and as SARIF shortDescription
    description: str  # what it matches and why it matters
    help: str  # what to do about it
    severity: Severity  # base severity; a weak or predictable cookie raises it one step
    confidence: str = "high"
    family: str = SCAN  # which command reports it: "scan", "release", "tls", "k8s", "k8s-status"

    @property
    def fix(self) -> str:
        return self.help

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rule):
            return other.id == self.id
        return isinstance(other, str) and other == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __str__(self) -> str:
        return self.id

    @property
    def title(self) -> str:
        return self.short

    def severity_for(self, verdict: str | None) -> Severity:
        """Severity of a finding whose cookie got `verdict` from the audit (None: no cookie)."""
        return self.severity.raised() if verdict in WEAK_VERDICTS else self.severity

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "short": self.short,
            "description": self.description,
            "help": self.help,
            "severity": str(self.severity),
            "confidence": self.confidence,
        }


RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> str:
    if rule.id in RULES:
        raise ValueError(f"rule id {rule.id} registered twice")
    RULES[rule.id] = rule
    return rule.id


def get(rule_id: str) -> Rule:
    return RULES[rule_id]


def rules_of(family: str) -> list[Rule]:
    """The rules one command reports, in registration order (SARIF ruleIndex follows it)."""
    return [r for r in RULES.values() if r.family == family]


# -- scan -----------------------------------------------------------------------------------
_FIX = (
    "Treat the cookie as leaked: generate a new one (`erlcookie generate`), deliver it "
    "from a secret store at run time (for example a Kubernetes Secret read through "
    "`secretKeyRef` into RELEASE_COOKIE), rotate the running cluster "
    "(`erlcookie rotate`), and keep the literal out of the repository. Removing the "
    "line is not enough: the value stays in git history."
)


def _scan_rule(
    id, name, short, description, help_extra="", severity="high", confidence="high"
) -> str:
    return _register(
        Rule(
            id,
            name,
            short,
            description,
            (help_extra + " " + _FIX).strip(),
            Severity(severity),
            confidence,
            SCAN,
        )
    )


VM_ARGS_SETCOOKIE = _scan_rule(
    "EC001",
    "vm-args-setcookie",
    "Literal cookie in vm.args (-setcookie).",
    "A vm.args or vm.args.src file passes a literal cookie with `-setcookie Cookie` or "
    "`-setcookie Node Cookie`. Everyone who can read the repository, the image or the "
    "node's command line (`ps`) can join the cluster and run code on every node.",
    "Use `-setcookie ${RELEASE_COOKIE}` in vm.args.src (relx/rebar3 render it from the "
    "environment at start-up) or drop the flag and let mix releases read RELEASE_COOKIE.",
)
COMMITTED_COOKIE_FILE = _scan_rule(
    "EC002",
    "committed-cookie-file",
    "Committed .erlang.cookie or releases/COOKIE file.",
    "A `.erlang.cookie` file or a mix release's `releases/COOKIE` is in the tree. Its "
    "whole content is the cookie that authenticates Erlang distribution.",
    "Delete the file, add it to .gitignore, and set RELEASE_COOKIE at run time instead.",
)
MIX_RELEASE_COOKIE = _scan_rule(
    "EC003",
    "mix-release-cookie",
    "Literal `cookie:` in a mix release (or Distillery) configuration.",
    'mix.exs (or rel/config.exs) sets `cookie: "..."` or `cookie: :atom` for a '
    "release, baking the cookie into every build artefact and the repository.",
    "Remove the `cookie:` option; set RELEASE_COOKIE in the deployment environment.",
)
SET_COOKIE_LITERAL = _scan_rule(
    "EC004",
    "set-cookie-literal",
    "Literal cookie passed to Node.set_cookie / erlang:set_cookie.",
    "Code calls `Node.set_cookie`, `:erlang.set_cookie`, `erlang:set_cookie` or "
    "`auth:set_cookie` with a literal atom or string, so the cookie ships in source and "
    "in compiled BEAM files.",
    'Read the cookie from the environment (`System.fetch_env!("RELEASE_COOKIE")`) or '
    "from a mounted secret file.",
)
ENV_ASSIGNMENT = _scan_rule(
    "EC005",
    "env-assignment",
    "Cookie variable assigned a literal in a script, env, unit, CI or config file.",
    "A cookie variable (RELEASE_COOKIE, ERLANG_COOKIE, RABBITMQ_ERLANG_COOKIE and "
    "friends) gets a literal value: `export RELEASE_COOKIE=...`, `.env`, "
    "`rel/env.sh.eex`, systemd `Environment=`, Makefiles, CI `env:`/`variables:` maps, "
    "JSON/TOML/HCL configuration.",
    "Inject the variable from your secret store or CI secrets (`${{ secrets.X }}`, "
    "`$RELEASE_COOKIE` from the environment) instead of writing its value.",
)
COMMAND_LINE_COOKIE = _scan_rule(
    "EC006",
    "command-line-cookie",
    "Literal cookie on a command line (erl -setcookie, iex --cookie, ...).",
    "A script, Makefile, CI file, escript `%%!` line, Dockerfile CMD or document runs "
    "`erl -setcookie X`, `iex/elixir --cookie X`, `erl_call -c X`, "
    "`rabbitmqctl --erlang-cookie X`, or writes a literal into .erlang.cookie with "
    "echo/printf. Command-line cookies are also visible to every local user in `ps`.",
    "Pass the cookie through a 0400 cookie file or the RELEASE_COOKIE environment "
    "variable fed from a secret.",
)
DOCKERFILE_ENV = _scan_rule(
    "EC007",
    "dockerfile-env",
    "Cookie baked into a container image by Dockerfile ENV/ARG.",
    "A Dockerfile sets a cookie variable with `ENV` or gives an `ARG` a literal default. "
    "ENV values are stored in the image config and ARG defaults in its history: anyone "
    "who can pull the image can read them.",
    "Provide the cookie at run time (Kubernetes Secret, `docker run -e` from a secret, "
    "compose secrets), never at build time.",
)
K8S_ENV_LITERAL = _scan_rule(
    "EC008",
    "k8s-env-literal",
    "Kubernetes container env sets a cookie variable to a literal value.",
    "A Pod template's `env:` entry names a cookie variable with a literal `value:` "
    "instead of `valueFrom: secretKeyRef`, so the cookie lives in the manifest, in "
    "etcd unencrypted and in `kubectl get -o yaml` output for anyone with read access.",
    "Store the cookie in a Secret (`erlcookie k8s secret`) and reference it with "
    "`valueFrom.secretKeyRef`.",
)
K8S_CONFIGMAP_COOKIE = _scan_rule(
    "EC009",
    "k8s-configmap-cookie",
    "Kubernetes ConfigMap holds a cookie.",
    "A ConfigMap (or a configMapGenerator literal) carries a cookie. ConfigMaps are not "
    "secrets: they are readable by far more principals and are printed freely.",
    "Move the value into a Secret and reference it from the workload.",
)
K8S_SECRET_COMMITTED = _scan_rule(
    "EC010",
    "k8s-secret-committed",
    "Kubernetes Secret with a cookie committed to the repository.",
    "A Secret manifest (or secretGenerator literal) with the cookie in `stringData` or "
    "`data` is committed. `data` is base64, which is an encoding, not encryption.",
    "Commit only encrypted secrets (Sealed Secrets, SOPS, External Secrets) or create "
    "the Secret out of band (`erlcookie k8s secret`).",
)
YAML_COOKIE_VALUE = _scan_rule(
    "EC011",
    "yaml-cookie-value",
    "Literal cookie in YAML configuration such as Helm values (erlangCookie:).",
    "A YAML key naming an Erlang cookie (Helm chart values like `auth.erlangCookie`, "
    "`erlangCookie`, `releaseCookie`) has a literal value.",
    "Use the chart's existing-secret option (for example `auth.existingErlangSecret`) "
    "or pass the value at install time from a secret store.",
)
COMPOSE_ENV_COOKIE = _scan_rule(
    "EC012",
    "compose-env-cookie",
    "docker-compose sets a cookie variable to a literal.",
    "A compose file's `environment:` (list or map form) or build `args:` sets a cookie "
    "variable to a literal value.",
    "Use an env_file kept out of git, compose `secrets:`, or `${RELEASE_COOKIE}` "
    "interpolation from the caller's environment.",
)
FLY_TOML_ENV = _scan_rule(
    "EC013",
    "fly-toml-env",
    "fly.toml [env] sets a cookie variable.",
    "fly.toml's `[env]` section is plain configuration committed with the app; a cookie "
    "there is public to every reader of the repository.",
    "Use `fly secrets set RELEASE_COOKIE=...` instead of `[env]`.",
)
HOCON_NODE_COOKIE = _scan_rule(
    "EC014",
    "hocon-node-cookie",
    "Literal cookie in HOCON configuration (EMQX `node.cookie`).",
    "A HOCON file (`emqx.conf`, `*.conf.example`) sets `node { cookie = ... }` or "
    "`node.cookie = ...` to a literal, so every node started from this configuration, and "
    "everyone who reads it, shares that cookie.",
    "Set the cookie from the environment (`EMQX_NODE__COOKIE` fed from a secret) or a "
    "HOCON substitution (`cookie = ${?EMQX_NODE_COOKIE}`).",
)
ERLANG_CONFIG_COOKIE = _scan_rule(
    "EC015",
    "erlang-config-cookie",
    "Literal cookie in Erlang term configuration ({cookie, ...}).",
    "An Erlang term file (`sys.config`, `app.config`, `*.config`, `.app`/`.app.src`, "
    "`rebar.config`) holds `{cookie, Value}`, `{riak_cookie, Value}`, `{setcookie, Value}` "
    "(rebar3's `dist_node`) or a similar entry with a literal atom or string.",
    'Read the cookie at run time (`os:getenv("RELEASE_COOKIE")`, a mounted cookie file) '
    "instead of writing it into configuration.",
)
CUTTLEFISH_DEFAULT_COOKIE = _scan_rule(
    "EC016",
    "cuttlefish-default-cookie",
    "Cookie default in a cuttlefish or HOCON schema, or `distributed_cookie` in its .conf.",
    "A schema maps a setting to `vm_args.-setcookie` with a literal default (`{default, "
    '"riak"}`, `default => "..."`): every install that keeps the default shares one '
    "cookie that is printed in the source. The `.conf` files such schemas read "
    "(`distributed_cookie = ...`) are the same leak.",
    "Give the setting no default (fail at start-up without one) and set it per cluster "
    "from a secret.",
)
HELM_SET_COOKIE = _scan_rule(
    "EC017",
    "helm-set-cookie",
    "Cookie passed to helm with --set.",
    "A script, README or CI file runs `helm install/upgrade --set ...erlangCookie=...` "
    "(dotted and comma-separated keys included), so the cookie is in the repository, the "
    "shell history and the release's stored values.",
    "Keep the cookie in a Secret and point the chart at it (for example "
    "`auth.existingErlangSecret`), or pass it with `--set-file` from a file kept out of git.",
)
KUBECTL_LITERAL_COOKIE = _scan_rule(
    "EC018",
    "kubectl-literal-cookie",
    "Cookie in `kubectl create secret --from-literal`.",
    "A script or document creates a Secret with `--from-literal=cookie=...`: the Secret is "
    "fine, the literal on the command line and in the repository is not.",
    'Generate the value where it is used (`--from-literal=cookie="$(erlcookie generate)"`) '
    "or use `erlcookie k8s secret --apply`.",
)
ANSIBLE_COOKIE_FILE = _scan_rule(
    "EC019",
    "ansible-cookie-file",
    "Ansible writes a literal cookie into .erlang.cookie.",
    "An Ansible task (`copy:` with `content:`, `lineinfile:`) writes a literal into an "
    "`.erlang.cookie` file, so the playbook carries every node's cookie.",
    'Take the content from Ansible Vault or a lookup (`content: "{{ erlang_cookie }}"` '
    "with the variable vaulted).",
)
IDE_LAUNCH_COOKIE = _scan_rule(
    "EC020",
    "ide-launch-cookie",
    "Cookie in an IDE debug configuration (VS Code launch.json).",
    "A debugger launch configuration (`.vscode/launch.json`, Erlang LS / ElixirLS) gives "
    'the node a literal `"cookie"`; committed, it is the cookie of every node started '
    "that way.",
    "Leave `cookie` out (the debugger then uses ~/.erlang.cookie) or read it from an input "
    "variable.",
)
INI_COOKIE = _scan_rule(
    "EC021",
    "ini-cookie",
    "Literal cookie in an INI file (CouchDB clouseau.ini, [erlang] cookie=).",
    "An INI file's `[erlang]` section (CouchDB search's clouseau.ini, and similar) sets "
    "`cookie=` to a literal that must match the CouchDB nodes'.",
    "Render the file at start-up from a secret (the CouchDB images read COUCHDB_ERLANG_COOKIE).",
)
CODE_FALLBACK_COOKIE = _scan_rule(
    "EC022",
    "code-fallback-cookie",
    "Literal fallback for a cookie variable in code.",
    "Code reads a cookie variable but falls back to a literal when it is unset: "
    '`System.get_env("RELEASE_COOKIE") || "x"`, `System.get_env(name, "x")`, '
    '`os.getenv("RELEASE_COOKIE", "x")`. A node started without the variable runs on '
    "the literal, which every reader of the code knows.",
    'Fail instead of falling back (`System.fetch_env!("RELEASE_COOKIE")`).',
)
GENERIC_COOKIE_ASSIGNMENT = _scan_rule(
    "EC100",
    "generic-cookie-assignment",
    "Cookie-shaped value assigned to another *COOKIE* name (lower confidence).",
    "A variable or key whose name contains COOKIE but is not a known Erlang cookie "
    "variable gets a long, random-looking literal. It may be an Erlang cookie under a "
    "custom name, or another secret (for example a web session signing key).",
    "If it is an Erlang cookie, treat it as leaked. If it is not, allow it with an "
    "`erlcookie:allow` comment or accept it with `--write-baseline`.",
    severity="medium",
    confidence="medium",
)


# -- release check ----------------------------------------------------------------------------
def _release_rule(id: str, severity: str, title: str, fix: str) -> str:
    return _register(
        Rule(id, id.split("/", 1)[1], title, title, fix, Severity(severity), "high", RELEASE)
    )


RELEASE_VM_ARGS_LITERAL_COOKIE = _release_rule(
    "release/vm-args-literal-cookie",
    "high",
    "vm.args sets a literal cookie with -setcookie",
    "use vm.args.src with `-setcookie ${RELEASE_COOKIE}` and fill RELEASE_COOKIE from a "
    "Kubernetes Secret; the old value is in version control: rotate it",
)
RELEASE_VM_ARGS_PER_NODE_COOKIE = _release_rule(
    "release/vm-args-per-node-cookie",
    "high",
    "vm.args sets a literal cookie for one peer (-setcookie Node Cookie)",
    "give every node the cluster cookie from RELEASE_COOKIE, or take the peer's cookie "
    "from its own environment variable (-setcookie Node ${PEER_COOKIE}) in vm.args.src",
)
RELEASE_RELX_TEMPLATE_COOKIE = _release_rule(
    "release/relx-template-cookie",
    "critical",
    "vm.args still has the cookie from the rebar3/relx template ({{name}}_cookie)",
    "use vm.args.src with `-setcookie ${RELEASE_COOKIE}`; the template value is public",
)
RELEASE_RELX_DEFAULT_VM_ARGS = _release_rule(
    "release/relx-default-vm-args",
    "critical",
    "the relx release has no vm.args, so relx generates one with -setcookie <release name>",
    "add config/vm.args.src with `-setcookie ${RELEASE_COOKIE}`",
)
RELEASE_VM_ARGS_BUILD_TIME_COOKIE = _release_rule(
    "release/vm-args-build-time-cookie",
    "high",
    "vm.args takes its cookie from a build-time template variable",
    "use vm.args.src with `-setcookie ${RELEASE_COOKIE}`, read when the node starts",
)
RELEASE_VM_ARGS_COOKIE_DEFAULT = _release_rule(
    "release/vm-args-cookie-default",
    "high",
    "vm.args.src falls back to a literal cookie (${VAR:-literal}) when the variable is unset",
    "drop the default (`-setcookie ${RELEASE_COOKIE}`): a missing Secret must stop the "
    "node, not start it on a cookie from version control",
)
RELEASE_VM_ARGS_UNRENDERED_VARIABLE = _release_rule(
    "release/vm-args-unrendered-variable",
    "high",
    "a plain vm.args uses ${VAR}: relx does not expand it, so the text itself is the cookie",
    "rename the file to vm.args.src (relx renders .src files at start-up)",
)
RELEASE_VM_ARGS_NO_COOKIE = _release_rule(
    "release/vm-args-no-cookie",
    "medium",
    "vm.args sets no cookie, so the node uses ~/.erlang.cookie (OTP creates a predictable one)",
    "add `-setcookie ${RELEASE_COOKIE}` to vm.args.src",
)
RELEASE_VM_ARGS_EMPTY_COOKIE = _release_rule(
    "release/vm-args-empty-cookie",
    "medium",
    "-setcookie has no value, so the node falls back to ~/.erlang.cookie",
    "write `-setcookie ${RELEASE_COOKIE}` in vm.args.src",
)
RELEASE_RELX_SETCOOKIE_NOT_AT_LINE_START = _release_rule(
    "release/relx-setcookie-not-at-line-start",
    "low",
    "-setcookie does not open its line, so relx's start script cannot find the cookie",
    "put `-setcookie ${RELEASE_COOKIE}` on a line of its own (the script greps "
    "'^-setcookie'; without it stop, ping, rpc and remote_console cannot reach the node)",
)
RELEASE_RELX_VM_ARGS_SRC_IGNORED = _release_rule(
    "release/relx-vm-args-src-ignored",
    "high",
    "vm.args.src exists but relx will not use it",
    'name it in the relx section: {vm_args_src, "./config/vm.args.src"} (rebar3 before '
    "3.14 does not pick it up by itself; an explicit {vm_args, ...} wins over the file)",
)
RELEASE_RELX_NO_COOKIE_GUARD = _release_rule(
    "release/relx-no-cookie-guard",
    "medium",
    "the relx release starts even when RELEASE_COOKIE is unset, on ~/.erlang.cookie",
    "add a pre_start hook that refuses to start without RELEASE_COOKIE "
    "(`erlcookie release fix` adds one)",
)
RELEASE_MIX_LITERAL_COOKIE = _release_rule(
    "release/mix-literal-cookie",
    "high",
    "mix.exs gives the release a literal cookie (the :cookie option)",
    "remove the :cookie option and set RELEASE_COOKIE from a Kubernetes Secret; the old "
    "value is in version control: rotate it",
)
RELEASE_MIX_BUILD_TIME_COOKIE = _release_rule(
    "release/mix-build-time-cookie",
    "medium",
    "mix.exs computes the release cookie at build time (the :cookie option)",
    "remove the :cookie option: the value is baked into releases/COOKIE in every image; "
    "set RELEASE_COOKIE when the release starts instead",
)
RELEASE_MIX_COOKIE_FALLBACK = _release_rule(
    "release/mix-cookie-fallback",
    "high",
    "the mix release falls back to the build-time releases/COOKIE when RELEASE_COOKIE is unset",
    "guard rel/env.sh.eex so start/daemon fail without RELEASE_COOKIE (every clean build "
    "writes a new random releases/COOKIE: the cluster splits on the next deploy)",
)
RELEASE_MIX_VM_ARGS_SETCOOKIE = _release_rule(
    "release/mix-vm-args-setcookie",
    "high",
    "the mix release's vm.args sets -setcookie, which overrides RELEASE_COOKIE",
    "remove the -setcookie line: mix passes RELEASE_COOKIE to the node itself",
)
RELEASE_ENV_SCRIPT_LITERAL_COOKIE = _release_rule(
    "release/env-script-literal-cookie",
    "high",
    "a release env script sets RELEASE_COOKIE to a literal value",
    "remove the assignment and let Kubernetes set RELEASE_COOKIE from a Secret",
)
RELEASE_SET_COOKIE_LITERAL = _release_rule(
    "release/set-cookie-literal",
    "high",
    "code sets the cookie to a literal (Node.set_cookie / erlang:set_cookie)",
    "remove the call, or read the value from the environment (RELEASE_COOKIE)",
)
RELEASE_DOCKERFILE_LITERAL_COOKIE = _release_rule(
    "release/dockerfile-literal-cookie",
    "high",
    "a Dockerfile bakes a literal RELEASE_COOKIE into the image",
    "remove it from the Dockerfile; set RELEASE_COOKIE at run time from a Secret",
)
RELEASE_COMMITTED_COOKIE_FILE = _release_rule(
    "release/committed-cookie-file",
    "high",
    "a cookie file is committed to version control",
    "`git rm --cached` it, add it to .gitignore and rotate the cookie: it stays in the "
    "git history (see `erlcookie scan --history`)",
)
RELEASE_COOKIE_FILE_IN_TREE = _release_rule(
    "release/cookie-file-in-tree",
    "medium",
    "a cookie file sits in the project tree and is not git-ignored",
    "delete it or add it to .gitignore so it never gets committed or copied into images",
)

RELEASE_TLS_NOT_CONFIGURED = _release_rule(
    "release/tls-not-configured",
    "medium",
    "the release runs its distribution over plain TCP (asked with --tls)",
    "`erlcookie release fix --tls`: -proto_dist inet_tls, -ssl_dist_optfile and ssl in "
    "the release (see docs/tls.md)",
)
RELEASE_TLS_NO_OPTFILE = _release_rule(
    "release/tls-no-optfile",
    "high",
    "-proto_dist inet_tls without -ssl_dist_optfile: the node has no certificate and "
    "checks no peer",
    "add `-ssl_dist_optfile /etc/erlang/tls/ssl_dist.conf` next to -proto_dist "
    "(`erlcookie tls optfile` writes the file)",
)
RELEASE_TLS_NO_SSL_APP = _release_rule(
    "release/tls-no-ssl-app",
    "high",
    "the release uses TLS distribution but does not include the ssl application: the node "
    "cannot start its distribution",
    "add :ssl to extra_applications (mix) or ssl to the relx release's applications",
)
RELEASE_TLS_OPTFILE_WITHOUT_PROTO_DIST = _release_rule(
    "release/tls-optfile-without-proto-dist",
    "high",
    "-ssl_dist_optfile without -proto_dist inet_tls: the node still speaks plain TCP",
    "add `-proto_dist inet_tls` next to -ssl_dist_optfile",
)


# -- tls check ---------------------------------------------------------------------------------
TLS = "tls"


def _tls_rule(id: str, severity: str, title: str, fix: str) -> str:
    return _register(
        Rule(id, id.split("/", 1)[1], title, title, fix, Severity(severity), "high", TLS)
    )


TLS_NO_SERVER_SECTION = _tls_rule(
    "tls/no-server-section",
    "high",
    "the optfile has no server section: the node cannot accept TLS connections",
    "write both sections (`erlcookie tls optfile`)",
)
TLS_NO_CLIENT_SECTION = _tls_rule(
    "tls/no-client-section",
    "high",
    "the optfile has no client section: the node cannot dial other nodes over TLS",
    "write both sections (`erlcookie tls optfile`)",
)
TLS_SERVER_NO_VERIFY_PEER = _tls_rule(
    "tls/server-no-verify-peer",
    "critical",
    "the server does not check client certificates: anyone who reaches the port gets to "
    "the cookie handshake",
    "add {verify, verify_peer} and {fail_if_no_peer_cert, true} to the server section",
)
TLS_SERVER_NO_FAIL_IF_NO_PEER_CERT = _tls_rule(
    "tls/server-no-fail-if-no-peer-cert",
    "critical",
    "verify_peer without {fail_if_no_peer_cert, true}: a client that shows no certificate "
    "is let in",
    "add {fail_if_no_peer_cert, true} to the server section",
)
TLS_CLIENT_VERIFY_NONE = _tls_rule(
    "tls/client-verify-none",
    "high",
    "{verify, verify_none}: the node does not check who it dials (anyone in the path can "
    "pose as a node)",
    "use {verify, verify_peer} with the cluster CA in the client section",
)
TLS_CLIENT_VERIFY_DEFAULT = _tls_rule(
    "tls/client-verify-default",
    "low",
    "the client section sets no verify option: before OTP 26 the default is verify_none",
    "set {verify, verify_peer} in the client section",
)
TLS_NO_HOSTNAME_CHECK = _tls_rule(
    "tls/no-hostname-check",
    "low",
    "server_name_indication disabled: any certificate of the CA is accepted, whatever host "
    "it names",
    "fine for nodes named by IP address; otherwise name the hosts in the certificates",
)
TLS_NO_CA = _tls_rule(
    "tls/no-ca",
    "high",
    "verify_peer without cacertfile: there is no CA to check peers against",
    'add {cacertfile, "/path/ca.pem"} (the cluster CA)',
)
TLS_OLD_VERSIONS = _tls_rule(
    "tls/old-versions",
    "high",
    "the section allows TLS versions older than 1.2",
    "use {versions, ['tlsv1.3', 'tlsv1.2']}",
)
TLS_NO_VERSIONS = _tls_rule(
    "tls/no-versions",
    "low",
    "no versions option: OTP 25's distribution then uses TLS 1.2 only",
    "set {versions, ['tlsv1.3', 'tlsv1.2']}",
)
TLS_WEAK_CIPHERS = _tls_rule(
    "tls/weak-ciphers",
    "medium",
    "TLS 1.2 cipher suites without AEAD or without forward secrecy",
    "list only ECDHE suites with GCM or ChaCha20-Poly1305 (`erlcookie tls optfile` does)",
)
TLS_SERVER_NO_CERTFILE = _tls_rule(
    "tls/server-no-certfile",
    "high",
    "the server section names no certificate",
    "add certfile and keyfile",
)
TLS_CLIENT_NO_CERTFILE = _tls_rule(
    "tls/client-no-certfile",
    "low",
    "the client section names no certificate: under mutual TLS the other node refuses it",
    "add certfile and keyfile to the client section",
)
TLS_FILE_NOT_HERE = _tls_rule(
    "tls/file-not-here",
    "low",
    "a file the optfile names is not on this machine, so it was not checked",
    "run `erlcookie tls check` where the nodes run, or `tls status` on the certificates",
)
TLS_KEY_READABLE = _tls_rule(
    "tls/key-readable",
    "high",
    "the node's private key is readable by other users",
    "chmod 600 the keyfile",
)
TLS_KEY_MISMATCH = _tls_rule(
    "tls/key-mismatch",
    "high",
    "the keyfile does not belong to the certfile",
    "issue the pair again (`tls issue`)",
)
TLS_FOREIGN_ISSUER = _tls_rule(
    "tls/foreign-issuer",
    "high",
    "the certfile is not signed by the cacertfile: peers will refuse it",
    "issue it from the cluster CA (`tls issue`)",
)
TLS_CERT_EXPIRED = _tls_rule(
    "tls/cert-expired",
    "high",
    "the certfile has expired: peers refuse it",
    "issue a new one (`tls issue --force`)",
)
TLS_CERT_EXPIRING = _tls_rule(
    "tls/cert-expiring",
    "medium",
    "the certfile expires soon",
    "issue a new one before it does (`tls issue --force`)",
)
TLS_FILE_UNREADABLE = _tls_rule(
    "tls/file-unreadable",
    "high",
    "a certificate the optfile names cannot be read as PEM",
    "check the file",
)


# -- Kubernetes manifests (k8s inject --check, doctor) ----------------------------------------
def _k8s_rule(id: str, severity: str, title: str, fix: str) -> str:
    return _register(
        Rule(id, id.split("/", 1)[1], title, title, fix, Severity(severity), "high", K8S)
    )


K8S_ENV_LITERAL_COOKIE = _k8s_rule(
    "k8s/env-literal-cookie",
    "high",
    "a workload sets the cookie variable to a literal value",
    "read it from the cookie Secret (`erlcookie k8s inject`); put the same cookie in the "
    "Secret first (`erlcookie k8s secret --adopt-from FILE`), roll out, then `erlcookie "
    "rotate`: the literal is in version control",
)
K8S_CONFIGMAP_REF_COOKIE = _k8s_rule(
    "k8s/configmap-ref-cookie",
    "high",
    "a workload reads the cookie variable from a ConfigMap (configMapKeyRef)",
    "read it from the cookie Secret (`erlcookie k8s inject`) and remove the key from the "
    "ConfigMap: ConfigMaps are not secret",
)
K8S_ENVFROM_COOKIE = _k8s_rule(
    "k8s/envfrom-cookie",
    "high",
    "a cookie reaches the pods through envFrom (a ConfigMap or Secret key named like a cookie)",
    "remove the key from the ConfigMap and set that variable from the cookie Secret "
    "(`erlcookie k8s inject --env VAR`)",
)
K8S_NOT_WIRED = _k8s_rule(
    "k8s/not-wired",
    "medium",
    "a workload does not take its cookie from the cookie Secret",
    "wire it (`erlcookie k8s inject --in-place`), after the Secret exists in its namespace",
)
K8S_PLAIN_COOKIE = _k8s_rule(
    "k8s/plain-cookie",
    "high",
    "a cookie in clear in a pod spec that `k8s inject` does not replace (-setcookie in "
    "args, another cookie variable)",
    "move it to the Secret: wire that variable with `--env VAR`, or read it from "
    "$(RELEASE_COOKIE) in args",
)
K8S_WIRING_ERROR = _k8s_rule(
    "k8s/wiring-error",
    "medium",
    "`k8s inject` cannot wire the cookie Secret as asked (a volume name already taken, an "
    "init container that cannot chown the copy)",
    "see the message: choose another --volume-name, or fix runAsUser / --init-copy-owner",
)
K8S_WIRING_WARNING = _k8s_rule(
    "k8s/wiring-warning",
    "low",
    "wiring the cookie Secret needs a look (all containers wired, mount permissions)",
    "see the message; `erlcookie k8s inject --help` explains the options",
)


# -- a live app (k8s status) --------------------------------------------------------------
# Wiring problems of live workloads and pods are the manifests' rules above (a literal
# cookie variable is k8s/env-literal-cookie in `k8s inject --check`, `doctor` and `k8s
# status` alike); these are what only a live cluster shows. Their path is the object's
# reference ("Secret/erlang-cookie", "Pod/chat-abc"), their line 0. From medium up a
# finding fails `k8s status` (exit 1); low ones are warnings.
def _status_rule(id: str, severity: str, title: str, fix: str) -> str:
    return _register(
        Rule(id, id.split("/", 1)[1], title, title, fix, Severity(severity), "high", K8S_STATUS)
    )


K8S_STATUS_SECRET_MISSING = _status_rule(
    "k8s-status/secret-missing",
    "high",
    "the cookie Secret does not exist in the namespace: pods that read it do not start",
    "create it (`erlcookie k8s secret --apply`)",
)
K8S_STATUS_SECRET_KEY = _status_rule(
    "k8s-status/secret-key",
    "high",
    "the cookie Secret has no usable cookie under the key (missing, empty, not base64 or "
    "not UTF-8 text)",
    "put the cookie under the key (`erlcookie k8s secret --apply --replace`)",
)
K8S_STATUS_SECRET_WEAK = _status_rule(
    "k8s-status/secret-weak",
    "high",
    "the cookie in the Secret is weak or predictable (`erlcookie audit`)",
    "rotate to a generated cookie (`erlcookie rotate`)",
)
K8S_STATUS_SECRET_NEWLINE = _status_rule(
    "k8s-status/secret-newline",
    "low",
    "the cookie in the Secret ends with a newline: through an env var it is part of the "
    "cookie, read from a file it is not",
    "store the cookie without the newline, during a rotation (`erlcookie rotate`)",
)
K8S_STATUS_ANNOTATION_STALE = _status_rule(
    "k8s-status/annotation-stale",
    "low",
    "the Secret's fingerprint annotation does not match its data: something else changed it",
    "find out what changed the Secret; `erlcookie k8s secret --apply` rewrites the annotation",
)
K8S_STATUS_OPTIONAL_REF = _status_rule(
    "k8s-status/optional-ref",
    "low",
    "the secretKeyRef is optional: a missing Secret starts the node with another cookie",
    "drop `optional: true` from the secretKeyRef",
)
K8S_STATUS_NO_CONTAINER = _status_rule(
    "k8s-status/no-container",
    "medium",
    "no container of a workload or pod has the name given with --container",
    "check --container against the pod spec",
)
K8S_STATUS_NO_WORKLOADS = _status_rule(
    "k8s-status/no-workloads",
    "medium",
    "no workload matches the selector in the namespace: nothing was checked",
    "check -l and -n (or the context's namespace)",
)
K8S_STATUS_NO_PODS = _status_rule(
    "k8s-status/no-pods",
    "low",
    "no pod matches the selector: only the workloads were checked",
    "check -l; scaled to zero, nothing runs a cookie",
)
K8S_STATUS_STALE_COOKIE = _status_rule(
    "k8s-status/stale-cookie",
    "medium",
    "a container started before the Secret last changed: its environment (or cookie file) "
    "holds the old cookie",
    "restart the pods (`kubectl rollout restart`) once the nodes run the new cookie",
)
K8S_STATUS_WORKLOAD_NOT_MATCHED = _status_rule(
    "k8s-status/workload-not-matched",
    "low",
    "a matched pod's workload does not carry the selector's labels, so it was not checked",
    "widen -l to the workload's labels",
)
