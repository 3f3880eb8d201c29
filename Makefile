# `make up` deploys the stack (STACK=dev by default); `make test` runs every test and check.
STACK ?= dev
VENV ?= venv
PYTHON ?= python3

.PHONY: up preview test venv

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pyright
	$(VENV)/bin/pytest

up:
	STACK=$(STACK) ./scripts/up.sh up

preview:
	STACK=$(STACK) ./scripts/up.sh preview --diff
