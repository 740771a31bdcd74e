# The two commands: `make run` and `make test`. Everything else is a step they use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= auto
# Local runs are development; production settings come from the environment (deploy/).
DEV := ASSEMBLY_ENV=development

.PHONY: run test smoke audit test-fast lint typecheck assets links migrate demo bench bench-count bench-enrol bench-cast bench-assembly bench-verify bench-pages bench-e2e clean help

help:
	@echo "make run        set up, migrate, seed the demo, serve http://127.0.0.1:5000"
	@echo "make test       set up and run the whole suite (ASSEMBLY_TEST_DATABASE_URL for PostgreSQL)"
	@echo "make lint       ruff and mypy"
	@echo "make smoke      the production stack on this machine (PostgreSQL, memcached, gunicorn, nginx) and an election through it"
	@echo "make audit      pip-audit the installed dependencies for known vulnerabilities"
	@echo "make links      print fresh sign-in links for the demo users"
	@echo "make bench      run the benchmarks and print their figures"
	@echo "make bench-count  count 10k/100k/1M ballots beside pyrankvote, pref_voting, votekit; a 1M-line BLT file by whole processes"
	@echo "make bench-enrol  import 10k/100k/1M-row rosters, then again with 1% changed"
	@echo "make bench-cast   3,000 signed-in voters cast through gunicorn: ballots/s, latency"
	@echo "make bench-assembly  a 2,000-member assembly through gunicorn: check-ins, phone votes, result"
	@echo "make bench-verify verify a 1,000,000-ballot election record end to end (budget 30 s)"
	@echo "make bench-pages  ballot, results and record pages under 50 concurrent clients (p95 budget 100 ms)"
	@echo "make bench-e2e    encrypt a ranking in Chromium; shuffle, decrypt and verify 10,000 encrypted ballots"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: npm builds the stylesheet; install it first: apt-get install npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assembly/static/app.css assembly/static/e2e.js &: node_modules/.installed assets/scss/app.scss assets/js/e2e.js assets/js/pages.js
	npm run --silent build

assets: assembly/static/app.css assembly/static/e2e.js

migrate: $(VENV)/.installed-dev
	$(DEV) $(BIN)/assembly db upgrade

links: $(VENV)/.installed-dev
	@$(DEV) $(BIN)/assembly demo

run: $(VENV)/.installed-dev assets migrate
	@$(DEV) $(BIN)/assembly demo
	@echo ""
	@echo "Serving on http://127.0.0.1:5000 (Ctrl-C to stop). Emails are written to instance/outbox/."
	@$(DEV) $(BIN)/assembly run --host 127.0.0.1 --port 5000 --with-threads

test: $(VENV)/.installed-dev assets lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -x -q --ignore=tests/e2e

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check assembly tests benchmarks deploy .ci
	$(BIN)/ruff format --check --quiet assembly tests benchmarks deploy .ci
	$(BIN)/mypy assembly
	$(BIN)/mypy --strict --follow-imports=silent assembly/offline
	$(BIN)/mypy --strict --follow-imports=silent assembly/records/canonical.py assembly/records/merkle.py \
	  assembly/records/signing.py assembly/records/record.py assembly/records/schema.py \
	  assembly/records/verify assembly/counting assembly/crypto assembly/clock.py assembly/statetable.py

# The production stack on this machine (PostgreSQL, memcached, gunicorn via the container's
# entrypoint, nginx with TLS) and an election through it: deploy/smoke.py.
smoke: $(VENV)/.installed-dev assets
	$(BIN)/python deploy/smoke.py

# Known vulnerabilities in what is installed (PyPI's advisory data). Exit 1 on any; a package
# the service does not know is listed as not audited.
audit: $(VENV)/.installed-dev
	$(BIN)/python .ci/audit.py

bench: $(VENV)/.installed-dev bench-count bench-enrol bench-cast bench-assembly bench-verify bench-pages bench-e2e
	$(BIN)/python benchmarks/run.py

# ASSEMBLY_BENCH_DATABASE_URL=postgresql://…/postgres measures on PostgreSQL as well.
bench-enrol: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_enrol.py
	@if [ -n "$$ASSEMBLY_BENCH_DATABASE_URL" ]; then \
	  $(BIN)/python benchmarks/bench_enrol.py --database-url "$$ASSEMBLY_BENCH_DATABASE_URL"; fi

# Through gunicorn (2 sync workers), as bench-enrol: SQLite, then PostgreSQL if given.
bench-cast: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_cast.py
	$(BIN)/python benchmarks/bench_cast.py --encrypted
	$(BIN)/python benchmarks/bench_cast.py --candidates 15
	$(BIN)/python benchmarks/bench_cast.py --encrypted --candidates 15 --time-limit 120
	@if [ -n "$$ASSEMBLY_BENCH_DATABASE_URL" ]; then \
	  $(BIN)/python benchmarks/bench_cast.py --database-url "$$ASSEMBLY_BENCH_DATABASE_URL"; \
	  $(BIN)/python benchmarks/bench_cast.py --encrypted --database-url "$$ASSEMBLY_BENCH_DATABASE_URL"; fi

# An assembly on its day through gunicorn: tellers check 2,000 members in, their phones vote,
# the chair declares; the result is counted again independently and the record verified.
# Then the same with end-to-end verifiable votes (cards, encrypted phone ballots, trustees).
bench-assembly: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_assembly.py
	$(BIN)/python benchmarks/bench_assembly.py --encrypted
	@if [ -n "$$ASSEMBLY_BENCH_DATABASE_URL" ]; then \
	  $(BIN)/python benchmarks/bench_assembly.py --database-url "$$ASSEMBLY_BENCH_DATABASE_URL"; \
	  $(BIN)/python benchmarks/bench_assembly.py --encrypted --database-url "$$ASSEMBLY_BENCH_DATABASE_URL"; fi

# A record of a million ballots (3 STV contests) built in one process, verified in another.
bench-verify: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_verify.py

bench-e2e: $(VENV)/.installed-dev assets
	$(BIN)/python benchmarks/bench_e2e.py

# The ballot and results pages (and the record page and an assembly's live screen) through
# gunicorn (2 sync workers) under 50 concurrent clients: SQLite, then PostgreSQL if given.
bench-pages: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_pages.py
	@if [ -n "$$ASSEMBLY_BENCH_DATABASE_URL" ]; then \
	  $(BIN)/python benchmarks/bench_pages.py --database-url "$$ASSEMBLY_BENCH_DATABASE_URL"; fi

# The STV packages we measure ourselves against, in a venv of their own.
PEERS := pyrankvote pref_voting votekit dividebatur
.venv-bench/.installed:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet $(PEERS) || .venv-bench/bin/pip install --quiet pyrankvote
	touch $@

bench-count: $(VENV)/.installed-dev .venv-bench/.installed
	$(BIN)/python benchmarks/bench_count.py --peers-python .venv-bench/bin/python

clean:
	rm -rf $(VENV) .venv-bench node_modules assembly/static/app.css .pytest_cache .ruff_cache .mypy_cache
