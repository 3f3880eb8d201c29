# `make up` deploys the stack (STACK=dev by default); `make test` runs every test and check.
# Every target that talks to Pulumi goes through scripts/stack.sh, which alone chooses the state
# backend, so up, preview, outputs, kubeconfig and destroy always find the same stack.
# ARGS passes extra arguments to pulumi, e.g. `make preview ARGS="--target ..."`.
STACK ?= dev
VENV ?= venv
PYTHON ?= python3
ARGS ?=
# `make mutation MODULES="gpu quotas"` measures only those (names as in scripts/mutation.py); default all.
MODULES ?=
# checkov pins packaging<24 and boto3==1.35.49, which pulumi and pytest cannot share: own virtualenv.
CHECKOV_VENV ?= .venv-checkov

.PHONY: up preview destroy outputs kubeconfig backend render image-cache test venv mutation

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
	$(VENV)/bin/actionlint -shellcheck= -pyflakes= .github/workflows/pulumi.yml
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(VENV)/bin/pytest

up preview destroy outputs kubeconfig:
	STACK=$(STACK) ./scripts/stack.sh $@ $(ARGS)

# Prints `export PULUMI_BACKEND_URL=...` for running pulumi by hand: eval "$$(make -s backend)".
backend:
	@STACK=$(STACK) ./scripts/stack.sh backend

# No AWS account and no Pulumi CLI: the program run offline (components/offline.py), written to rendered/$(STACK)/.
render: $(VENV)/.installed
	$(VENV)/bin/python -m components.render --stack $(STACK)

# An EBS snapshot holding IMAGES for a pool's imageCache (docs/performance.md): needs AWS credentials,
# a SUBNET with egress to the registries, and the cluster's Kubernetes minor; ARGS passes more
# options to scripts/image_cache.py (--ami-release, --instance-profile, --size-gib, --standard ...).
REGION ?= us-east-1
KUBERNETES_VERSION ?= 1.35
image-cache: $(VENV)/.installed
	@test -n "$(IMAGES)" -a -n "$(SUBNET)" || { echo 'usage: make image-cache IMAGES="repo/image:tag ..." SUBNET=subnet-... [REGION=...] [KUBERNETES_VERSION=...] [ARGS=...]' >&2; exit 2; }
	$(VENV)/bin/python scripts/image_cache.py --region $(REGION) --subnet-id $(SUBNET) --kubernetes-version $(KUBERNETES_VERSION) $(ARGS) $(IMAGES)

# Mutation testing of the pure modules, each against its own test files; prints each one's score.
# Not part of `make test` (see docs/testing.md for why and for the scores).
mutation: $(VENV)/.installed
	$(VENV)/bin/python scripts/mutation.py $(MODULES)
