"""Which env vars carry an Erlang cookie: one notion, shared with the scanner."""

import pytest

from erlcookie.k8s.workloads import is_cookie_env_name
from erlcookie.scan.syntax import cookie_name_confidence


@pytest.mark.parametrize(
    "name",
    [
        "RELEASE_COOKIE",
        "RABBITMQ_ERLANG_COOKIE",
        "RABBITMQ_ERL_COOKIE",
        "COUCHDB_ERLANG_COOKIE",
        "ERLANG_COOKIE",
        "ERL_COOKIE",
        "LIVEBOOK_COOKIE",
        "EMQX_NODE__COOKIE",
    ],
)
def test_cookie_variables(name):
    assert is_cookie_env_name(name)
    assert cookie_name_confidence(name) == "high"


@pytest.mark.parametrize(
    "name",
    [
        "PHOENIX_SESSION_COOKIE",
        "SESSION_COOKIE",
        "RELEASE_COOKIE_FILE",
        "COOKIE_DOMAIN",
        "CSRF_COOKIE_NAME",
        "PATH",
        "",
    ],
)
def test_not_cookie_variables(name):
    assert not is_cookie_env_name(name)


def test_explicit_target_always_counts():
    assert is_cookie_env_name("MY_APP_SECRET_THING", target="MY_APP_SECRET_THING")
