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
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

from erlcookie.cookie.files import atomic_write
from erlcookie.cookie.value import Cookie
from erlcookie.errors import OperationalError, UsageError
from erlcookie.rotate.plan import FORWARD, NEW, OLD, PHASES, ROLLBACK, ClusterModel
from erlcookie.rotate.settings import RotateSettings

VERSION = 1
MAX_JOURNAL_BYTES = 16 * 1024 * 1024

RUNNING = "running"
DONE = "done"
ROLLED_BACK = "rolled_back"
FAILED = "failed"          # stopped in a phase; resumable
ABORTED = "aborted"        # stopped before anything changed
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


def _check_private(path: Path, what: str) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(f"{what} {path} is readable by group or others (mode "
                         f"{stat.S_IMODE(mode):04o}); fix it with chmod 600 first")


class Journal:
    """One rotation's record. Mutate through the methods, then `save()`."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path = Path(path)
        self.data = data

    # -- creation and loading ------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike, *, old_fingerprint: str, new_fingerprint: str,
               members: list[str], model: ClusterModel, settings: RotateSettings,
               secrets_file: str | None) -> "Journal":
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
            "settings": settings.to_dict(),
            "members": sorted(members),
            "departed": [],
            "model": model.to_dict(),
            "phases": {},
            "persisted": "no",       # no | started | yes  (of the current target)
            "error": None,
            "history": [],
        }
        return cls(Path(path), data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Journal":
        p = Path(path).expanduser()
        try:
            _check_private(p, "journal")
            if p.stat().st_size > MAX_JOURNAL_BYTES:
                raise OperationalError(f"journal {p} is larger than {MAX_JOURNAL_BYTES} bytes")
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"no rotation journal at {p} (give --journal PATH)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise OperationalError(f"journal {p} is not valid JSON ({type(exc).__name__}); "
                                   "it was not written by erlcookie or was edited") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise OperationalError(f"journal {p} has an unknown format (version "
                                   f"{data.get('version') if isinstance(data, dict) else '?'})")
        for key in ("status", "direction", "target", "fingerprints", "members", "model", "phases"):
            if key not in data:
                raise OperationalError(f"journal {p} lacks {key!r}; it is damaged")
        if data["direction"] not in (FORWARD, ROLLBACK) or data["target"] not in (OLD, NEW):
            raise OperationalError(f"journal {p} has an invalid direction or target")
        return cls(p, data)

    def save(self) -> None:
        self.data["updated"] = _now()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n", mode=0o600)

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
        _check_private(p, "secrets file")
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"the journal's secrets file {p} is gone; give the cookies again "
                         "(--cookie-file for the old one, --new-cookie-file for the new)") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OperationalError(f"secrets file {p} is damaged") from None
    if not isinstance(data, dict) or not isinstance(data.get(OLD), str) \
            or not isinstance(data.get(NEW), str):
        raise OperationalError(f"secrets file {p} is damaged")
    cookies = {OLD: Cookie(data[OLD], source=f"{p} (old)"),
               NEW: Cookie(data[NEW], source=f"{p} (new)")}
    check_fingerprints(cookies, fingerprints)
    return cookies


def check_fingerprints(cookies: Mapping[str, Cookie], fingerprints: Mapping[str, str]) -> None:
    for label in (OLD, NEW):
        if cookies[label].fingerprint() != fingerprints[label]:
            raise UsageError(f"the {label} cookie given ({cookies[label].fingerprint()}) is not "
                             f"the one this rotation started with ({fingerprints[label]})")


def remove_secrets(path: str | os.PathLike | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def locked(journal_path: str | os.PathLike) -> Iterator[None]:
    """Hold `<journal>.lock` for the run; a second rotate on the same journal is refused."""
    path = Path(journal_path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another `erlcookie rotate` holds {lock_path}; wait for it, or "
                             "make sure it is gone") from None
        yield
    finally:
        os.close(fd)
