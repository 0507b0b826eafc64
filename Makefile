# The two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests run against real PostgreSQL and Redis: DATABASE_URL / REDIS_URL from the environment
# (TEST_* override both), else the local servers. pytest-django creates its own test_<name>
# database; the Redis database given is flushed by the tests, hence a dedicated number.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/ticker)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/15)
# Fixed, test-only Fernet keys (newest first); production keys come from CREDENTIALS_KEYS.
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DEBUG=0 \
	SECRET_KEY=test-secret-key-not-for-production LOG_FORMAT=console SECURE_SSL_REDIRECT=0 \
	CREDENTIALS_KEYS=8XgqN0sUpOo8W1LP0f5lXxGq9ODZf1Cq2D4Pf2nlBz8=,Yr0xFjRbGk1h0pQ5gI8OqJfQe3kU8vO2w4yQfN3tH7Y=

.PHONY: venv demo test lint typecheck pytest bench bench-env bench-smoke flower tail clean \
	chain-screenshot

$(STAMP): requirements/base.txt requirements/dev.txt requirements/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@mkdir -p var
	$(PY) -m ticker_project.demo_env var/demo.env
	set -a && . var/demo.env && set +a && $(PY) manage.py run_demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(TEST_ENV) $(VENV)/bin/mypy .

pytest: $(STAMP)
	$(TEST_ENV) $(VENV)/bin/pytest $(ARGS)

test: lint typecheck pytest bench-smoke

# CI runs only a small smoke run of each benchmark; `make bench` runs them in full.
bench-smoke: $(STAMP)
	$(TEST_ENV) $(PY) -m benchmarks --smoke

bench: $(STAMP) bench-env
	$(TEST_ENV) $(PY) -m benchmarks

# Peer Greeks libraries (pyvolr, QuantLib, py_vollib_vectorized) for the greeks benchmark live in
# their own venv, so the product's .venv never carries them.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements/bench.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements/bench.txt
	touch $@

bench-env: $(BENCH_VENV)/.installed

# Flower against the broker: the demo's (embedded Redis) when var/demo.env exists, else REDIS_URL.
flower: $(STAMP)
	set -a && { [ ! -f var/demo.env ] || . var/demo.env; } && set +a && \
		$(VENV)/bin/celery -A ticker_project flower

clean:
	rm -rf $(VENV) var/*.sqlite3 var/redis.* .mypy_cache .ruff_cache

# Print the demo's option ticks as they are published (run beside `make demo`).
tail: $(STAMP)
	set -a && . var/demo.env && set +a && $(PY) manage.py tail_ticks

# The README's picture of the chain page, from a running `make demo` (Debian's headless Chromium).
chain-screenshot: $(STAMP)
	set -a && . var/demo.env && set +a && $(PY) manage.py chain_screenshot --out docs/img/chain.png
