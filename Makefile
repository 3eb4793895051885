# The two quick-start commands: `make run` and `make test`. Each sets up .venv when missing
# (or when pyproject.toml changed), then runs. Use pip with the venv, not uv or poetry: pip
# takes the machine's local torch wheel.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.step-installed
OUT ?= runs

.PHONY: setup run test lint docs clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml examples/step-numpy-backend/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	$(PY) -m pip install -q -e examples/step-numpy-backend
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/step backends
	$(VENV)/bin/step trace --neuron lif --set tau=2 --set v_threshold=1 --set v_reset=0 \
		--input 2,2,2 --backend all --plot $(OUT)/trace.png

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)
