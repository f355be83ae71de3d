"""The attendant console: a page the controller's HTTP API serves at /console (plain HTML, CSS
and JavaScript in `static/`, package data: no build step). It talks to /api/v1 with the token
the receptionist pastes, and follows `GET /api/v1/events?board=true`."""
