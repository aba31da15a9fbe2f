"""Located authoring messages, reported like a compiler: ``path:line:col: error: message``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the course source.

    ``path`` is relative to the course folder and uses ``/``; ``line`` and ``col``
    are 1-based, as editors count them.
    """

    path: str
    line: int
    col: int
    severity: Severity
    message: str
    source: str = field(default="", compare=False)
    """The offending source line, for tools that show it (preview, JSON output)."""

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Diagnostic:
        return cls(
            path=str(data["path"]),
            line=int(str(data["line"])),
            col=int(str(data["col"])),
            severity="warning" if data["severity"] == "warning" else "error",
            message=str(data["message"]),
            source=str(data.get("source", "")),
        )


class Diagnostics:
    """Collects every problem of a build so authors see the whole list at once."""

    def __init__(self, items: Iterable[Diagnostic] = ()) -> None:
        self._items: list[Diagnostic] = list(items)

    def error(self, path: str, line: int, col: int, message: str, source: str = "") -> None:
        self._items.append(Diagnostic(path, max(line, 1), max(col, 1), "error", message, source))

    def warning(self, path: str, line: int, col: int, message: str, source: str = "") -> None:
        self._items.append(Diagnostic(path, max(line, 1), max(col, 1), "warning", message, source))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self._items.extend(items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self._items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self._items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        return sorted(set(self._items))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``did you mean`` suffix for an unknown name, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
