# fscontrol — every command a user needs. The virtualenv is created on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CONFIG  ?= fscontrol.toml

.PHONY: test demo run render bench bench-live test-live clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/python -m fscontrol.demo

$(CONFIG):
	cp fscontrol.example.toml $(CONFIG)

run: $(STAMP) $(CONFIG)
	$(BIN)/fscontrol run --config $(CONFIG)

render: $(STAMP)
	$(BIN)/fscontrol render --config fscontrol.example.toml --out dialplan

$(VENV)/.bench: $(STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(VENV)/.bench

bench: $(VENV)/.bench
	$(BIN)/python -m benchmarks

bench-live: $(VENV)/.bench
	$(BIN)/python -m benchmarks.live

test-live: $(STAMP)
	PY=$(BIN)/python bash tests/live/run.sh

clean:
	rm -rf $(VENV) .fscontrol *.egg-info
