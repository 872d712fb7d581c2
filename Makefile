# Paperboy: `make demo` runs the daily job end to end; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test install lint format run worker beat clean screenshots bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Without DATABASE_URL the demo uses its own fresh SQLite file, so every run shows today's emails.
demo: $(STAMP)
	@if [ -z "$$DATABASE_URL" ]; then rm -f var/demo.sqlite3; fi
	@mkdir -p var
	DATABASE_URL=$${DATABASE_URL:-sqlite:///var/demo.sqlite3} $(PY) manage.py demo

test: $(STAMP)
	$(VENV)/bin/pytest

# Re-take every screenshot under docs/screenshots/ (pages, admin, email) in headless Chromium.
screenshots: $(STAMP)
	PAPERBOY_SCREENSHOTS=1 $(VENV)/bin/pytest -q tests/web/test_browser.py tests/admin/test_screenshots.py tests/digest/email/test_screenshots.py

# The benchmarks whose figures docs/PERFORMANCE.md records (delivery needs PostgreSQL and Redis).
bench: $(STAMP)
	$(PY) -m benchmarks.matching --subscribers 100000 --papers 2000
	$(PY) -m benchmarks.render
	$(PY) -m benchmarks.preview --papers 5000
	$(PY) -m benchmarks.feedback

# The packages the type checker must pass on (it grows as packages are annotated).
TYPED := digest/email digest/matching digest/ingest digest/admin digest/services/ingest digest/delivery digest/selectors/delivery.py digest/selectors/trending.py digest/services/trending.py digest/content.py digest/db.py digest/dispatch.py digest/tasks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(TYPED)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver

worker: $(STAMP)
	$(VENV)/bin/celery -A paperboy worker --loglevel INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A paperboy beat --loglevel INFO --schedule var/celerybeat-schedule

clean:
	rm -rf var/mail var/paperboy.sqlite3
