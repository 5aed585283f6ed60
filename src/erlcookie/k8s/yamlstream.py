"""Edit a multi-document YAML stream while every untouched document stays byte for byte.

A round-trip dump of a whole stream still rewrites details (nulls, spacing, the last
document's end marker), so the stream is split on document markers here, each document
is parsed on its own, and only the ones an edit changed are dumped again: their leading
`---`/comment lines (Helm's `# Source:` header) are kept verbatim, the body is dumped with
the indentation that document already used, lines that only changed their spelling
(`~` vs `null`) are put back, and the result is re-read and compared with what was meant.
"""

from __future__ import annotations

import difflib
import functools
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from erlcookie.errors import OperationalError

_START = re.compile(r"^---(?=[ \t]|\r?\n|$)")
_END = re.compile(r"^\.\.\.(?=[ \t]|\r?\n|$)")
_BLANK_OR_COMMENT = re.compile(r"^[ \t]*(#.*)?\r?\n?$")
_MARKER_ONLY = re.compile(r"^---[ \t]*(#.*)?\r?\n?$")


# Bounds on what one document may make the code after the parser do. Manifests nest about
# a dozen levels; anchors and aliases are rare and small (`<<: *defaults`). A deeper
# document would overflow the recursive composer and walkers (RecursionError); aliases
# that expand into more nodes than this turn every walk over the data into a
# billion-laughs bomb, since each alias is walked again wherever it appears.
MAX_DEPTH = 100
MAX_ALIAS_EXPANSION = 100_000  # nodes that aliases add beyond those written out


class YamlParseError(OperationalError):
    """The input is not YAML (exit 3); the message names the file and line."""


class YamlBombError(YamlParseError):
    """A document nested too deeply or whose aliases expand too far: refused (exit 3),
    even inside a directory, where other unreadable files are only skipped."""


class _Refused(Exception):
    """Raised inside ruamel's composer; parse_documents turns it into YamlBombError."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message, self.line = message, line


@dataclass
class Document:
    """One document of a stream: `prefix + body + suffix == text` (exact original text)."""

    index: int
    line: int  # 0-based line of the document's first line in the file
    text: str
    prefix: str = ""
    body: str = ""
    suffix: str = ""
    whole: bool = False  # directives or content on the `---` line: dump the whole text
    data: Any = None
    newline: str = "\n"
    new_text: str | None = None
    indent: tuple[int, int, int] = (2, 2, 0)  # (mapping, sequence, offset) the body uses
    _spelling: dict = field(default_factory=dict, repr=False)

    @property
    def body_line(self) -> int:
        return self.line + (0 if self.whole else self.prefix.count("\n"))

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.new_text != self.text

    @property
    def output(self) -> str:
        return self.text if self.new_text is None else self.new_text


def split_documents(text: str) -> list[Document]:
    """Cut `text` at document boundaries; `"".join(d.text for d in docs) == text`.

    A `---` line starts a document (directive lines just before it go with it); after a
    `...` line, the next line that is not blank or a comment starts one too.
    """
    lines = text.splitlines(keepends=True)
    chunks: list[list[str]] = [[]]
    starts = [0]
    after_end = False

    def begin(number: int) -> None:
        if chunks[-1]:
            chunks.append([])
            starts.append(number)

    for number, line in enumerate(lines):
        if _START.match(line):
            if not _is_directive_block(chunks[-1]) or after_end:
                begin(number)
            after_end = False
        elif after_end and not _BLANK_OR_COMMENT.match(line):
            begin(number)
            after_end = False
        chunks[-1].append(line)
        if _END.match(line):
            after_end = True
    return [
        _carve(Document(index=i, line=start, text="".join(chunk)))
        for i, (chunk, start) in enumerate(zip(chunks, starts))
    ]


def _is_directive_block(chunk: list[str]) -> bool:
    meaningful = [ln for ln in chunk if ln.strip() and not ln.lstrip().startswith("#")]
    return bool(meaningful) and all(ln.startswith("%") for ln in meaningful)


def _carve(doc: Document) -> Document:
    lines = doc.text.splitlines(keepends=True)
    doc.newline = "\r\n" if any(ln.endswith("\r\n") for ln in lines) else "\n"
    i = 0
    while i < len(lines) and (_BLANK_OR_COMMENT.match(lines[i]) or _MARKER_ONLY.match(lines[i])):
        i += 1
    if i < len(lines) and (lines[i].startswith("%") or _START.match(lines[i])):
        doc.whole = True  # a directive, or `--- |` / `--- !tag`: parse the marker with it
        i = 0
    j = next((k for k in range(i, len(lines)) if _END.match(lines[k])), len(lines))
    doc.prefix, doc.body, doc.suffix = "".join(lines[:i]), "".join(lines[i:j]), "".join(lines[j:])
    return doc


def _node_children(node: Any) -> list:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def expanded_size(root: Any) -> tuple[int, int, int]:
    """(nodes as a walk of the data sees them, with every alias expanded; distinct nodes;
    depth as that walk sees it: an alias nests its anchor's whole depth where it stands).

    Iterative and memoised: linear in the distinct nodes however far aliases expand. An
    alias inside its own anchor (`&a [*a]`) expands without end: _Refused.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            on_path.discard(key)
            children = _node_children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _node_children(node):
            if id(child) in on_path:
                mark = getattr(child, "start_mark", None)
                raise _Refused(
                    "an alias refers to a node that contains it (the data would be infinite)",
                    mark.line if mark is not None else 0,
                )
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)], len(size), depth[id(root)]


@functools.cache
def _bounded_composer():
    """ruamel's Composer, refusing documents deeper than MAX_DEPTH (before the recursion
    that would overflow) and aliases that expand past MAX_ALIAS_EXPANSION."""
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent

    class BoundedComposer(Composer):
        _nesting = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.parser.check_event(AliasEvent):
                return super().compose_node(parent, index)
            self._nesting += 1
            if self._nesting > MAX_DEPTH:
                raise _Refused(
                    f"nested more than {MAX_DEPTH} levels deep",
                    self.parser.peek_event().start_mark.line,
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self._nesting -= 1

        def compose_document(self) -> Any:
            node = super().compose_document()
            if node is not None:
                walked, distinct, depth = expanded_size(node)
                if depth > MAX_DEPTH:  # deeper only through aliases: each walk would recurse
                    raise _Refused(
                        f"its aliases nest it more than {MAX_DEPTH} levels deep ({depth})",
                        node.start_mark.line,
                    )
                if walked - distinct > MAX_ALIAS_EXPANSION:
                    raise _Refused(
                        f"its aliases expand {distinct} nodes into {walked} (more "
                        f"than {MAX_ALIAS_EXPANSION} added; a billion-laughs bomb?)",
                        node.start_mark.line,
                    )
            return node

    return BoundedComposer


def bounded(yaml):
    """`yaml` (a ruamel YAML instance) with the bounds above on every document it loads."""
    yaml.Composer = _bounded_composer()
    return yaml


def new_rt_yaml():
    from ruamel.yaml import YAML

    yaml = bounded(YAML(typ="rt"))
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


_TOP_KIND = re.compile(r"""^kind:[ \t]*["']?([A-Za-z0-9]+)["']?[ \t]*(?:#.*)?\r?$""", re.M)


def top_level_kind(doc: Document) -> str | None:
    """The `kind:` of a block-style document, read without parsing (None: not found)."""
    found = _TOP_KIND.findall(doc.body)
    return found[0] if len(found) == 1 else None


def parse_documents(text: str, source: str, wanted=None) -> list[Document]:
    """Split and parse; raise YamlParseError naming `source` and the line.

    With `wanted(kind) -> bool`, a document whose top-level kind can be read from its text
    and is not wanted is left unparsed (`data` None): it cannot change, and parsing is
    what costs (ruamel's round-trip parser is pure Python).
    """
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    docs = split_documents(text)
    for doc in docs:
        if not doc.body.strip():
            continue
        if wanted is not None:
            kind = top_level_kind(doc)
            if kind is not None and not wanted(kind):
                continue
        try:
            doc.data = new_rt_yaml().load(doc.body.replace("\r\n", "\n"))
            doc.indent = _guess_indent(doc.data)
        except _Refused as exc:
            raise YamlBombError(
                f"{source}:{doc.body_line + exc.line + 1}: refused: {exc.message}"
            ) from None
        except RecursionError:  # a path the bounds above do not cover
            raise YamlBombError(
                f"{source}:{doc.body_line + 1}: refused: nested too deeply to read"
            ) from None
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = doc.body_line + (mark.line if mark is not None else 0) + 1
            problem = exc.problem or exc.context or "invalid YAML"
            raise YamlParseError(f"{source}:{line}: not valid YAML: {problem}") from None
        except YAMLError as exc:
            raise YamlParseError(
                f"{source}:{doc.body_line + 1}: not valid YAML: {type(exc).__name__}"
            ) from None
    return docs


def _guess_indent(data: Any) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel's `indent()` wants them, from node positions."""
    maps: Counter = Counter()
    seqs: Counter = Counter()

    def flow(node: Any) -> bool:
        fa = getattr(node, "fa", None)
        return bool(fa and fa.flow_style())

    def walk(node: Any) -> None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if isinstance(node, CommentedMap) and not flow(node):
            for key, value in node.items():
                try:
                    key_line, key_col = node.lc.key(key)
                    if isinstance(value, CommentedMap) and not flow(value) and value:
                        if value.lc.line > key_line:
                            maps[value.lc.col - key_col] += 1
                    elif isinstance(value, CommentedSeq) and not flow(value) and value:
                        if value.lc.line > key_line:
                            seqs[(value.lc.item(0)[1] - key_col, value.lc.col - key_col)] += 1
                except (KeyError, TypeError, AttributeError):  # a node added by an edit
                    pass
                walk(value)
        elif isinstance(node, CommentedSeq) and not flow(node):
            for item in node:
                walk(item)

    walk(data)
    mapping = maps.most_common(1)[0][0] if maps else 2
    if seqs:
        sequence, offset = seqs.most_common(1)[0][0]
    else:
        sequence, offset = mapping, 0
    mapping = max(mapping, 1)
    sequence = max(sequence, offset + 2)
    return mapping, sequence, offset


_NULL_SPELLING = re.compile(r"^(?P<head>[ \t]*(?:- )?[^#'\"]*?:)[ \t]*(?:~|null|Null|NULL)?[ \t]*$")


def _respell(old_body: str, new_body: str) -> str:
    """Put back original lines that the dump only re-spelled (null forms, trailing blanks)."""
    old = old_body.splitlines(keepends=True)
    new = new_body.splitlines(keepends=True)

    def norm(line: str) -> str:
        stripped = line.rstrip()
        m = _NULL_SPELLING.match(stripped)
        return m["head"] if m else stripped

    out: list[str] = []
    matcher = difflib.SequenceMatcher(
        a=[norm(ln) for ln in old], b=[norm(ln) for ln in new], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(old[i1:i2])
        else:
            out.extend(new[j1:j2])
    return "".join(out)


def _restore_reflowed(old_body: str, new_body: str, dumped: str) -> str:
    """Put back original runs of lines that the dump only reflowed.

    ruamel folds a multi-line plain or quoted scalar onto one line, and a flow collection
    written across lines too: the value is the same, the bytes are not. A changed run whose
    words (split on whitespace) equal the original run's is taken back from the original,
    if the document still means what `dumped` means (re-read to check, all such runs at
    once, else one by one).
    """
    old = old_body.splitlines(keepends=True)
    new = new_body.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    runs = [
        (i1, i2, j1, j2)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag == "replace" and "".join(old[i1:i2]).split() == "".join(new[j1:j2]).split()
    ]
    if not runs:
        return new_body
    try:
        meaning = _plain(dumped)
    except Exception:  # a custom tag the safe loader does not know: keep the dump
        return new_body

    def splice(chosen: list) -> str:
        out, at = [], 0
        for i1, i2, j1, j2 in chosen:
            out.extend(new[at:j1])
            out.extend(old[i1:i2])
            at = j2
        out.extend(new[at:])
        return "".join(out)

    def same(text: str) -> bool:
        try:
            return _plain(text) == meaning
        except Exception:  # unreadable: not the same
            return False

    candidate = splice(runs)
    if same(candidate):
        return candidate
    kept = [run for run in runs[:20] if same(splice([run]))]  # bounded: one re-read each
    return splice(kept) if kept else new_body


def _plain(text: str) -> Any:
    from ruamel.yaml import YAML

    return bounded(YAML(typ="safe", pure=True)).load(text)


def _render_json(doc: Document) -> None:
    """A JSON document (`kubectl get -o json`) stays JSON, with its indentation."""
    import json

    body = doc.body.replace("\r\n", "\n")
    lines = body.strip("\n").splitlines()
    indent = None
    if len(lines) > 1:
        second = lines[1]
        indent = (len(second) - len(second.lstrip(" "))) or None
    text = json.dumps(
        doc.data, indent=indent, ensure_ascii=False, separators=None if indent else (", ", ": ")
    )
    text += body[len(body.rstrip("\n")) :]  # the original's trailing newlines
    if doc.newline == "\r\n":
        text = text.replace("\n", "\r\n")
    doc.new_text = doc.prefix + text + doc.suffix


def render(doc: Document) -> None:
    """Dump `doc.data` (edited) into `doc.new_text`, keeping prefix, suffix and style."""
    if not doc.whole and doc.body.lstrip().startswith("{"):
        return _render_json(doc)
    yaml = new_rt_yaml()
    mapping, sequence, offset = doc.indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    if doc.whole:
        yaml.explicit_start = doc.body.lstrip().startswith(("---", "%"))
    out = io.StringIO()
    yaml.dump(doc.data, out)
    dumped = out.getvalue()
    original_body = doc.body.replace("\r\n", "\n")
    if not original_body.endswith("\n") and dumped.endswith("\n"):
        dumped = dumped[:-1]
    candidate = _respell(original_body, dumped)
    if candidate != dumped:  # re-read both only when a line was put back
        try:
            same = _plain(candidate) == _plain(dumped)
        except Exception:  # unreadable, or a custom tag the safe loader does not know
            same = False
        if not same:  # a re-spelled line changed the meaning: keep the plain dump
            candidate = dumped
    candidate = _restore_reflowed(original_body, candidate, dumped)
    if doc.newline == "\r\n":
        candidate = candidate.replace("\n", "\r\n")
    doc.new_text = doc.prefix + candidate + doc.suffix


def join(docs: list[Document]) -> str:
    return "".join(doc.output for doc in docs)
