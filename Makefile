# The two quick-start commands: `make run` and `make test`. Each sets up .venv when missing
# (or when pyproject.toml changed), then runs. Use pip with the venv, not uv or poetry: pip
# takes the machine's local torch wheel.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.step-installed
OUT ?= runs

.PHONY: setup run test lint docs clean-venv mutation

setup: $(STAMP)

$(STAMP): pyproject.toml examples/step-numpy-backend/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	$(PY) -m pip install -q -e examples/step-numpy-backend
	touch $(STAMP)

# The main job: the cross-backend fairness study on the embedded digits (every installed
# backend, same weights and data order, 5 seeds): runs/study/study.html, .md and .json.
run: $(STAMP)
	$(VENV)/bin/step study --out $(OUT)/study

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Mutation testing of the conformance judge and the reference (not in CI: tens of minutes).
# mutmut makes the mutants; benchmarks/mutation.py runs each in a forked warm process against
# the fast tests that should kill it, and prints the kill rate (docs/conformance.md).
mutation: $(STAMP)
	$(PY) -m benchmarks.mutation --json $(OUT)/mutation.json

clean-venv:
	rm -rf $(VENV)
