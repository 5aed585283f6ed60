"""The scanner's rules: stable ids, names, descriptions, help and base severities.

Rule ids never change meaning once released: baselines and SARIF partial fingerprints
(GitHub code scanning alerts) are keyed on them. Add new ids; do not renumber.
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("low", "medium", "high", "critical")
# GitHub reads `security-severity` (0.0-10.0) from rule properties to rank alerts.
SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}
SARIF_LEVEL = {"low": "note", "medium": "warning", "high": "error", "critical": "error"}

_FIX = ("Treat the cookie as leaked: generate a new one (`erlcookie generate`), deliver it "
        "from a secret store at run time (for example a Kubernetes Secret read through "
        "`secretKeyRef` into RELEASE_COOKIE), rotate the running cluster "
        "(`erlcookie rotate`), and keep the literal out of the repository. Removing the "
        "line is not enough: the value stays in git history.")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    short: str  # one sentence, shown in tables and as SARIF shortDescription
    description: str  # what it matches and why it matters
    help: str  # what to do about it
    severity: str  # base severity; a weak or predictable cookie raises it one step
    confidence: str = "high"

    def raised(self, verdict: str) -> str:
        """Severity for a finding whose cookie got `verdict` from the audit."""
        if verdict in ("weak", "predictable"):
            return SEVERITIES[min(SEVERITIES.index(self.severity) + 1, len(SEVERITIES) - 1)]
        return self.severity

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "short": self.short,
                "description": self.description, "help": self.help,
                "severity": self.severity, "confidence": self.confidence}


def _rule(id, name, short, description, help_extra="", severity="high", confidence="high"):
    return Rule(id, name, short, description, (help_extra + " " + _FIX).strip(), severity,
                confidence)


RULES: dict[str, Rule] = {r.id: r for r in (
    _rule("EC001", "vm-args-setcookie",
          "Literal cookie in vm.args (-setcookie).",
          "A vm.args or vm.args.src file passes a literal cookie with `-setcookie Cookie` or "
          "`-setcookie Node Cookie`. Everyone who can read the repository, the image or the "
          "node's command line (`ps`) can join the cluster and run code on every node.",
          "Use `-setcookie ${RELEASE_COOKIE}` in vm.args.src (relx/rebar3 render it from the "
          "environment at start-up) or drop the flag and let mix releases read RELEASE_COOKIE."),
    _rule("EC002", "committed-cookie-file",
          "Committed .erlang.cookie or releases/COOKIE file.",
          "A `.erlang.cookie` file or a mix release's `releases/COOKIE` is in the tree. Its "
          "whole content is the cookie that authenticates Erlang distribution.",
          "Delete the file, add it to .gitignore, and set RELEASE_COOKIE at run time instead."),
    _rule("EC003", "mix-release-cookie",
          "Literal `cookie:` in a mix release (or Distillery) configuration.",
          "mix.exs (or rel/config.exs) sets `cookie: \"...\"` or `cookie: :atom` for a "
          "release, baking the cookie into every build artefact and the repository.",
          "Remove the `cookie:` option; set RELEASE_COOKIE in the deployment environment."),
    _rule("EC004", "set-cookie-literal",
          "Literal cookie passed to Node.set_cookie / erlang:set_cookie.",
          "Code calls `Node.set_cookie`, `:erlang.set_cookie`, `erlang:set_cookie` or "
          "`auth:set_cookie` with a literal atom or string, so the cookie ships in source and "
          "in compiled BEAM files.",
          "Read the cookie from the environment (`System.fetch_env!(\"RELEASE_COOKIE\")`) or "
          "from a mounted secret file."),
    _rule("EC005", "env-assignment",
          "Cookie variable assigned a literal in a script, env, unit, CI or config file.",
          "A cookie variable (RELEASE_COOKIE, ERLANG_COOKIE, RABBITMQ_ERLANG_COOKIE and "
          "friends) gets a literal value: `export RELEASE_COOKIE=...`, `.env`, "
          "`rel/env.sh.eex`, systemd `Environment=`, Makefiles, CI `env:`/`variables:` maps, "
          "JSON/TOML/HCL configuration.",
          "Inject the variable from your secret store or CI secrets (`${{ secrets.X }}`, "
          "`$RELEASE_COOKIE` from the environment) instead of writing its value."),
    _rule("EC006", "command-line-cookie",
          "Literal cookie on a command line (erl -setcookie, iex --cookie, ...).",
          "A script, Makefile, CI file, escript `%%!` line, Dockerfile CMD or document runs "
          "`erl -setcookie X`, `iex/elixir --cookie X`, `erl_call -c X`, "
          "`rabbitmqctl --erlang-cookie X`, or writes a literal into .erlang.cookie with "
          "echo/printf. Command-line cookies are also visible to every local user in `ps`.",
          "Pass the cookie through a 0400 cookie file or the RELEASE_COOKIE environment "
          "variable fed from a secret."),
    _rule("EC007", "dockerfile-env",
          "Cookie baked into a container image by Dockerfile ENV/ARG.",
          "A Dockerfile sets a cookie variable with `ENV` or gives an `ARG` a literal default. "
          "ENV values are stored in the image config and ARG defaults in its history: anyone "
          "who can pull the image can read them.",
          "Provide the cookie at run time (Kubernetes Secret, `docker run -e` from a secret, "
          "compose secrets), never at build time."),
    _rule("EC008", "k8s-env-literal",
          "Kubernetes container env sets a cookie variable to a literal value.",
          "A Pod template's `env:` entry names a cookie variable with a literal `value:` "
          "instead of `valueFrom: secretKeyRef`, so the cookie lives in the manifest, in "
          "etcd unencrypted and in `kubectl get -o yaml` output for anyone with read access.",
          "Store the cookie in a Secret (`erlcookie k8s secret`) and reference it with "
          "`valueFrom.secretKeyRef`."),
    _rule("EC009", "k8s-configmap-cookie",
          "Kubernetes ConfigMap holds a cookie.",
          "A ConfigMap (or a configMapGenerator literal) carries a cookie. ConfigMaps are not "
          "secrets: they are readable by far more principals and are printed freely.",
          "Move the value into a Secret and reference it from the workload."),
    _rule("EC010", "k8s-secret-committed",
          "Kubernetes Secret with a cookie committed to the repository.",
          "A Secret manifest (or secretGenerator literal) with the cookie in `stringData` or "
          "`data` is committed. `data` is base64, which is an encoding, not encryption.",
          "Commit only encrypted secrets (Sealed Secrets, SOPS, External Secrets) or create "
          "the Secret out of band (`erlcookie k8s secret`)."),
    _rule("EC011", "yaml-cookie-value",
          "Literal cookie in YAML configuration such as Helm values (erlangCookie:).",
          "A YAML key naming an Erlang cookie (Helm chart values like `auth.erlangCookie`, "
          "`erlangCookie`, `releaseCookie`) has a literal value.",
          "Use the chart's existing-secret option (for example `auth.existingErlangSecret`) "
          "or pass the value at install time from a secret store."),
    _rule("EC012", "compose-env-cookie",
          "docker-compose sets a cookie variable to a literal.",
          "A compose file's `environment:` (list or map form) or build `args:` sets a cookie "
          "variable to a literal value.",
          "Use an env_file kept out of git, compose `secrets:`, or `${RELEASE_COOKIE}` "
          "interpolation from the caller's environment."),
    _rule("EC013", "fly-toml-env",
          "fly.toml [env] sets a cookie variable.",
          "fly.toml's `[env]` section is plain configuration committed with the app; a cookie "
          "there is public to every reader of the repository.",
          "Use `fly secrets set RELEASE_COOKIE=...` instead of `[env]`."),
    _rule("EC100", "generic-cookie-assignment",
          "Cookie-shaped value assigned to another *COOKIE* name (lower confidence).",
          "A variable or key whose name contains COOKIE but is not a known Erlang cookie "
          "variable gets a long, random-looking literal. It may be an Erlang cookie under a "
          "custom name, or another secret (for example a web session signing key).",
          "If it is an Erlang cookie, treat it as leaked. If it is not, allow it with an "
          "`erlcookie:allow` comment or accept it with `--write-baseline`.",
          severity="medium", confidence="medium"),
)}
