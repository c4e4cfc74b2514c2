# TickStock shadow harness. `make demo` and `make test` work on a fresh machine with Python 3.11:
# they create .venv and install the project into it when missing (idempotent, quick when done).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
RUN    ?= reports/runs
# pytest-xdist workers for `make test`: the suite is CPU-bound end-to-end runs; two workers halve
# its wall time on the 2-core CI machine (TEST_WORKERS=0 runs it in one process).
TEST_WORKERS ?= 2

.PHONY: demo test check bench gate clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the project into $(VENV) (pip log: $(VENV)/pip.log)"
	@$(PY) -m pip install -q -e '.[dev]' >$(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	@touch $(STAMP)

demo: $(STAMP)
	@bash scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS)

check: $(STAMP)
	$(VENV)/bin/ruff check tickstock harness tests benchmarks
	$(VENV)/bin/ruff format --check tickstock harness tests benchmarks
	$(VENV)/bin/mypy tickstock harness
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# CI regression gate: every recording under recordings/ replayed legacy vs multi-channel and gated
# (policy: README "CI gate"). Override e.g. GATE_PHASE=phase_2_limited_rollout.
GATE_PHASE ?= phase_1_parallel_testing
gate: $(STAMP)
	$(PY) -m pytest recordings --shadow-recordings recordings --shadow-phase $(GATE_PHASE) -p no:cacheprovider -rA

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache reports/runs
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
