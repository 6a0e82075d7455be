"""A deterministic sweep of the API from its OpenAPI document: odd inputs never give a 5xx.

schemathesis and Hypothesis are not installed; this walks every operation of
``/api/openapi.json`` and sends each parameter and body field, one at a time, valid values from
the schema and hostile ones drawn from fixed lists (seeded: every run sends the same requests),
then checks that no answer is a server error and that every error has the documented shape.
"""

from __future__ import annotations

import json
import random

import pytest

from tests.unit.portal.conftest import Portal

pytestmark = pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning")

HOSTILE_STRINGS = [
    "",
    " ",
    "'",
    '"',
    "%",
    "%00",
    "\x00",
    "é",
    "💥",
    "-1",
    "0",
    "1e309",
    "9" * 40,
    "null",
    "[]",
    "a" * 1000,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "caf-05,caf-04",
]
HOSTILE_JSON = [None, 0, -1, 1.5, 2**70, True, "", "x" * 6000, [], {}, ["x"], [None], {"a": 1}]
PATH_VALUES = {
    "reference": ["EXP-2024-000001", "exp-2024-000003", "EXP-2024-" + "9" * 30, "x" * 300, "%F0"],
    "action_id": ["1", "0", "-1", "99999999999999999999", "1.5", "abc"],
}


def resolve(document: dict, item: dict) -> dict:
    while "$ref" in item:
        _, kind, name = item["$ref"].rsplit("/", 2)
        item = document["components"][kind][name]
    return item


def schema_values(schema: dict) -> list:
    values = list(schema.get("enum", []))
    if "default" in schema:
        values.append(schema["default"])
    if schema.get("type") == "array":
        values += [[v] for v in schema_values(schema.get("items", {}))]
    if schema.get("format") == "date":
        values += ["2024-01-01", "0001-01-01", "9999-12-31"]
    return values


def check(document: dict, operation: dict, response, context) -> None:
    """No 5xx; an error answer has the keys its documented schema requires."""
    assert response.status_code < 500, (context, response.status_code, response.text)
    if response.status_code < 400:
        return
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, (context, response.status_code, "undocumented status")
    schema = resolve(document, resolve(document, documented)["content"]["application/json"])
    required = resolve(document, schema["schema"])["required"]
    body = response.json()
    assert all(isinstance(body.get(key), str) and body[key] for key in required), context


async def test_every_operation_survives_odd_parameters_and_bodies(portal: Portal):
    created = await portal.send(
        "POST", "/api/actions", "qualite", json={"title": "Action", "structure": "caf-05"}
    )
    assert created.status_code == 201
    document = (await portal.client.get("/api/openapi.json")).json()
    rng = random.Random(20240101)
    sent = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [
                resolve(document, p)
                for p in item.get("parameters", []) + operation.get("parameters", [])
            ]
            base = path.replace("{reference}", portal.ref("attente")).replace("{action_id}", "1")
            required = {
                p["name"]: p["schema"]["example"]
                for p in parameters
                if p["in"] == "query" and p.get("required")
            }
            body = None
            if "requestBody" in operation:
                ref = operation["requestBody"]["content"]["application/json"]["schema"]
                body = resolve(document, ref)
            for parameter in parameters:
                name, where = parameter["name"], parameter["in"]
                values = schema_values(parameter["schema"])[-3:]
                if where == "path":
                    values = PATH_VALUES[name]
                elif where == "query":
                    values += rng.sample(HOSTILE_STRINGS, 4)
                else:
                    continue
                for value in values:
                    if where == "path":
                        url = path.replace(f"{{{name}}}", value)
                        url = url.replace("{reference}", portal.ref("attente"))
                        params = None
                    else:
                        url, params = base, {**required, name: value}
                    payload = {}
                    if body is not None:
                        payload = {"json": {k: "x" for k in body.get("required", [])}}
                    response = await portal.send(
                        method.upper(), url, "qualite", params=params, **payload
                    )
                    check(document, operation, response, (method, url, params))
                    sent += 1
            if body is None:
                continue
            properties = body.get("properties", {})
            for field, schema in properties.items():
                hostile = rng.sample(HOSTILE_JSON, 5) + rng.sample(HOSTILE_STRINGS, 2)
                for value in schema_values(schema)[-3:] + hostile:
                    data = {k: "x" for k in body.get("required", [])}
                    data[field] = value
                    response = await portal.send(
                        method.upper(), base, "qualite", json=data, params=required
                    )
                    check(document, operation, response, (method, base, data))
                    sent += 1
            for raw in (b"", b"{", b"[]", b"null", b'"x"', b"\xff", b"{" * 5000, b'{"a":' * 3):
                response = await portal.send(method.upper(), base, "qualite", content=raw)
                check(document, operation, response, (method, base, raw))
                sent += 1
            for _ in range(6):  # random mixes of valid and hostile fields
                keys = rng.sample(sorted(properties), k=min(len(properties), rng.randint(1, 3)))
                data = {
                    k: rng.choice(schema_values(properties[k]) + HOSTILE_JSON[:8]) for k in keys
                }
                response = await portal.send(
                    method.upper(), base, "qualite", content=json.dumps(data).encode()
                )
                check(document, operation, response, (method, base, data))
                sent += 1
    assert sent > 400
