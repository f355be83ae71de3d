# fscontrol — every command a user needs. The virtualenv is created on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CONFIG  ?= fscontrol.toml

.PHONY: test demo run render bench bench-live test-live screenshots clean

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

# docs/console.png: the console at 1280x800 from its browser test (Debian's chromium), shrunk to
# a 64-colour palette (Pillow, the docs extra)
$(VENV)/.docs: $(STAMP)
	$(BIN)/pip install -q -e '.[test,docs]'
	touch $(VENV)/.docs

screenshots: $(VENV)/.docs
	$(BIN)/python -m pytest -q tests/console/test_screenshot.py
	$(BIN)/python -c "from PIL import Image; \
	  Image.open('build/screenshots/console.png').convert('RGB') \
	  .quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
	  .save('docs/console.png', optimize=True)"
	@ls -l docs/console.png

test-live: $(STAMP)
	PY=$(BIN)/python bash tests/live/run.sh

clean:
	rm -rf $(VENV) .fscontrol *.egg-info
