"""Property-based fuzz of the JSON API against its OpenAPI document (Hypothesis).

For every operation of ``/api/openapi.json`` a strategy builds requests from the operation's
parameter and body schemas, mixed with junk (wrong types, huge strings, unicode, control
characters, negative or huge numbers, malformed JSON), sent with the token of a seeded agent,
an invalid or revoked token, or none. Every answer must be a documented status of the operation,
never a 5xx; a protected operation without valid credentials answers 401; an error answer has
the fields its documented schema requires; a success answer has the documented required fields.

The portal runs once for the module on its own event loop (Hypothesis drives synchronous
tests); ``derandomize=True`` makes every run send the same requests.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from feedback_store.portal.openapi import openapi_document
from tests.unit.portal.conftest import AGENTS, PASSWORD, Portal, Seed, open_portal

pytestmark = pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning")

EXAMPLES_PER_OPERATION = 90
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRUCTURES = ("caf-05", "caf-04", "cpam-05", "inconnue-99")
WHO = ("qualite", "qualite", "agent05", "agent04", None, "invalid", "revoked")

# --- junk ---------------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_CONTROL = st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=8)
_HUGE = st.builds(
    lambda char, size: char * size, st.sampled_from("a9é💥%\x00 "), st.integers(200, 3000)
)
_NUMBER_TEXT = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["-0", "1e309", "0x10", "1_000", "١٢", "NaN", " 7 ", "+3"]),
)
JUNK_TEXT = st.one_of(
    _TEXT,
    _CONTROL,
    _HUGE,
    _NUMBER_TEXT,
    st.sampled_from(
        ["", " ", "null", "[]", "{}", "'", '"', "%", "%00", "../../etc/passwd", "2024-02-30",
         "0000-01-01", "9999-12-31", "2024-13-01", "<script>", "caf-05,caf-04", ",,", "EXP-"]
    ),
)  # fmt: skip
JUNK_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        JUNK_TEXT,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
MALFORMED_BODIES = st.one_of(
    st.sampled_from(
        [b"", b"{", b"}", b"[]", b"null", b"0", b'"x"', b"\xff\xfe", b"{" * 5000, b"[" * 5000,
         b'{"a":' * 3, b"{'title': 'x'}", b'{"title": "x",}', b'{"title": NaN}', b"\x00{}"]
    ),
    st.binary(max_size=200),
    _TEXT.map(lambda text: text.encode()),
)  # fmt: skip


# --- strategies from the document ---------------------------------------------------------------


def resolve(document: dict, item: dict) -> dict:
    """Follow ``$ref`` pointers to ``#/components/...``."""
    while "$ref" in item:
        _, kind, name = item["$ref"].rsplit("/", 2)
        item = document["components"][kind][name]
    return item


def required_fields(document: dict, schema: dict) -> set[str]:
    """Required properties of a schema, through ``$ref`` and ``allOf``."""
    schema = resolve(document, schema)
    fields = set(schema.get("required", ()))
    for part in schema.get("allOf", ()):
        fields |= required_fields(document, part)
    return fields


def from_schema(schema: dict, name: str, refs: dict[str, list[str]]) -> st.SearchStrategy:
    """Valid values of a (resolved) parameter or property schema."""
    if name in ("stories", "story", "reference"):
        references = st.sampled_from(refs["stories"])
        if schema.get("type") == "array":
            return st.lists(references, max_size=3)
        return st.one_of(references, references.map(str.lower))
    if name == "email":
        return st.one_of(st.sampled_from(refs["emails"]), st.emails(), _TEXT)
    if name == "password":
        return st.one_of(st.just(PASSWORD), _TEXT)
    if name == "structure":
        codes = st.sampled_from(STRUCTURES)
        return st.lists(codes, min_size=1, max_size=3) if schema.get("type") == "array" else codes
    if "enum" in schema:
        strategy = st.sampled_from(schema["enum"])
    elif schema.get("type") == "array":
        items = from_schema(schema.get("items", {}), name + "[]", refs)
        strategy = st.lists(items, max_size=3)
    elif schema.get("type") == "integer":
        strategy = st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    elif schema.get("format") == "date":
        strategy = st.dates().map(lambda day: day.isoformat())
    elif "pattern" in schema:
        strategy = st.from_regex(schema["pattern"], fullmatch=True)
    elif schema.get("type") == "string":
        strategy = st.text(
            st.characters(blacklist_categories=("Cs",)),
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", 60), 60),
        )
    else:
        strategy = JUNK_JSON
    if schema.get("nullable"):
        strategy = st.one_of(st.none(), strategy)
    return strategy


def query_value(schema: dict, name: str, refs: dict[str, list[str]]) -> st.SearchStrategy:
    """A query parameter value (a list for repeated parameters): valid, or junk text."""
    valid = from_schema(schema, name, refs).map(
        lambda value: [str(v) for v in value] if isinstance(value, list) else str(value)
    )
    return st.one_of(valid, valid, JUNK_TEXT, st.lists(JUNK_TEXT, min_size=2, max_size=3))


def body_strategy(document: dict, body: dict, refs: dict[str, list[str]]) -> st.SearchStrategy:
    """Request bodies: schema-shaped objects with junk fields, junk JSON, or malformed bytes."""
    schema = resolve(document, body["content"]["application/json"]["schema"])
    properties = schema.get("properties", {})
    required = schema.get("required", [])

    @st.composite
    def objects(draw) -> bytes:
        data: dict[str, Any] = {}
        for field, field_schema in properties.items():
            wanted = (
                draw(st.integers(0, 9)) > 0 if field in required else draw(st.integers(0, 2)) == 0
            )
            if wanted:
                data[field] = draw(from_schema(field_schema, field, refs))
        if data and draw(st.integers(0, 2)) == 0:  # one field of the wrong type or shape
            data[draw(st.sampled_from(sorted(data)))] = draw(JUNK_JSON)
        if draw(st.integers(0, 7)) == 0:
            data[draw(_TEXT)] = draw(JUNK_JSON)
        return json.dumps(data, allow_nan=True).encode()

    junk_json = JUNK_JSON.map(lambda value: json.dumps(value, allow_nan=True).encode())
    return st.one_of(objects(), objects(), objects(), junk_json, MALFORMED_BODIES)


def operations(document: dict) -> list[tuple[str, str, dict, list[dict]]]:
    """(method, path, operation, parameters) of every operation of the document."""
    result = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [
                resolve(document, p)
                for p in item.get("parameters", []) + operation.get("parameters", [])
            ]
            result.append((method.upper(), path, operation, parameters))
    return result


DOCUMENT = openapi_document()
OPERATIONS = operations(DOCUMENT)


@st.composite
def requests(draw, method: str, path: str, operation: dict, parameters: list[dict], refs):
    """One request of an operation: (who, url, query, headers, body or None, routed).

    ``routed`` is False when a path value cannot match the route (a non-integer action id): the
    router answers 404 before any authentication, as for any unknown address.
    """
    url = path
    routed = True
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    for parameter in parameters:
        name, where, schema = parameter["name"], parameter["in"], parameter["schema"]
        if where == "path":
            if name == "action_id":
                known = st.sampled_from(refs["actions"])
                value = draw(st.one_of(known, known, st.integers(-5, 2**70).map(str), JUNK_TEXT))
                value = value or " "  # an empty segment would be another route's address
                routed = re.fullmatch(r"-?\d+", value) is not None
            else:
                valid = from_schema(schema, name, refs)
                value = draw(st.one_of(valid, valid, valid, JUNK_TEXT)) or " "
                routed = "/" not in value and value not in (".", "..")
            url = url.replace(f"{{{name}}}", quote(str(value), safe=""))
        elif where == "header":
            if draw(st.booleans()):
                headers[name] = draw(st.text(st.characters(min_codepoint=32, max_codepoint=126)))
        elif parameter.get("required") or draw(st.integers(0, 2)) == 0:
            value = draw(query_value(schema, name, refs))
            for item in value if isinstance(value, list) else [value]:
                query.append((name, item))
    if draw(st.integers(0, 12)) == 0:
        query.append((draw(_TEXT.filter(bool)), draw(JUNK_TEXT)))
    body = None
    if "requestBody" in operation:
        body = draw(body_strategy(DOCUMENT, operation["requestBody"], refs))
    elif draw(st.integers(0, 10)) == 0:
        body = draw(MALFORMED_BODIES)
    who = draw(st.sampled_from(WHO))
    return who, url, query, headers, body, routed


# --- the running portal -------------------------------------------------------------------------


class Fuzzer:
    """A portal on its own event loop, driven synchronously."""

    def __init__(self, seed: Seed, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._context = open_portal(url, seed)
        self.portal: Portal = self.loop.run_until_complete(self._context.__aenter__())
        self.refs: dict[str, list[str]] = {"stories": sorted(seed.references.values())}
        self.refs["emails"] = sorted(email for email, *_ in AGENTS.values())
        self.refs["actions"] = [str(self._create_action(s)) for s in ("caf-05", "cpam-05")]

    def _create_action(self, structure: str) -> int:
        answer = self.send("POST", "/api/actions", "qualite", [], {}, b"")
        assert answer.status_code == 400  # an empty body is refused...
        body = json.dumps({"title": "Rappeler sous 48 h", "structure": structure}).encode()
        answer = self.send("POST", "/api/actions", "qualite", [], {}, body)
        assert answer.status_code == 201, answer.text  # ...and a valid one accepted
        return answer.json()["id"]

    def send(self, method, url, who, query, headers, body) -> httpx.Response:
        if who == "invalid":
            headers = {**headers, "Authorization": "Bearer fsp_0_pas-un-jeton"}
        elif who == "revoked":
            headers = {**headers, "Authorization": f"Bearer {self.portal.seed.revoked_token}"}
        elif who is not None:
            headers = {**headers, **self.portal.auth(who)}
        self.portal.client.cookies.clear()  # a fuzzed login must not authenticate the next ones
        request = self.portal.client.request(
            method, url, params=query, headers=headers, content=body
        )
        return self.loop.run_until_complete(request)

    def close(self) -> None:
        self.loop.run_until_complete(self._context.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def fuzzer(seed: Seed, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "feedback.db"
    shutil.copyfile(seed.path, path)
    running = Fuzzer(seed, f"sqlite:///{path}")
    yield running
    running.close()


def check(
    operation: dict, who: str | None, routed: bool, answer: httpx.Response, context: Any
) -> None:
    """The answer is documented, not a server error, and shaped as documented."""
    status = answer.status_code
    assert status < 500, (context, status, answer.text[:500])
    documented = operation["responses"].get(str(status))
    assert documented is not None, (context, status, "undocumented status", answer.text[:300])
    secured = bool(operation.get("security", DOCUMENT["security"]))
    if secured and who in (None, "invalid", "revoked"):
        assert status == (401 if routed else 404), (
            context,
            status,
            "protected operation without valid credentials",
        )
    documented = resolve(DOCUMENT, documented)
    content = documented.get("content", {})
    if "application/json" not in content:
        if content:
            assert answer.headers["content-type"].split(";")[0] in content, context
        return
    body = answer.json()
    assert isinstance(body, dict), context
    for field in required_fields(DOCUMENT, content["application/json"]["schema"]):
        assert field in body, (context, status, field, body)
        if status >= 400:
            assert isinstance(body[field], str) and body[field].strip(), (context, body)


@pytest.mark.parametrize(
    "operation", OPERATIONS, ids=[f"{method} {path}" for method, path, *_ in OPERATIONS]
)
@FUZZ_SETTINGS
@given(data=st.data())
def test_operation_answers_as_documented(fuzzer: Fuzzer, operation, data):
    method, path, spec, parameters = operation
    who, url, query, headers, body, routed = data.draw(
        requests(method, path, spec, parameters, fuzzer.refs), label="request"
    )
    answer = fuzzer.send(method, url, who, query, headers, body)
    event(f"status {answer.status_code}")  # see pytest --hypothesis-show-statistics
    check(spec, who, routed, answer, (method, url, who, query, headers, body and body[:300]))


def test_every_documented_operation_is_fuzzed():
    fuzzed = {(method, path) for method, path, *_ in OPERATIONS}
    assert len(fuzzed) == len(OPERATIONS) >= 15
    assert {("GET", "/api/irritants"), ("PATCH", "/api/actions/{action_id}")} <= fuzzed
