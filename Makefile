# The two commands of the README's quickstart: `make serve` and `make test`.
# Everything lives in .venv; nothing is installed system-wide.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build on machines that carry its wheel; elsewhere pip picks the platform's build.
TORCH  ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: serve test install dev models bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[models,dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed          ## grym-bridge without the neural-model libraries

models: | $(BIN)/python              ## add torch, diffusers and transformers
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[models]"

dev: $(VENV)/.installed-dev          ## everything the tests need

serve: install                       ## start the server on its embedded defaults (127.0.0.1:9130)
	$(BIN)/grym serve

test: dev                            ## run the whole test suite
	@# pytest exits 5 when it collects no tests; make would turn that into 2, so it is decided here.
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	    if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

bench: dev                           ## run every benchmark in bench/
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
