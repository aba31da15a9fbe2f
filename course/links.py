"""What can be wrong with a link to a lesson or a media path: one set of checks for lessons and capstone guidance.

A path is checked in two steps, because a lesson is compiled (and cached) alone: what is wrong with the path on
its own, when it is read, and whether what it names is there, once every lesson of the course is known.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from .mdext.references import Ref


def path_problem(ref: Ref) -> str:
    """What is wrong with the path itself (it leaves the course, or names a file neither a lesson nor media), or
    ``""``."""
    if ref.kind == "outside":
        return f'"{ref.target}" is outside the course folder'
    if ref.kind == "misplaced":
        return (f'"{ref.target}" is not in the course\'s media folder (put images and files under media/; links to '
                "other lessons end in .md)")
    return ""


def target_problem(kind: str, target: str, lesson_files: Collection[str], is_media: Callable[[str], bool]) -> str:
    """What is wrong with what a lesson link or media path names (it is not there), or ``""``."""
    if kind == "lesson":
        return "" if target in lesson_files else f'broken link: no lesson at "{target}"'
    return "" if is_media(target) else f'missing media file "{target}"'


def is_course_file(root: Path, path: Path) -> bool:
    """Whether ``path`` is a file of the course: a link to a file outside it is not (``build`` would copy that
    file into the output, which a service then serves)."""
    try:
        return path.is_file() and path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False
