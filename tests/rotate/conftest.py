"""Fixtures for the rotation tests: cookies, the local Kubernetes API, real clusters."""

from __future__ import annotations

import pytest

from erlcookie.cookie.generate import generate
from erlcookie.rotate.plan import NEW, OLD

NAMESPACE = "rot"


@pytest.fixture
def cookies():
    """Old and new test cookies (Cookie objects: failure messages never show them)."""
    return {OLD: generate("elixir"), NEW: generate("elixir")}


@pytest.fixture
def kube_server(tmp_path, monkeypatch):
    """The local Kubernetes API server (tests/support/kube_api.py), namespace `rot`."""
    from tests.support.kube_api import KubeApiServer

    with KubeApiServer() as server:
        server.namespaces.add(NAMESPACE)
        path = server.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
        monkeypatch.setenv("KUBECONFIG", str(path))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        server.kubeconfig_path = path
        yield server


@pytest.fixture
def kube_api(kube_server):
    from erlcookie.k8s.api import KubeApi

    with KubeApi.connect(timeout=5) as api:
        yield api


@pytest.fixture
def otp27_root():
    from tests.support.otp_roots import require_or_skip

    return require_or_skip("otp27")


@pytest.fixture
def otp29_root():
    from tests.support.otp_roots import require_or_skip

    return require_or_skip("otp29")
