# Entry points of the project. `make help` lists them.
VENV ?= .venv
PY := $(VENV)/bin/python
ACTIVATE := . $(VENV)/bin/activate &&
ROLE ?= common
DEBIAN ?= 12

.PHONY: help venv test lint syntax unit molecule integration cache images images-rebuild lab lab-down lab-shell clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -qq --upgrade pip
	$(VENV)/bin/pip install -qq -r requirements.txt
	touch $@

venv: $(VENV)/.installed ## Create the virtualenv with the pinned tooling

test: venv ## Everything: lint, syntax check, unit tests, every Molecule scenario
	$(ACTIVATE) tests/run.sh

lint: venv ## yamllint + ansible-lint (production profile, strict)
	$(ACTIVATE) tests/run.sh lint

syntax: venv ## ansible-playbook --syntax-check of every playbook
	$(ACTIVATE) tests/run.sh syntax

unit: venv ## Control-node tests: group_vars loading, input validation
	$(ACTIVATE) tests/run.sh unit

molecule: venv images ## One role's scenario: make molecule ROLE=common DEBIAN=13
	$(ACTIVATE) cd roles/$(ROLE) && MLP_ROLE=$(ROLE) MLP_DEBIAN=$(DEBIAN) molecule test

molecule-%: venv images ## One role on Debian 12 and 13: make molecule-common
	$(ACTIVATE) MLP_SCENARIOS="$*@12 $*@13" tests/run.sh molecule

integration: venv ## The five-host lab as a test: bootstrap + site over SSH, idempotence, --check
	$(ACTIVATE) tests/run.sh integration

lab: venv ## Start and provision the five-host lab (re-run: converges, keeps the containers)
	tests/images/build.sh --lab --python $(DEBIAN)
	$(ACTIVATE) MLP_DEBIAN=$(DEBIAN) molecule converge -s lab
	@lab/next-steps.sh

lab-down: venv ## Remove the lab
	$(ACTIVATE) MLP_DEBIAN=$(DEBIAN) molecule destroy -s lab

lab-shell: ## A login shell as the operator on the lab's admin host
	docker exec -it mlp-lab-admin runuser -l debian

cache: ## Start the package cache the test containers share (apt-cacher-ng on :3142)
	tests/cache/start.sh

images: ## Build the Debian 12/13 systemd test images (cached)
	tests/images/build.sh --python

images-rebuild: ## Rebuild the test images from scratch
	tests/images/build.sh --rebuild --python

clean: ## Remove test containers, logs and the virtualenv
	-docker ps -aq --filter label=org.mlplatform.test=true | xargs -r docker rm -f
	rm -rf artifacts $(VENV)
