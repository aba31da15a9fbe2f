"""The statement reader: orjson's reading is taken only when it is provably the strict reader's, so every text
gives the same value, or the same refusal with the same reason, as the strict reader alone."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from test_lrs_helpers import XAPI, make_lrs, statement
from test_lrs_validation import BAD, GOOD, bad_statement

from engine.xapi.statement_json import _fast, dumps_compact, loads_statements, loads_strict
from engine.xapi.validate import XAPIValidationError


def outcome(read: Any, text: bytes) -> tuple[str, Any]:
    try:
        value = read(text)
    except XAPIValidationError as exc:
        return "refused", (exc.field, exc.rule, exc.message)
    return "read", json.dumps(value, sort_keys=True)


def same_as_strict(text: bytes) -> bool:
    fast = outcome(lambda t: loads_statements(t)[0], text)
    assert fast == outcome(loads_strict, text), text
    return _fast(text) is not None


REPEATED = [
    b'{"a":1,"a":2}',
    b'{"a":1,"a":1}',
    b'{"a" :1, "a": 2}',
    b'{\n  "a": 1,\n  "a": 2\n}',
    b'{"a":{"b":1,"b":{}}}',
    b'[{"a":1},{"b":2,"c":[{"d":1,"d":1}]}]',
    b'{"a":1,"\\u0061":2}',  # the same name, escaped
    b'{"a:b":1,"a:b":2}',  # a colon in the repeated name
    b'{"x":"::::","a":1,"a":2}',
    b'{"x":"\\u003a","a":1,"a":2}',
    b'{"a":"\\":","a":2}',
    b'{"extensions":{"https://e.com/x":{"k":1,"k":2}}}',
    b'{"a":[":",":"],"b":1,"b":[":"]}',  # the dropped value held colons
]


@pytest.mark.parametrize("text", REPEATED)
def test_repeated_properties_are_refused_through_the_fast_reader(text: bytes) -> None:
    with pytest.raises(XAPIValidationError) as caught:
        loads_statements(text)
    assert caught.value.rule == "duplicate-property"
    assert _fast(text) is None


TRICKY = [
    b'{"a":":","b":"\\":\\"","c":"x\\\\","d":"\\\\\\":"}',
    b'{"a:":1,":b":[":",":x"],"c":{"":":"}}',
    b'{"a": "b" , "c" : "d"}',
    b'{"a":"\\u00e9\\ud83d\\ude00","b":"\xc3\xa9"}',
    b'{"a":"\\/","b":"\\b\\f\\n\\r\\t"}',
    b'[1.5e300,-0.0,0,1E2,123456789012345678,-123456789012345678]',
    b'{"raw":12345678901234567890}',  # beyond 64 bits: kept exact by the strict reader
    b'{"raw":-9223372036854775809}',
    b'{"raw":1e400}',  # an infinity: orjson refuses, the strict reader reads it as before
    b'"\\ud800"',  # a lone surrogate: the same
    b'\xef\xbb\xbf{}',  # a byte order mark
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":1,}',
    b'\xff',
    b'',
    b'null',
    b'[]',
    b' [ {"a" : 1} , {"b":2} ] ',
]


@pytest.mark.parametrize("text", TRICKY)
def test_unusual_texts_read_as_the_strict_reader_reads_them(text: bytes) -> None:
    same_as_strict(text)


def test_ordinary_statements_take_the_fast_path_and_read_the_same() -> None:
    sent = [s for _, s in GOOD] + [statement() for _ in range(3)]
    for value in [*sent, sent]:
        for text in (json.dumps(value).encode(), json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
                     json.dumps(value, indent=2).encode()):
            assert same_as_strict(text), text
            read, compact = loads_statements(text)
            assert compact and json.loads(dumps_compact(read)) == json.loads(text)


@pytest.mark.parametrize("change", [case[1] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_statements_read_the_same_on_both_paths(change: Any) -> None:
    same_as_strict(json.dumps(bad_statement(change)).encode())


def _random_value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(8 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 2**40, 2**70, -(2**64), 1.5, -0.25, 1e-9])
    if kind in (1, 2, 3):
        return "".join(rng.choice(['a', ':', '"', '\\', ' ', 'é', '\n', '{', '}', ',', '\u2028', '😀'])
                       for _ in range(rng.randrange(6)))
    if kind in (4, 5):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_random_value(rng, 9) if rng.random() < 0.9 else "k": _random_value(rng, depth + 1)
            for _ in range(rng.randrange(5))}


def _with_repeats(rng: random.Random, text: str) -> str:
    """Repeat a property of some object in the text, by writing one of its members twice."""
    value = json.loads(text)

    def objects(v: Any) -> list[dict[str, Any]]:
        found = []
        if isinstance(v, dict):
            found.append(v)
            for item in v.values():
                found += objects(item)
        elif isinstance(v, list):
            for item in v:
                found += objects(item)
        return found

    candidates = [o for o in objects(value) if o]
    if not candidates:
        return text
    target = rng.choice(candidates)
    name = rng.choice(list(target))
    marker = "\u0000repeat\u0000"
    target[marker] = None
    written = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    repeated = json.dumps(name) + ":" + json.dumps(_random_value(rng, 3))
    return written.replace(json.dumps(marker, ensure_ascii=False) + ": null", repeated)\
        .replace(json.dumps(marker) + ": null", repeated)


def test_random_texts_read_as_the_strict_reader_reads_them() -> None:
    rng = random.Random(5)
    fast = 0
    for n in range(3000):
        value = _random_value(rng, 0)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        if n % 2:
            text = _with_repeats(rng, text)
        fast += same_as_strict(text.encode("utf-8", "surrogatepass"))
    assert fast > 1000  # most ordinary texts take the fast path


@pytest.fixture(scope="module")
def x(tmp_path_factory: pytest.TempPathFactory) -> XAPI:
    return make_lrs(tmp_path_factory.mktemp("statement-json"))


def test_a_repeated_property_in_a_batch_refuses_the_whole_batch(x: XAPI) -> None:
    good = json.dumps(statement())
    repeated = json.dumps(statement())[:-1] + ', "result": {"success": true, "success": false}}'
    response = x.post("/statements", content=f"[{good},{repeated}]",
                      headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["rule"]) == (400, "duplicate-property")


def test_integers_beyond_64_bits_are_stored_exactly(x: XAPI) -> None:
    sent = statement(result={"extensions": {"https://e.com/n": 12345678901234567890123}})
    posted = x.post("/statements", content=json.dumps(sent), headers={"Content-Type": "application/json"})
    assert posted.status_code == 200, posted.text
    got = x.get("/statements", params={"statementId": posted.json()[0]})
    assert json.loads(got.text)["result"]["extensions"]["https://e.com/n"] == 12345678901234567890123
