"""YAML that remembers where each key and value came from, so errors can point at them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class Pos:
    line: int
    col: int


class LocatedDict(dict[str, Any]):
    """A mapping that knows the 1-based position of each key and of each value."""

    pos: Pos
    key_pos: dict[str, Pos]
    value_pos: dict[str, Pos]
    text: str = ""
    """The YAML a document's top mapping was read from (its first line is ``line_offset`` + 1), to locate what is
    inside a value, such as Markdown written in it; ``""`` on the mappings inside."""

    def at_key(self, key: str) -> Pos:
        return self.key_pos.get(key, self.pos)

    def at_value(self, key: str) -> Pos:
        return self.value_pos.get(key, self.at_key(key))


class LocatedList(list[Any]):
    pos: Pos
    item_pos: list[Pos]

    def at(self, index: int) -> Pos:
        return self.item_pos[index] if 0 <= index < len(self.item_pos) else self.pos


def _pos(node: yaml.Node, line_offset: int) -> Pos:
    return Pos(node.start_mark.line + 1 + line_offset, node.start_mark.column + 1)


class _Located:
    """A value PyYAML reads and then cannot make (``2024-02-30`` as a date, ``!!int x``, an integer of 5,000
    digits) fails with a plain Python error, without a place: said as a YAML error at the value's node."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)  # type: ignore[misc]
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            shown = str(node.value)[:40] if isinstance(node, yaml.ScalarNode) else node.tag
            why = f" ({str(exc)[:80]})" if isinstance(exc, ValueError) and "literal" not in str(exc) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f'"{shown}" is not a valid {node.tag.rpartition(":")[2]}{why}', node.start_mark) from None


class _Loader(_Located, yaml.SafeLoader):
    line_offset = 0


class _FastLoader(_Located, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser, when PyYAML has it: front matter is parsed once per lesson, so it shows in builds.
    Its error messages are vaguer, so a failure is parsed again with :class:`_Loader` to report it."""

    line_offset = 0


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    result = LocatedDict()
    result.pos = _pos(node, loader.line_offset)
    result.key_pos = {}
    result.value_pos = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f'duplicate key "{key}"', key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_pos[key] = _pos(key_node, loader.line_offset)
        result.value_pos[key] = _pos(value_node, loader.line_offset)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.pos = _pos(node, loader.line_offset)
    result.item_pos = [_pos(child, loader.line_offset) for child in node.value]
    return result


for _cls in (_Loader, _FastLoader):
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _cls.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


_FAST_LOADERS: dict[int, type] = {}


class YamlError(Exception):
    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def load(text: str, *, line_offset: int = 0) -> Any:
    """Parse YAML text; raise :class:`YamlError` with a 1-based position on failure.

    ``line_offset`` shifts reported lines, for YAML embedded in another file
    (a lesson's front matter starts on the line after ``---``).
    """
    fast = _FAST_LOADERS.get(line_offset)
    if fast is None:
        fast = _FAST_LOADERS[line_offset] = type("_Fast", (_FastLoader,), {"line_offset": line_offset})
    try:
        return _with_text(yaml.load(text, Loader=fast), text)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        pass
    loader_cls = type("_OffsetLoader", (_Loader,), {"line_offset": line_offset})
    try:
        return _with_text(yaml.load(text, Loader=loader_cls), text)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and exc.problem and "end of stream" in exc.problem:
            mark = exc.context_mark  # an unclosed quote or bracket: where it opened, not the end of the file
        line = mark.line + 1 + line_offset if mark else 1 + line_offset
        col = mark.column + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" {exc.context}" if exc.context and exc.problem else ""
        raise YamlError(f"invalid YAML: {problem}{context}", line, col) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a NUL): at it, not at 1:1
        before = text[: exc.position]
        line, col = before.count("\n") + 1 + line_offset, len(before) - before.rfind("\n")
        raise YamlError(f"invalid YAML: the character U+{exc.character:04X} is not allowed", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", 1 + line_offset, 1) from None


def _with_text(value: Any, text: str) -> Any:
    if isinstance(value, LocatedDict):
        value.text = text
    return value
