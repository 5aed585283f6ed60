"""A certificate directory: `ca.pem`/`ca.key` and `NAME.pem`/`NAME.key` per node.

Keys are written 0600 and atomically (the temporary file has the final mode from the
start); certificates 0644. Nothing is replaced unless the caller says `overwrite`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from erlcookie.cookie.files import atomic_write
from erlcookie.errors import OperationalError, UsageError
from erlcookie.tls import pki

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
KEY_MODE = 0o600
CERT_MODE = 0o644
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class Issued:
    cert_path: Path
    key_path: Path
    cert: x509.Certificate


def check_name(name: str) -> str:
    """A certificate name is a file name: no paths, not the CA's."""
    if not _NAME.fullmatch(name) or name.endswith((".pem", ".key")):
        raise UsageError(
            f"certificate name {name!r}: use letters, digits, '.', '_' and '-' "
            "(no path, no .pem/.key suffix)"
        )
    if name == "ca":
        raise UsageError("certificate name 'ca' is the CA's own")
    return name


def _refuse_existing(paths: list[Path], overwrite: bool) -> None:
    existing = [str(p) for p in paths if p.exists() or p.is_symlink()]
    if existing and not overwrite:
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{', '.join(existing)} {verb}; refusing to replace (use --force)")


def init_ca(
    directory: Path, common_name: str, *, days: int = pki.CA_DAYS, overwrite: bool = False
) -> Issued:
    """Create DIR (0700 when new) with a fresh CA. The key is written before the cert."""
    directory = Path(directory)
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    _refuse_existing([cert_path, key_path], overwrite)
    if not directory.exists():
        try:
            directory.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise OperationalError(f"cannot create {directory}: {exc.strerror}") from None
    key, cert = pki.make_ca(common_name, days=days)
    atomic_write(key_path, pki.key_pem(key), mode=KEY_MODE, overwrite=overwrite)
    atomic_write(cert_path, pki.cert_pem(cert), mode=CERT_MODE, overwrite=overwrite)
    return Issued(cert_path, key_path, cert)


def read_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{path}: not a PEM certificate") from None


def read_key(path: Path):
    """A private key; errors name the file, never its content."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise UsageError(f"{path}: not an unencrypted PEM private key") from None


def load_ca(directory: Path):
    directory = Path(directory)
    if not (directory / CA_CERT).exists():
        raise UsageError(
            f"{directory / CA_CERT}: no such file (run `erlcookie tls init {directory}`)"
        )
    cert = read_cert(directory / CA_CERT)
    key = read_key(directory / CA_KEY)
    if not pki.key_matches(key, cert):
        raise UsageError(f"{directory / CA_KEY} does not belong to {directory / CA_CERT}")
    return key, cert


def paths_for(directory: Path, name: str) -> tuple[Path, Path]:
    check_name(name)
    return Path(directory) / f"{name}.pem", Path(directory) / f"{name}.key"


def issue_node(
    directory: Path,
    name: str,
    sans: list[str],
    *,
    days: int = pki.NODE_DAYS,
    overwrite: bool = False,
    **validity,
) -> Issued:
    """NAME.pem and NAME.key (0600) signed by DIR's CA, for the given --san values."""
    cert_path, key_path = paths_for(directory, name)
    general = pki.general_names(sans)
    _refuse_existing([cert_path, key_path], overwrite)
    ca_key, ca_cert = load_ca(directory)
    key, cert = pki.issue(ca_key, ca_cert, name, general, days=days, **validity)
    atomic_write(key_path, pki.key_pem(key), mode=KEY_MODE, overwrite=overwrite)
    atomic_write(cert_path, pki.cert_pem(cert), mode=CERT_MODE, overwrite=overwrite)
    return Issued(cert_path, key_path, cert)


def mode_of(path: Path) -> int:
    return os.stat(path).st_mode & 0o777
