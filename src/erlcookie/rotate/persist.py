"""Where new nodes read the cookie: a Kubernetes Secret, a file, or a command hook.

The engine names cookies by label; a persister holds the values. Three stores:
- `SecretPersister`: the key new pods read (`cookie` by default) gets the new cookie and
  the old one stays under a second key (`<key>.old`) until the rotation is finalized, so a
  crashed run can still find it and a rollback can restore it. Each write is a JSON patch
  that tests the keys it changes against what was read, so other writers (a controller
  touching labels) never conflict with it; when those keys did change, the adapter reads
  and decides again, with backoff, under a deadline.
- `FilePersister`: an atomic replace keeping the file's owner, group and owner-only mode
  (0400 for a new file, owned by --persist-owner when given).
- `CommandPersister`: `sh -c COMMAND` with the cookie on stdin (never in argv or env),
  ERLCOOKIE_FINGERPRINT in the environment; a non-zero exit is a failed persist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import signal
import stat
import time
from collections.abc import Mapping
from pathlib import Path

from erlcookie.cookie.files import atomic_write
from erlcookie.cookie.value import Cookie
from erlcookie.errors import OperationalError, UsageError
from erlcookie.k8s.manifests import DEFAULT_SECRET_KEY
from erlcookie.rotate.plan import NEW, OLD, OTHER, other_label

COMMAND_TIMEOUT = 120.0
TERM_GRACE = 3.0  # seconds a persist command gets to end after SIGTERM
ERROR_TAIL = 300  # characters of a failed command's stderr shown (after scrubbing)


def _label_of_text(text: str | None, cookies: Mapping[str, Cookie]) -> str | None:
    if text is None:
        return None
    value = text.rstrip("\r\n")  # as the resolver and OTP read cookie files
    for label in (OLD, NEW):
        if cookies[label] == Cookie(value):
            return label
    return OTHER


def _encoded_forms(value: bytes) -> list[bytes]:
    """Regular expressions for the ways a command may echo a cookie: raw, hex (lower and
    upper) and base64 (standard and URL-safe, padded or not). A cookie's base64 depends on
    where it starts in the encoded data, so for each of the three alignments the part that
    only the cookie's bytes decide is matched, with the few characters around it that mix
    in neighbouring bytes."""
    import re

    forms = [
        re.escape(value),
        re.escape(value.hex().encode()),
        re.escape(value.hex().upper().encode()),
    ]
    for skew in range(3):
        encoded = base64.b64encode(b"\0" * skew + value)
        core = encoded[4 if skew else 0 : 4 * ((skew + len(value)) // 3)]
        if len(core) < 4:
            continue
        for text, alphabet in (
            (core, rb"[A-Za-z0-9+/]"),
            (core.translate(bytes.maketrans(b"+/", b"-_")), rb"[A-Za-z0-9_-]"),
        ):
            forms.append(alphabet + rb"{0,3}" + re.escape(text) + alphabet + rb"{0,3}={0,2}")
    return forms


def scrub(data: bytes, cookies: Mapping[str, Cookie]) -> bytes:
    """`data` with every cookie in it (in every form `_encoded_forms` knows) redacted.
    Always scrub before cutting: a cut can leave a tail no pattern recognises."""
    import re

    for cookie in cookies.values():
        value = cookie.as_bytes()
        if not value:
            continue
        for form in _encoded_forms(value):
            data = re.sub(form, b"<redacted>", data)
    return data


async def _stop(proc: asyncio.subprocess.Process, grace: float = TERM_GRACE) -> None:
    """End a child and its process group (it runs in its own session): SIGTERM, up to
    `grace` seconds for the shell to exit, then SIGKILL for anything left in the group
    (a background job, a process that ignores SIGTERM). Returns once they are gone, so
    nothing we started outlives us. (`proc.wait()` would also wait for the pipes, which
    a background job keeps open: the shell's exit is watched instead.)"""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        while proc.returncode is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:  # also when a second Ctrl-C cuts the grace period short
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(asyncio.TimeoutError, OSError, RuntimeError):
        # read the pipes to their end too, so the transport is finished and closed now
        await asyncio.wait_for(asyncio.shield(proc.communicate()), 5.0)


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


def _user(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


class FilePersister:
    """A cookie file, replaced atomically. An existing file keeps its owner, group and
    owner-only mode (a cookie file the service reads, e.g. /var/lib/rabbitmq/.erlang.cookie
    owned by rabbitmq, must stay readable by it); a new file is 0400 and the effective
    user's, or `owner`'s (--persist-owner). What cannot be kept is refused in preflight."""

    def __init__(
        self,
        path: str | os.PathLike,
        cookies: Mapping[str, Cookie],
        *,
        owner: tuple[int, int] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.cookies = cookies
        self.owner = owner
        self.description = f"file {self.path}"

    def config(self) -> dict:
        return {"kind": "file", "path": str(self.path)}

    def _target(self) -> tuple[tuple[int, int] | None, int]:
        """(owner to give the new file or None for ours, mode), or UsageError saying why
        the file cannot be replaced as it is."""
        euid = os.geteuid()
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
                raise UsageError(
                    f"cannot persist to {self.path}: not a regular file (a symlink "
                    "or a special file); give the real file's path"
                )
            have = (st.st_uid, st.st_gid)
            if self.owner is not None and self.owner != have:
                raise UsageError(
                    f"{self.path} belongs to {_user(st.st_uid)} group {st.st_gid}, "
                    f"not to the --persist-owner {self.owner[0]}:{self.owner[1]}; "
                    "drop --persist-owner to keep its owner, or chown it first"
                )
            wanted, mode = have, stat.S_IMODE(st.st_mode) & 0o700 or 0o400
        else:
            directory = self.path.parent
            try:
                dst = os.stat(directory)
            except FileNotFoundError:
                raise UsageError(
                    f"cannot persist to {self.path}: its directory does not exist"
                ) from None
            if self.owner is None and dst.st_uid not in (euid, 0):
                raise UsageError(
                    f"{self.path} does not exist and its directory belongs to "
                    f"{_user(dst.st_uid)}: a new cookie file would belong to {_user(euid)} "
                    "and be unreadable by the nodes that read it; give --persist-owner USER, "
                    "or create the file with its owner first"
                )
            wanted, mode = self.owner or (euid, os.getegid()), 0o400
        if wanted[0] != euid and euid != 0:
            raise UsageError(
                f"cannot keep {self.path} owned by {_user(wanted[0])} while running "
                f"as {_user(euid)}: run as root or as that user"
            )
        if euid != 0 and wanted[1] != os.getegid() and wanted[1] not in os.getgroups():
            raise UsageError(
                f"cannot keep {self.path} in group {wanted[1]}: you are not a "
                "member; run as root or as a member of that group"
            )
        if wanted == (euid, os.getegid()):
            return None, mode
        return wanted, mode

    async def current(self) -> str | None:
        self._target()  # refuse in preflight what store() could not do
        try:
            text = self.path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise OperationalError(f"cannot read {self.path}: {exc.strerror}") from None
        return _label_of_text(text, self.cookies)

    async def store(self, label: str, *, keep_previous: bool) -> dict:
        owner, mode = self._target()
        try:
            atomic_write(self.path, self.cookies[label].reveal(), mode=mode, owner=owner)
        except OSError as exc:
            raise OperationalError(f"cannot write {self.path}: {exc.strerror}") from None
        info = {"mode": f"{mode:04o}"}
        if owner is not None:
            info["owner"] = f"{owner[0]}:{owner[1]}"
        return info

    async def finalize(self, label: str) -> None:
        return None


class CommandPersister:
    def __init__(
        self, command: str, cookies: Mapping[str, Cookie], *, timeout: float = COMMAND_TIMEOUT
    ) -> None:
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
        env.update(
            {
                "ERLCOOKIE_ACTION": "store",
                "ERLCOOKIE_FINGERPRINT": cookie.fingerprint(),
                "ERLCOOKIE_PREVIOUS_FINGERPRINT": self.cookies[other_label(label)].fingerprint(),
                "ERLCOOKIE_LABEL": label,
            }
        )
        try:
            proc = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise OperationalError(f"cannot run the persist command: {exc.strerror}") from None
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(cookie.as_bytes() + b"\n"), self.timeout
            )
        except TimeoutError:
            await _stop(proc, grace=0)
            raise OperationalError(
                f"the persist command did not finish within {self.timeout:g}s"
            ) from None
        except BaseException:
            # interrupted (Ctrl-C cancels us): the command must not go on writing a cookie
            # after we exited, racing a following --resume or --rollback
            await _stop(proc)
            raise
        if proc.returncode != 0:
            text = scrub(err, self.cookies).decode("utf-8", "replace").strip()
            tail = text[-ERROR_TAIL:]
            raise OperationalError(
                f"the persist command exited with {proc.returncode}" + (f": {tail}" if tail else "")
            )
        return {"exit": 0}

    async def finalize(self, label: str) -> None:
        return None


class SecretPersister:
    """A key of a Kubernetes Secret, through `erlcookie.k8s.api.KubeApi`."""

    def __init__(
        self,
        api,
        name: str,
        cookies: Mapping[str, Cookie],
        *,
        key: str = DEFAULT_SECRET_KEY,
        previous_key: str | None = None,
    ) -> None:
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
        return {
            "kind": "secret",
            "namespace": self.api.namespace,
            "name": self.name,
            "key": self.key,
            "previous_key": self.previous_key,
        }

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
            raise UsageError(
                f"Secret {self.api.namespace}/{self.name} does not exist; create it "
                "first (erlcookie k8s secret) or persist elsewhere"
            )
        missing = await asyncio.to_thread(
            self.api.missing_permissions, [("patch", "Secret", self.name)]
        )
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
            edit = SecretEdit(
                {self.key: main, self.previous_key: previous if keep_previous else None}
            )
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
            self.api.edit_secret, self.name, lambda secret: SecretEdit({self.previous_key: None})
        )
        self.conflicts += conflicts
        return {"conflicts_retried": conflicts}

    async def read_previous(self) -> str | None:
        """The label of what the second key holds (for tests and `--resume` checks)."""
        secret = await asyncio.to_thread(self.api.get_secret, self.name)
        return (
            None
            if secret is None
            else _label_of_text(self._decode(secret, self.previous_key), self.cookies)
        )
