"""Tokens: 401 without a valid one (unknown, malformed, expired, revoked), 403 when a valid user
token acts for someone else; a user token sees only its user's calls."""

from datetime import timedelta

import pytest

from fscontrol.api.tokens import hash_token
from waiting import until


def test_no_token_is_401_with_a_bearer_challenge(api_site):
    r = api_site.anonymous.get("/api/v1/calls")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["error"] == "unauthorized"


@pytest.mark.parametrize("header", ["Bearer fsc_nope", "Basic dXNlcjpwYXNz", "Bearer", "fsc_x"])
def test_unknown_or_malformed_token_is_401(api_site, header):
    r = api_site.anonymous.get("/api/v1/calls", headers={"Authorization": header})
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "unauthorized"
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_revoked_token_is_refused(api_site):
    store = api_site.api.context.tokens
    token, row = store.create("1001")
    client = api_site.client(token)
    assert client.get("/api/v1/parked").status_code == 200
    store.revoke(row.id)
    r = client.get("/api/v1/parked")
    assert r.status_code == 401 and "revoked" in r.json()["message"]


def test_expired_token_is_refused(api_site):
    store = api_site.api.context.tokens
    token, row = store.create("1001", expires=timedelta(seconds=30))
    client = api_site.client(token)
    assert client.get("/api/v1/parked").status_code == 200
    store.run(lambda c: c.execute("UPDATE api_tokens SET expires_at = now() - interval '1 s' "
                                  "WHERE id = %s", (row.id,)))
    r = client.get("/api/v1/parked")
    assert r.status_code == 401 and "expired" in r.json()["message"]


def test_only_a_hash_is_stored_and_use_is_recorded(api_site):
    store = api_site.api.context.tokens
    token = api_site.tokens["alice"]
    rows = store.run(lambda c: c.execute("SELECT * FROM api_tokens").fetchall())
    for row in rows:
        assert token not in repr(row)
    assert any(bytes(r["token_hash"]) == hash_token(token) for r in rows)
    api_site.alice.get("/api/v1/parked")
    alice = next(t for t in store.all() if t.user == "1001")
    assert alice.last_used_at is not None


def test_a_user_token_cannot_place_a_call_from_another_users_phone(api_site):
    api_site.require("callviawork")
    bob = api_site.phone("1002")
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1003", "user": "1002"})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden" and r.json()["field"] == "user"
    assert bob.channel is None and not bob.calls           # his phone never rang


def test_a_user_token_cannot_see_or_touch_another_users_call(api_site):
    api_site.require("calls", "callviawork")
    bob, carol, bobs = api_site.talking("1002", "1003")
    assert api_site.alice.get("/api/v1/calls").json()["calls"] == []
    for method, path in (("get", ""), ("delete", ""), ("post", "/hold"), ("post", "/resume"),
                         ("post", "/park")):
        r = getattr(api_site.alice, method)(f"/api/v1/calls/{bobs}{path}")
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["field"] == "call_id"
    r = api_site.alice.post(f"/api/v1/calls/{bobs}/transfer", json={"target": "1001"})
    assert r.status_code == 403
    r = api_site.alice.post("/api/v1/parked", json={"call_id": bobs})
    assert r.status_code == 403
    r = api_site.alice.get("/api/v1/calls", params={"user": "1002"})
    assert r.status_code == 403
    r = api_site.alice.get("/api/v1/history", params={"user": "1002"})
    assert r.status_code == 403
    # nothing reached the call: still talking, not held, not parked
    assert bob.connected_to() == "1003" and carol.hearing() == "voice"
    assert api_site.tracker.get(bobs)["state"] == "talking" and not api_site.park.store.all()
    # Bob's own token may
    assert api_site.bob.post(f"/api/v1/calls/{bobs}/hold").status_code == 200
    until(lambda: api_site.bob.get(f"/api/v1/calls/{bobs}").json()["state"] == "held", 5,
          message="Bob's call was never held")


def test_an_admin_token_acts_for_the_user_it_names(api_site):
    api_site.require("calls", "callviawork")
    bob = api_site.phone("1002")
    bob.ring_forever()
    r = api_site.admin.post("/api/v1/calls", json={"destination": "1003"})
    assert r.status_code == 422 and r.json()["field"] == "user"
    r = api_site.admin.post("/api/v1/calls", json={"destination": "1003", "user": "1999"})
    assert r.status_code == 404 and r.json() == {
        "error": "unknown_user", "message": "user: 1999 is not a users[].extension",
        "field": "user"}
    r = api_site.admin.post("/api/v1/calls", json={"destination": "1003", "user": "1002"})
    assert r.status_code == 202 and r.json()["user"] == "1002"
    bob.wait_ringing()
    until(lambda: [c["user"] for c in api_site.admin.get("/api/v1/calls").json()["calls"]]
          == ["1002"], 5, message="the admin does not see Bob's call")
    assert api_site.admin.get("/api/v1/calls", params={"user": "1001"}).json()["calls"] == []
    assert [c["id"] for c in api_site.bob.get("/api/v1/calls").json()["calls"]] == [r.json()["id"]]


def test_unknown_call_is_404_naming_the_field(api_site):
    api_site.require("calls")
    r = api_site.alice.get("/api/v1/calls/0d3c4a5e-0000-4000-8000-000000000000")
    assert r.status_code == 404
    assert r.json()["error"] == "call_not_found" and r.json()["field"] == "call_id"


def test_the_token_never_shows_where_gevent_prints_a_failed_request(api_site):
    """A response that fails mid-stream makes gevent print the request's environ: the
    Authorization header must print as ***."""
    import gevent

    def start_response(status, headers, exc_info=None):
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/parked", "SERVER_NAME": "test",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": None,
               "HTTP_AUTHORIZATION": f"Bearer {api_site.tokens['alice']}"}
    body = b"".join(api_site.api.server.application(environ, start_response))
    printed = gevent.get_hub().format_context(environ) + repr(environ)
    assert b'"parked"' in body                         # the request was authenticated
    assert api_site.tokens["alice"] not in printed and "***" in printed
