"""vm.args reading matches erlexec; rewrites change only the words they mean to."""

from __future__ import annotations

import os
import subprocess

import pytest

from erlcookie.cookie.fingerprint import fingerprint
from erlcookie.release import vmargs
from erlcookie.release.model import ReleaseParseError
from erlcookie.release.rebar import FixOptions, classify_cookie, fixed_vm_args
from tests.release.conftest import expect_equal

# (vm.args line, the cookie erlexec hands to the node). Values are throwaway test strings.
ERLEXEC_CASES = [
    ("-setcookie plainvalue42", "plainvalue42"),
    ('-setcookie "with space" # trailing comment', "with space"),
    ("-setcookie 'single#hash'", "single#hash"),
    ("-setcookie ab#notpart", "ab"),
    ("-setcookie ab\\ cd", "ab cd"),
    ('-setcookie run"to gether"x', "runto getherx"),
]


@pytest.mark.parametrize("line, value", ERLEXEC_CASES)
def test_words_as_erlexec_reads_them(line, value):
    [flag] = vmargs.find(vmargs.flags(line + "\n"), "-setcookie")
    assert len(flag.args) == 1
    expect_equal(flag.args[0].value, value, "the parsed value")


@pytest.mark.interop
@pytest.mark.parametrize("line, value", ERLEXEC_CASES)
def test_erlexec_agrees(line, value, tmp_path):
    """The node really runs on the value we say vm.args gives it (fingerprints compared)."""
    args = tmp_path / "vm.args"
    args.write_text(line + "\n")
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(
        [
            "erl",
            "-noshell",
            "-sname",
            f"vmargs{os.getpid()}{abs(hash(line)) % 10**6}",
            "-args_file",
            str(args),
            "-eval",
            'io:format("~s~n", [atom_to_list(erlang:get_cookie())]), halt().',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, "erl failed"
    assert fingerprint(proc.stdout.rstrip("\n")) == fingerprint(value)


def test_per_node_form_and_flags_on_one_line():
    text = "-name a@h -setcookie b@h secretvalue\n+K true -setcookie\n"
    flags = vmargs.flags(text)
    assert [f.name for f in flags] == ["-name", "-setcookie", "+K", "-setcookie"]
    assert [w.value for w in flags[1].args] == ["b@h", "secretvalue"]
    assert flags[3].args == []


def test_unterminated_quote_is_an_error_with_its_line():
    with pytest.raises(vmargs.VmArgsError) as err:
        vmargs.flags('-sname x\n-setcookie "open\n')
    assert err.value.line == 2


@pytest.mark.parametrize(
    "value, src, rule",
    [
        ("${RELEASE_COOKIE}", True, None),
        ("${OTHER_COOKIE}", True, None),
        ("${RELEASE_COOKIE}", False, "release/vm-args-unrendered-variable"),
        ("${RELEASE_COOKIE:-fallback1}", True, "release/vm-args-cookie-default"),
        ("{{name}}_cookie", False, "release/relx-template-cookie"),
        ("{{ release_name }}", False, "release/relx-template-cookie"),
        ("myrel_cookie", False, "release/relx-template-cookie"),
        ("<%= @cookie %>", False, "release/vm-args-build-time-cookie"),
        ("Kq3v9_literal", False, "release/vm-args-literal-cookie"),
    ],
)
def test_classify(value, src, rule):
    assert classify_cookie(value, {"myrel"}, src)[0] == rule


FIX = FixOptions()


@pytest.mark.parametrize(
    "before, after",
    [
        (
            "-sname a\n-setcookie lit_value1\n+K true\n",
            "-sname a\n-setcookie ${RELEASE_COOKIE}\n+K true\n",
        ),
        ('## c\n-setcookie "q v" # keep me\n', "## c\n-setcookie ${RELEASE_COOKIE} # keep me\n"),
        ("-sname a\n", "-sname a\n-setcookie ${RELEASE_COOKIE}\n"),
        ("-sname a", "-sname a\n-setcookie ${RELEASE_COOKIE}\n"),
        ("+K true\n", "-setcookie ${RELEASE_COOKIE}\n+K true\n"),
        ("-sname a\n-setcookie\n", "-sname a\n-setcookie ${RELEASE_COOKIE}\n"),
        ("-setcookie ${MY_COOKIE:-dev1}\n", "-setcookie ${MY_COOKIE}\n"),
        (
            "-setcookie ${RELEASE_COOKIE}\n-setcookie peer@h lit2\n",
            "-setcookie ${RELEASE_COOKIE}\n-setcookie peer@h lit2\n",
        ),
        ("-sname a\r\n-setcookie x1\r\n", "-sname a\r\n-setcookie ${RELEASE_COOKIE}\r\n"),
        # relx greps '^-setcookie': the flag gets a line of its own.
        (
            "-name a@h -setcookie 'x 2' +K true\n",
            "-name a@h +K true\n-setcookie ${RELEASE_COOKIE}\n",
        ),
        ("-name a@h -setcookie x3", "-name a@h\n-setcookie ${RELEASE_COOKIE}\n"),
        (
            "-name a@h -setcookie x3\n+K true\n",
            "-name a@h\n-setcookie ${RELEASE_COOKIE}\n+K true\n",
        ),
        ("  -setcookie x4 # note\n", "-setcookie ${RELEASE_COOKIE} # note\n"),
    ],
)
def test_fixed_vm_args(before, after):
    got = fixed_vm_args(before, "a", FIX, "vm.args")
    expect_equal(got, after, "the rewrite")
    expect_equal(fixed_vm_args(got, "a", FIX, "vm.args"), got, "a second rewrite")


def test_pod_ip_and_dist_port():
    before = (
        "## node\n-sname shop\n-setcookie ${RELEASE_COOKIE}\n-kernel inet_dist_listen_min 9000\n"
    )
    opts = FixOptions(node_name="pod-ip", dist_port=9100)
    got = fixed_vm_args(before, "shop", opts, "vm.args.src")
    expect_equal(
        got,
        "## node\n-name shop@${POD_IP}\n-setcookie ${RELEASE_COOKIE}\n"
        "-kernel inet_dist_listen_min 9100\n-kernel inet_dist_listen_max 9100\n",
        "pod-ip",
    )
    expect_equal(fixed_vm_args(got, "shop", opts, "vm.args.src"), got, "a second rewrite")
    long_name = fixed_vm_args("-name shop@10.1.2.3\n-setcookie ${RELEASE_COOKIE}\n", "x", opts, "v")
    assert long_name.startswith("-name shop@${POD_IP}\n")


def test_pod_ip_refuses_a_computed_name():
    with pytest.raises(ReleaseParseError):
        fixed_vm_args(
            "-name ${NODE_NAME}\n-setcookie ${RELEASE_COOKIE}\n",
            "x",
            FixOptions(node_name="pod-ip"),
            "vm.args.src",
        )


def test_remove_flag_keeps_neighbours():
    text = "# top\n-name a@h -setcookie lit3 +K true\n-setcookie lit4\n+A 5\n"
    flags = vmargs.find(vmargs.flags(text), "-setcookie")
    out = vmargs.remove_flag(text, flags[1])
    out = vmargs.remove_flag(out, vmargs.find(vmargs.flags(out), "-setcookie")[0])
    expect_equal(out, "# top\n-name a@h +K true\n+A 5\n", "vm.args")
