"""YAML documents validated by pydantic, with every mistake reported at its line.

Contracts and policies are YAML files people edit by hand; a mistake must be
reported as ``file:line: field.path: problem`` so it can be fixed without
guessing. This module parses the document once (keeping the node tree, which
knows each key's line), and turns a pydantic ``ValidationError`` into one such
message per mistake: the error's location (keys and list indexes) is walked
through the node tree to find the line, pydantic's own parts of the location
(the tag of a discriminated union) are dropped, and an unknown key lists the
keys the model allows.

>>> data, node = load_yaml_document("a:\\n  b: [1, 2]\\n  c: x\\n", "f.yaml", ValueError)
>>> data
{'a': {'b': [1, 2], 'c': 'x'}}
>>> line_of(node, ["a", "c"]), line_of(node, ["a", "b", 1]), line_of(node, ["a", "nope"])
(3, 2, 1)
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal, NoReturn, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

__all__ = ["ErrorAt", "describe_errors", "line_of", "load_yaml_document", "raise_problems"]

Path = list[str | int]
E = TypeVar("E", bound=Exception)


class ErrorAt(ValueError):
    """A validator's complaint about something below what it validates.

    A model validator that finds a duplicate rule name raises
    ``ErrorAt("...", 3, "name")``: the message is reported at ``rules.3.name``
    (and its line) rather than at the whole list.
    """

    def __init__(self, message: str, *loc: str | int) -> None:
        super().__init__(message)
        self.loc = loc


MAX_DEPTH = 100
"""How deeply a document may nest (a deeper one is refused, not a RecursionError)."""
MAX_ALIAS_NODES = 10_000
"""How many nodes aliases may add to a document when expanded: a "billion laughs" is
refused before anything expands it."""


class _Refused(yaml.YAMLError):
    """A document the loader will not load, at its 1-based ``line``."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing what would make loading a small text hang or crash: a
    document nested deeper than :data:`MAX_DEPTH`, an alias inside its own anchor (a
    cycle) and aliases that expand to more than :data:`MAX_ALIAS_NODES` extra nodes."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._open: set[str] = set()
        self.aliases: list[Any] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _Refused(_line(event), f"the alias *{event.anchor} is inside its own anchor")
            self.aliases.append(event)
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise _Refused(_line(event), f"nested more than {MAX_DEPTH} levels deep")
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open.discard(anchor)


def load_yaml_document(
    text: str, source: str, error: Callable[..., E], *, unique_keys: bool = False
) -> tuple[Any, yaml.Node | None]:
    """The document's data and its node tree, parsed once with the safe loader.

    A syntax error raises ``error("source:line: not valid YAML: problem",
    file="source:line")``, as do a character YAML does not allow (a control
    character), nesting deeper than :data:`MAX_DEPTH`, an alias inside its own
    anchor and aliases that would expand the document by more than
    :data:`MAX_ALIAS_NODES` nodes. With ``unique_keys`` a key given twice in one
    mapping is an error too (PyYAML would silently keep the last value).
    """
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        node = loader.get_single_node()
        if node is not None:
            _check_aliases(node, loader.aliases)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        line, problem = _problem(exc, text)
        raise error(f"{source}{line}: not valid YAML: {problem}", file=f"{source}{line}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    if unique_keys and node is not None:
        _check_unique_keys(node, source, error)
    return data, node


def _problem(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    """``:line`` (or nothing) and the problem of a YAML error, on one line."""
    if isinstance(exc, _Refused):
        return f":{exc.line}", exc.problem
    if isinstance(exc, yaml.reader.ReaderError):
        at = text.count("\n", 0, exc.position) + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        return f":{at}", f"the character {shown} is not allowed ({exc.reason})"
    mark = getattr(exc, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    return line, getattr(exc, "problem", None) or str(exc)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node, aliases: list[Any]) -> None:
    """Refuse aliases that expand the document by more than :data:`MAX_ALIAS_NODES`
    nodes or deeper than :data:`MAX_DEPTH`, counting without expanding anything."""
    if not aliases:
        return
    size: dict[int, tuple[int, int]] = {}  # id(node): (nodes, depth) when expanded
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in size:
            continue
        children = _children(node)
        if not ready:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        size[id(node)] = (
            1 + sum(size[id(c)][0] for c in children),
            1 + max((size[id(c)][1] for c in children), default=0),
        )
    nodes, depth = size[id(root)]
    if nodes - len(size) > MAX_ALIAS_NODES or depth > MAX_DEPTH:
        raise _Refused(
            _line(aliases[0]),
            f"its aliases expand it to {nodes} nodes, {depth} levels deep (at most "
            f"{MAX_ALIAS_NODES} more nodes than written and {MAX_DEPTH} levels); write "
            "the repeated parts out",
        )


def _check_unique_keys(root: yaml.Node, source: str, error: Callable[..., E]) -> None:
    stack = [root]
    seen_nodes: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # an alias: the same node, already checked
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in seen:
                        raise error(
                            f"{source}:{line}: key {key.value!r} is given twice "
                            f"(first on line {seen[key.value]}); keep one",
                            file=f"{source}:{line}",
                        )
                    seen[key.value] = line
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def line_of(node: yaml.Node | None, path: Sequence[str | int]) -> int:
    """The 1-based line of the deepest part of ``path`` present in the document:
    a key's line for a mapping, an item's line for a list."""
    line = 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            matches = [(k, v) for k, v in node.value if k.value == str(part)]
            if not matches:
                break
            key, node = matches[-1]  # the value PyYAML keeps for a repeated key
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def describe_errors(
    exc: ValidationError, model: type[BaseModel], node: yaml.Node | None, source: str
) -> list[str]:
    """One ``source:line: field.path: problem`` message per error of ``exc``,
    which validating the document as ``model`` raised."""
    return [_describe(err, model, node, source) for err in exc.errors()]


def raise_problems(error: Callable[..., E], problems: list[str], source: str) -> NoReturn:
    """Raise ``error`` whose message is the first problem, "(and N more)"."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise error(f"{problems[0]}{more}", file=source, problems=problems)


def _describe(err: ErrorDetails, model: type[BaseModel], node: yaml.Node | None, src: str) -> str:
    loc = list(err["loc"])
    ctx = err.get("ctx") or {}
    if isinstance(ctx.get("error"), ErrorAt):
        loc += ctx["error"].loc
    if loc and loc[-1] == "[key]":  # pydantic's mark for a mapping key that failed
        loc.pop()
    path, owner, end = _resolve(model, loc)
    message = err["msg"].removeprefix("Value error, ")
    kind = err["type"]
    if kind == "extra_forbidden" and owner is not None:
        key = str(path[-1])
        hints: dict[str, str] = getattr(owner, "unknown_key_hints", {})
        message = f"unknown key; allowed: {', '.join(_keys(owner))}"
        if key in hints:
            message = f"{message}. {hints[key]}"
    elif kind == "literal_error" and "input" in err:
        message = f"{message}, got {err['input']!r}"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "type")).strip("'")
        tags = ", ".join(_tags(end, field))
        path.append(field)
        if kind == "union_tag_invalid":
            message = f"unknown {field} {ctx.get('tag')!r}; allowed: {tags}"
        else:
            message = f"Field required; one of: {tags}"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        keys = f" (keys: {', '.join(_keys(end))})" if _is_model(end) else ""
        message = f"should be a mapping{keys}, got {_shown(err.get('input'))}"
    elif kind == "list_type":
        message = f"should be a list, got {_shown(err.get('input'))}"
    elif kind.endswith(("_type", "_parsing", "than", "than_equal")) and "input" in err:
        message = f"{message}, got {_shown(err['input'])}"
    field = ".".join(str(part) for part in path) or "(top level)"
    return f"{src}:{line_of(node, path)}: {field}: {message}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _resolve(model: type[BaseModel], loc: list[Any]) -> tuple[Path, type[BaseModel] | None, Any]:
    """Walk ``loc`` down the model's types: the path as written in the document (union
    tags removed), the model holding the last key, and the type at the end."""
    path: Path = []
    owner: type[BaseModel] | None = None
    tp: Any = model
    tag_field: str | None = None
    for part in loc:
        tp, found = _unwrap(tp)
        tag_field = found or tag_field
        if tag_field and isinstance(part, str) and part in _tags(tp, tag_field):
            tp, tag_field = _member(tp, tag_field, part), None
            continue
        path.append(part)
        tag_field = None
        if _is_model(tp):
            owner = tp
            info = _field(tp, str(part))
            tp = info.annotation if info else None
            tag_field = _discriminator(info)
        elif typing.get_origin(tp) in (list, tuple, Sequence):
            tp = typing.get_args(tp)[0] if typing.get_args(tp) else None
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            tp = None
    tp, found = _unwrap(tp)
    return path, owner, tp


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip ``Annotated`` and ``| None``; the discriminator field named on the way."""
    tag_field = None
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            for meta in getattr(tp, "__metadata__", ()):
                tag_field = _discriminator(meta) or tag_field
            tp = typing.get_args(tp)[0]
        elif _is_union(tp):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, tag_field
            tp = members[0]
        else:
            return tp, tag_field


def _discriminator(info: Any) -> str | None:
    value = getattr(info, "discriminator", None)
    return value if isinstance(value, str) else None


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    return next(
        (info for name, info in model.model_fields.items() if (info.alias or name) == key), None
    )


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _members(union: Any) -> list[type[BaseModel]]:
    members = typing.get_args(union) if _is_union(union) else (union,)
    return [m for m in (_unwrap(a)[0] for a in members) if _is_model(m)]


def _tags(union: Any, field: str) -> list[str]:
    tags: list[str] = []
    for member in _members(union):
        info = member.model_fields.get(field)
        if info is not None and typing.get_origin(info.annotation) is Literal:
            tags.extend(str(v) for v in typing.get_args(info.annotation))
    return tags


def _member(union: Any, field: str, tag: str) -> Any:
    return next(m for m in _members(union) if tag in _tags(m, field))
