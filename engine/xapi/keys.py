"""Canonical keys for agents and the index entries a stored statement needs for queries."""

from __future__ import annotations

import json
from typing import Any

import orjson

from ..storage.statements import IndexedStatement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def agent_key(agent: dict[str, Any] | None) -> str:
    """One string per inverse functional identifier, so agents match however they are written."""
    if not isinstance(agent, dict):
        return ""
    if "mbox" in agent:
        return "mbox:" + str(agent["mbox"]).lower()
    if "mbox_sha1sum" in agent:
        return "sha1:" + str(agent["mbox_sha1sum"]).lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"])
    account = agent.get("account")
    if isinstance(account, dict):
        return f"account:{account.get('homePage', '')}|{account.get('name', '')}"
    return ""


def _agents_of(agent: Any) -> set[str]:
    keys = set()
    if isinstance(agent, dict):
        key = agent_key(agent)
        if key:
            keys.add(key)
        for member in agent.get("member", []) or []:
            member_key = agent_key(member)
            if member_key:
                keys.add(member_key)
    return keys


def _add_agents(agent: Any, keys: set[str]) -> None:
    """:func:`_agents_of` into ``keys``; an Agent without members (the usual actor) costs one key."""
    if type(agent) is dict:
        key = agent_key(agent)
        if key:
            keys.add(key)
        if "member" in agent:
            keys.update(_agents_of(agent))


def _related(statement: dict[str, Any], activities: set[str], agents: set[str]) -> None:
    """Every activity and agent anywhere in the statement, for related_activities / related_agents."""
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity" and "id" in obj:
        activities.add(obj["id"])
    elif kind in ("Agent", "Group"):
        _add_agents(obj, agents)
    elif kind == "SubStatement":
        _related(obj, activities, agents)
    _add_agents(statement.get("actor"), agents)
    _add_agents(statement.get("authority"), agents)
    context = statement.get("context")
    if context:
        if "instructor" in context:
            _add_agents(context["instructor"], agents)
        if "team" in context:
            _add_agents(context["team"], agents)
        for group in (context.get("contextActivities") or {}).values():
            for activity in group if isinstance(group, list) else [group]:
                if isinstance(activity, dict) and "id" in activity:
                    activities.add(activity["id"])


def index(statement: dict[str, Any], body: str | None = None) -> IndexedStatement:
    """What the store keeps beside a (complete, validated) statement for querying.

    ``body`` is the statement's JSON when the caller already has it (the LRS extends the text it was sent
    rather than serialising the statement again); otherwise it is made here.
    """
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    activities: set[str] = set()
    agents: set[str] = set()
    _related(statement, activities, agents)
    actors: set[str] = set()
    _add_agents(statement.get("actor"), actors)
    if kind in ("Agent", "Group"):
        _add_agents(obj, actors)
    verb = statement["verb"]["id"]
    attachments = statement.get("attachments")
    return IndexedStatement(
        id=statement["id"],
        stored=statement["stored"],
        timestamp=statement["timestamp"],
        verb=verb,
        actor=agent_key(statement["actor"]),
        object_activity=obj.get("id") if kind == "Activity" else None,
        object_statement=obj.get("id") if kind == "StatementRef" else None,
        registration=(statement.get("context") or {}).get("registration"),
        voiding=verb == VOIDED and kind == "StatementRef",
        # orjson writes the compact UTF-8 JSON the LRS stores for statements it receives (decision 0011), at a
        # fraction of the json module's cost: the engine's own statements are written on every answer and view.
        body=orjson.dumps(statement).decode() if body is None else body,
        activities=sorted(activities),
        agents=sorted(agents),
        attachments=sorted({a["sha2"] for a in attachments if "sha2" in a}) if attachments else [],
        actors=sorted(actors),
    )


def index_stored(body: str) -> IndexedStatement:
    """What :func:`index` gave for a statement when it was stored, from its stored JSON."""
    try:
        statement = orjson.loads(body)
    except orjson.JSONDecodeError:  # an integer beyond a double's range, which xAPI keeps exact: json reads it
        statement = json.loads(body)
    return index(statement, body)
