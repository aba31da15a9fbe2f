"""Group commit: requests written in one transaction must come out as if they had been written one by one."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_lrs_helpers import TEST_KEY, XAPI, make_lrs, new_id, statement

from engine.storage import lrs as storage
from engine.storage import lrs_credentials
from engine.xapi.lrs import LRSError, Req

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture
def x(tmp_path: Path) -> XAPI:
    return make_lrs(tmp_path)


def prepared(x: XAPI, payload: Any) -> Any:
    """A POST's statements checked and completed, as the group committer receives them."""
    credential = lrs_credentials.credential(x.store.conn, TEST_KEY)
    req = Req("POST", "/statements", "/xapi/statements", {}, {"content-type": "application/json"},
              json.dumps(payload).encode(), "1.0.3", credential)
    return x.lrs._prepare(req)


def stored_ids(x: XAPI) -> set[str]:
    with x.store.transaction() as conn:
        return {row[0] for row in conn.execute("SELECT id FROM statements")}


def voiding(target: str) -> dict[str, Any]:
    return statement(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})


def test_a_conflict_with_an_earlier_request_of_the_group_refuses_only_that_request(x: XAPI) -> None:
    sid = new_id()
    first = prepared(x, [statement(id=sid), statement()])
    clash = prepared(x, [statement(), statement(id=sid, verb={"id": "https://example.com/other"})])
    after = prepared(x, statement())
    outcomes = x.lrs._write_group([first, clash, after])
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], LRSError) and outcomes[1].status == 409 and outcomes[1].field == "[1].id"
    assert stored_ids(x) == set(first.ids) | set(after.ids)


def test_the_same_statement_twice_in_a_group_is_stored_once(x: XAPI) -> None:
    sid = new_id()
    outcomes = x.lrs._write_group([prepared(x, statement(id=sid)), prepared(x, statement(id=sid))])
    assert outcomes == [None, None]
    assert stored_ids(x) == {sid}


def test_voiding_across_requests_of_a_group(x: XAPI) -> None:
    target = new_id()
    void = new_id()
    outcomes = x.lrs._write_group([
        prepared(x, voiding(target) | {"id": void}),  # arrives before its target, in the same transaction
        prepared(x, statement(id=target)),
        prepared(x, voiding(void)),  # voiding a voiding statement added earlier in the group
    ])
    assert outcomes[:2] == [None, None]
    assert isinstance(outcomes[2], LRSError) and outcomes[2].rule == "void-voiding"
    assert x.get("/statements", params={"statementId": target}).status_code == 404
    assert x.get("/statements", params={"voidedStatementId": target}).status_code == 200
    assert stored_ids(x) == {target, void}


def test_a_failure_in_one_request_leaves_the_others_written(x: XAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    good = prepared(x, [statement(), statement()])
    bad = prepared(x, statement())
    save = storage.save_statements

    def failing(conn: Any, statements: list[Any], **kwargs: Any) -> list[int]:
        if any(s.id in bad.ids for s in statements):
            raise RuntimeError("disk trouble")
        return save(conn, statements, **kwargs)

    monkeypatch.setattr(storage, "save_statements", failing)
    outcomes = x.lrs._write_group([good, bad])
    assert outcomes[0] is None and isinstance(outcomes[1], RuntimeError)
    assert stored_ids(x) == set(good.ids)


def test_concurrent_requests_are_all_stored_and_answered_with_their_own_ids(x: XAPI) -> None:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=x.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            headers = {"X-Experience-API-Version": "1.0.3", "Authorization": x.auth}
            bodies = [[statement() for _ in range(5)] if i % 2 else statement() for i in range(20)]
            return list(await asyncio.gather(*(client.post("/xapi/statements", json=body, headers=headers)
                                               for body in bodies)))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 20
    ids = [i for r in responses for i in r.json()]
    assert len(ids) == 10 * 5 + 10 == len(set(ids))
    assert stored_ids(x) == set(ids)
