"""The authoring schema: every key an author may write, with its meaning.

Each :class:`Field` carries its own documentation, so ``docs/authoring.md`` and
the validator cannot drift apart (a doc-contract test checks that every field
here is documented there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .diagnostics import Diagnostics, did_you_mean
from .yamlsource import LocatedDict, Pos

Check = Callable[[Any], "str | None"]
"""Returns an error message for a bad value, or None when the value is fine."""


@dataclass(frozen=True)
class Field:
    name: str
    doc: str
    kind: str
    """One of: str, int, number, bool, iri, language, duration, list, mapping, choice."""
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    check: Check | None = None


_DURATION = re.compile(r"^\s*(?:([0-9]{1,6})\s*h)?\s*(?:([0-9]{1,6})\s*m(?:in)?)?\s*(?:([0-9]{1,6})\s*s)?\s*$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_IRI = re.compile(r"^[a-z][a-z0-9+.-]*://[^\s/]+(?:/[^\s]*)?$", re.IGNORECASE)


def parse_duration(value: Any) -> int | None:
    """``8m``, ``1h 30m``, ``45s`` or a bare number of minutes, in seconds; None if malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 60 if value >= 0 else None
    match = _DURATION.match(str(value))
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _type_error(field: Field, value: Any) -> str | None:
    kind = field.kind
    if kind in ("str", "choice", "iri", "language"):
        if not isinstance(value, str) or not value.strip():
            return f'"{field.name}" must be a non-empty text'
        if kind == "choice" and value not in field.choices:
            options = ", ".join(field.choices)
            return f'"{field.name}" must be one of: {options}; got "{value}"{did_you_mean(value, field.choices)}'
        if kind == "iri" and not _IRI.match(value):
            return f'"{field.name}" must be an absolute IRI such as https://example.org/courses/x; got "{value}"'
        if kind == "language" and not _LANGUAGE.match(value):
            return f'"{field.name}" must be a language tag such as en-GB; got "{value}"'
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f'"{field.name}" must be a whole number'
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f'"{field.name}" must be a number'
    elif kind == "bool":
        if not isinstance(value, bool):
            return f'"{field.name}" must be true or false'
    elif kind == "duration":
        if parse_duration(value) is None:
            return f'"{field.name}" must be a duration such as 8m, 1h 30m or 45s; got "{value}"'
    elif kind == "list":
        if not isinstance(value, list):
            return f'"{field.name}" must be a list'
    elif kind == "mapping" and not isinstance(value, dict):
        return f'"{field.name}" must be a mapping of keys to values'
    return field.check(value) if field.check else None


def validate(
    data: Any,
    fields: Sequence[Field],
    *,
    path: str,
    diags: Diagnostics,
    what: str,
    at: Pos | None = None,
) -> dict[str, Any]:
    """Check ``data`` against ``fields``; report every problem; return the clean values.

    Missing optional keys take their defaults; bad values are reported and left
    out, so later stages can go on and report their own problems too.
    """
    start = at or Pos(1, 1)
    if data is None:
        data = LocatedDict()
        data.pos, data.key_pos, data.value_pos = start, {}, {}
    if not isinstance(data, LocatedDict):
        pos = getattr(data, "pos", start)
        diags.error(path, pos.line, pos.col, f"{what} must be a mapping of keys to values")
        return {f.name: f.default for f in fields}
    known = {f.name: f for f in fields}
    for key in data:
        if key not in known:
            pos = data.at_key(key)
            diags.error(
                path, pos.line, pos.col, f'unknown key "{key}" in {what}{did_you_mean(key, known)}'
            )
    clean: dict[str, Any] = {}
    for field in fields:
        if field.name not in data or data[field.name] is None:
            if field.required:
                diags.error(path, data.pos.line, data.pos.col, f'{what} is missing required key "{field.name}"')
            clean[field.name] = field.default
            continue
        value = data[field.name]
        problem = _type_error(field, value)
        if problem:
            pos = data.at_value(field.name)
            diags.error(path, pos.line, pos.col, problem)
            clean[field.name] = field.default
        else:
            clean[field.name] = value
    return clean


def _score(value: Any) -> str | None:
    return None if 0 <= value <= 1 else "mastery_score must be between 0 and 1, e.g. 0.8"


def _positive(value: Any) -> str | None:
    return None if value >= 1 else "must be 1 or more"


def _names(value: Any) -> str | None:
    bad = [v for v in value if not isinstance(v, str)]
    return "must be a list of folder names" if bad else None


def _course_completion(value: Any) -> str | None:
    modules = value.get("modules", "all")
    if modules != "all" and not (isinstance(modules, list) and all(isinstance(m, str) for m in modules)):
        return 'completion.modules must be "all" or a list of module folder names'
    unknown = set(value) - {"modules", "capstone"}
    if unknown:
        key = sorted(unknown)[0]
        return f'unknown key "{key}" in completion{did_you_mean(key, ["modules", "capstone"])}'
    if "capstone" in value and not isinstance(value["capstone"], bool):
        return "completion.capstone must be true or false"
    return None


COURSE_FIELDS: tuple[Field, ...] = (
    Field("id", "The course's activity IRI, e.g. `https://learn.example.gov.uk/courses/innovation`. "
          "Every module, lesson and block IRI starts with it, so never change it once learners have records.",
          "iri", required=True),
    Field("title", "The course title learners see.", "str", required=True),
    Field("language", "The course language as a BCP 47 tag, e.g. `en-GB`; it goes into every xAPI statement.",
          "language", default="en-GB"),
    Field("description", "One or two sentences shown on the course home and in the course list.", "str",
          default=""),
    Field("modules", "The module folder names under `modules/`, in the order learners take them.", "list",
          required=True, check=_names),
    Field("completion", "What completes the course: `modules: all` (the default) or a list of module folder "
          "names, and `capstone: true` when the team project must be completed too.",
          "mapping", default=None, check=_course_completion),
    Field("mastery_score", "The share of marks (0 to 1) a learner needs to pass a lesson or module whose rule "
          "is `passed`. Default 0.8.", "number", default=0.8, check=_score),
    Field("max_attempts", "How many times a learner may submit each question; leave out for no limit.", "int",
          default=None, check=_positive),
    Field("allow_html", "Allow raw HTML in lesson Markdown. Off by default so that an author cannot put a "
          "script on a learner's page.", "bool", default=False),
    Field("capstone", "The team project (see the capstone section).", "mapping", default=None),
    Field("certificate", "The certificate learners earn on completion (see the certificate section).",
          "mapping", default=None),
)

MODULE_FIELDS: tuple[Field, ...] = (
    Field("title", "The module title.", "str", required=True),
    Field("summary", "One sentence shown under the module's title on the course home.", "str", default=""),
    Field("complete_when", "`all_lessons` (default): every lesson complete; `passed`: every lesson complete "
          "and the module's question score at least its mastery score.", "choice", default="all_lessons",
          choices=("all_lessons", "passed")),
    Field("mastery_score", "Overrides the course's mastery score for this module.", "number", default=None,
          check=_score),
    Field("requires", "Module folder names that must be complete before this one can start; until then the "
          "course home shows it as \"Cannot start yet\".", "list", default=None, check=_names),
)

LESSON_FIELDS: tuple[Field, ...] = (
    Field("title", "The lesson title.", "str", required=True),
    Field("duration", "About how long the lesson takes, e.g. `8m`, `1h 30m`.", "duration", default=None),
    Field("complete_when", "`viewed`: opening the lesson completes it; `answered`: every question and poll "
          "has an answer; `passed`: the lesson's question score reaches the mastery score. Default: `answered` "
          "when the lesson has a question or poll, else `viewed`.", "choice", default=None,
          choices=("viewed", "answered", "passed")),
)
