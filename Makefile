# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: run test lint check bench install serve worker beat

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_defaults --demo
	@echo ""
	@echo "  mild® billing helper: http://127.0.0.1:$(PORT)/admin/"
	@echo "  Logins (password 'demo'): billing (billing staff), manager (practice manager), admin (superuser)"
	@echo "  API schema: http://127.0.0.1:$(PORT)/api/docs/"
	@echo ""
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest $(PYTEST_ARGS)  # not the exported dev settings

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) bench/run_all.py

worker: install
	$(VENV)/bin/celery -A config worker -l info

beat: install
	$(VENV)/bin/celery -A config beat -l info
