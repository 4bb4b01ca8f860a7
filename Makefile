# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates its own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: test bench demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Test files run in parallel, each whole in one worker (its servers and meters are
# module fixtures); most of their time is spent waiting on real parts, not the CPU.
test: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 --dist loadfile

demo: $(BIN)/.installed
	$(BIN)/python -m host.demo

bench: $(BIN)/.installed
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
