# Koppel — run from the repository root. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV ?= $(shell command -v uv 2>/dev/null || echo uv)
# Brings up (or reuses) Kafka and PostgreSQL and exports their addresses into the recipe's shell.
WITH_INFRA := eval "$$(bash deploy/local/up.sh)";
PYTEST_ARGS ?=

.PHONY: help install lint format test test-unit test-other-kafka up down run bench chaos fuzz topics migrate schemas asyncapi screenshots

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## Install uv if missing and sync the workspace from the lock file
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	uv sync --all-packages --locked

lint: install ## ruff, mypy --strict (packages, demo tools, tests), promtool on the alerts and the dashboard's queries
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy shared/src services/intake/src services/matcher/src services/notifier/src tools/demo/src tests
	uv run pytest -q -p no:cacheprovider tests/unit/deploy/test_monitoring.py

format: install ## Apply ruff's fixes and formatting
	uv run ruff check --fix .
	uv run ruff format .

test: install ## The whole suite against real Kafka and PostgreSQL (started if needed)
	$(WITH_INFRA) uv run pytest $(PYTEST_ARGS)

test-unit: install ## Only the fast unit tests (no services needed)
	uv run pytest tests/unit $(PYTEST_ARGS)

# The Kafka-heavy suites: transactions, compaction, consumer groups, exactly-once crash tests
# and the quick fault test, which starts its own broker of the same version. The HTTP fuzzers
# (schemathesis) stay out: they test the API, whatever the broker, and take a minute.
OTHER_KAFKA_TESTS ?= tests/integration/shared tests/integration/intake tests/integration/matcher \
	tests/e2e/test_chaos_quick.py --ignore=tests/integration/intake/test_openapi_fuzz.py \
	--ignore=tests/integration/intake/hostile/test_openapi_published.py
test-other-kafka: install ## The Kafka-heavy suites on a broker of its own of the other supported Kafka line (4.x when KOPPEL_KAFKA_VERSION is 3.9)
	$(WITH_INFRA) bash deploy/local/other-kafka.sh uv run pytest $(PYTEST_ARGS) $(OTHER_KAFKA_TESTS)

topics: install ## Create or reconcile the Kafka topics
	$(WITH_INFRA) uv run python -m koppel.topics

migrate: install ## Apply the matcher's and notifier's database migrations
	$(WITH_INFRA) source deploy/local/development-defaults.sh; koppel_development_defaults "[migrate]"; \
	koppel_development_secret_keys "[migrate]" "$$PWD"; \
	uv run koppel-matcher migrate && uv run koppel-notifier migrate

up: install ## Kafka, PostgreSQL, mail sink, webhook receiver and the three services, in the background
	$(WITH_INFRA) bash deploy/local/services.sh start

down: ## Stop everything `make up` started
	-bash deploy/local/services.sh stop
	bash deploy/local/down.sh

run: install ## The main job: the stack, demo data, and a summary of what Koppel did with it
	bash deploy/local/run.sh $(RUN_ARGS)

bench: install ## Benchmarks against raw Kafka: bench/results/latest.{json,md} and docs/benchmarks.md
	$(WITH_INFRA) uv run python bench/run.py

chaos: install ## Fault tests: SIGKILLs, broker and PostgreSQL restarts, hostile webhook endpoints under load (isolated broker); counts lost and duplicates
	$(WITH_INFRA) uv run python bench/chaos.py

fuzz: install ## Hostile input at scale: thousands of schemathesis cases and raw-topic records (KOPPEL_FUZZ_EXAMPLES)
	$(WITH_INFRA) KOPPEL_FUZZ_EXAMPLES=$${KOPPEL_FUZZ_EXAMPLES:-1000} uv run pytest -p no:cacheprovider -s tests/integration/intake/hostile tests/unit/intake/test_hostile_raw_routing.py

schemas: install ## Regenerate the payload JSON Schemas under docs/schemas
	uv run python -m koppel.schemas docs/schemas

asyncapi: install ## Regenerate docs/asyncapi.json
	uv run koppel-intake asyncapi > docs/asyncapi.json

screenshots: install ## The browser test, writing the consultant's page at phone and desktop width to docs/screenshots
	bash deploy/local/chromium.sh
	mkdir -p docs/screenshots
	$(WITH_INFRA) KOPPEL_SCREENSHOTS=$$PWD/docs/screenshots uv run pytest -p no:cacheprovider tests/integration/notifier/test_page_in_browser.py
