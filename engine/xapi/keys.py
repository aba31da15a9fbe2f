"""Canonical keys for agents and the index entries a stored statement needs for queries."""

from __future__ import annotations

import json
from typing import Any

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


def _related(statement: dict[str, Any], activities: set[str], agents: set[str]) -> None:
    """Every activity and agent anywhere in the statement, for related_activities / related_agents."""
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity" and "id" in obj:
        activities.add(obj["id"])
    elif kind in ("Agent", "Group"):
        agents.update(_agents_of(obj))
    elif kind == "SubStatement":
        _related(obj, activities, agents)
    agents.update(_agents_of(statement.get("actor")))
    agents.update(_agents_of(statement.get("authority")))
    context = statement.get("context") or {}
    agents.update(_agents_of(context.get("instructor")))
    agents.update(_agents_of(context.get("team")))
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
    actors = _agents_of(statement.get("actor"))
    if kind in ("Agent", "Group"):
        actors |= _agents_of(obj)
    return IndexedStatement(
        id=statement["id"],
        stored=statement["stored"],
        timestamp=statement["timestamp"],
        verb=statement["verb"]["id"],
        actor=agent_key(statement["actor"]),
        object_activity=obj.get("id") if kind == "Activity" else None,
        object_statement=obj.get("id") if kind == "StatementRef" else None,
        registration=(statement.get("context") or {}).get("registration"),
        voiding=statement["verb"]["id"] == VOIDED and kind == "StatementRef",
        body=json.dumps(statement, ensure_ascii=False, separators=(",", ":")) if body is None else body,
        activities=sorted(activities),
        agents=sorted(agents),
        attachments=sorted({a["sha2"] for a in statement.get("attachments", []) or [] if "sha2" in a}),
        actors=sorted(actors),
    )
