# facedit: `make demo` and `make test` each build .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium

.PHONY: install demo test test-slow bench clean serve

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Exactly this version: it is the local CPU build; any other spec pulls CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m facedit.demo --out outputs

test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest -q

# The browser test drives Debian's Chromium (we run as root); without apt it skips, saying why.
$(CHROMIUM):
	-command -v apt-get >/dev/null && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

serve: $(STAMP)
	$(PY) -m facedit serve --host 127.0.0.1 --port 8000 --model builtin

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# Every benchmarks/bench_*.py and a small quality evaluation on ../shared/data (skipped when
# absent) -> benchmarks/results.json and benchmarks/SUMMARY.md. The eval extra adds identity.
EVAL_STAMP := $(VENV)/.eval-installed

$(EVAL_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,eval]"
	touch $(EVAL_STAMP)

bench: $(EVAL_STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) outputs .pytest_cache
