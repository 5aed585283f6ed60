"""Positive and negative fixtures for every detector and rule.

Each positive fixture is a file template with `{C}` standing for a fresh random cookie;
the test checks the rule, that the detection covers exactly the cookie, and that it is
found once. Negative fixtures are references, placeholders and look-alikes that must not
be reported. Comparisons never put a cookie into an assertion message.
"""

from __future__ import annotations

import base64
import secrets

import pytest

from erlcookie.findings.rules import SCAN, rules_of
from erlcookie.scan.detectors import Source, detect, detect_source, needs_scan
from tests.scan.conftest import fresh_cookie

pytestmark = pytest.mark.timeout(60)

RULES = {r.id: r for r in rules_of(SCAN)}  # the scan's rules, in registry order

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:1
          env:
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
            - name: RELEASE_COOKIE
              value: "{C}"
"""

STATEFULSET_VALUE_FIRST = """\
apiVersion: apps/v1
kind: StatefulSet
spec:
  template:
    spec:
      containers:
      - name: rabbit
        env:
        - value: {C}
          name: RABBITMQ_ERLANG_COOKIE
"""

SECRET_STRINGDATA = """\
# committed "for staging"
apiVersion: v1
kind: Secret
metadata:
  name: erlang-cookie
type: Opaque
stringData:
  cookie: {C}
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  RELEASE_DISTRIBUTION: name
  RELEASE_COOKIE: "{C}"
"""

CONFIGMAP_BLOCK = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: rabbit
data:
  .erlang.cookie: |
    {C}
  enabled_plugins: |
    [rabbitmq_management].
"""

# (id, path, template, rule)
POSITIVE = [
    ("vmargs", "rel/vm.args", "-name app@127.0.0.1\n-setcookie {C}\n+K true\n", "EC001"),
    ("vmargs-src-node-form", "config/vm.args.src", "-setcookie peer@host {C}\n", "EC001"),
    (
        "vmargs-commented-out",
        "rel/vm.args",
        "## old cookie, do not use\n# -setcookie {C}\n",
        "EC001",
    ),
    ("vmargs-trailing-comment", "rel/vm.args", "-setcookie {C} # prod\n", "EC001"),
    ("erlang-cookie-file", ".erlang.cookie", "{C}", "EC002"),
    ("nested-erlang-cookie-file", "docker/home/.erlang.cookie", "{C}\n", "EC002"),
    ("releases-cookie", "_build/prod/rel/app/releases/COOKIE", "{C}\n", "EC002"),
    (
        "mix-release-string",
        "mix.exs",
        'def project do\n  [releases: [app: [cookie: "{C}", steps: [:assemble]]]]\nend\n',
        "EC003",
    ),
    ("mix-release-quoted-atom", "mix.exs", 'releases: [app: [cookie: :"{C}"]]\n', "EC003"),
    (
        "distillery-set-cookie",
        "rel/config.exs",
        "environment :prod do\n  set cookie: :{C}\nend\n",
        "EC003",
    ),
    (
        "node-set-cookie-2",
        "lib/app/application.ex",
        'Node.set_cookie(Node.self(), :"{C}")\n',
        "EC004",
    ),
    ("node-set-cookie-1", "lib/app.ex", "  Node.set_cookie(:{C})\n", "EC004"),
    (
        "erlang-dot-set-cookie-to-atom",
        "lib/app.exs",
        ':erlang.set_cookie(node(), String.to_atom("{C}"))\n',
        "EC004",
    ),
    ("erlang-set-cookie-quoted", "src/app.erl", "erlang:set_cookie(node(), '{C}'),\n", "EC004"),
    (
        "erlang-set-cookie-list-to-atom",
        "src/app.erl",
        'ok = erlang:set_cookie(list_to_atom("{C}")).\n',
        "EC004",
    ),
    ("erl-command-in-docs", "README.md", "Start it:\n\n    erl -sname a -setcookie {C}\n", "EC006"),
    (
        "erlang-set-cookie-in-docs",
        "README.md",
        '```elixir\nNode.set_cookie(:"{C}")\n```\n',
        "EC004",
    ),
    ("export", "deploy/env.sh", "#!/bin/sh\nexport RELEASE_COOKIE={C}\n", "EC005"),
    ("export-erl-cookie", "deploy/env.sh", "export ERL_COOKIE={C}\n", "EC005"),
    ("dotenv-bitnami", ".env", "RABBITMQ_ERL_COOKIE={C}\n", "EC005"),
    ("dotenv", ".env", 'PORT=4000\nRELEASE_COOKIE="{C}"\n', "EC005"),
    (
        "env-sh-eex-default",
        "rel/env.sh.eex",
        "export RELEASE_COOKIE=${{RELEASE_COOKIE:-{C}}}\n",
        "EC005",
    ),
    (
        "systemd",
        "deploy/app.service",
        "[Service]\nEnvironment=RELEASE_COOKIE={C}\nExecStart=/app/bin/app start\n",
        "EC005",
    ),
    (
        "systemd-quoted",
        "deploy/app.service",
        '[Service]\nEnvironment="PORT=4000" "ERLANG_COOKIE={C}"\n',
        "EC005",
    ),
    ("makefile", "Makefile", "RELEASE_COOKIE ?= {C}\nrun:\n\tmix run\n", "EC005"),
    ("inline-env", "scripts/release.sh", "RELEASE_COOKIE={C} mix release --overwrite\n", "EC005"),
    (
        "github-actions-env",
        ".github/workflows/ci.yml",
        "jobs:\n  test:\n    env:\n      RELEASE_COOKIE: {C}\n    steps:\n      - run: mix test\n",
        "EC005",
    ),
    ("gitlab-variables", ".gitlab-ci.yml", 'variables:\n  ERLANG_COOKIE: "{C}"\n', "EC005"),
    ("json-config", "config/settings.json", '{{\n  "RABBITMQ_ERLANG_COOKIE": "{C}"\n}}\n', "EC005"),
    ("python-environ", "tools/boot.py", 'os.environ["RELEASE_COOKIE"] = "{C}"\n', "EC005"),
    (
        "elixir-put-env",
        "test/test_helper.exs",
        'System.put_env("RELEASE_COOKIE", "{C}")\n',
        "EC005",
    ),
    ("fish-set", "env.fish", "set -gx RELEASE_COOKIE {C}\n", "EC005"),
    (
        "terraform",
        "infra/main.tf",
        '  environment = {{\n    RELEASE_COOKIE = "{C}"\n  }}\n',
        "EC005",
    ),
    ("erl-command", "scripts/start.sh", "exec erl -sname a -setcookie {C} -s app\n", "EC006"),
    ("erl-command-node-form", "scripts/peer.sh", "erl -setcookie peer@db {C} -sname x\n", "EC006"),
    ("iex-cookie", "Makefile", "console:\n\tiex --sname dev --cookie {C} -S mix\n", "EC006"),
    ("elixir-cookie-equals", "Procfile", "web: elixir --cookie={C} -S mix phx.server\n", "EC006"),
    (
        "ci-run-iex",
        ".github/workflows/e2e.yml",
        "steps:\n  - run: iex --sname a --cookie '{C}' -S mix test\n",
        "EC006",
    ),
    (
        "escript-emu-args",
        "bin/tool.escript",
        "#!/usr/bin/env escript\n%%! -sname tool -setcookie {C}\nmain(_) -> ok.\n",
        "EC006",
    ),
    (
        "dockerfile-exec-form",
        "Dockerfile",
        'FROM erlang:26\nCMD ["erl", "-sname", "a", "-setcookie", "{C}"]\n',
        "EC006",
    ),
    ("erl-call", "scripts/rpc.sh", "erl_call -c {C} -sname app -a 'erlang node'\n", "EC006"),
    ("rabbitmqctl", "scripts/rmq.sh", "rabbitmqctl --erlang-cookie {C} cluster_status\n", "EC006"),
    (
        "echo-to-cookie-file",
        "Dockerfile",
        'FROM debian\nRUN echo "{C}" > /root/.erlang.cookie && chmod 400 /root/.erlang.cookie\n',
        "EC006",
    ),
    (
        "printf-to-cookie-file",
        "scripts/setup.sh",
        "printf '%s' {C} > \"$HOME/.erlang.cookie\"\n",
        "EC006",
    ),
    ("dockerfile-env", "Dockerfile", "FROM elixir\nENV RELEASE_COOKIE={C}\n", "EC007"),
    (
        "dockerfile-env-legacy",
        "docker/Dockerfile.prod",
        "FROM elixir\nENV RELEASE_COOKIE {C}\n",
        "EC007",
    ),
    ("dockerfile-arg-default", "Dockerfile", "ARG ERLANG_COOKIE={C}\nFROM erlang\n", "EC007"),
    (
        "dockerfile-env-continued",
        "app.Dockerfile",
        "FROM couchdb\nENV COUCHDB_USER=admin \\\n    COUCHDB_ERLANG_COOKIE={C}\n",
        "EC007",
    ),
    ("k8s-env-literal", "k8s/deployment.yaml", DEPLOYMENT, "EC008"),
    ("k8s-env-value-first", "k8s/sts.yml", STATEFULSET_VALUE_FIRST, "EC008"),
    ("configmap", "k8s/configmap.yaml", CONFIGMAP, "EC009"),
    ("configmap-cookie-file", "k8s/rabbit-cm.yaml", CONFIGMAP_BLOCK, "EC009"),
    (
        "kustomize-configmap-literal",
        "kustomization.yaml",
        "configMapGenerator:\n  - name: app\n    literals:\n      - RELEASE_COOKIE={C}\n",
        "EC009",
    ),
    ("secret-stringdata", "k8s/secret.yaml", SECRET_STRINGDATA, "EC010"),
    (
        "kustomize-secret-literal",
        "overlays/prod/kustomization.yaml",
        'secretGenerator:\n- name: cookie\n  literals:\n  - "RELEASE_COOKIE={C}"\n',
        "EC010",
    ),
    (
        "helm-values",
        "chart/values.yaml",
        "replicaCount: 3\nauth:\n  username: user\n  erlangCookie: {C}\n",
        "EC011",
    ),
    (
        "helm-values-erlang-cookie-key",
        "chart/values.yaml",
        "erlang:\n  cookie: {C}\n  distribution: name\n",
        "EC011",
    ),
    (
        "helm-values-nested-quoted",
        "values-prod.yaml",
        'rabbitmq:\n  auth:\n    erlangCookie: "{C}"  # TODO\n',
        "EC011",
    ),
    (
        "helm-template-default",
        "chart/templates/secret.yaml",
        '  cookie: {{{{ .Values.erlangCookie | default "{C}" | b64enc }}}}\n',
        "EC011",
    ),
    (
        "compose-list",
        "docker-compose.yml",
        "services:\n  app:\n    environment:\n      - RELEASE_NODE=app@app\n      - RELEASE_COOKIE={C}\n",
        "EC012",
    ),
    (
        "compose-map",
        "compose.yaml",
        "services:\n  rabbit:\n    image: rabbitmq:3\n    environment:\n      RABBITMQ_ERLANG_COOKIE: {C}\n",
        "EC012",
    ),
    (
        "compose-list-quoted",
        "docker-compose.override.yml",
        'services:\n  app:\n    environment:\n      - "RELEASE_COOKIE={C}"\n',
        "EC012",
    ),
    (
        "compose-build-args",
        "docker-compose.yml",
        "services:\n  app:\n    build:\n      context: .\n      args:\n        RELEASE_COOKIE: {C}\n",
        "EC012",
    ),
    (
        "compose-default",
        "docker-compose.yml",
        "services:\n  app:\n    environment:\n      RELEASE_COOKIE: ${{RELEASE_COOKIE:-{C}}}\n",
        "EC012",
    ),
    (
        "fly-toml",
        "fly.toml",
        'app = "my-app"\n\n[env]\n  RELEASE_DISTRIBUTION = "name"\n  RELEASE_COOKIE = "{C}"\n',
        "EC013",
    ),
    ("generic-env", ".env", "SESSION_COOKIE_SIGNING_KEY={G}\n", "EC100"),
    ("generic-yaml", "config/app.yaml", "web:\n  sessionCookieSecret: {G}\n", "EC100"),
    # issue 14: the shapes public projects write
    (
        "hocon-node-block",
        "etc/emqx.conf",
        'node {{\n  name = "emqx@127.0.0.1"\n  cookie = "{C}"\n}}\n',
        "EC014",
    ),
    (
        "hocon-flat",
        "etc/emqx.conf.example",
        "node.name = emqx@127.0.0.1\nnode.cookie = {C}\n",
        "EC014",
    ),
    ("sys-config-cookie", "config/sys.config", '[{{myapp, [{{cookie, "{C}"}}]}}].\n', "EC015"),
    (
        "app-config-riak-cookie",
        "rel/files/app.config",
        "[{{riak_core, [{{riak_cookie, {C}}}, {{ring_size, 64}}]}}].\n",
        "EC015",
    ),
    (
        "rebar-dist-node",
        "rebar.config",
        "{{dist_node, [{{setcookie, '{C}'}}, {{sname, 'app'}}]}}.\n",
        "EC015",
    ),
    (
        "app-src-env-binary",
        "src/app.app.src",
        '{{application, app, [{{env, [{{cluster_cookie, <<"{C}">>}}]}}]}}.\n',
        "EC015",
    ),
    (
        "cuttlefish-schema-default",
        "priv/app.schema",
        '{{mapping, "distributed_cookie", "vm_args.-setcookie", [\n  {{default, "{C}"}}\n]}}.\n',
        "EC016",
    ),
    (
        "hocon-schema-default",
        "src/app_schema.erl",
        '{{"cookie", sc(string(), #{{mapping => "vm_args.-setcookie",\n'
        '                             default => "{C}"}})}}\n',
        "EC016",
    ),
    (
        "cuttlefish-conf",
        "rel/riak.conf",
        "nodename = riak@127.0.0.1\ndistributed_cookie = {C}\n",
        "EC016",
    ),
    (
        "helm-set",
        "scripts/deploy.sh",
        "helm install rmq bitnami/rabbitmq --set auth.erlangCookie={C}\n",
        "EC017",
    ),
    (
        "helm-set-comma",
        "scripts/deploy.sh",
        "helm upgrade r bitnami/rabbitmq --set auth.username=a,auth.erlangCookie={C},x=y\n",
        "EC017",
    ),
    (
        "helm-set-erlang-flags",
        "Makefile",
        "deploy:\n\thelm install c couchdb/couchdb --set erlangFlags.setcookie={C}\n",
        "EC017",
    ),
    (
        "kubectl-from-literal",
        "scripts/secret.sh",
        "kubectl create secret generic erl --from-literal=cookie={C}\n",
        "EC018",
    ),
    (
        "kubectl-from-literal-quoted",
        "deploy.sh",
        "kubectl create secret generic erl --from-literal=RELEASE_COOKIE='{C}' -o yaml\n",
        "EC018",
    ),
    (
        "ansible-copy",
        "roles/rabbitmq/tasks/main.yml",
        '- name: cookie\n  ansible.builtin.copy:\n    content: "{C}"\n'
        "    dest: /var/lib/rabbitmq/.erlang.cookie\n    mode: '0400'\n",
        "EC019",
    ),
    (
        "ansible-copy-dest-first",
        "playbook.yml",
        "- hosts: all\n  tasks:\n    - copy:\n        dest: /root/.erlang.cookie\n"
        "        content: {C}\n",
        "EC019",
    ),
    (
        "vscode-launch",
        ".vscode/launch.json",
        '{{"configurations": [{{"type": "erlang", "request": "launch",\n  "cookie": "{C}"}}]}}\n',
        "EC020",
    ),
    (
        "clouseau-ini",
        "etc/clouseau.ini",
        "[erlang]\nname=clouseau@127.0.0.1\ncookie={C}\n",
        "EC021",
    ),
    (
        "elixir-get-env-or",
        "config/runtime.exs",
        'cookie = System.get_env("RELEASE_COOKIE") || "{C}"\n',
        "EC022",
    ),
    (
        "elixir-get-env-default",
        "config/runtime.exs",
        'config :app, secret: System.get_env("RELEASE_COOKIE", "{C}")\n',
        "EC022",
    ),
    ("erlang-getenv-default", "src/app.erl", 'C = os:getenv("ERLANG_COOKIE", "{C}"),\n', "EC022"),
    (
        "k8s-json-env",
        "k8s/deploy.json",
        '{{"kind": "Deployment", "spec": {{"template": {{"spec": {{"containers": [\n'
        '  {{"name": "a", "env": [{{"name": "RELEASE_COOKIE", "value": "{C}"}}]}}]}}}}}}}}\n',
        "EC008",
    ),
    (
        "k8s-json-secret",
        "k8s/secret.json",
        '{{"kind": "Secret", "stringData": {{"cookie": "{C}"}}}}\n',
        "EC010",
    ),
    (
        "terraform-k8s-secret",
        "infra/secret.tf",
        'resource "kubernetes_secret" "erl" {{\n  data = {{\n    cookie = "{C}"\n  }}\n}}\n',
        "EC010",
    ),
    (
        "terraform-env-block",
        "infra/app.tf",
        'container {{\n  env {{\n    name  = "RELEASE_COOKIE"\n    value = "{C}"\n  }}\n}}\n',
        "EC008",
    ),
    (
        "terraform-variable-default",
        "infra/vars.tf",
        'variable "erlang_cookie" {{\n  type    = string\n  default = "{C}"\n}}\n',
        "EC005",
    ),
    (
        "rebar3-shell-setcookie",
        "Makefile",
        "shell:\n\trebar3 shell --sname a --setcookie {C}\n",
        "EC006",
    ),
    (
        "shell-variable-feeds-setcookie",
        "scripts/run.sh",
        'COOKIE={C}\nerl -sname a -setcookie "$COOKIE"\n',
        "EC005",
    ),
    ("shell-env-prefix-release", "scripts/nodes.sh", "COOKIE={C} NODE=a bin/app daemon\n", "EC005"),
    (
        "erl-flags-variable",
        "run.sh",
        "cookie='{C}'\nERL_FLAGS=\"-setcookie $cookie\" iex -S mix\n",
        "EC005",
    ),
    (
        "elixir-attribute-in-release",
        "mix.exs",
        '@cookie "{C}"\ndef project, do: [releases: [app: [cookie: @cookie]]]\n',
        "EC003",
    ),
    (
        "elixir-attribute-set-cookie",
        "lib/c.ex",
        '@c :"{C}"\ndef f(n), do: Node.set_cookie(n, @c)\n',
        "EC004",
    ),
    (
        "erlang-rpc-set-cookie",
        "src/r.erl",
        "rpc:call(N, erlang, set_cookie, [N, '{C}']),\n",
        "EC004",
    ),
    (
        "markdown-yaml-fence",
        "README.md",
        "Values:\n\n```yaml\nauth:\n  erlangCookie: {C}\n```\n",
        "EC011",
    ),
    (
        "markdown-dockerfile-fence",
        "docs/docker.md",
        "```dockerfile\nFROM elixir\nENV RELEASE_COOKIE={C}\n```\n",
        "EC007",
    ),
    (
        "markdown-erlang-fence",
        "README.md",
        '```erlang\n[{{kernel, []}}, {{app, [{{cookie, "{C}"}}]}}].\n```\n',
        "EC015",
    ),
    (
        "markdown-console-fence",
        "README.md",
        "```console\n$ erl -sname a -setcookie {C}\n```\n",
        "EC006",
    ),
    (
        "env-text-written-by-code",
        "tools/build.py",
        'files = {{"Dockerfile": "FROM debian\\nENV RELEASE_COOKIE={C} X=1\\n"}}\n',
        "EC005",
    ),
    ("elixir-config-symbol", "config/prod.exs", 'config :myapp, :cookie, :"{C}"\n', "EC005"),
    ("capistrano-set", "config/deploy.rb", 'set :erlang_cookie, "{C}"\n', "EC005"),
    (
        "nomad-env",
        "deploy/app.nomad",
        'task "t" {{\n  env {{\n    RELEASE_COOKIE = "{C}"\n  }}\n}}\n',
        "EC005",
    ),
    (
        "rst-code-block",
        "docs/cluster.rst",
        "Cookie:\n\n.. code-block:: properties\n\n    node.name = a@127.0.0.1\n"
        "    node.cookie = {C}\n\nDone.\n",
        "EC014",
    ),
    (
        "rst-literal-block",
        "docs/config.rst",
        "The keys::\n\n  distributed_cookie = {C}\n\nDone.\n",
        "EC016",
    ),
    (
        "jekyll-highlight-erlang",
        "docs/_posts/2010-01-01-riak.md",
        "{{% highlight erlang %}}\n{{riak_cookie, {C}}}.\n{{riak_nodename, node1}}.\n"
        "{{% endhighlight %}}\n",
        "EC015",
    ),
    (
        "json-erlang-section",
        "data_bags/apps/example.json",
        '{{"id": "example", "erlang": {{"max_ports": 4096, "cookie": "{C}"}}}}\n',
        "EC005",
    ),
    (
        "helm-values-erlang-flags",
        "chart/values.yaml",
        "erlangFlags:\n  name: couchdb\n  setcookie: {C}\n",
        "EC011",
    ),
    (
        "helm-values-flow-mapping",
        "values.yaml",
        "erlangFlags: {{name: couchdb, setcookie: {C}}}\n",
        "EC011",
    ),
    (
        "echo-into-vm-args",
        "Dockerfile",
        'FROM erlang\nRUN echo "-setcookie {C}" >> /app/releases/vm.args\n',
        "EC006",
    ),
    (
        "snapcraft-environment",
        "snap/snapcraft.yaml",
        "apps:\n  s:\n    environment:\n      RELEASE_COOKIE: {C}\n",
        "EC005",
    ),
]

NEGATIVE = [
    (
        "own-settings",
        "scripts/test",
        "export ERLCOOKIE_REQUIRE_OTP27=1\nERLCOOKIE_OTP27_ROOT=/var/cache/x\n",
    ),
    ("web-session-cookie", ".env", "PHOENIX_SESSION_COOKIE=_my_app_key\n"),
    ("vmargs-env", "rel/vm.args.src", "-setcookie ${RELEASE_COOKIE}\n"),
    ("vmargs-eex", "rel/vm.args.eex", "-setcookie <%= @release.options[:cookie] %>\n"),
    ("vmargs-no-cookie", "rel/vm.args", "-name app@127.0.0.1\n+K true\n"),
    ("empty-cookie-file", ".erlang.cookie", "\n"),
    (
        "mix-fetch-env",
        "mix.exs",
        'releases: [app: [cookie: System.fetch_env!("RELEASE_COOKIE")]]\n',
    ),
    ("mix-interpolation", "mix.exs", 'releases: [app: [cookie: "#{prefix}_cookie"]]\n'),
    ("mix-variable", "rel/config.exs", "set cookie: cookie\n"),
    ("node-set-cookie-variable", "lib/app.ex", "Node.set_cookie(node, cookie)\n"),
    (
        "node-set-cookie-env",
        "lib/app.ex",
        'Node.set_cookie(String.to_atom(System.fetch_env!("RELEASE_COOKIE")))\n',
    ),
    ("node-set-cookie-expression", "lib/app.ex", 'Node.set_cookie(:"prefix" <> suffix)\n'),
    ("erlang-variable", "src/app.erl", "erlang:set_cookie(node(), Cookie),\n"),
    ("erlang-macro", "src/app.erl", "erlang:set_cookie(node(), ?COOKIE),\n"),
    ("web-cookie-python", "app/views.py", 'response.set_cookie("session", token)\n'),
    (
        "web-cookie-name",
        "config/config.exs",
        'plug Plug.Session, store: :cookie, key: "_app_key", signing_salt: "Zx8Yw7Vu"\n',
    ),
    (
        "export-command-substitution",
        "env.sh",
        'export RELEASE_COOKIE="$(cat /run/secrets/cookie)"\n',
    ),
    ("export-reference", "env.sh", "export RELEASE_COOKIE=${RELEASE_COOKIE}\n"),
    ("export-required", "env.sh", "export RELEASE_COOKIE=${RELEASE_COOKIE:?set RELEASE_COOKIE}\n"),
    ("dotenv-empty", ".env", "RELEASE_COOKIE=\n"),
    ("docs-placeholder", "README.md", "export RELEASE_COOKIE=<your-cookie>\n"),
    ("comparison", "check.sh", '[ "$RELEASE_COOKIE" = "" ] && exit 1\n'),
    ("curl-cookie", "scripts/health.sh", 'curl --cookie "session=abc123def456" https://x/health\n'),
    ("iex-env-cookie", "Makefile", 'console:\n\tiex --cookie "$$RELEASE_COOKIE" -S mix\n'),
    ("erl-cookie-file", "start.sh", 'erl -setcookie "$(cat ~/.erlang.cookie)" -sname a\n'),
    ("dockerfile-env-reference", "Dockerfile", "ENV RELEASE_COOKIE=${RELEASE_COOKIE}\n"),
    (
        "dockerfile-arg-no-default",
        "Dockerfile",
        "ARG RELEASE_COOKIE\nENV RELEASE_COOKIE=$RELEASE_COOKIE\n",
    ),
    (
        "k8s-secret-ref",
        "k8s/deployment.yaml",
        DEPLOYMENT.replace(
            '              value: "{C}"\n',
            "              valueFrom:\n                secretKeyRef:\n                  name: erlang-cookie\n"
            "                  key: cookie\n",
        ),
    ),
    (
        "k8s-helm-template-value",
        "chart/templates/deployment.yaml",
        DEPLOYMENT.replace('"{C}"', "{{ .Values.erlangCookie | quote }}"),
    ),
    ("k8s-env-var-expansion", "k8s/deployment.yaml", DEPLOYMENT.replace('"{C}"', "$(COOKIE)")),
    (
        "secret-without-cookie",
        "k8s/secret.yaml",
        "kind: Secret\nstringData:\n  password: hunter2\n",
    ),
    (
        "secret-template",
        "chart/templates/secret.yaml",
        "kind: Secret\ndata:\n  cookie: {{ .Values.erlangCookie | b64enc | quote }}\n",
    ),
    (
        "values-empty",
        "chart/values.yaml",
        'auth:\n  erlangCookie: ""\n  existingErlangSecret: ""\n',
    ),
    ("values-null", "chart/values.yaml", "auth:\n  erlangCookie: ~\n"),
    (
        "compose-reference",
        "docker-compose.yml",
        "services:\n  app:\n    environment:\n      - RELEASE_COOKIE=${RELEASE_COOKIE}\n"
        "      RABBITMQ_ERLANG_COOKIE: ${RABBIT_COOKIE:?required}\n",
    ),
    (
        "compose-secrets-file",
        "docker-compose.yml",
        "services:\n  app:\n    environment:\n      RELEASE_COOKIE_FILE: /run/secrets/cookie\n",
    ),
    ("fly-toml-no-cookie", "fly.toml", '[env]\n  RELEASE_DISTRIBUTION = "name"\n'),
    ("generic-short", ".env", "SESSION_COOKIE_NAME=_my_app_key\nSESSION_COOKIE_AGE=1209600\n"),
    ("generic-domain", "settings.py", 'SESSION_COOKIE_DOMAIN = "sub.example.com"\n'),
    ("generic-words", "config.yaml", "cookieBannerText: this_site_uses_cookies_for_login\n"),
    (
        "github-secret",
        ".github/workflows/ci.yml",
        "env:\n  RELEASE_COOKIE: ${{ secrets.RELEASE_COOKIE }}\n",
    ),
    ("masked", "deploy/notes.txt", "RELEASE_COOKIE=********\n"),
    (
        "prose-setcookie",
        "src/app/model.py",
        'REASON = "-setcookie has no value, so the node falls back to ~/.erlang.cookie"\n',
    ),
    ("prose-setcookie-md", "docs/guide.md", "When no -setcookie is given, OTP reads a file.\n"),
    ("prose-set-variable", "docs/guide.md", "Then set RELEASE_COOKIE at run time instead.\n"),
    ("prose-placeholder-words", "docs/guide.md", "Use `-setcookie Node Cookie` for one peer.\n"),
    ("flag-tuple", "src/app/args.py", 'if word in ("-setcookie", "--cookie"):\n'),
    (
        "click-option",
        "src/app/cli.py",
        '@click.option("--cookie", "cookie_value", metavar="VALUE")\n',
    ),
    ("our-own-name", ".env", "ERLCOOKIE_REAL_CLUSTER=1\nERLCOOKIE_ACTION=store\n"),
    (
        "our-own-entry-point",
        "pyproject.toml",
        '[project.scripts]\nerlcookie = "erlcookie.cli:main"\n',
    ),
    ("python-format-field", "tools/gen.py", 'f.write(f"-setcookie {c}\\n")\n'),
    (
        "erlang-format-directive",
        "src/peer.erl",
        'Args = io_lib:format("erl -setcookie ~s -sname peer", [Cookie]),\n',
    ),
    (
        "prose-command-after",
        "src/app/rules.py",
        '"-setcookie does not open its line, so relx\'s start script cannot find it"\n',
    ),
    (
        "http-cookie-header",
        "tests/test_ws.py",
        'headers = {"Cookie": "TestValue", "Accept": "*/*"}\n',
    ),
    ("http-cookie-yaml", "api/spec.yaml", "headers:\n  Cookie: session=abc\n"),
    (
        "relx-template-placeholder",
        "docs/relx.md",
        "relx writes `-setcookie <release>_cookie` for you\n",
    ),
    # issue 14: look-alikes of the new shapes, and what was reported wrongly
    ("hocon-substitution", "etc/emqx.conf", "node {\n  cookie = ${?EMQX_NODE_COOKIE}\n}\n"),
    ("hocon-other-keys", "emqx.conf", "node.name = emqx@127.0.0.1\n# cookie: set elsewhere\n"),
    (
        "erlang-term-variable",
        "src/app.erl",
        "Opts = [{cookie, Cookie}, {riak_cookie, list_to_atom(S)}],\n",
    ),
    (
        "erlang-term-web-cookie",
        "config/sys.config",
        '[{app, [{cookie_domain, "example.org"}, {session_cookie_name, "_s"}]}].\n',
    ),
    ("erlang-term-undefined", "config/sys.config", "[{app, [{cookie, undefined}]}].\n"),
    (
        "cuttlefish-test-assert",
        "test/schema_tests.erl",
        'cuttlefish_unit:assert_config(Config, "vm_args.-setcookie", "erlang"),\n',
    ),
    (
        "cuttlefish-no-default",
        "priv/app.schema",
        '{mapping, "distributed_cookie", "vm_args.-setcookie", [\n  {datatype, string}\n]}.\n',
    ),
    (
        "helm-set-reference",
        "deploy.sh",
        "helm install r bitnami/rabbitmq --set auth.erlangCookie=$ERLANG_COOKIE\n",
    ),
    (
        "helm-set-existing-secret",
        "deploy.sh",
        "helm install r x --set auth.existingErlangSecret=rmq-cookie\n",
    ),
    (
        "kubectl-generated",
        "secret.sh",
        'kubectl create secret generic e --from-literal=cookie="$(erlcookie generate)"\n',
    ),
    (
        "kubectl-web-cookie-secret",
        "secret.sh",
        'kubectl create secret generic p --from-literal=cookie-secret="$(openssl rand -hex 16)"\n',
    ),
    (
        "ansible-vaulted",
        "tasks/main.yml",
        '- copy:\n    content: "{{ erlang_cookie }}"\n    dest: /var/lib/rabbitmq/.erlang.cookie\n',
    ),
    (
        "ansible-other-file",
        "tasks/main.yml",
        '- copy:\n    content: "hello"\n    dest: /etc/motd\n- file:\n    path: ~/.erlang.cookie\n',
    ),
    (
        "vscode-launch-no-cookie",
        ".vscode/launch.json",
        '{"configurations": [{"type": "erlang", "projectnode": "app"}]}\n',
    ),
    (
        "elixir-get-env-raise",
        "config/runtime.exs",
        'c = System.get_env("RELEASE_COOKIE") || raise "missing RELEASE_COOKIE"\n',
    ),
    ("elixir-get-env-other", "config/runtime.exs", 'System.get_env("PORT", "4000")\n'),
    (
        "k8s-json-secret-ref",
        "k8s/d.json",
        '{"env": [{"name": "RELEASE_COOKIE", "valueFrom": {"secretKeyRef": '
        '{"name": "e", "key": "c"}}}]}\n',
    ),
    (
        "terraform-reference",
        "infra/app.tf",
        'env {\n  name  = "RELEASE_COOKIE"\n  value = var.cookie\n}\n',
    ),
    (
        "code-call-go",
        "cluster/cluster.go",
        'erlangCookie := builder.ErlangCookie()\nreleaseCookie := os.Getenv("RELEASE_COOKIE")\n',
    ),
    (
        "code-call-python",
        "deploy.py",
        'erlang_cookie = os.environ["RABBITMQ_ERLANG_COOKIE"]\nrelease_cookie = generate_cookie(32)\n',
    ),
    (
        "template-key-name-default",
        "chart/templates/sts.yaml",
        '          key: {{ .Values.erlangCookieKey | default "erlangCookie" }}\n',
    ),
    ("values-key-name", "chart/values.yaml", "erlangCookieKey: erlangCookie\n"),
    ("echo-prose", "start.sh", 'echo "error: each node needs a -setcookie parameter."\n'),
    ("echoerr-prose", "start.sh", 'echoerr "usage: pass the cookie after -setcookie, or set it"\n'),
    ("comment-prose", "start.sh", "# the cookie goes after -setcookie on the command line\n"),
    (
        "erlang-comparison",
        "src/c.erl",
        "case Cookie =:= erlang:get_cookie() of\n    _ when Cookie == Ours -> ok\nend.\n",
    ),
    ("shell-comparison", "start.sh", 'if [ "$COOKIE" == "" ]; then exit 1; fi\n'),
    (
        "markdown-prose-outside-fence",
        "README.md",
        "Outside a fence, `auth.erlangCookie=notInAFence` is only prose.\n",
    ),
    (
        "elixir-session-options",
        "lib/endpoint.ex",
        '@session_options [store: :cookie, key: "_k", signing_salt: "x"]\n',
    ),
    ("shell-variable-not-fed", "scripts/run.sh", "COOKIE_JAR=/tmp/jar\ncurl -c $COOKIE_JAR x\n"),
    (
        "schema-in-prose",
        "docs/riak.md",
        '| `{mapping, "distributed_cookie", "vm_args.-setcookie", [{default, "riak"}]}` |\n',
    ),
    (
        "rpc-example-in-python",
        "tools/remote.py",
        "# rpc:call(Node, erlang, set_cookie, [Node, cookie]) sets it remotely\n",
    ),
    (
        "our-own-script-name",
        "pyproject.toml",
        '[project.scripts]\nkubectl-erlcookie = "erlcookie.cli:main"\n',
    ),
    (
        "rst-note-prose",
        "docs/cluster.rst",
        ".. note::\n\n   The cookie is compared as an atom; -setcookie on the command line wins.\n",
    ),
    ("json-web-cookie", "config/web.json", '{"http": {"cookie": "session"}}\n'),
    (
        "f-string-field",
        "tests/test_env.py",
        'assert f"# export RELEASE_COOKIE={cookies[4]}\\nexport X=1\\n" in env_sh\n',
    ),
    ("ruby-web-cookie", "app/controllers/x.rb", 'cookies.permanent[:cookie, "theme"]\n'),
    ("elixir-plug-cookie", "lib/router.ex", 'plug Plug.Session, store: :cookie, key: "_k"\n'),
    (
        "js-set-cookie-in-html",
        "doc/api/http.html",
        "<span>const</span> setCookie = response.<span>getHeader</span>('set-cookie');\n",
    ),
    (
        "set-cookie-header-yaml",
        "api/openapi.yaml",
        "headers:\n  Set-Cookie:\n    description: session\n  set-cookie: sessionid=abc\n",
    ),
    (
        "bare-cookie-not-fed",
        "app/client.py",
        'cookie = "sessionid=Qx7Lm2Vt9Rk4Wp8Zn3Hc6Jd5"\nrequests.get(url, cookies=cookie)\n',
    ),
]


def render(template: str, c: str, g: str) -> str:
    return template.format(C=c, G=g)


def generic_secret() -> str:
    return "Gk" + secrets.token_hex(8) + "Qz" + secrets.token_hex(6)


@pytest.mark.parametrize("case_id,path,template,rule", POSITIVE, ids=[p[0] for p in POSITIVE])
def test_positive_fixture(case_id, path, template, rule):
    c, g = fresh_cookie(), generic_secret()
    text = render(template, c, g)
    expected = g if rule == "EC100" else c
    found = detect(path, text)
    assert [d.rule_id for d in found] == [rule], f"{case_id}: rules {[d.rule_id for d in found]}"
    d = found[0]
    assert d.value == expected, f"{case_id}: detected value differs from the planted cookie"
    assert text[d.start : d.end] == expected, f"{case_id}: span does not cover the cookie"
    assert expected not in repr(d), "repr(Detection) shows the cookie"


@pytest.mark.parametrize("case_id,path,template", NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_negative_fixture(case_id, path, template):
    text = template.replace("{C}", fresh_cookie())
    found = detect(path, text)
    assert not found, f"{case_id}: unexpected {[(d.rule_id, d.key) for d in found]}"


def test_every_rule_has_positive_fixtures():
    covered = {rule for *_, rule in POSITIVE}
    assert covered == set(RULES), f"rules without a positive fixture: {set(RULES) - covered}"


def test_rules_are_complete_and_stable():
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and rule.id.startswith("EC") and len(rule.id) == 5
        assert rule.name and rule.short.endswith(".") and len(rule.description) > 60
        assert len(rule.help) > 60 and rule.severity in ("medium", "high")
    assert len({r.name for r in RULES.values()}) == len(RULES)


def test_secret_data_is_base64_decoded():
    c = fresh_cookie()
    for raw in (c, c + "\n"):
        encoded = base64.b64encode(raw.encode()).decode()
        text = f"apiVersion: v1\nkind: Secret\ndata:\n  cookie: {encoded}\n"
        found = detect("k8s/secret.yaml", text)
        assert [d.rule_id for d in found] == ["EC010"]
        assert found[0].value == c, "decoded Secret data differs from the planted cookie"
        assert found[0].note == "base64-decoded Secret data"
        assert text[found[0].start : found[0].end] == encoded


def test_multi_document_yaml_keeps_kinds_apart():
    c1, c2 = fresh_cookie(), fresh_cookie()
    text = (
        f"kind: ConfigMap\ndata:\n  RELEASE_COOKIE: {c1}\n---\n"
        f"kind: Secret\nstringData:\n  RELEASE_COOKIE: {c2}\n"
    )
    found = detect("k8s/all.yaml", text)
    assert [d.rule_id for d in found] == ["EC009", "EC010"]
    assert found[0].value == c1 and found[1].value == c2, "values swapped between documents"


def test_one_detection_per_value_even_when_detectors_overlap():
    c = fresh_cookie()
    # matched by the compose detector and by the generic KEY=value detector
    text = f"services:\n  a:\n    environment:\n      - RELEASE_COOKIE={c}\n"
    assert len(detect("docker-compose.yml", text)) == 1
    # matched by the vm.args detector and the command-line detector
    assert len(detect("rel/vm.args", f"-setcookie {c}\n")) == 1


def test_several_cookies_in_one_file_in_order():
    cookies = [fresh_cookie() for _ in range(3)]
    text = "".join(f"export RELEASE_COOKIE={c}\n" for c in cookies)
    found = detect("env.sh", text)
    assert len(found) == 3
    assert all(d.value == c for d, c in zip(found, cookies)), "order or values differ"


def test_crlf_files():
    c = fresh_cookie()
    text = f"kind: Secret\r\nstringData:\r\n  cookie: {c}\r\n"
    found = detect("k8s/secret.yaml", text)
    assert [d.rule_id for d in found] == ["EC010"] and found[0].value == c, "CRLF YAML missed"
    found = detect("rel/vm.args", f"-name a@b\r\n-setcookie {c}\r\n")
    assert len(found) == 1 and found[0].value == c, "CRLF vm.args value includes \\r"


def test_line_and_column_mapping():
    c = fresh_cookie()
    src = Source("rel/vm.args", f"## header\n\n-setcookie {c}\n")
    (d,) = detect_source(src)
    assert src.line_col(d.start) == (3, 12)
    assert src.line_text(3).endswith(c[-4:])


def test_prefilter():
    assert needs_scan("a/b.txt", b"RELEASE_COOKIE=1")
    assert needs_scan("a/b.txt", b"Node.set_cookie(:x)")
    assert needs_scan("a/b.sh", b"erl_call -c abc")
    assert needs_scan("home/.erlang.cookie", b"ABCDEF")
    assert needs_scan("_build/prod/rel/x/releases/COOKIE", b"ABCDEF")
    assert not needs_scan("a/b.txt", b"nothing to see here")
    # every positive fixture passes the prefilter
    for case_id, path, template, _ in POSITIVE:
        text = render(template, fresh_cookie(), generic_secret())
        assert needs_scan(path, text.encode()), f"{case_id} would be skipped by the prefilter"
