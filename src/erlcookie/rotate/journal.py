"""The rotation journal: what `--resume` and `--rollback` need after the tool died.

The journal (JSON, mode 0600, replaced atomically on every save) records the phase, the
direction, the members, each node's cookie state as labels, the persist/discovery/restart
settings and the FINGERPRINTS of both cookies, never their values.

The values live in a separate secrets file next to it (`<journal>.secrets`, 0600, atomic),
written before anything changes and deleted when the run ends, so a crashed rotation can
be resumed or rolled back without asking for the cookies again. With `--no-secrets-file`
nothing is written and `--resume`/`--rollback` need the cookies again through the usual
options; either way the values are checked against the journal's fingerprints.

A lock file (`<journal>.lock`, flock) keeps two rotations from driving one journal.

Trust: the journal decides which nodes are dialled, which command runs with the new cookie
on its stdin and where the secrets file is, so only files the effective user owns are used
(checked with fstat on a descriptor opened without following symlinks), in a directory
that belongs to that user or root and that others cannot write, unless it is sticky.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from erlcookie.cookie.files import atomic_write
from erlcookie.cookie.value import Cookie
from erlcookie.errors import ErlcookieError, OperationalError, UsageError
from erlcookie.rotate.plan import FORWARD, NEW, OLD, PHASES, ROLLBACK, ClusterModel
from erlcookie.rotate.settings import RotateSettings

VERSION = 1
MAX_JOURNAL_BYTES = 16 * 1024 * 1024

RUNNING = "running"
DONE = "done"
ROLLED_BACK = "rolled_back"
FAILED = "failed"  # stopped in a phase; resumable
ABORTED = "aborted"  # stopped before anything changed
FINAL_STATUSES = (DONE, ROLLED_BACK, ABORTED)


def default_journal_path(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/erlcookie/rotate.journal.json (~/.local/state by default)."""
    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or str(Path.home())
    base = environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return Path(base) / "erlcookie" / "rotate.journal.json"


def secrets_path_for(journal_path: Path) -> Path:
    return journal_path.with_name(journal_path.name + ".secrets")


def _now() -> float:
    return round(time.time(), 3)


def _who(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_directory(directory: Path) -> None:
    """Refuse a directory someone else could use to swap our files: it must belong to us
    (or root), and if group or others may write in it, carry the sticky bit (as /tmp does),
    so that only a file's owner can rename or delete it there. Only the directory itself
    is checked, not its parents."""
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        raise  # callers say what is missing
    except OSError as exc:
        raise OperationalError(
            f"cannot use the journal's directory {directory}: {exc.strerror}"
        ) from None
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"the journal's directory {directory} is not a directory")
    if st.st_uid not in (os.geteuid(), 0):
        raise UsageError(
            f"the journal's directory {directory} belongs to {_who(st.st_uid)}, "
            f"not to you ({_who(os.geteuid())}) or root; refusing to trust it"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        raise UsageError(
            f"the journal's directory {directory} may be written by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}, not sticky), who could replace "
            "the journal; use a private directory (--journal PATH)"
        )


def read_private(path: Path, what: str, limit: int = MAX_JOURNAL_BYTES) -> bytes:
    """The bytes of a file we wrote: opened without following a symlink, then checked on
    that descriptor (no race with a rename): a regular file, owned by the effective user,
    mode without group/other bits, at most `limit` bytes. A journal or secrets file of
    another user is never trusted: the journal names the commands to run and the nodes to
    dial, the secrets file the cookies."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{what} {path} is a symlink; refusing to follow it") from None
        raise OperationalError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{what} {path} is not a regular file")
        if st.st_uid != os.geteuid():
            raise UsageError(
                f"{what} {path} belongs to {_who(st.st_uid)}, not to you "
                f"({_who(os.geteuid())}); refusing to trust it"
            )
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError(
                f"{what} {path} is open to group or others (mode "
                f"{stat.S_IMODE(st.st_mode):04o}); fix it with chmod 600 first"
            )
        if st.st_size > limit:
            raise OperationalError(f"{what} {path} is larger than {limit} bytes")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise OperationalError(f"{what} {path} is larger than {limit} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise OperationalError(f"cannot read {what} {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


class JournalSaveError(OperationalError):
    """The journal could not be written (read-only file system, full disk, permissions)."""


class Journal:
    """One rotation's record. Mutate through the methods, then `save()`."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = Path(path)
        self.data = data

    # -- creation and loading ------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        *,
        old_fingerprint: str,
        new_fingerprint: str,
        members: list[str],
        model: ClusterModel,
        settings: RotateSettings | Mapping[str, Any],
        secrets_file: str | None,
    ) -> Journal:
        data = {
            "version": VERSION,
            "id": uuid.uuid4().hex,
            "status": RUNNING,
            "direction": FORWARD,
            "target": NEW,
            "created": _now(),
            "updated": _now(),
            "fingerprints": {OLD: old_fingerprint, NEW: new_fingerprint},
            "secrets_file": secrets_file,
            "settings": RotateSettings.of(settings).to_dict(),
            "members": sorted(members),
            "departed": [],
            "model": model.to_dict(),
            "phases": {},
            "persisted": "no",  # no | started | yes  (of the current target)
            "error": None,
            "history": [],
        }
        return cls(Path(path), data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Journal:
        p = Path(path).expanduser()
        try:
            check_directory(p.parent)
            data = json.loads(read_private(p, "journal").decode("utf-8"))
        except FileNotFoundError:
            raise UsageError(f"no rotation journal at {p} (give --journal PATH)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise OperationalError(
                f"journal {p} is not valid JSON ({type(exc).__name__}); "
                "it was not written by erlcookie or was edited"
            ) from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise OperationalError(
                f"journal {p} has an unknown format (version "
                f"{data.get('version') if isinstance(data, dict) else '?'})"
            )
        for key in ("status", "direction", "target", "fingerprints", "members", "model", "phases"):
            if key not in data:
                raise OperationalError(f"journal {p} lacks {key!r}; it is damaged")
        if data["direction"] not in (FORWARD, ROLLBACK) or data["target"] not in (OLD, NEW):
            raise OperationalError(f"journal {p} has an invalid direction or target")
        return cls(p, data)

    def save(self) -> None:
        """Replace the journal atomically; JournalSaveError (never a traceback) if it cannot
        be written. The one on disk then still holds the last state saved."""
        self.data["updated"] = _now()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(
                self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n", mode=0o600
            )
        except (OSError, ErlcookieError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise JournalSaveError(
                f"cannot save the rotation journal {self.path}: {reason}"
            ) from None

    # -- reading -------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self.data["status"]

    @property
    def direction(self) -> str:
        return self.data["direction"]

    @property
    def target(self) -> str:
        return self.data["target"]

    @property
    def members(self) -> list[str]:
        return list(self.data["members"])

    @property
    def departed(self) -> list[str]:
        return list(self.data.get("departed", []))

    @property
    def persisted(self) -> str:
        return self.data.get("persisted", "no")

    @property
    def settings(self) -> RotateSettings:
        return RotateSettings.from_dict(self.data.get("settings") or {})

    @property
    def fingerprints(self) -> dict:
        return dict(self.data["fingerprints"])

    @property
    def secrets_file(self) -> str | None:
        return self.data.get("secrets_file")

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    def model(self) -> ClusterModel:
        return ClusterModel.from_dict(self.data["model"])

    def phase_status(self, phase: str) -> str | None:
        entry = self.data["phases"].get(phase)
        return entry.get("status") if entry else None

    def done(self, phase: str) -> bool:
        return self.phase_status(phase) == "done"

    @property
    def current_phase(self) -> str | None:
        """The last phase started (done or not)."""
        started = [p for p in PHASES if p in self.data["phases"]]
        return started[-1] if started else None

    # -- changing ------------------------------------------------------------------------------
    def record(self, event: Mapping[str, Any]) -> None:
        """Keep a short trail of phase-level events (never node chatter, never values)."""
        history = self.data.setdefault("history", [])
        history.append(dict(event))
        del history[:-200]

    def phase(self, phase: str, status: str, **extra: Any) -> None:
        entry = self.data["phases"].setdefault(phase, {})
        entry["status"] = status
        entry[status] = _now()
        entry.update(extra)

    def set_model(self, model: ClusterModel) -> None:
        self.data["model"] = model.to_dict()
        self.data["members"] = model.members

    def add_departed(self, node: str) -> None:
        if node not in self.data.setdefault("departed", []):
            self.data["departed"].append(node)
            self.data["departed"].sort()

    def set_persisted(self, value: str) -> None:
        if value not in ("no", "started", "yes"):
            raise ValueError(value)
        self.data["persisted"] = value

    def start_rollback(self, reason: str) -> None:
        """Turn this run around: toward the old cookie, phases after preflight redone."""
        self.data["direction"] = ROLLBACK
        self.data["target"] = OLD
        self.data["rollback_reason"] = reason
        preflight = self.data["phases"].get("preflight")
        self.data.setdefault("forward_phases", self.data["phases"])
        self.data["phases"] = {"preflight": preflight} if preflight else {}
        # the store must be restored only if the forward run ever started writing it
        self.data["store_touched"] = self.persisted != "no"
        self.data["persisted"] = "no"

    def finish(self, status: str, error: str | None = None) -> None:
        self.data["status"] = status
        self.data["error"] = error
        self.data["finished"] = _now()

    def fail(self, error: str) -> None:
        self.data["status"] = FAILED
        self.data["error"] = error


# -- the secrets file --------------------------------------------------------------------------
def write_secrets(path: str | os.PathLike, old: Cookie, new: Cookie) -> Path:
    """Both cookie values, for --resume/--rollback after a crash (0600, atomic)."""
    body = json.dumps({"version": VERSION, OLD: old.reveal(), NEW: new.reveal()})
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return atomic_write(target, body + "\n", mode=0o600)


def read_secrets(path: str | os.PathLike, fingerprints: Mapping[str, str]) -> dict[str, Cookie]:
    """The two cookies, checked against the journal's fingerprints."""
    p = Path(path)
    try:
        check_directory(p.parent)
        data = json.loads(read_private(p, "secrets file", limit=64 * 1024).decode("utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"the journal's secrets file {p} is gone; give the cookies again "
            "(--cookie-file for the old one, --new-cookie-file for the new)"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OperationalError(f"secrets file {p} is damaged") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get(OLD), str)
        or not isinstance(data.get(NEW), str)
    ):
        raise OperationalError(f"secrets file {p} is damaged")
    cookies = {
        OLD: Cookie(data[OLD], source=f"{p} (old)"),
        NEW: Cookie(data[NEW], source=f"{p} (new)"),
    }
    check_fingerprints(cookies, fingerprints)
    return cookies


def check_fingerprints(cookies: Mapping[str, Cookie], fingerprints: Mapping[str, str]) -> None:
    for label in (OLD, NEW):
        if cookies[label].fingerprint() != fingerprints[label]:
            raise UsageError(
                f"the {label} cookie given ({cookies[label].fingerprint()}) is not "
                f"the one this rotation started with ({fingerprints[label]})"
            )


def remove_secrets(path: str | os.PathLike | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise OperationalError(
                f"the rotation ended, but its secrets file {path} (both "
                f"cookies) could not be removed: {exc.strerror}; delete "
                "it yourself"
            ) from None


@contextlib.contextmanager
def locked(journal_path: str | os.PathLike) -> Iterator[None]:
    """Hold `<journal>.lock` for the run; a second rotate on the same journal is refused."""
    path = Path(journal_path)
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise OperationalError(
            f"cannot create the journal's directory {path.parent}: {exc.strerror}"
        ) from None
    check_directory(path.parent)
    try:
        fd = os.open(
            lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(
                f"the lock file {lock_path} is a symlink; refusing to follow it "
                "(remove it if you did not make it)"
            ) from None
        raise OperationalError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"the lock file {lock_path} is not a regular file")
        if st.st_uid != os.geteuid():
            raise UsageError(
                f"the lock file {lock_path} belongs to {_who(st.st_uid)}, not to "
                f"you ({_who(os.geteuid())}); refusing to use it"
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"another `erlcookie rotate` holds {lock_path}; wait for it, or "
                "make sure it is gone"
            ) from None
        yield
    finally:
        os.close(fd)
