"""mypy, strict where pyproject.toml says so ([[tool.mypy.overrides]]), passes on those packages."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRICT = [
    "src/erlcookie/cookie",
    "src/erlcookie/audit",
    "src/erlcookie/inputs.py",
    "src/erlcookie/distribution",
]


def test_strict_packages_type_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), *STRICT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_strictness_comes_from_the_configuration(tmp_path):
    # An unannotated function in a strict package must fail: the overrides are in force.
    probe = tmp_path / "erlcookie" / "cookie"
    probe.mkdir(parents=True)
    (tmp_path / "erlcookie" / "__init__.py").write_text("")
    (probe / "__init__.py").write_text("")
    (probe / "probe.py").write_text("def untyped(x):\n    return x\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(probe / "probe.py"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1 and "no-untyped-def" in result.stdout, result.stdout
