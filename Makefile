# Two commands: `make run` (the whole service on the embedded default) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test bench lint format mutation

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/honcho start -f $(if $(REDIS_URL),Procfile,Procfile.dev)

test: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m bench.entra_cycle $(BENCH_ARGS)

# Mutation score of the pure cores, each against its own unit tests (slow: minutes per module).
# MUTATION_ARGS="--fresh --write" re-runs everything and stores the table in bench/results/mutation.md.
mutation: $(BIN)/.installed
	$(BIN)/python -m tools.mutation $(MUTATION_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
