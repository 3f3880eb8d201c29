# `make up` deploys the stack (STACK=dev by default); `make test` runs every test and check.
STACK ?= dev
VENV ?= venv
PYTHON ?= python3
# checkov pins packaging<24 and boto3==1.35.49, which pulumi and pytest cannot share: own virtualenv.
CHECKOV_VENV ?= .venv-checkov

.PHONY: up preview test venv

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

venv: $(VENV)/.installed

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pyright
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(VENV)/bin/pytest

up:
	STACK=$(STACK) ./scripts/up.sh up

preview:
	STACK=$(STACK) ./scripts/up.sh preview --diff
