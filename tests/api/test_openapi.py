"""The OpenAPI document: valid OpenAPI 3, generated from the schemas that validate requests; and
a property-based fuzz of every operation in it (schemathesis) that must never get a 5xx and
whose responses must match the document."""

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

STREAMING = {"/api/v1/events"}   # never ends by itself: test_events.py covers it


def test_the_openapi_document_is_valid_and_lists_every_route(api_site):
    from openapi_spec_validator import validate
    r = api_site.anonymous.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    validate(doc)
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/calls", "/api/v1/calls/{call_id}", "/api/v1/calls/{call_id}/hold",
                 "/api/v1/calls/{call_id}/resume", "/api/v1/calls/{call_id}/transfer",
                 "/api/v1/calls/{call_id}/park", "/api/v1/parked", "/api/v1/parked/{orbit}/retrieve",
                 "/api/v1/conferences/{room}/dial", "/api/v1/history", "/api/v1/pickup-groups",
                 "/api/v1/events", "/healthz", "/readyz", "/metrics", "/api/v1/voicemail/greeting",
                 "/api/v1/voicemail/greeting/audio"):
        assert path in doc["paths"], path
    place = doc["components"]["schemas"]["PlaceCall"]
    assert place["required"] == ["destination"] and place["additionalProperties"] is False
    assert doc["paths"]["/api/v1/calls"]["post"]["security"] == [{"bearer": []}]
    # the error shape of a validation failure is the one every other error has
    assert doc["paths"]["/api/v1/calls"]["post"]["responses"]["422"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}


def test_fuzz_every_operation_no_server_error(api_site):
    """Valid and invalid requests (schemathesis' positive and negative modes), as a user and as
    an admin, on unknown ids and on a live call of the user's: never a 5xx, and every response
    (status, content type, body) as the document says. Needs the whole build (calls, Call Via
    Work): the fuzz must reach the services."""
    api_site.require("calls", "callviawork")
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (content_type_conformance,
                                                   response_schema_conformance,
                                                   status_code_conformance)
    from schemathesis.transport.serialization import serialize_binary

    @schemathesis.serializer("audio/wav")          # PUT /voicemail/greeting: the WAV as the body
    def _wav(ctx, value):
        return {"data": serialize_binary(value)}

    doc = requests.get(api_site.base + "/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in STREAMING]
    assert len(operations) >= 14
    session = requests.Session()
    seen: dict[str, set[int]] = {}
    live = {}

    def live_call():
        """A call of Alice's that is still up (a fuzzed DELETE, transfer or park ends one)."""
        call = api_site.tracker.get(live["id"]) if live else None
        if call is None or call["state"] == "ended" or call.get("orbit"):
            live["id"] = api_site.talking("1001", "1002")[2]
        return live["id"]

    live_call()                 # Alice's phone is registered: placing calls gets through
    passes = [(GenerationMode.POSITIVE, "alice", False), (GenerationMode.POSITIVE, "admin", False),
              (GenerationMode.POSITIVE, "alice", True),
              (GenerationMode.NEGATIVE, "alice", False), (GenerationMode.NEGATIVE, "admin", False)]
    for op in operations:
        for mode, token, on_live_call in passes:
            if on_live_call and "{call_id}" not in op.path:
                continue
            path = {"call_id": live_call()} if on_live_call else None
            headers = {"Authorization": f"Bearer {api_site.tokens[token]}"}
            try:
                strategy = op.as_strategy(generation_mode=mode, path_parameters=path)
            except Exception:          # nothing to make invalid in this operation
                continue

            @settings(max_examples=20, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                response = case.call(base_url=api_site.base, session=session, headers=headers,
                                     timeout=10)
                seen.setdefault(f"{op.method.upper()} {op.path}", set()).add(response.status_code)
                case.validate_response(response, checks=checks)

            try:
                run()
            except Unsatisfiable:      # negative mode: nothing in this operation to make invalid
                continue
            except Exception as e:  # name the operation: hypothesis' own report is long
                pytest.fail(f"{op.method.upper()} {op.path} ({mode.value}, {token}): {e}")
    print(sorted((k, sorted(v)) for k, v in seen.items()))
    assert all(code < 500 for codes in seen.values() for code in codes), seen
    assert 200 in seen["POST /api/v1/calls/{call_id}/hold"]      # the live call was reached
    assert 202 in seen["POST /api/v1/calls"]                     # and calls were placed
