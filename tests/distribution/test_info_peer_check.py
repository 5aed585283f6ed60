"""`info`'s reading of a TLS node's peer check: init:get_argument and file:consult answers
as a real node sends them (erlang-py terms), and only the two options that matter kept."""

from __future__ import annotations

import pytest

from erlcookie.distribution.info import (
    _arguments,
    _server_peer_options,
    _Shape,
    peer_check,
)
from erlcookie.distribution.terms import OtpErlangAtom as A


def charlist(s: str) -> list[int]:
    return [ord(c) for c in s]


def test_arguments():
    assert _arguments(A(b"error")) == []
    answer = (A(b"ok"), [[charlist("server_verify"), charlist("verify_peer")]])
    assert _arguments(answer) == [["server_verify", "verify_peer"]]
    with pytest.raises(_Shape):
        _arguments((A(b"ok"), "nope"))


def test_server_options_keep_only_the_peer_check():
    secret = b"-----BEGIN EC PRIVATE KEY-----"
    optfile = [
        (A(b"server"), [
            (A(b"certfile"), charlist("/etc/n.pem")),
            (A(b"key"), (A(b"ECPrivateKey"), secret)),
            (A(b"password"), charlist("hunter2")),
            (A(b"verify"), A(b"verify_peer")),
            (A(b"fail_if_no_peer_cert"), True),
        ]),
        (A(b"client"), [(A(b"verify"), A(b"verify_none"))]),
    ]  # fmt: skip
    found = _server_peer_options((A(b"ok"), [optfile]))
    assert found == {"verify": "verify_peer", "fail_if_no_peer_cert": "true"}


def test_unreadable_optfile_is_a_shape_error():
    with pytest.raises(_Shape):
        _server_peer_options((A(b"error"), A(b"enoent")))


@pytest.mark.parametrize(
    "options, cookie_only, words",
    [
        ({"verify": "verify_peer", "fail_if_no_peer_cert": "true"}, False, "required"),
        ({"verify": "verify_peer"}, True, "without fail_if_no_peer_cert"),
        ({"verify": "verify_peer", "fail_if_no_peer_cert": "false"}, True, "cookie is the only"),
        ({}, True, "without verify_peer"),
        ({"fail_if_no_peer_cert": "true"}, True, "without verify_peer"),
    ],
)
def test_peer_check(options, cookie_only, words):
    only, why = peer_check(options)
    assert only is cookie_only and words in why
