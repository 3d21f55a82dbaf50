# The two set-up commands: `make run` and `make test`. Nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml
STAMP := $(VENV)/.installed

.PHONY: run test install bench clean

$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/install.sh
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/fediverse-node --config $(CONFIG) dev-setup
	$(BIN)/fediverse-node --config $(CONFIG) serve

test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q

bench: $(STAMP)
	status=0; \
	$(BIN)/python bench/bench_discovery.py || status=1; \
	$(BIN)/python bench/bench_inbox.py || status=1; \
	$(BIN)/python bench/bench_fanout.py || status=1; \
	OMP_NUM_THREADS=1 $(BIN)/python bench/bench_generation.py || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache
