"""Template lookup (course theme folder, then the theme, then GOV.UK Frontend) and page context."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    TemplateNotFound,
    TemplateSyntaxError,
    meta,
    select_autoescape,
)
from markupsafe import Markup

THEMES = Path(__file__).resolve().parents[2] / "themes"
DEFAULT_THEME = THEMES / "govuk"

_SINGLE_PARAGRAPH = re.compile(r"^<p>((?:(?!</?p>).)*)</p>$", re.S)


def error_link(error: dict[str, str]) -> dict[str, str]:
    return {"text": error["text"], "href": "#" + error["field"]}


def inline_prompt(html: str) -> str:
    """A one-paragraph prompt can be a legend or label; anything longer cannot."""
    match = _SINGLE_PARAGRAPH.match(html.strip())
    return match.group(1) if match else ""


@lru_cache(maxsize=64)
def environment(course_theme: str | None) -> Environment:
    """One environment per course theme folder, so a course can override any template."""
    theme = FileSystemLoader(str(DEFAULT_THEME / "templates"))
    loaders: list[BaseLoader] = []
    if course_theme:
        loaders.append(FileSystemLoader(course_theme))
    loaders += [
        theme,
        # `{% extends "default:lesson.html" %}` reaches the theme's own template from an override.
        PrefixLoader({"default": theme}, delimiter=":"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
    ]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # No stat of every template file on every render: the preview drops this cache when a template changes.
        auto_reload=False,
    )
    env.filters["error_link"] = error_link
    return env


@lru_cache(maxsize=64)
def _theme_of(course_folder: Path | None) -> str | None:
    theme = course_folder / "theme" if course_folder is not None else None
    return str(theme) if theme is not None and theme.is_dir() else None


def missing_templates(course_folder: Path) -> list[str]:
    """Each template a course's own template extends, includes or imports that its lookup cannot find (which
    ``masterclass check``, knowing nothing of the service's templates, leaves to the service), as
    ``theme/<file>: ...``; a template whose syntax is wrong is the check's to report, and is passed over."""
    theme = _theme_of(course_folder)
    if theme is None:
        return []
    env = environment(theme)
    missing = []
    for path in sorted(Path(theme).rglob("*.html")):
        try:
            names = meta.find_referenced_templates(env.parse(path.read_text(encoding="utf-8")))
        except (TemplateSyntaxError, UnicodeDecodeError, OSError):
            continue
        for name in names:
            if name is None:  # a name worked out as the page renders: nothing to look up now
                continue
            try:
                env.loader.get_source(env, name)  # type: ignore[union-attr]
            except TemplateNotFound:
                missing.append(f"theme/{path.relative_to(theme).as_posix()}: there is no template {name!r} to "
                               "extend or include")
    return missing


def render(template: str, context: dict[str, Any], *, course_folder: Path | None = None) -> str:
    return environment(_theme_of(course_folder)).get_template(template).render(context)


def overridden(course_folder: Path | None) -> bool:
    """Whether the course has a theme folder of its own, which may override any template."""
    return _theme_of(course_folder) is not None


class Frame:
    """HTML rendered once with slots: the literal parts, and the names of the values that go between them.

    The parts are UTF-8 bytes, as the page goes out: Python keeps a str with one character past Latin-1 in it (an
    en dash, a curly quote) at two bytes a character, and encoding a whole lesson page of that took about 20 µs
    a view, more than putting it together.
    """

    __slots__ = ("_get", "_parts", "head", "rest")

    def __init__(self, parts: list[str]) -> None:
        """``parts`` as ``re.split`` cuts the HTML at its markers: literal, slot name, literal, ..."""
        self.head = parts[0].encode()
        self.rest = [(name, literal.encode()) for name, literal in zip(parts[1::2], parts[2::2], strict=True)]
        self._seal()

    def _seal(self) -> None:
        # fill() puts the values between the literals with one slice assignment, from one itemgetter call: half
        # the time of a loop over the slots, on every lesson page and every block in it.
        self._parts: list[bytes | None] = [self.head]
        for _name, literal in self.rest:
            self._parts += [None, literal]
        names = [name for name, _literal in self.rest]
        if len(names) == 1:
            only = names[0]
            self._get: Callable[[Mapping[str, bytes]], tuple[bytes, ...]] | None = lambda values: (values[only],)
        else:
            self._get = itemgetter(*names) if names else None

    def inlined(self, values: Mapping[str, Frame | bytes]) -> Frame:
        """This frame with the slots named in ``values`` put in once for all: bytes as they are (escaped already),
        another frame as its literal parts, whose slots become this frame's."""
        head: list[bytes] = [self.head]
        rest: list[tuple[str, list[bytes]]] = []

        def literal(text: bytes) -> None:
            (rest[-1][1] if rest else head).append(text)

        for name, after in self.rest:
            value = values.get(name)
            if value is None:
                rest.append((name, [after]))
                continue
            if isinstance(value, Frame):
                literal(value.head)
                rest.extend((inner, [text]) for inner, text in value.rest)
            else:
                literal(value)
            literal(after)
        frame = Frame.__new__(Frame)
        frame.head = b"".join(head)
        frame.rest = [(name, b"".join(texts)) for name, texts in rest]
        frame._seal()
        return frame

    def fill(self, values: Mapping[str, bytes]) -> bytes:
        """The page with each slot's value in place (UTF-8, escaped already)."""
        if self._get is None:
            return self.head
        parts = self._parts.copy()
        parts[1::2] = self._get(values)
        return b"".join(parts)  # type: ignore[arg-type]  # every None is replaced


class Slots:
    """Markers that stand for per-request values while a template is rendered once, to be cut out afterwards.

    A marker is a private-use character, a random token and a name, so no course text can look like one. It is
    Markup, so autoescaping passes it through and the value put in its place must already be escaped. A template
    that did more than print it (a filter, a test) would change or lose it: ``frame`` then refuses the output.
    """

    def __init__(self) -> None:
        self._mark = f"\ue000{secrets.token_hex(8)}:"
        self._pattern = re.compile(re.escape(self._mark) + r"([\w.-]+)\ue000")

    def __call__(self, name: str) -> Markup:
        return Markup(f"{self._mark}{name}\ue000")  # noqa: S704 (our own marker and name, never user input)

    def frame(self, html: str, offered: Mapping[str, object]) -> Frame | None:
        """The rendered HTML cut at its markers, or None if a marker did not come through whole."""
        parts = self._pattern.split(html)
        if any(name not in offered for name in parts[1::2]) or any("\ue000" in part for part in parts[::2]):
            return None
        return Frame(parts)
