"""The course's own rules, checked on the compiled course: the modules they name exist, and a learner could meet
them (no module waits for itself, a module to pass has a question, a capstone asked for is there)."""

from __future__ import annotations

from pathlib import Path

from . import yamlsource
from .diagnostics import Diagnostics, did_you_mean
from .model import Course


def check_course_rules(course: Course, raw: yamlsource.LocatedDict | None, diags: Diagnostics,
                       root: Path | None = None) -> None:
    """After the lessons: the modules' and the course's rules, on the compiled course (``raw`` is
    course.yaml as read, and ``root`` the course folder, for positions)."""
    module_ids = [m.id for m in course.modules]
    for module in course.modules:
        for n, name in enumerate(module.requires):
            if name not in module_ids:
                at = _requirement_at(root, module.id, n)
                diags.error(f"modules/{module.id}/module.yaml", at.line, at.col,
                            f'requires unknown module "{name}"{did_you_mean(name, module_ids)}')
    for name in course.completion_modules:
        if name not in module_ids and raw is not None:
            pos = raw.at_value("completion")
            diags.error("course.yaml", pos.line, pos.col,
                        f'completion names unknown module "{name}"{did_you_mean(name, module_ids)}')
    for loop in _requirement_loops(course):
        # Each module of a loop waits for another of it: learners could never start any of them.
        where = " requires itself" if len(loop) == 2 else " requires modules that require it: " + " → ".join(loop)
        diags.error(f"modules/{loop[0]}/module.yaml", 1, 1,
                    f'module "{loop[0]}"{where}, so learners could never start it')
    for module in course.modules:
        if module.complete_when == "passed" and not any(lesson.graded for lesson in module.lessons):
            diags.error(f"modules/{module.id}/module.yaml", 1, 1,
                        "complete_when: passed needs a question in one of the module's lessons: without one, "
                        "the module could never be passed")
    if course.completion_capstone and course.capstone is None and raw is not None:
        pos = raw.at_value("completion")
        diags.error("course.yaml", pos.line, pos.col,
                    "completion asks for the capstone, but the course has no capstone section: learners could "
                    "never complete the course")


def _requirement_loops(course: Course) -> list[list[str]]:
    """Each loop of module requirements once, from its first module in course order, e.g. [a, b, a]."""
    requires = {m.id: [r for r in m.requires if r] for m in course.modules}
    loops: list[list[str]] = []
    seen: set[str] = set()
    for start in requires:
        path, stack = [start], [iter(requires[start])]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                path.pop()
            elif step == start:
                if not set(path) & seen:
                    loops.append([*path, start])
                    seen.update(path)
            elif step in requires and step not in path and len(path) < len(requires):
                path.append(step)
                stack.append(iter(requires[step]))
    return loops


def _requirement_at(root: Path | None, module: str, n: int) -> yamlsource.Pos:
    """Where a module.yaml names its n-th required module: read again only to report a problem with it (the
    compiled module keeps no positions)."""
    try:
        raw = yamlsource.load((root / "modules" / module / "module.yaml").read_text(encoding="utf-8")) \
            if root is not None else None
    except (OSError, UnicodeDecodeError, yamlsource.YamlError):
        raw = None
    requires = raw.get("requires") if isinstance(raw, yamlsource.LocatedDict) else None
    if isinstance(requires, yamlsource.LocatedList) and n < len(requires):
        return requires.at(n)
    return raw.at_value("requires") if isinstance(raw, yamlsource.LocatedDict) and "requires" in raw \
        else yamlsource.Pos(1, 1)
