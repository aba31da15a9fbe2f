"""The shapes a statement is returned in (exact, ids, canonical), canonical activity definitions, and the
agents and activities a statement mentions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ...storage import lrs_query
from ..validate import IFIS

CANONICAL_WINDOW = 200
"""How many of the latest statements mentioning an activity feed its canonical definition."""


def _activities_in(statement: dict[str, Any]) -> Iterable[dict[str, Any]]:
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        yield obj
    elif kind == "SubStatement":
        yield from _activities_in(obj)
    for group in ((statement.get("context") or {}).get("contextActivities") or {}).values():
        for activity in group if isinstance(group, list) else [group]:
            if isinstance(activity, dict):
                yield activity


def _agents_in(statement: dict[str, Any]) -> Iterable[dict[str, Any]]:
    context = statement.get("context") or {}
    obj = statement.get("object") or {}
    for part in (statement.get("actor"), obj if obj.get("objectType") in ("Agent", "Group") else None,
                 statement.get("authority"), context.get("instructor"), context.get("team")):
        if isinstance(part, dict):
            yield part
            yield from (m for m in part.get("member") or [] if isinstance(m, dict))
    if obj.get("objectType") == "SubStatement":
        yield from _agents_in(obj)


def _merge_definition(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old or {})
    for key, value in new.items():
        if key in ("name", "description", "extensions") and isinstance(merged.get(key), dict) \
                and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _accept_languages(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, i, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def pick_language(lang_map: dict[str, str], preferred: list[str]) -> dict[str, str]:
    """One entry of a language map: the best Accept-Language match, else the first."""
    if len(lang_map) <= 1:
        return dict(lang_map)
    for wanted in preferred:
        if wanted == "*":
            break
        for key, text in lang_map.items():
            low = key.lower()
            if low == wanted or low.startswith(wanted + "-"):
                return {key: text}
        for key, text in lang_map.items():
            if key.lower().split("-")[0] == wanted.split("-")[0]:
                return {key: text}
    key = next(iter(lang_map))
    return {key: lang_map[key]}


def _filter_definition(definition: dict[str, Any], preferred: list[str]) -> dict[str, Any]:
    out = dict(definition)
    for key in ("name", "description"):
        if isinstance(out.get(key), dict):
            out[key] = pick_language(out[key], preferred)
    for key in ("choices", "scale", "source", "target", "steps"):
        if isinstance(out.get(key), list):
            out[key] = [{**c, "description": pick_language(c["description"], preferred)}
                        if isinstance(c, dict) and isinstance(c.get("description"), dict) else c for c in out[key]]
    return out


def _ids_agent(agent: dict[str, Any]) -> dict[str, Any]:
    kind = agent.get("objectType", "Agent")
    out: dict[str, Any] = {"objectType": kind}
    ifis = {key: agent[key] for key in IFIS if key in agent}
    if ifis:
        out.update(ifis)
    elif kind == "Group":
        out["member"] = [_ids_agent(m) for m in agent.get("member") or [] if isinstance(m, dict)]
    return out


def _ids_activity(activity: dict[str, Any]) -> dict[str, Any]:
    return {"objectType": "Activity", "id": activity["id"]}


def _ids_statement(statement: dict[str, Any]) -> dict[str, Any]:
    out = dict(statement)
    out["actor"] = _ids_agent(statement["actor"])
    out["verb"] = {"id": statement["verb"]["id"]}
    obj = statement["object"]
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        out["object"] = _ids_activity(obj)
    elif kind in ("Agent", "Group"):
        out["object"] = _ids_agent(obj)
    elif kind == "SubStatement":
        out["object"] = {"objectType": "SubStatement", **_ids_statement(obj)}
    if isinstance(statement.get("authority"), dict):
        out["authority"] = _ids_agent(statement["authority"])
    if isinstance(statement.get("context"), dict):
        context = dict(statement["context"])
        for key in ("instructor", "team"):
            if isinstance(context.get(key), dict):
                context[key] = _ids_agent(context[key])
        if isinstance(context.get("contextActivities"), dict):
            context["contextActivities"] = {
                key: [_ids_activity(a) for a in (value if isinstance(value, list) else [value])]
                for key, value in context["contextActivities"].items()}
        if isinstance(context.get("contextAgents"), list):
            context["contextAgents"] = [{**c, "agent": _ids_agent(c["agent"])} for c in context["contextAgents"]]
        if isinstance(context.get("contextGroups"), list):
            context["contextGroups"] = [{**c, "group": _ids_agent(c["group"])} for c in context["contextGroups"]]
        out["context"] = context
    return out


class _Canonical:
    """Canonical activity definitions for one request, merged from the latest statements."""

    def __init__(self, conn: Any, preferred: list[str]) -> None:
        self.conn = conn
        self.preferred = preferred
        self.cache: dict[str, dict[str, Any] | None] = {}

    def definition(self, activity_id: str) -> dict[str, Any] | None:
        if activity_id not in self.cache:
            self.cache[activity_id] = canonical_definition(self.conn, activity_id)
        return self.cache[activity_id]

    def activity(self, activity: dict[str, Any]) -> dict[str, Any]:
        out = {"objectType": "Activity", "id": activity["id"]}
        definition = self.definition(activity["id"]) or activity.get("definition")
        if definition:
            out["definition"] = _filter_definition(definition, self.preferred)
        return out

    def statement(self, statement: dict[str, Any]) -> dict[str, Any]:
        out = dict(statement)
        if isinstance(statement["verb"].get("display"), dict):
            out["verb"] = {**statement["verb"], "display": pick_language(statement["verb"]["display"],
                                                                         self.preferred)}
        obj = statement["object"]
        kind = obj.get("objectType", "Activity")
        if kind == "Activity":
            out["object"] = self.activity(obj)
        elif kind == "SubStatement":
            out["object"] = self.statement(obj)
        if isinstance(statement.get("context"), dict) and isinstance(
                statement["context"].get("contextActivities"), dict):
            out["context"] = {**statement["context"], "contextActivities": {
                key: [self.activity(a) for a in (value if isinstance(value, list) else [value])]
                for key, value in statement["context"]["contextActivities"].items()}}
        return out


def canonical_definition(conn: Any, activity_id: str) -> dict[str, Any] | None:
    """The LRS's definition of an activity: the definitions in the latest statements, newer winning."""
    merged: dict[str, Any] | None = None
    for body in reversed(lrs_query.statements_about_activity(conn, activity_id, CANONICAL_WINDOW)):
        if '"definition"' not in body:
            continue
        for activity in _activities_in(json.loads(body)):
            if activity.get("id") == activity_id and isinstance(activity.get("definition"), dict):
                merged = _merge_definition(merged, activity["definition"])
    return merged


def format_bodies(conn: Any, bodies: list[str], fmt: str, preferred: list[str]) -> list[str]:
    """Stored statement bodies in the format asked for: ``exact`` as stored, ``ids`` or ``canonical`` reshaped."""
    if fmt == "exact":
        return bodies
    canonical = _Canonical(conn, preferred)
    out = []
    for body in bodies:
        statement = json.loads(body)
        shaped = _ids_statement(statement) if fmt == "ids" else canonical.statement(statement)
        out.append(json.dumps(shaped, ensure_ascii=False, separators=(",", ":")))
    return out
