# agentd — everything a fresh machine needs goes through these targets.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test soak lint bench bench-quick clean

$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV) || { echo "make: '$(PYTHON) -m venv' failed; on Debian install python3-venv (sudo apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m compileall -q src  # bytecode even where PYTHONDONTWRITEBYTECODE is set
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/mypy

test: $(STAMP) lint
	$(PY) scripts/test_tools.py
	$(PY) -m pytest $(PYTEST_ARGS)

# tests/reliability's event stream held to its rate (docs/reliability.md): 30 s of 10 000 events/s.
soak: $(STAMP)
	AGENTD_SOAK_SECONDS=30 $(PY) -m pytest -p no:cacheprovider tests/reliability/test_load.py $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) scripts/test_tools.py --bench
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) .cache build src/*.egg-info
