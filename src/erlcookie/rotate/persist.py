"""Where new nodes read the cookie: a Kubernetes Secret, a file, or a command hook.

The engine names cookies by label; a persister holds the values. Three stores:
- `SecretPersister`: the key new pods read (`cookie` by default) gets the new cookie and
  the old one stays under a second key (`<key>.old`) until the rotation is finalized, so a
  crashed run can still find it and a rollback can restore it. Each write is a JSON patch
  that tests the keys it changes against what was read, so other writers (a controller
  touching labels) never conflict with it; when those keys did change, the adapter reads
  and decides again, with backoff, under a deadline.
- `FilePersister`: an atomic replace, keeping an owner-only mode (0400 for a new file).
- `CommandPersister`: `sh -c COMMAND` with the cookie on stdin (never in argv or env),
  ERLCOOKIE_FINGERPRINT in the environment; a non-zero exit is a failed persist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Mapping

from erlcookie.cookie.files import atomic_write
from erlcookie.cookie.value import Cookie
from erlcookie.errors import OperationalError, UsageError
from erlcookie.rotate.plan import NEW, OLD, OTHER, other_label

COMMAND_TIMEOUT = 120.0
DEFAULT_SECRET_KEY = "cookie"


def _label_of_text(text: str | None, cookies: Mapping[str, Cookie]) -> str | None:
    if text is None:
        return None
    value = text.rstrip("\r\n")  # as the resolver and OTP read cookie files
    for label in (OLD, NEW):
        if cookies[label] == Cookie(value):
            return label
    return OTHER


def _scrub(text: str, cookies: Mapping[str, Cookie]) -> str:
    for cookie in cookies.values():
        if cookie.reveal():
            text = text.replace(cookie.reveal(), "<redacted>")
    return text


class NoPersister:
    """`--no-persist`: the user stores the cookie themselves."""

    description = "nothing (--no-persist)"

    async def current(self) -> str | None:
        return None

    async def store(self, label: str, *, keep_previous: bool) -> dict:
        return {"stored": False}

    async def finalize(self, label: str) -> None:
        return None

    def config(self) -> dict:
        return {"kind": "none"}


class FilePersister:
    def __init__(self, path: str | os.PathLike, cookies: Mapping[str, Cookie]) -> None:
        self.path = Path(path).expanduser()
        self.cookies = cookies
        self.description = f"file {self.path}"

    def config(self) -> dict:
        return {"kind": "file", "path": str(self.path)}

    async def current(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            if not self.path.parent.is_dir():
                raise UsageError(f"cannot persist to {self.path}: its directory does not exist")
            return None
        except OSError as exc:
            raise OperationalError(f"cannot read {self.path}: {exc.strerror}") from None
        return _label_of_text(text, self.cookies)

    async def store(self, label: str, *, keep_previous: bool) -> dict:
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode) & 0o700 or 0o400
        except FileNotFoundError:
            mode = 0o400
        atomic_write(self.path, self.cookies[label].reveal(), mode=mode)
        return {"mode": f"{mode:04o}"}

    async def finalize(self, label: str) -> None:
        return None


class CommandPersister:
    def __init__(self, command: str, cookies: Mapping[str, Cookie], *,
                 timeout: float = COMMAND_TIMEOUT) -> None:
        if not command.strip():
            raise UsageError("--persist-command is empty")
        self.command = command
        self.cookies = cookies
        self.timeout = timeout
        self.description = "--persist-command hook"

    def config(self) -> dict:
        return {"kind": "command", "command": self.command}

    async def current(self) -> str | None:
        return None  # a hook cannot be asked; preflight trusts it

    async def store(self, label: str, *, keep_previous: bool) -> dict:
        cookie = self.cookies[label]
        env = dict(os.environ)
        env.update({"ERLCOOKIE_ACTION": "store", "ERLCOOKIE_FINGERPRINT": cookie.fingerprint(),
                    "ERLCOOKIE_PREVIOUS_FINGERPRINT": self.cookies[other_label(label)].fingerprint(),
                    "ERLCOOKIE_LABEL": label})
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", self.command, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
                start_new_session=True)
        except OSError as exc:
            raise OperationalError(f"cannot run the persist command: {exc.strerror}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(cookie.as_bytes() + b"\n"),
                                              self.timeout)
        except asyncio.TimeoutError:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            await proc.wait()
            raise OperationalError(f"the persist command did not finish within {self.timeout:g}s") \
                from None
        if proc.returncode != 0:
            tail = _scrub(err.decode("utf-8", "replace").strip()[-300:], self.cookies)
            raise OperationalError(f"the persist command exited with {proc.returncode}"
                                   + (f": {tail}" if tail else ""))
        return {"exit": 0}

    async def finalize(self, label: str) -> None:
        return None


class SecretPersister:
    """A key of a Kubernetes Secret, through `erlcookie.k8s.api.KubeApi`."""

    def __init__(self, api, name: str, cookies: Mapping[str, Cookie], *,
                 key: str = DEFAULT_SECRET_KEY, previous_key: str | None = None) -> None:
        self.api = api
        self.name = name
        self.key = key
        self.previous_key = previous_key or f"{key}.old"
        if self.previous_key == self.key:
            raise UsageError("the Secret's key for the old cookie must differ from its main key")
        self.cookies = cookies
        self.description = f"Secret {api.namespace}/{name} key {key!r}"
        self.conflicts = 0

    def config(self) -> dict:
        return {"kind": "secret", "namespace": self.api.namespace, "name": self.name,
                "key": self.key, "previous_key": self.previous_key}

    @staticmethod
    def _decode(secret: dict, key: str) -> str | None:
        data = secret.get("data") or {}
        if key not in data:
            return None
        try:
            return base64.b64decode(data[key], validate=True).decode("utf-8", "surrogateescape")
        except (binascii.Error, ValueError):
            return "\x00not base64"

    @staticmethod
    def _encode(cookie: Cookie) -> str:
        return base64.b64encode(cookie.as_bytes()).decode("ascii")

    async def current(self) -> str | None:
        """What the Secret holds, read in preflight; also proves that we may patch it
        (persist and finalize), so a missing permission stops the run before any change."""
        from erlcookie.k8s.api import MissingPermissions

        secret = await asyncio.to_thread(self.api.get_secret, self.name)
        if secret is None:
            raise UsageError(f"Secret {self.api.namespace}/{self.name} does not exist; create it "
                             "first (erlcookie k8s secret) or persist elsewhere")
        missing = await asyncio.to_thread(self.api.missing_permissions,
                                          [("patch", "Secret", self.name)])
        if missing:
            raise MissingPermissions(missing, self.api.namespace, "to store the new cookie")
        return _label_of_text(self._decode(secret, self.key), self.cookies)

    async def store(self, label: str, *, keep_previous: bool) -> dict:
        from erlcookie.k8s.api import SecretEdit
        from erlcookie.k8s.manifests import cookie_annotations

        main = self._encode(self.cookies[label])
        previous = self._encode(self.cookies[other_label(label)])

        def decide(secret: dict) -> SecretEdit | None:
            data = secret.get("data") or {}
            edit = SecretEdit({self.key: main,
                               self.previous_key: previous if keep_previous else None})
            if data.get(self.key) != main:
                # `k8s status` dates pods against these annotations: keep them true.
                edit.annotations = cookie_annotations(self.cookies[label])
            return edit

        _, conflicts = await asyncio.to_thread(self.api.edit_secret, self.name, decide)
        self.conflicts += conflicts
        return {"conflicts_retried": conflicts}

    async def finalize(self, label: str) -> dict:
        from erlcookie.k8s.api import SecretEdit

        _, conflicts = await asyncio.to_thread(
            self.api.edit_secret, self.name, lambda secret: SecretEdit({self.previous_key: None}))
        self.conflicts += conflicts
        return {"conflicts_retried": conflicts}

    async def read_previous(self) -> str | None:
        """The label of what the second key holds (for tests and `--resume` checks)."""
        secret = await asyncio.to_thread(self.api.get_secret, self.name)
        return None if secret is None else _label_of_text(self._decode(secret, self.previous_key),
                                                          self.cookies)
