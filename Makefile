# Entry points of the project. `make help` lists them. No target runs make again: each one
# calls the scripts that do the work (scripts/, lab/, tests/).
VENV ?= .venv
PY := $(VENV)/bin/python
ACTIVATE := . $(VENV)/bin/activate &&
# The tested Debian releases: tests/platforms.env, the one definition.
ROLE ?= common
DEBIAN ?= $(shell . tests/platforms.env && echo "$$MLP_DEBIAN_DEFAULT")
LAB_DEBIAN ?= $(shell . tests/platforms.env && echo "$$MLP_LAB_DEBIAN")

.PHONY: help prepare prepare-test venv test lint syntax unit molecule integration cache images images-rebuild lab lab-down lab-shell clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

prepare: ## Prepare this machine for the lab: Docker engine, debootstrap, python3-venv (idempotent)
	scripts/prepare-machine.sh lab

prepare-test: ## The same for the tests (adds Chromium for the JupyterLab screenshot)
	scripts/prepare-machine.sh test

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -qq --upgrade pip
	$(VENV)/bin/pip install -qq -r requirements.txt
	touch $@

venv: $(VENV)/.installed ## Create the virtualenv with the pinned tooling

test: prepare-test venv ## Everything: lint, syntax check, unit tests, every Molecule scenario, the lab
	$(ACTIVATE) tests/run.sh

lint: venv ## yamllint + ansible-lint (production profile, strict)
	$(ACTIVATE) tests/run.sh lint

syntax: venv ## ansible-playbook --syntax-check of every playbook
	$(ACTIVATE) tests/run.sh syntax

unit: venv ## Control-node tests: group_vars loading, input validation, the entry points
	$(ACTIVATE) tests/run.sh unit

molecule: prepare-test venv ## One role's scenario: make molecule ROLE=common DEBIAN=13
	$(ACTIVATE) MLP_SCENARIOS="$(ROLE)@$(DEBIAN)" tests/run.sh molecule

molecule-%: prepare-test venv ## One role on every tested release: make molecule-common
	$(ACTIVATE) MLP_SCENARIOS="$(foreach v,$(shell . tests/platforms.env && echo "$$MLP_DEBIAN_VERSIONS"),$*@$(v))" \
	  tests/run.sh molecule

integration: prepare venv ## The five-host lab as a test: make lab's path, idempotence, --check, a host down, Ctrl-C
	$(ACTIVATE) tests/run.sh integration

lab: prepare venv ## Start and provision the five-host lab, print its URLs (re-run: converges, keeps the containers)
	$(ACTIVATE) MLP_DEBIAN=$(LAB_DEBIAN) lab/up.sh

lab-down: venv ## Remove the lab
	$(ACTIVATE) MLP_DEBIAN=$(LAB_DEBIAN) molecule destroy -s lab

lab-shell: ## A login shell as the operator on the lab's admin host
	docker exec -it mlp-lab-admin runuser -l debian

cache: ## Start the package cache the test containers share (apt-cacher-ng on :3142)
	tests/cache/start.sh

images: prepare ## Build the systemd test images of every tested release (cached)
	tests/images/build.sh --python

images-rebuild: prepare ## Rebuild the test images from scratch
	tests/images/build.sh --rebuild --python

clean: ## Remove test containers, logs and the virtualenv
	-docker ps -aq --filter label=org.mlplatform.test=true | xargs -r docker rm -f
	rm -rf artifacts $(VENV)
