# Paperboy: `make demo` runs the daily job end to end; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test install lint format run worker beat clean

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

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

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
