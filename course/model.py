"""The compiled course: a typed model that the runtime loads without re-parsing Markdown.

Correct answers and feedback live here only. A lesson's HTML fragment holds a
placeholder (see :data:`PLACEHOLDER`) where each block goes; the runtime renders
the block from this model, revealing feedback only after an answer.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .diagnostics import Diagnostic

PLACEHOLDER = "<!--mc:block:{index}-->"
"""Marks where block number ``index`` of a lesson goes in the lesson's HTML fragment."""

ACTIVITY = "http://adlnet.gov/expapi/activities/"
ACTIVITY_TYPES = {
    "course": ACTIVITY + "course",
    "module": ACTIVITY + "module",
    "lesson": ACTIVITY + "lesson",
    "question": ACTIVITY + "cmi.interaction",
    "poll": ACTIVITY + "cmi.interaction",
    "reflection": ACTIVITY + "cmi.interaction",
    "checklist": ACTIVITY + "cmi.interaction",
    "video": "https://w3id.org/xapi/video/activity-type/video",
}

BlockType = Literal["question", "poll", "reflection", "video", "checklist", "callout"]
BLOCK_TYPES: tuple[BlockType, ...] = ("question", "poll", "reflection", "video", "checklist", "callout")


@dataclass
class Option:
    html: str
    """The option's label as inline HTML."""
    text: str
    """The label as plain text, for xAPI choice descriptions and CSV exports."""
    correct: bool = False
    feedback_html: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"html": self.html, "text": self.text, "correct": self.correct, "feedback_html": self.feedback_html}


@dataclass
class Scale:
    low: int
    high: int
    labels: list[str] = field(default_factory=list)
    """One label per point of the scale, or empty for bare numbers."""

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "labels": list(self.labels)}


@dataclass
class Block:
    type: ClassVar[str] = ""
    id: str
    iri: str
    line: int
    prompt_html: str = ""

    @property
    def interactive(self) -> bool:
        return self.type != "callout"

    @property
    def activity_type(self) -> str:
        return ACTIVITY_TYPES.get(self.type, "")

    def to_dict(self) -> dict[str, Any]:
        # Spelled out rather than dataclasses.asdict, whose deep copying was a fifth of writing a build;
        # each subclass adds its own fields (tests compare the result with asdict's).
        return {"id": self.id, "iri": self.iri, "line": self.line, "prompt_html": self.prompt_html,
                **self._fields(), "type": self.type}

    def _fields(self) -> dict[str, Any]:
        return {}


@dataclass
class Question(Block):
    type: ClassVar[str] = "question"
    multiple: bool = False
    options: list[Option] = field(default_factory=list)
    hint_html: str = ""
    explanation_html: str = ""
    """Shown to every learner after they answer, whatever they chose."""
    max_attempts: int | None = None

    def _fields(self) -> dict[str, Any]:
        return {"multiple": self.multiple, "options": [o.to_dict() for o in self.options],
                "hint_html": self.hint_html, "explanation_html": self.explanation_html,
                "max_attempts": self.max_attempts}

    @property
    def correct(self) -> list[int]:
        return [i for i, option in enumerate(self.options) if option.correct]


@dataclass
class Poll(Block):
    type: ClassVar[str] = "poll"
    multiple: bool = False
    options: list[Option] = field(default_factory=list)
    scale: Scale | None = None
    measure: str = ""
    """The survey measure this poll feeds, e.g. ``confidence``; empty when untagged."""

    def _fields(self) -> dict[str, Any]:
        return {"multiple": self.multiple, "options": [o.to_dict() for o in self.options],
                "scale": self.scale.to_dict() if self.scale is not None else None, "measure": self.measure}


@dataclass
class Reflection(Block):
    type: ClassVar[str] = "reflection"
    min_words: int = 0
    share: Literal["private", "team"] = "private"

    def _fields(self) -> dict[str, Any]:
        return {"min_words": self.min_words, "share": self.share}


@dataclass
class Video(Block):
    type: ClassVar[str] = "video"
    src: str = ""
    captions: str = ""
    poster: str = ""
    transcript_html: str = ""

    def _fields(self) -> dict[str, Any]:
        return {"src": self.src, "captions": self.captions, "poster": self.poster,
                "transcript_html": self.transcript_html}


@dataclass
class ChecklistItem:
    html: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"html": self.html, "text": self.text}


@dataclass
class Checklist(Block):
    """``prompt_html`` is the author's text before the items; ``after_html`` their text after the items, shown below
    them."""

    type: ClassVar[str] = "checklist"
    items: list[ChecklistItem] = field(default_factory=list)
    after_html: str = ""
    """Empty in output written before compiler version 6, which put this text into ``prompt_html``."""

    def _fields(self) -> dict[str, Any]:
        return {"items": [i.to_dict() for i in self.items], "after_html": self.after_html}


@dataclass
class Callout(Block):
    type: ClassVar[str] = "callout"
    kind: Literal["note", "tip", "warning"] = "note"
    body_html: str = ""

    def _fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "body_html": self.body_html}


BLOCK_CLASSES: dict[str, type[Block]] = {
    cls.type: cls for cls in (Question, Poll, Reflection, Video, Checklist, Callout)
}


def block_from_dict(data: dict[str, Any]) -> Block:
    data = dict(data)
    cls = BLOCK_CLASSES[data.pop("type")]
    if "options" in data:
        data["options"] = [Option(**o) for o in data["options"]]
    if data.get("scale"):
        data["scale"] = Scale(**data["scale"])
    if "items" in data:
        data["items"] = [ChecklistItem(**i) for i in data["items"]]
    return cls(**data)


@dataclass
class BlockId:
    """An interactive block's id where the author wrote it, checked for uniqueness once every lesson is known."""

    id: str
    line: int
    col: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "line": self.line, "col": self.col}


@dataclass
class Reference:
    """A link or media path in a lesson, checked against the course once every lesson is known."""

    kind: Literal["lesson", "media"]
    target: str
    """Course-relative path of the file referred to."""
    line: int
    col: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "line": self.line, "col": self.col}


@dataclass
class Lesson:
    id: str
    """The slug: the file name without its number prefix, e.g. ``framing`` for ``020-framing.md``."""
    module: str
    file: str
    """Course-relative source path."""
    title: str
    iri: str
    complete_when: Literal["viewed", "answered", "passed"]
    duration: int | None
    """Seconds, when the author gave one."""
    blocks: list[Block]
    html: str
    """The rendered body with a :data:`PLACEHOLDER` per block."""
    source_hash: str
    references: list[Reference] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    block_ids: list[BlockId] = field(default_factory=list)
    """Every interactive block's id, also those of blocks left out of ``blocks`` for a mistake of their own: a
    duplicate of one is a mistake too, reported with it."""
    activity_type: ClassVar[str] = ACTIVITY_TYPES["lesson"]

    @functools.cached_property
    def graded(self) -> list[Question]:
        """The lesson's questions (computed once: progress asks for them on every page view)."""
        return [b for b in self.blocks if isinstance(b, Question)]

    def block(self, block_id: str) -> Block | None:
        return next((b for b in self.blocks if b.id == block_id), None)

    def to_dict(self, *, with_html: bool = True) -> dict[str, Any]:
        return {
            "id": self.id,
            "module": self.module,
            "file": self.file,
            "title": self.title,
            "iri": self.iri,
            "complete_when": self.complete_when,
            "duration": self.duration,
            "blocks": [b.to_dict() for b in self.blocks],
            "html": self.html if with_html else "",
            "source_hash": self.source_hash,
            "references": [r.to_dict() for r in self.references],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "block_ids": [b.to_dict() for b in self.block_ids],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lesson:
        blocks = [block_from_dict(b) for b in data["blocks"]]
        # Output written before ids were kept: a lesson there had no block with a mistake (it was not built).
        ids = [BlockId(**b) for b in data["block_ids"]] if "block_ids" in data else [
            BlockId(b.id, b.line, 1) for b in blocks if b.interactive and b.id]
        return cls(
            id=data["id"],
            module=data["module"],
            file=data["file"],
            title=data["title"],
            iri=data["iri"],
            complete_when=data["complete_when"],
            duration=data["duration"],
            blocks=blocks,
            html=data.get("html", ""),
            source_hash=data["source_hash"],
            references=[Reference(**r) for r in data.get("references", [])],
            diagnostics=[Diagnostic.from_dict(d) for d in data.get("diagnostics", [])],
            block_ids=ids,
        )


@dataclass
class Module:
    id: str
    """The module's folder name."""
    title: str
    summary: str
    iri: str
    complete_when: Literal["all_lessons", "passed"]
    mastery_score: float
    requires: list[str]
    lessons: list[Lesson]
    activity_type: ClassVar[str] = ACTIVITY_TYPES["module"]

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)


@dataclass
class Stage:
    id: str
    kind: str
    """ideas, decision, plan, measurements, reflection or case_study."""
    title: str
    iri: str
    complete_when: dict[str, Any]
    guidance_html: str = ""
    activity_type: ClassVar[str] = "https://w3id.org/xapi/masterclass/activities/capstone-stage"


@dataclass
class Capstone:
    title: str
    team_min: int
    team_max: int
    same_department: bool
    stages: list[Stage]

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Capstone:
        return cls(**{**data, "stages": [Stage(**s) for s in data["stages"]]})


@dataclass
class Course:
    id: str
    """The course IRI."""
    slug: str
    """The course folder's name; the runtime uses it in URLs."""
    title: str
    language: str
    description: str
    mastery_score: float
    max_attempts: int | None
    completion_modules: list[str]
    completion_capstone: bool
    allow_html: bool
    modules: list[Module]
    capstone: Capstone | None = None
    certificate: dict[str, Any] | None = None
    activity_type: ClassVar[str] = ACTIVITY_TYPES["course"]

    @property
    def iri(self) -> str:
        return self.id

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.id == module_id), None)

    def lessons(self) -> list[Lesson]:
        return [lesson for module in self.modules for lesson in module.lessons]

    def blocks(self) -> dict[str, tuple[Lesson, Block]]:
        """Every interactive block by id (ids are unique in a course)."""
        return {b.id: (lesson, b) for lesson in self.lessons() for b in lesson.blocks if b.interactive}

    def manifest(self) -> dict[str, Any]:
        """The course without lesson bodies, as written to ``course.json``."""
        return {
            "format": 1,
            "id": self.id,
            "slug": self.slug,
            "title": self.title,
            "language": self.language,
            "description": self.description,
            "mastery_score": self.mastery_score,
            "max_attempts": self.max_attempts,
            "completion": {"modules": self.completion_modules, "capstone": self.completion_capstone},
            "allow_html": self.allow_html,
            "capstone": self.capstone.to_dict() if self.capstone else None,
            "certificate": self.certificate,
            "modules": [
                {
                    "id": m.id,
                    "title": m.title,
                    "summary": m.summary,
                    "iri": m.iri,
                    "complete_when": m.complete_when,
                    "mastery_score": m.mastery_score,
                    "requires": m.requires,
                    "lessons": [lesson.source_hash for lesson in m.lessons],
                }
                for m in self.modules
            ],
        }
