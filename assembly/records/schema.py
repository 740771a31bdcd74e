"""A small JSON Schema validator for the record format's schema (``record-v1.schema.json``).

It knows exactly the keywords that schema uses — ``type`` (one or a list), ``const``,
``enum``, ``required``, ``properties``, ``additionalProperties: false``, ``items``,
``minItems``, ``maxItems``, ``minimum``, ``minLength``, ``pattern`` and ``$ref`` to
``#/$defs/…`` — and refuses a schema with any other, so it never passes something it did not
check. A schema is compiled once into closures, one per schema node; a node with no children
also gets a one-line predicate, tried first, so that a record with a million ballots is
checked in a second or two and the slower, explaining check runs only where something is
wrong.

Two decisions differ from a general validator: JSON numbers are integers only (canonical JSON
has no floats, so ``1.0`` is not an ``integer``), and a value of the wrong type (or not the
``const`` / ``enum`` value) is reported once, without the keywords that would only repeat it.
Problems name the JSON path (``body.contests[0].ballots.items[17].tracker``); checking stops
after ``limit`` of them.

Pure: standard library only.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

__all__ = [
    "SCHEMA_FILE",
    "SchemaError",
    "Validator",
    "load_record_schema",
    "path_text",
    "record_validator",
    "validate_record",
]

SCHEMA_FILE = "record-v1.schema.json"

#: A path from the document's root, built only as far as it is walked: (parent, key).
Path = tuple[Any, str | int] | None
#: Checks a value and adds what is wrong with it to the problems.
Check = Callable[[Any, Path, "_Problems"], None]
#: Checks the type, const or enum of a value; False when it failed (and was reported).
Gate = Callable[[Any, Path, "_Problems"], bool]
#: Whether a value conforms, without saying why not: the fast path for childless nodes.
Predicate = Callable[[Any], bool]

#: Keywords that only describe: they need no check.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description"})
_KEYWORDS = frozenset(
    {
        "type",
        "const",
        "enum",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "minLength",
        "pattern",
        "$ref",
    }
)
_PYTHON: dict[str, type] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
    "null": type(None),
}
_SCALARS = (str, int, bool, type(None))
_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    bool: "true or false",
    float: "a number with a fraction (a record has none)",
    type(None): "null",
}


class SchemaError(ValueError):
    """The schema itself uses something this validator does not implement."""


class _Enough(Exception):
    """Raised to stop walking once enough problems are found."""


class _Problems:
    """The problems found so far, as ``(path, message)``; full at ``limit``."""

    __slots__ = ("found", "limit")

    def __init__(self, limit: int) -> None:
        self.found: list[tuple[Path, str]] = []
        self.limit = limit

    def add(self, path: Path, message: str) -> None:
        self.found.append((path, message))
        if len(self.found) >= self.limit:
            raise _Enough


class _Node(NamedTuple):
    """A compiled schema node: its check, and a predicate when one is cheap."""

    check: Check
    ok: Predicate | None


def path_text(path: Path) -> str:
    """A path as people read it: ``body.contests[0].ballots.items[17].tracker``."""
    parts: list[str | int] = []
    while path is not None:
        path, key = path
        parts.append(key)
    text = ""
    for key in reversed(parts):
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text or "the document"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


def _type_name(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def _article(name: str) -> str:
    return _NAMES[_PYTHON[name]]


class Validator:
    """A schema compiled once; ``validate`` checks documents against it."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._defs: Mapping[str, Any] = schema.get("$defs", {})
        self._compiled: dict[str, _Node] = {}
        self._root = self._compile(schema)

    def validate(self, document: Any, limit: int = 10) -> list[str]:
        """The first ``limit`` problems (``"path: what is wrong"``); empty when it conforms."""
        problems = _Problems(limit)
        with contextlib.suppress(_Enough):
            self._root.check(document, None, problems)
        return [f"{path_text(path)}: {message}" for path, message in problems.found]

    # -- compiling -----------------------------------------------------------------------------

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """The schema a node stands for, its ``$ref`` followed (a chain of them no longer
        than the definitions)."""
        for _ in range(len(self._defs) + 1):
            name = str(node.get("$ref", "")).removeprefix("#/$defs/")
            if name not in self._defs:
                break
            node = self._defs[name]
        return node

    def _ref(self, ref: str) -> _Node:
        prefix = "#/$defs/"
        name = ref.removeprefix(prefix)
        if not ref.startswith(prefix) or name not in self._defs:
            raise SchemaError(f"$ref {ref!r} is not one of this schema's #/$defs")
        if name not in self._compiled:
            # A placeholder first, so that a definition may refer to itself.
            cell: list[_Node] = []
            self._compiled[name] = _Node(lambda v, p, e: cell[0].check(v, p, e), None)
            cell.append(self._compile(self._defs[name]))
            self._compiled[name] = cell[0]
        return self._compiled[name]

    def _compile(self, node: Mapping[str, Any]) -> _Node:
        unknown = set(node) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise SchemaError(f"unsupported schema keyword(s): {', '.join(sorted(unknown))}")
        if node.get("additionalProperties", False) is not False:
            raise SchemaError("only additionalProperties: false is supported")
        if "$ref" in node:
            if set(node) - _ANNOTATIONS != {"$ref"}:
                raise SchemaError("$ref must stand alone in its schema")
            return self._ref(node["$ref"])
        item = self._compile(node["items"]) if "items" in node else None
        properties = tuple(
            (key, self._compile(sub)) for key, sub in node.get("properties", {}).items()
        )
        checks = [
            check
            for check in (
                _string(node),
                _integer(node),
                _array(node, item),
                _object(node, properties),
            )
            if check is not None
        ]
        check = _sequence(_gate(node), checks)
        ok = _predicate(node, item, properties)
        if ok is not None and "items" in node:
            ok = _integers_predicate(node, self._resolve(node["items"])) or ok
        if ok is None:
            return _Node(check, None)
        return _Node(_fast(ok, check), ok)


def _array(node: Mapping[str, Any], item: _Node | None) -> Check | None:
    min_items = node.get("minItems")
    max_items = node.get("maxItems")
    if min_items is None and max_items is None and item is None:
        return None

    def sizes(value: list[Any], path: Path, problems: _Problems) -> None:
        if min_items is not None and len(value) < min_items:
            problems.add(path, f"must have at least {min_items} item(s), not {len(value)}")
        if max_items is not None and len(value) > max_items:
            problems.add(path, f"must have at most {max_items} item(s), not {len(value)}")

    if item is None:

        def bounded(value: Any, path: Path, problems: _Problems) -> None:
            if type(value) is list:
                sizes(value, path, problems)

        return bounded
    check, ok = item
    if ok is None:

        def array(value: Any, path: Path, problems: _Problems) -> None:
            if type(value) is not list:
                return
            sizes(value, path, problems)
            for index, element in enumerate(value):
                check(element, (path, index), problems)

        return array

    def simple_array(value: Any, path: Path, problems: _Problems) -> None:
        if type(value) is not list:
            return
        sizes(value, path, problems)
        if all(map(ok, value)):
            return
        for index, element in enumerate(value):
            if not ok(element):
                check(element, (path, index), problems)

    return simple_array


def _object(node: Mapping[str, Any], properties: tuple[tuple[str, _Node], ...]) -> Check | None:
    required = tuple(node.get("required", ()))
    closed = node.get("additionalProperties", True) is False
    allowed = frozenset(node.get("properties", {}))
    if not required and not properties and not closed:
        return None

    def obj(value: Any, path: Path, problems: _Problems) -> None:
        if type(value) is not dict:
            return
        for key in required:
            if key not in value:
                problems.add(path, f"lacks {key!r}")
        if closed and not value.keys() <= allowed:
            for key in sorted(value.keys() - allowed):
                problems.add(path, f"has {key!r}, which the format does not define")
        for key, (check, ok) in properties:
            if key in value:
                element = value[key]
                if ok is None or not ok(element):
                    check(element, (path, key), problems)

    return obj


# -- the keywords ------------------------------------------------------------------------------


def _gate(node: Mapping[str, Any]) -> Gate | None:
    """``const``, ``enum`` or ``type``: when one fails, the rest is not worth checking."""
    if "const" in node:
        expected = node["const"]

        def const(value: Any, path: Path, problems: _Problems) -> bool:
            if type(value) is type(expected) and value == expected:
                return True
            problems.add(path, f"must be {_show(expected)}, not {_show(value)}")
            return False

        return const
    if "enum" in node:
        options = list(node["enum"])
        if not all(isinstance(o, _SCALARS) for o in options):
            raise SchemaError("enum may list only strings, integers, booleans and null")
        allowed = {(type(o), o) for o in options}
        listed = ", ".join(_show(o) for o in options)

        def enum(value: Any, path: Path, problems: _Problems) -> bool:
            if type(value) in _SCALARS and (type(value), value) in allowed:
                return True
            problems.add(path, f"must be one of {listed}, not {_show(value)}")
            return False

        return enum
    if "type" in node:
        names = [node["type"]] if isinstance(node["type"], str) else list(node["type"])
        for name in names:
            if name not in _PYTHON:
                raise SchemaError(f"unsupported type {name!r}")
        pythons = tuple(_PYTHON[n] for n in names)
        wanted = " or ".join(_article(n) for n in names)

        def types(value: Any, path: Path, problems: _Problems) -> bool:
            if type(value) in pythons:
                return True
            problems.add(path, f"must be {wanted}, not {_type_name(value)}")
            return False

        return types
    return None


def _regex(pattern: str) -> re.Pattern[str]:
    """Compile a schema pattern with ECMA-262's meaning for what the schema uses: ``$`` is the
    very end (Python's ``$`` also matches before a final newline) and classes are ASCII."""
    translated = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            translated.append(r"\Z")
            continue
        translated.append(char)
    return re.compile("".join(translated), re.ASCII)


def _string(node: Mapping[str, Any]) -> Check | None:
    min_length = node.get("minLength")
    pattern = node.get("pattern")
    if min_length is None and pattern is None:
        return None
    search = _regex(pattern).search if pattern is not None else None

    def string(value: Any, path: Path, problems: _Problems) -> None:
        if type(value) is not str:
            return
        if min_length is not None and len(value) < min_length:
            problems.add(path, f"must have at least {min_length} character(s)")
        if search is not None and search(value) is None:
            problems.add(path, f"{_show(value)} does not match {pattern}")

    return string


def _integer(node: Mapping[str, Any]) -> Check | None:
    if "minimum" not in node:
        return None
    minimum = node["minimum"]

    def integer(value: Any, path: Path, problems: _Problems) -> None:
        if type(value) is int and value < minimum:
            problems.add(path, f"must be at least {minimum}, not {value}")

    return integer


def _predicate(
    node: Mapping[str, Any], item: _Node | None, properties: tuple[tuple[str, _Node], ...]
) -> Predicate | None:
    """A fast yes/no for a node, where one is cheap: scalars with a bound or a pattern, an
    enum, and arrays and objects whose children all have one. ``None`` otherwise: then the
    explaining check runs every time."""
    keywords = set(node) - _ANNOTATIONS
    if keywords == {"enum"}:
        allowed = {(type(o), o) for o in node["enum"]}
        return lambda v: type(v) in _SCALARS and (type(v), v) in allowed
    if not isinstance(node.get("type"), str):
        return None
    python = _PYTHON[node["type"]]
    if python is list and keywords <= {"type", "items", "minItems", "maxItems"}:
        return _array_predicate(node, item)
    if python is dict and keywords <= {"type", "properties", "required", "additionalProperties"}:
        return _object_predicate(node, properties)
    if not keywords <= {"type", "minimum", "minLength", "pattern"}:
        return None
    if keywords == {"type"}:
        return lambda v: type(v) is python
    if python is int and keywords == {"type", "minimum"}:
        minimum = node["minimum"]
        return lambda v: type(v) is int and v >= minimum
    if python is str and "minimum" not in keywords:
        min_length = node.get("minLength", 0)
        search = _regex(node.get("pattern", "")).search
        return lambda v: type(v) is str and len(v) >= min_length and search(v) is not None
    return None


def _integers_predicate(node: Mapping[str, Any], item: Mapping[str, Any]) -> Predicate | None:
    """The predicate of an array of integers with a minimum (a ballot's ranking) as one loop,
    without a call for each integer: twice as fast as ``_array_predicate``'s, with the same
    answers."""
    if node.get("type") != "array" or not set(node) - _ANNOTATIONS <= {
        "type",
        "items",
        "minItems",
        "maxItems",
    }:
        return None
    if set(item) - _ANNOTATIONS != {"type", "minimum"} or item["type"] != "integer":
        return None
    lowest = node.get("minItems", 0)
    highest = node.get("maxItems", sys.maxsize)
    minimum = item["minimum"]

    def integers(v: Any) -> bool:
        if type(v) is not list or not lowest <= len(v) <= highest:
            return False
        for element in v:  # noqa: SIM110 — faster than all() over a generator
            if type(element) is not int or element < minimum:
                return False
        return True

    return integers


def _array_predicate(node: Mapping[str, Any], item: _Node | None) -> Predicate | None:
    lowest = node.get("minItems", 0)
    highest = node.get("maxItems", sys.maxsize)
    if item is None:
        return lambda v: type(v) is list and lowest <= len(v) <= highest
    item_ok = item.ok
    if item_ok is None:
        return None
    return lambda v: type(v) is list and lowest <= len(v) <= highest and all(map(item_ok, v))


def _object_predicate(
    node: Mapping[str, Any], properties: tuple[tuple[str, _Node], ...]
) -> Predicate | None:
    if node.get("additionalProperties", True) is not False:
        return None
    oks = tuple((key, child.ok) for key, child in properties if child.ok is not None)
    if len(oks) != len(properties):
        return None
    allowed = frozenset(key for key, _ in properties)
    required = frozenset(node.get("required", ()))
    if required == allowed:

        def complete(v: Any) -> bool:
            if type(v) is not dict or v.keys() != allowed:
                return False
            for key, ok in oks:  # noqa: SIM110 — faster than all() over a generator
                if not ok(v[key]):
                    return False
            return True

        return complete

    # The keys of the last object that had the right ones, and the checks of those keys: the
    # objects of one array (a million ballots) mostly share their keys, so most are checked
    # as fast as those of a node whose properties are all required. One tuple, replaced
    # whole, so that threads sharing the validator never see one shape's checks with
    # another's keys. It starts with keys no object has (a private object's).
    memo: list[tuple[frozenset[Any], tuple[tuple[str, Predicate], ...]]] = [
        (frozenset({object()}), ())
    ]

    def partial(v: Any) -> bool:
        if type(v) is not dict:
            return False
        keys, checks = memo[0]
        if v.keys() != keys:
            if not required <= v.keys() <= allowed:
                return False
            keys = frozenset(v)
            checks = tuple((key, ok) for key, ok in oks if key in keys)
            memo[0] = (keys, checks)
        for key, ok in checks:  # noqa: SIM110 — faster than all() over a generator
            if not ok(v[key]):
                return False
        return True

    return partial


def _fast(ok: Predicate, check: Check) -> Check:
    def fast(value: Any, path: Path, problems: _Problems) -> None:
        if not ok(value):
            check(value, path, problems)

    return fast


def _sequence(gate: Gate | None, checks: list[Check]) -> Check:
    """One closure for a schema node: the gate, then (if it passed) each check."""
    if gate is None:
        if len(checks) == 1:
            return checks[0]

        def every(value: Any, path: Path, problems: _Problems) -> None:
            for check in checks:
                check(value, path, problems)

        return every
    if not checks:

        def gate_only(value: Any, path: Path, problems: _Problems) -> None:
            gate(value, path, problems)

        return gate_only
    if len(checks) == 1:
        (only,) = checks

        def gate_one(value: Any, path: Path, problems: _Problems) -> None:
            if gate(value, path, problems):
                only(value, path, problems)

        return gate_one

    def gate_all(value: Any, path: Path, problems: _Problems) -> None:
        if gate(value, path, problems):
            for check in checks:
                check(value, path, problems)

    return gate_all


# -- the record schema -------------------------------------------------------------------------


def load_record_schema() -> dict[str, Any]:
    """The record format's JSON Schema (package data of ``assembly.records``)."""
    text = resources.files("assembly.records").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def record_validator() -> Validator:
    """The record schema, compiled once per process."""
    return Validator(load_record_schema())


def validate_record(record: Any, limit: int = 10) -> list[str]:
    """The first ``limit`` ways ``record`` departs from the record schema (empty: none)."""
    return record_validator().validate(record, limit)
