"""The course compiler: a course folder of Markdown and YAML in, a typed compiled course out.

    >>> from course import build
    >>> result = build("content/innovation-masterclass")
    >>> result.ok, result.summary()

It knows nothing of the web; the runtime in ``engine`` loads what it produces.
"""

from __future__ import annotations

from .build import Builder, BuildResult, build
from .diagnostics import Diagnostic
from .model import Block, Course, Lesson, Module
from .output import CompiledCourseError, load_compiled, read_lesson, write_compiled

__all__ = [
    "Block",
    "BuildResult",
    "Builder",
    "CompiledCourseError",
    "Course",
    "Diagnostic",
    "Lesson",
    "Module",
    "build",
    "load_compiled",
    "read_lesson",
    "write_compiled",
]
