# Paperboy: `make demo` runs the daily job end to end; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
# Local runs may use the public development SECRET_KEY (never set this in production: see README).
DEV := PAPERBOY_INSECURE_DEV_KEY=$${PAPERBOY_INSECURE_DEV_KEY:-1}

.PHONY: demo test install lint format run worker beat clean screenshots bench

$(PY):
	@echo "==> Creating the virtual environment $(VENV)/ (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@echo "==> Installing Paperboy and its dependencies into $(VENV)/ (about a minute, only the first time)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The local database that make demo, make run, make worker and make beat share (unless DATABASE_URL is set).
VAR_DIR := $(or $(PAPERBOY_VAR_DIR),var)
LOCAL_DB := $(VAR_DIR)/paperboy.sqlite3
PORT ?= 8000

# Without DATABASE_URL the demo starts the local SQLite database afresh, so every run shows today's
# emails, and make run then serves that same database: the links in the demo's emails work there.
demo: $(STAMP)
	@if [ -z "$$DATABASE_URL" ]; then rm -f $(LOCAL_DB); fi
	@mkdir -p $(VAR_DIR)
	@$(DEV) $(PY) manage.py demo

# The suite runs in TEST_PROCESSES processes (pytest-xdist; each has its own PostgreSQL test database and
# Redis database, tests/parallel.py); TEST_PROCESSES=0 runs it in this one process.
TEST_PROCESSES ?= 2

test: $(STAMP)
	PYTHONPATH=. $(VENV)/bin/pytest -p tests.parallel -n $(TEST_PROCESSES)

# Re-take every screenshot under docs/screenshots/ (pages, admin, email) in headless Chromium.
screenshots: $(STAMP)
	PAPERBOY_SCREENSHOTS=1 $(VENV)/bin/pytest -q tests/web/test_browser.py tests/web/test_library_browser.py tests/admin/test_screenshots.py tests/digest/email/test_screenshots.py

# The benchmarks whose figures docs/PERFORMANCE.md records (delivery needs PostgreSQL and Redis).
bench: $(STAMP)
	$(PY) -m benchmarks.matching --subscribers 100000 --papers 2000
	$(PY) -m benchmarks.render
	$(PY) -m benchmarks.preview --papers 5000
	$(PY) -m benchmarks.feedback

# The packages the type checker must pass on (it grows as packages are annotated).
TYPED := digest/email digest/matching digest/ingest digest/library digest/admin digest/services/ingest digest/delivery digest/selectors/delivery.py digest/selectors/trending.py digest/services/trending.py digest/content digest/db.py digest/dispatch.py digest/tasks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(DEV) $(VENV)/bin/mypy $(TYPED)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The site on http://localhost:$(PORT), styled (static files collected for WhiteNoise), with a local SMTP
# sink beside it (mail lands in $(VAR_DIR)/mail/new/) unless EMAIL_HOST names a real relay.
run: export PAPERBOY_SITE_URL ?= http://localhost:$(PORT)
run: $(STAMP)
	@mkdir -p $(VAR_DIR)
	@$(DEV) $(PY) manage.py migrate --noinput -v 0
	@$(DEV) $(PY) manage.py collectstatic --noinput -v 0
	@echo "==> Paperboy on http://localhost:$(PORT)/ (database: $${DATABASE_URL:-$(LOCAL_DB)}; Ctrl-C stops it)"
	@if [ -z "$$EMAIL_HOST" ]; then \
		$(DEV) $(PY) manage.py mailsink --port $${EMAIL_PORT:-8025} & sink=$$!; \
		trap 'kill $$sink 2>/dev/null' EXIT INT TERM; \
		$(DEV) $(PY) manage.py runserver 127.0.0.1:$(PORT); \
	else \
		$(DEV) $(PY) manage.py runserver 127.0.0.1:$(PORT); \
	fi

worker: $(STAMP)
	$(DEV) $(VENV)/bin/celery -A paperboy worker --loglevel INFO

beat: $(STAMP)
	$(DEV) $(VENV)/bin/celery -A paperboy beat --loglevel INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VAR_DIR)/mail $(VAR_DIR)/static $(LOCAL_DB)
