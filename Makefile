# vacc.qwen3 — the two commands a newcomer types: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)
INVENTORY ?= inventories/local
SCENARIOS := $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

.PHONY: help venv lab demo docs test test-unit sanity test-integration test-engine test-accuracy test-benchmark test-webui test-security test-monitoring lint test-molecule clean fleet fleet-down fleet-status test-fleet-lab bench-plan bench-distribution test-distribution

help:
	@echo "make demo   - the main job end to end on this machine (local inventory, offline)"
	@echo "make test   - unit, lint, sanity, integration, engine, molecule, benchmark, accuracy and browser tests"
	@echo "make venv   - .venv with the pinned tools (requirements-dev.txt)"
	@echo "make docs   - regenerate docs/roles/*.md and awx/job_templates.yml from the argument specs"
	@echo "make lab    - a local Docker engine, the offline Debian base image, the vLLM CPU stand-in image, the tiny Qwen3"
	@echo "make fleet  - FLEET_HOSTS (3) test servers + a gateway over real SSH, inventories/fleet/ (FLEET_LINK_MBIT: egress limit)"
	@echo "make fleet-down - remove the fleet, the engines its hosts started, its data and inventory (fleet-status: show it)"
	@echo "make bench-plan - plan 10, 100 and 1000 never-contacted hosts with vacc.qwen3.plan; prints hosts/s"
	@echo "make bench-distribution - weights to 2, 4, 6 fleet servers, strategy once vs broadcast; results/distribution/"
	@echo "make test-distribution - strategy broadcast on a 3-server fleet: copies, egress, resume, corrupt pieces, a dead server"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt roles/lab_tiny_model/files/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lab: venv
	bash scripts/lab-bootstrap.sh
	$(BIN)/ansible-playbook -i inventories/local playbooks/lab.yml

demo: venv lab
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/site.yml

test-unit: venv
	$(BIN)/python -m pytest -q tests/unit tests/tools

# Playbooks against this machine's Docker engine: needs `lab` (a new machine has no dockerd until then).
test-integration: venv lab
	$(BIN)/python -m pytest -q tests/integration

test-engine: venv lab
	$(BIN)/python -m pytest -q tests/engine

# ansible-test sanity (pep8, pylint, validate-modules, ansible-doc, import, shellcheck, ...) on a
# copy laid out as ansible_collections/vacc/qwen3; tests/sanity/ignore-*.txt says why each entry is there.
sanity: venv
	bash scripts/sanity.sh

lint: venv
	$(BIN)/ansible-lint --offline -q roles playbooks awx/configure.yml execution-environment.yml

docs: venv
	$(BIN)/python tools/gen_docs.py
	$(BIN)/python tools/gen_awx.py
	$(BIN)/python tools/gen_grafana.py

test-accuracy: venv lab
	$(BIN)/python -m pytest -q tests/accuracy

test-benchmark: venv lab
	$(BIN)/python -m pytest -q tests/benchmark

# The front door tried as an attacker would, against the live local service (two instances, then one).
test-security: venv lab
	$(BIN)/python -m pytest -q tests/security

bench-plan: venv
	$(BIN)/python tools/bench_plan.py --hosts 10,100,1000 --limit 60

test-webui: venv lab
	bash tests/webui/setup.sh
	$(BIN)/python -m pytest -q tests/webui

# Monitoring against real stand-in engines behind a test door (tests/monitoring; its own vacc-mon-*
# containers, removed afterwards): promtool rule tests, targets up, counters, an alert firing, the fleet page.
test-monitoring: venv lab
	bash tests/monitoring/setup.sh
	$(BIN)/python -m pytest -q tests/monitoring

test-molecule: venv lab
	@for s in $(SCENARIOS); do echo "== molecule scenario $$s"; $(BIN)/molecule test -s $$s; done

# The fleet lab (tools/fleet_lab.py): test servers reached over real SSH, engines on this machine's
# engine. FLEET_LINK_MBIT empty: no egress limit (a run without it removes an earlier limit).
FLEET_HOSTS ?= 3
FLEET_LINK_MBIT ?=
fleet: venv lab
	$(PYTHON) tools/fleet_lab.py up --hosts "$(FLEET_HOSTS)" --link-mbit "$(FLEET_LINK_MBIT)"

fleet-down:
	$(PYTHON) tools/fleet_lab.py down

fleet-status:
	$(PYTHON) tools/fleet_lab.py status

# tests/fleet: SSH, sibling engines, the link limit, idempotence; it ends with a fleet-down and starts the
# fleet again as it was. Not in TEST_STAGES yet.
test-fleet-lab: fleet
	$(BIN)/python -m pytest -q tests/fleet

# Weights to DIST_HOSTS servers of the fleet lab, strategies once and broadcast, the lab's 95 MB checkpoint, each
# server's egress limited to FLEET_LINK_MBIT (100 when unset); measured wall time and interface counters go to
# results/distribution/{table.md,summary.json}. Uses this checkout's fleet (put back as it was) or starts one
# and removes it afterwards.
DIST_HOSTS ?= 2,4,6
DIST_STRATEGIES ?= once,broadcast
bench-distribution: venv lab
	$(BIN)/python tools/bench_distribution.py --hosts "$(DIST_HOSTS)" --strategies "$(DIST_STRATEGIES)" \
	  --link-mbit "$(or $(FLEET_LINK_MBIT),100)" --out results/distribution

# tests/fleet/test_distribution.py: broadcast on three fleet servers (started when no fleet is up, removed
# afterwards; a running fleet of this checkout is used and put back as it was). A few minutes.
test-distribution: venv lab
	$(BIN)/python -m pytest -q tests/fleet/test_distribution.py

TEST_STAGES := test-unit lint sanity test-integration test-engine test-molecule test-security test-benchmark test-accuracy test-webui

# The live-service suites bring up the local service when it does not answer; a run that started it
# removes it again (a service that was already up, e.g. from `make demo`, stays as it was).
test:
	@had=$$(docker ps -q --filter label=vacc.qwen3.component=instance --filter label=vacc.qwen3.host=localhost 2>/dev/null || true); \
	if $(MAKE) --no-print-directory $(TEST_STAGES); then rc=0; else rc=$$?; fi; \
	if [ -z "$$had" ] && docker info >/dev/null 2>&1; then \
	  echo "== removing the local service the tests started"; \
	  $(BIN)/ansible-playbook -i inventories/local playbooks/teardown.yml >/dev/null || rc=1; \
	fi; \
	exit $$rc

clean:
	-$(BIN)/molecule destroy --all 2>/dev/null
	rm -rf .pytest_cache results
