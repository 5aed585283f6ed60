"""Label selectors: the `-l app=x,tier in (a,b)` text and the `LabelSelector` object.

One parser and one matcher serve the CLI (netpol's podSelector, status's workload-to-pod
matching) and the test API server, with the API server's semantics: `!=` and `notin` also
match objects that lack the label; `in`/`=` need it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from erlcookie.errors import UsageError

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
LABEL_KEY = re.compile(rf"^({_PREFIX}/)?{_NAME}\Z")
LABEL_VALUE = re.compile(rf"^({_NAME})?\Z")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "In":
            return present and value in self.values
        if self.op == "NotIn":
            return not present or value not in self.values
        if self.op == "Exists":
            return present
        if self.op == "DoesNotExist":
            return not present
        if not present:
            return False
        try:
            number = int(value)
        except (TypeError, ValueError):
            return False
        bound = int(self.values[0])
        return number > bound if self.op == "Gt" else number < bound


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...]
    text: str = ""

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def to_label_selector(self) -> dict:
        """The `LabelSelector` object (matchLabels + matchExpressions) for a manifest."""
        match_labels: dict[str, str] = {}
        expressions: list[dict] = []
        for req in self.requirements:
            if req.op == "In" and len(req.values) == 1 and req.key not in match_labels:
                match_labels[req.key] = req.values[0]
            elif req.op in ("Gt", "Lt"):
                raise UsageError(
                    f"'{req.key} {'>' if req.op == 'Gt' else '<'} ...' cannot be "
                    "expressed in a LabelSelector (only =, !=, in, notin, exists)"
                )
            else:
                expr: dict = {"key": req.key, "operator": req.op}
                if req.op in ("In", "NotIn"):
                    expr["values"] = list(req.values)
                expressions.append(expr)
        out: dict = {}
        if match_labels:
            out["matchLabels"] = match_labels
        if expressions:
            out["matchExpressions"] = expressions
        return out

    def equality_labels(self) -> dict[str, str]:
        """The `key=value` parts (what a name or a podSelector can be derived from)."""
        return {
            r.key: r.values[0] for r in self.requirements if r.op == "In" and len(r.values) == 1
        }


def _check_key(key: str, text: str) -> str:
    if not LABEL_KEY.match(key) or len(key.split("/")[0]) > 253:
        raise UsageError(f"invalid label key {key!r} in selector {text!r}")
    return key


def _check_value(value: str, text: str) -> str:
    if not LABEL_VALUE.match(value):
        raise UsageError(f"invalid label value {value!r} in selector {text!r}")
    return value


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UsageError(f"unbalanced ')' in selector {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise UsageError(f"unbalanced '(' in selector {text!r}")
    parts.append("".join(current))
    return parts


_SET = re.compile(r"^\s*(?P<key>\S+?)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")
_CMP = re.compile(r"^\s*(?P<key>[^\s=!<>]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s=!<>]*)\s*$")
_EXISTS = re.compile(r"^\s*(?P<neg>!)?\s*(?P<key>[^\s=!<>(),]+)\s*$")


def parse_selector(text: str) -> Selector:
    """Parse `kubectl -l` syntax. The empty string selects everything."""
    if text is None or not text.strip():
        return Selector((), text or "")
    requirements: list[Requirement] = []
    for part in _split_top(text):
        if not part.strip():
            raise UsageError(f"empty requirement in selector {text!r}")
        if m := _SET.match(part):
            values = tuple(_check_value(v.strip(), text) for v in m["values"].split(","))
            op = "In" if m["op"] == "in" else "NotIn"
            requirements.append(Requirement(_check_key(m["key"], text), op, values))
        elif m := _CMP.match(part):
            key = _check_key(m["key"], text)
            op, value = m["op"], m["value"]
            if op in (">", "<"):
                if not re.fullmatch(r"-?\d+", value):
                    raise UsageError(f"'{op}' needs an integer in selector {text!r}")
                requirements.append(Requirement(key, "Gt" if op == ">" else "Lt", (value,)))
            else:
                requirements.append(
                    Requirement(key, "NotIn" if op == "!=" else "In", (_check_value(value, text),))
                )
        elif m := _EXISTS.match(part):
            requirements.append(
                Requirement(_check_key(m["key"], text), "DoesNotExist" if m["neg"] else "Exists")
            )
        else:
            raise UsageError(
                f"cannot parse {part.strip()!r} in selector {text!r} "
                "(use key=value, key!=value, key in (a,b), key notin (a,b), key, !key)"
            )
    return Selector(tuple(requirements), text)


def from_label_selector(obj: Mapping | None) -> Selector:
    """A workload's `spec.selector` (LabelSelector) as a Selector. None selects nothing."""
    if obj is None:
        return Selector((Requirement("", "In", ()),), "<none>")  # matches nothing
    requirements = [
        Requirement(str(k), "In", (str(v),)) for k, v in (obj.get("matchLabels") or {}).items()
    ]
    for expr in obj.get("matchExpressions") or []:
        requirements.append(
            Requirement(
                str(expr.get("key")),
                str(expr.get("operator")),
                tuple(str(v) for v in expr.get("values") or ()),
            )
        )
    return Selector(tuple(requirements), "")


def format_selector(labels: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    items = labels.items() if isinstance(labels, Mapping) else labels
    return ",".join(f"{k}={v}" for k, v in items)
