"""Prometheus metrics of the controller (served at the HTTP API's /metrics). One registry per
process; features count what they do here, by name, so the metric list lives in one place."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

calls_placed = Counter("fscontrol_calls_placed", "Call Via Work calls placed", registry=REGISTRY)
calls_failed = Counter("fscontrol_calls_failed", "Call Via Work calls that failed, by reason",
                       ["reason"], registry=REGISTRY)
parks = Counter("fscontrol_parks", "calls parked", registry=REGISTRY)
retrieves = Counter("fscontrol_retrieves", "parked calls retrieved", registry=REGISTRY)
park_timeouts = Counter("fscontrol_park_timeouts", "parked calls that timed out", registry=REGISTRY)
voicemail_events = Counter("fscontrol_voicemail", "voicemail: messages left, missed calls, "
                           "failed logons (by what)", ["what"], registry=REGISTRY)
pickups = Counter("fscontrol_pickups", "ringing calls picked up, by kind (group, directed)",
                  ["kind"], registry=REGISTRY)
attendant_calls = Counter("fscontrol_attendant_calls", "calls answered by an auto attendant, by "
                          "attendant and menu (business_hours, after_hours, holiday)",
                          ["attendant", "menu"], registry=REGISTRY)
attendant_outcomes = Counter("fscontrol_attendant_outcomes", "how auto attendant calls left the "
                             "menu (put_through, voicemail, operator, disconnected, hung_up, error)",
                             ["attendant", "outcome"], registry=REGISTRY)
database_errors = Counter("fscontrol_database_errors", "database operations that failed",
                          ["feature"], registry=REGISTRY)
esl_connected = Gauge("fscontrol_esl_connected", "1 while the event socket is connected",
                      registry=REGISTRY)
event_queue_depth = Gauge("fscontrol_event_queue_depth", "ESL events waiting to be handled",
                          registry=REGISTRY)
event_lag = Histogram("fscontrol_event_lag_seconds", "from an event's arrival to its handling",
                      buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5),
                      registry=REGISTRY)
api_latency = Histogram("fscontrol_api_request_seconds", "HTTP API request latency",
                        ["method", "route", "status"],
                        buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5),
                        registry=REGISTRY)
