# `make run` (the whole service on the embedded default), `make test`; see README.md.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HERD := ./herd

.PHONY: install run admin test screenshots bench lint format mutation

# The stamp holds the requirements it installed: a fresh clone with the same
# requirements.txt (or a checkout that only touched the file) installs nothing.
$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip; }
	@cmp -s requirements.txt $@ || $(BIN)/pip install -q -r requirements.txt
	@cp requirements.txt $@

install: $(BIN)/.installed

run: $(BIN)/.installed
	@$(BIN)/python -m service.cli.preflight
	@$(HERD) db upgrade
	@$(HERD) demo
	@PATH=$(abspath $(BIN)):$$PATH $(BIN)/honcho start -f $(if $(REDIS_URL),Procfile,Procfile.dev)

# make admin EMAIL=you@example.com [COMPANY=1]: a dashboard sign-in; prints a one-time password.
admin: $(BIN)/.installed
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=you@example.com [COMPANY=1]" >&2; exit 2; }
	@$(HERD) admins create $(or $(COMPANY),1) $(EMAIL)

test: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

# Rewrites docs/screenshots/ from the browser test (make test never touches them).
screenshots: $(BIN)/.installed
	HERD_SCREENSHOTS=1 $(BIN)/pytest tests/dashboard/test_browser.py tests/dashboard/test_browser_daily.py tests/dashboard/test_browser_compliance.py -q

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
