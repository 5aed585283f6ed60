"""erlcookie.cookie as a library: every exported name resolves, and loading stays lazy."""

import subprocess
import sys

import erlcookie.cookie as cookie_pkg


def test_every_exported_name_resolves():
    for name in cookie_pkg.__all__:
        assert getattr(cookie_pkg, name) is not None, name
    namespace: dict = {}
    exec("from erlcookie.cookie import *", namespace)
    assert set(cookie_pkg.__all__) <= set(namespace)


def test_exports_are_the_real_objects():
    from erlcookie.cookie.files import atomic_write
    from erlcookie.cookie.generate import generate

    assert cookie_pkg.generate_cookie is generate
    assert cookie_pkg.atomic_write is atomic_write
    made = cookie_pkg.generate_cookie("hex")
    assert (
        isinstance(made, cookie_pkg.Cookie)
        and cookie_pkg.estimate_strength(made.reveal()).bits == 256
    )


def test_importing_the_package_loads_no_writer_or_generator():
    code = (
        "import sys, erlcookie.cookie.resolve; "
        "print(' '.join(m for m in ('erlcookie.cookie.files', 'erlcookie.cookie.generate', "
        "'tempfile', 'secrets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
