"""Fixtures for the Kubernetes tests: the local API server, a kubeconfig, the CLI, schemas."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.kube_api import KubeApiServer

FIXTURES = Path(__file__).parent / "fixtures"
NAMESPACE = "chat"
# The Kubernetes version whose schemas every manifest must satisfy (strict: no unknown field).
SCHEMA_VERSION = "1.31.0"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def kube(tmp_path, monkeypatch):
    """The fake API server, with namespace `chat` and $KUBECONFIG pointing at it."""
    with KubeApiServer() as server:
        server.namespaces.add(NAMESPACE)
        server.kubeconfig = server.write_kubeconfig(
            tmp_path / "kubeconfig", namespace=NAMESPACE, extra_contexts={"other": "default"}
        )
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield server


@pytest.fixture
def api(kube):
    from erlcookie.k8s.api import KubeApi

    with KubeApi.connect(timeout=5) as client:
        yield client


class Cli:
    """Runs `erlcookie ...` in-process; results have .exit_code, .stdout, .stderr."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        from erlcookie.cli import cli

        return self.runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def run_cli() -> Cli:
    return Cli()


def validate(obj: dict) -> None:
    """Fail unless `obj` satisfies the Kubernetes schema of its kind (strict)."""
    import kubernetes_validate

    kubernetes_validate.validate(obj, SCHEMA_VERSION, strict=True)


def validate_stream(text: str) -> int:
    """Validate every object in a YAML stream (List items too); return how many."""
    from ruamel.yaml import YAML

    count = 0
    for doc in YAML(typ="safe", pure=True).load_all(text):
        if doc is None:
            continue
        items = doc.get("items") if str(doc.get("kind", "")).endswith("List") else None
        for obj in items if items is not None else [doc]:
            validate(obj)
            count += 1
    return count


@pytest.fixture
def schema():
    """`schema.validate(obj)` / `schema.validate_stream(text)`."""

    class Schema:
        pass

    s = Schema()
    s.validate = validate
    s.validate_stream = validate_stream
    return s


def fp(value: str) -> str:
    """The fingerprint of a test cookie. Compute it outside an `assert`: pytest prints the
    arguments of calls inside a failing assertion, and those would be cookies."""
    from erlcookie.cookie.value import Cookie

    return Cookie(value).fingerprint()


def assert_hidden(text: str, *secrets: str, where: str = "output") -> None:
    """Fail, naming no value, when any of `secrets` occurs in `text`."""
    for secret in secrets:
        if secret and secret in text:
            raise AssertionError(f"a cookie value ({fp(secret)}) appears in the {where}")


def real_cluster_enabled() -> bool:
    return os.environ.get("ERLCOOKIE_REAL_CLUSTER") == "1" and bool(os.environ.get("KUBECONFIG"))
