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

.PHONY: help venv lab demo docs dist release test test-unit sanity test-artifact test-consumer test-integration test-engine test-accuracy test-benchmark test-webui test-security test-monitoring test-quantize lint test-molecule clean fleet fleet-down fleet-status test-fleet-lab bench-plan bench-distribution test-distribution test-fleet test-rollout rehearsal rehearsal-down

## what each target is for: the `##` lines above it (this list)
help:
	@awk '/^## /{doc = doc (doc ? "\n                        " : "") substr($$0, 4); next} \
	  /^[a-z][a-z-]*:/ && doc {split($$0, t, ":"); printf "make %-18s %s\n", t[1], doc} {doc = ""}' $(MAKEFILE_LIST)

## .venv with the pinned tools (requirements-dev.txt)
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt roles/lab_tiny_model/files/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## a local Docker engine, the offline Debian base image, the vLLM CPU stand-in image, the tiny Qwen3
lab: venv
	bash scripts/lab-bootstrap.sh
	$(BIN)/ansible-playbook -i inventories/local playbooks/lab.yml

## the main job end to end on this machine (local inventory, offline)
demo: venv lab
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/site.yml

test-unit: venv
	$(BIN)/python -m pytest -q -n 2 tests/unit tests/tools

# Playbooks against this machine's Docker engine: needs `lab` (a new machine has no dockerd until then).
test-integration: venv lab
	$(BIN)/python -m pytest -q tests/integration

test-engine: venv lab
	$(BIN)/python -m pytest -q tests/engine

# The ansible-core versions meta/runtime.yml claims, each in a venv of its own made from PyPI alone
# (tests/cores/<version>.txt, under .cache/cores/): sanity runs with every one, the consumer test with
# the oldest and the newest, the build with the newest.
CORES := $(sort $(basename $(notdir $(wildcard tests/cores/*.txt))))
CONSUMER_CORES := $(firstword $(CORES)) $(lastword $(CORES))
BUILD_CORE := $(lastword $(CORES))
CORE_BIN := .cache/cores/$(BUILD_CORE)/bin
COLLECTION_VERSION = $(shell sed -n 's/^version: *//p' galaxy.yml)
ARTIFACT = dist/vacc-qwen3-$(COLLECTION_VERSION).tar.gz

.cache/cores/%/.installed: tests/cores/%.txt
	rm -rf .cache/cores/$*
	$(PYTHON) -m venv .cache/cores/$*
	.cache/cores/$*/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

# From the files git knows, through galaxy.yml's manifest (scripts/build.sh); beside it the dependencies'
# tarballs (from the copies the venv's `ansible` package bundles, inside galaxy.yml's bounds) and
# dist/requirements.yml naming them all: `ansible-galaxy collection install --offline -r dist/requirements.yml`.
## the collection artifact, dist/vacc-qwen3-<version>.tar.gz (galaxy.yml's allow-list), its dependencies beside it
dist: venv .cache/cores/$(BUILD_CORE)/.installed
	bash scripts/build.sh $(CORE_BIN) dist
	$(BIN)/python tools/dist_deps.py dist $(ARTIFACT)

# make release VERSION=X.Y.Z (tools/release.py): refuses while a change since the last release has no
# fragment in changelogs/fragments/; commit and tag what it leaves.
## VERSION=X.Y.Z: check every change since the last release has a changelog fragment,
## bump galaxy.yml, write CHANGELOG.rst, regenerate the docs, build
release: venv .cache/cores/$(BUILD_CORE)/.installed
	$(CORE_BIN)/python tools/release.py release "$(VERSION)"
	$(MAKE) --no-print-directory docs dist
	@echo "== release $(VERSION) built: $(ARTIFACT); review, commit, tag v$(VERSION), then"
	@echo "   $(BIN)/python tools/release.py dev  (galaxy.yml to the next development version) and commit that"

# The built tarball against the allow-list (tests/artifact), from a checkout with a user's clutter in it.
## the artifact against its allow-list
test-artifact: venv .cache/cores/$(BUILD_CORE)/.installed
	$(BIN)/python -m pytest -q tests/artifact

# ansible-test sanity (pep8, pylint, validate-modules, ansible-doc, import, yamllint, shellcheck, ...)
# on the artifact installed with ansible-galaxy, with each claimed ansible-core; tests/sanity/ignore-<v>.txt
# name shipped paths only, each with its reason.
# The cores side by side (each is mostly one busy process); each one's output follows when all are done.
## ansible-test sanity on the artifact with each claimed ansible-core
sanity: dist $(foreach v,$(CORES),.cache/cores/$(v)/.installed)
	@for v in $(CORES); do (bash scripts/sanity.sh $$v $(ARTIFACT) > .cache/sanity-$$v.log 2>&1; echo $$? > .cache/sanity-$$v.rc) & done; \
	wait; rc=0; for v in $(CORES); do cat .cache/sanity-$$v.log; \
	  [ "$$(cat .cache/sanity-$$v.rc)" = 0 ] || { echo "== sanity FAILED with ansible-core $$v"; rc=1; }; done; exit $$rc

# The tarball installed into a temporary Ansible project of a user's, playbooks run by FQCN (tests/consumer).
## the artifact installed into a fresh project, run with the oldest and newest core
test-consumer: venv $(foreach v,$(CONSUMER_CORES),.cache/cores/$(v)/.installed)
	$(BIN)/python -m pytest -q tests/consumer

## ruff (lint and format check) on the Python, ansible-lint on roles and playbooks
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --offline -q roles playbooks $(filter-out %/job_templates.yml,$(wildcard docs/awx-project/*.yml)) execution-environment.yml

## regenerate docs/roles/*.md, docs/awx-project/, the Grafana dashboard and CHANGELOG from the specs
docs: venv
	$(BIN)/python tools/gen_docs.py
	$(BIN)/python tools/gen_awx.py
	$(BIN)/python tools/gen_grafana.py
	$(BIN)/python tools/release.py changelog

test-accuracy: venv lab
	$(BIN)/python -m pytest -q tests/accuracy

# The quantize role on this CPU (tests/quantize): the lab's tiny Qwen3-MoE and dense Qwen3 quantized with
# gptqmodel by the vendor's recipe, group 128; verified, refused when broken, read by transformers 4.53.
# The first run builds gptqmodel's venv in the weights directory (~100 s); each quantization takes seconds.
test-quantize: venv lab
	$(BIN)/python -m pytest -q tests/quantize

test-benchmark: venv lab
	$(BIN)/python -m pytest -q tests/benchmark

# The front door tried as an attacker would, against the live local service (two instances, then one).
test-security: venv lab
	$(BIN)/python -m pytest -q tests/security

## plan 10, 100 and 1000 never-contacted hosts with vacc.qwen3.plan; prints hosts/s
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
## FLEET_HOSTS (3) test servers + a gateway over real SSH, inventories/fleet/ (FLEET_LINK_MBIT: egress limit)
fleet: venv lab
	$(PYTHON) tools/fleet_lab.py up --hosts "$(FLEET_HOSTS)" --link-mbit "$(FLEET_LINK_MBIT)"

## remove the fleet, the engines its hosts started, its data and inventory
fleet-down:
	$(PYTHON) tools/fleet_lab.py down

## show the fleet lab
fleet-status:
	$(PYTHON) tools/fleet_lab.py status

# tests/fleet/test_fleet_lab.py: SSH, sibling engines, the link limit, idempotence; it ends with a
# fleet-down and starts the fleet again as it was.
test-fleet-lab: fleet
	$(BIN)/python -m pytest -q tests/fleet/test_fleet_lab.py

# In make test: the fleet lab, broadcast distribution, and the rollout fault tests on 2 servers behind the
# gateway under streaming load (the gateway's key and paths, a rolling change with a corrupted checkpoint, a
# broken image rolled back, a server unreachable mid-rollout); make test-rollout runs them on 3 and adds the
# canary. A fleet this run started is removed afterwards; one that was up before comes back with its size and link.
ROLLOUT_IN_TEST := not canary
test-fleet: venv lab
	@had=$$(docker ps -aq --filter label=vacc.qwen3.lab=fleet-host); rc=0; \
	$(BIN)/python -m pytest -q tests/fleet/test_fleet_lab.py tests/fleet/test_distribution.py || rc=$$?; \
	[ $$rc != 0 ] || ROLLOUT_SERVERS=2 ROLLOUT_PACE_S=3 $(BIN)/python -m pytest -q tests/fleet/test_rollout.py -k "$(ROLLOUT_IN_TEST)" || rc=$$?; \
	if [ -z "$$had" ]; then $(PYTHON) tools/fleet_lab.py down >/dev/null || rc=1; fi; \
	exit $$rc

# Every rollout test on 3 servers (ROLLOUT_SERVERS): the ones make test runs on 2, plus a canary missing its
# SLO; about 12 CPU-engine starts, 25-30 min on this 2-core machine.
# Run it before changing deploy.yml, vllm_service or gateway.
ROLLOUT_SERVERS ?= 3
## every rollout test on 3 servers: make test's 4 plus the canary (25-30 min)
test-rollout: venv lab
	ROLLOUT_SERVERS=$(ROLLOUT_SERVERS) $(BIN)/python -m pytest -q tests/fleet/test_rollout.py

# Weights to DIST_HOSTS servers of the fleet lab, strategies once and broadcast, the lab's 95 MB checkpoint, each
# server's egress limited to FLEET_LINK_MBIT (100 when unset); measured wall time and interface counters go to
# results/distribution/{table.md,summary.json}. Uses this checkout's fleet (put back as it was) or starts one
# and removes it afterwards.
DIST_HOSTS ?= 2,4,6
DIST_STRATEGIES ?= once,broadcast
## weights to 2, 4, 6 fleet servers, strategy once vs broadcast; results/distribution/
bench-distribution: venv lab
	$(BIN)/python tools/bench_distribution.py --hosts "$(DIST_HOSTS)" --strategies "$(DIST_STRATEGIES)" \
	  --link-mbit "$(or $(FLEET_LINK_MBIT),100)" --out results/distribution

# tests/fleet/test_distribution.py: broadcast on three fleet servers (started when no fleet is up, removed
# afterwards; a running fleet of this checkout is used and put back as it was). A few minutes.
## strategy broadcast on a 3-server fleet: copies, egress, resume, corrupt pieces, a dead server
test-distribution: venv lab
	$(BIN)/python -m pytest -q tests/fleet/test_distribution.py

# A customer's first contact (tools/rehearsal.py): the fleet lab as their servers, a TLS + htpasswd registry
# (Debian's docker-registry) holding the images under the vendor's paths, a project of theirs in a temporary
# directory with its own ansible-core 2.17 venv (PyPI) and dist/ installed offline; the FQCN playbooks in order, every container
# checked to run an image pulled from that registry. results/rehearsal/summary.json; everything is removed
# at the end (REHEARSAL_KEEP=1 keeps it for make rehearsal-down). Run it under flock /tmp/vacc-heavy.lock.
REHEARSAL_HOSTS ?= 2
## a customer's first contact end to end: own project, tarball, vaulted registry login, playbooks by FQCN
rehearsal: venv lab dist
	REHEARSAL_HOSTS=$(REHEARSAL_HOSTS) $(PYTHON) tools/rehearsal.py run

## remove what a rehearsal left: fleet, engines, registry, its CA in /etc/docker/certs.d, the project
rehearsal-down:
	$(PYTHON) tools/rehearsal.py down

# Every suite ends with its slowest tests, so a stage's time can be traced to the tests that take it
# (results/stages/*.log for the background ones); PYTEST_ADDOPTS= on the command line turns it off.
export PYTEST_ADDOPTS ?= --durations=8 --durations-min=10

TEST_STAGES := test-unit lint test-artifact sanity test-consumer test-integration test-engine test-fleet test-molecule test-security test-benchmark test-accuracy test-quantize test-webui test-monitoring

# Two groups of stages run in the background, each one stage after another, beside the foreground stages from
# its FROM stage on, and are waited for before its UNTIL stage (or at the end); each logs to results/stages/<stage>.log.
# TEST_BACKGROUND: the stages that need no Docker engine, no local service and no shared port (the checkout and
#   the built artifact only), beside test-unit, test-integration and test-engine (from the first stage: the unit
#   stage's playbook runs leave a core idle about half the time); joined before test-fleet, whose rollout tests
#   hold latency bounds under load.
# TEST_BACKGROUND_LATE: stages with containers and ports of their own (molecule's test hosts on 18000/19000; the
#   quantize role on the CPU), beside benchmark, accuracy and the browser tests (measured: 702 s side by side,
#   1073 s one after another, every test passing); joined before test-monitoring, whose alerts have time windows.
# TEST_BACKGROUND= TEST_BACKGROUND_LATE= runs every stage in the foreground, one after another.
TEST_BACKGROUND ?= lint test-artifact sanity test-consumer
TEST_BACKGROUND_FROM ?= test-unit
TEST_BACKGROUND_UNTIL ?= test-fleet
TEST_BACKGROUND_LATE ?= test-molecule test-quantize
TEST_BACKGROUND_LATE_FROM ?= test-benchmark
TEST_BACKGROUND_LATE_UNTIL ?= test-monitoring
# What the Docker stages share (their `lab` prerequisite): made once, first; the stages then skip it (make -o):
# lab-bootstrap.sh and lab.yml again change nothing but cost each of the ten Docker stages ~5 s.
TEST_SETUP ?= lab
# A group whose FROM stage is not among TEST_STAGES runs in the foreground instead.
TEST_EARLY = $(if $(filter $(TEST_BACKGROUND_FROM),$(TEST_STAGES)),$(filter $(TEST_BACKGROUND),$(TEST_STAGES)))
TEST_LATE = $(if $(filter $(TEST_BACKGROUND_LATE_FROM),$(TEST_STAGES)),$(filter $(TEST_BACKGROUND_LATE),$(TEST_STAGES)))
TEST_FOREGROUND = $(filter-out $(TEST_EARLY) $(TEST_LATE),$(TEST_STAGES))

# The live-service suites bring up the local service when it does not answer; a run that started it
# removes it again (a service that was already up, e.g. from `make demo`, stays as it was).
## every stage in TEST_STAGES (two groups in the background beside the others), seconds per stage in
## results/test-stages.txt, each background stage's log in results/stages/
test: venv
	@had=$$(docker ps -q --filter label=vacc.qwen3.component=instance --filter label=vacc.qwen3.host=localhost 2>/dev/null || true); \
	rc=0; mkdir -p results/stages; : > results/test-stages.txt; rm -f results/stages/*; \
	declare -A pid; \
	start_group() { \
	  echo "== in the background, one after another (logs in results/stages/): $$2"; : > results/stages/$$1.txt; \
	  ( for b in $$2; do \
	      b0=$$SECONDS; brc=0; $(MAKE) --no-print-directory -o $(TEST_SETUP) $$b > results/stages/$$b.log 2>&1 || brc=$$?; \
	      echo "$$b $$((SECONDS - b0)) s (background)$$( [ $$brc = 0 ] || echo ' FAILED')" >> results/stages/$$1.txt; \
	      [ $$brc = 0 ] || exit 1; \
	    done ) & pid[$$1]=$$!; \
	}; \
	join_group() { \
	  [ -n "$${pid[$$1]:-}" ] || return 0; \
	  echo "== waiting for the background stages: $$2"; wait $${pid[$$1]} || rc=1; unset "pid[$$1]"; \
	  cat results/stages/$$1.txt >> results/test-stages.txt; \
	  for b in $$2; do \
	    if grep -q "^$$b .*FAILED" results/stages/$$1.txt; then \
	      echo "== $$b FAILED in the background; the end of results/stages/$$b.log:"; tail -n 60 results/stages/$$b.log; \
	    fi; \
	  done; \
	}; \
	t0=$$SECONDS; $(MAKE) --no-print-directory $(TEST_SETUP) || rc=$$?; \
	echo "$(TEST_SETUP) $$((SECONDS - t0)) s$$( [ $$rc = 0 ] || echo ' FAILED')" >> results/test-stages.txt; \
	for stage in $(TEST_FOREGROUND); do \
	  [ $$rc = 0 ] || break; \
	  if [ "$$stage" = "$(TEST_BACKGROUND_FROM)" ] && [ -n "$(TEST_EARLY)" ]; then start_group early "$(TEST_EARLY)"; fi; \
	  if [ "$$stage" = "$(TEST_BACKGROUND_LATE_FROM)" ] && [ -n "$(TEST_LATE)" ]; then start_group late "$(TEST_LATE)"; fi; \
	  if [ "$$stage" = "$(TEST_BACKGROUND_UNTIL)" ]; then join_group early "$(TEST_EARLY)"; [ $$rc = 0 ] || break; fi; \
	  if [ "$$stage" = "$(TEST_BACKGROUND_LATE_UNTIL)" ]; then join_group late "$(TEST_LATE)"; [ $$rc = 0 ] || break; fi; \
	  t0=$$SECONDS; $(MAKE) --no-print-directory -o $(TEST_SETUP) $$stage || rc=$$?; \
	  echo "$$stage $$((SECONDS - t0)) s$$( [ $$rc = 0 ] || echo ' FAILED')" >> results/test-stages.txt; \
	done; \
	join_group early "$(TEST_EARLY)"; join_group late "$(TEST_LATE)"; \
	echo "== seconds per stage (results/test-stages.txt):"; cat results/test-stages.txt; \
	if grep -q FAILED results/test-stages.txt; then echo "== FAILED: $$(grep FAILED results/test-stages.txt | cut -d' ' -f1 | xargs)"; fi; \
	if [ -z "$$had" ] && docker info >/dev/null 2>&1; then \
	  echo "== removing the local service the tests started"; \
	  $(BIN)/ansible-playbook -i inventories/local playbooks/teardown.yml >/dev/null || rc=1; \
	fi; \
	exit $$rc

clean:
	-$(BIN)/molecule destroy --all 2>/dev/null
	rm -rf .pytest_cache results dist
