"""The HTTP API (`/api/v1`, OpenAPI 3 at /api/v1/openapi.json): Call Via Work and call control,
parked calls, pickup groups, history, live call events (SSE), /healthz, /readyz and /metrics;
per-user bearer tokens. `server.ApiServer` runs it in the controller's gevent hub; `app` builds
the WSGI application; `tokens` the token store; `errors` maps each error to its status, once.

Importing this package stays light (the config validation uses `listen`): the web framework is
imported by `server` and `app` only."""
