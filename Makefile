# Operator targets for the shared Letta stack and the app stack that uses it (the seed's
# `make letta-start` / `make dev` workflow), plus lettagate's own build, test and demo.
#
#   make letta-start     start the ONE shared Letta stack (Letta, Postgres, Redis, nginx, gate)
#   make dev             pre-flight (refuse a second Letta; start the shared one if it is not
#                        running), wait until it is ready WITH its agents, then the app stack
#   make letta-migrate FROM=VOLUME   copy the agents of an old Letta's Postgres volume into it
#   make help            every target
#
# Both compose files live in compose/, so each gets its own project name (-p): without it they
# would share one project and `up --remove-orphans` on one would remove the other's containers.

SHELL := /bin/bash
# Compose v2 (`docker compose`) where its plugin is installed, else compose v1 (`docker-compose`:
# Debian 12 ships 1.29 and no v2 plugin). COMPOSE=... on the command line or in the environment
# wins. Both read the same compose files (kept to keys 1.29 knows).
ifeq ($(origin COMPOSE),undefined)
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
endif
# More compose files, each added with -f after the stack's own: local overrides (the container
# test shortens healthcheck intervals with tests/containers/compose/*.timing.yml).
LETTA_COMPOSE_OVERRIDES ?=
DEV_COMPOSE_OVERRIDES ?=
LETTA_COMPOSE = $(strip $(COMPOSE) -p letta -f compose/docker-compose.letta.yml $(addprefix -f ,$(LETTA_COMPOSE_OVERRIDES)))
DEV_COMPOSE = $(strip $(COMPOSE) -p thoth-dev -f compose/docker-compose.dev.yml $(addprefix -f ,$(DEV_COMPOSE_OVERRIDES)))
# The lettagate binary for `make wait`/`make dev`; if it is not there, the check runs in a
# container of the app stack instead (docker compose run --rm lettagate wait ...).
LETTAGATE ?= $(firstword $(wildcard build/lettagate) $(shell command -v lettagate 2>/dev/null))
WAIT_TIMEOUT ?= 3m
# Agents the shared Letta must hold before the app may start (the same default as
# compose/docker-compose.dev.yml); 0 for the very first start, before any agent exists.
LETTAGATE_MIN_AGENTS ?= 1
LETTA_PG_PASSWORD ?= letta
# What a lettagate on the host sees: the loopback ports compose/docker-compose.letta.yml
# publishes (the same variables move them there).
LETTA_PORT ?= 8283
LETTA_NGINX_PORT ?= 8284
LETTA_PG_PORT ?= 5432
LETTA_REDIS_PORT ?= 6379
LOCAL_WAIT_ENV = LETTAGATE_LETTA_URL=http://127.0.0.1:$(LETTA_PORT) \
  LETTAGATE_POSTGRES_DSN=postgresql://letta:$(LETTA_PG_PASSWORD)@127.0.0.1:$(LETTA_PG_PORT)/letta \
  LETTAGATE_REDIS_URL=redis://127.0.0.1:$(LETTA_REDIS_PORT) \
  LETTAGATE_NGINX_URL=http://127.0.0.1:$(LETTA_NGINX_PORT) \
  LETTAGATE_MIN_AGENTS=$(LETTAGATE_MIN_AGENTS)
SERVICE ?=
DOCKER ?= docker
# `make dev` refuses to start beside a Letta that is not the shared stack's; 1 goes on anyway.
LETTA_ALLOW_DUPLICATE ?=
# make letta-migrate FROM=VOLUME [FORCE=1]
FROM ?=
FORCE ?=

.DEFAULT_GOAL := help
.PHONY: help letta-start letta-stop letta-status letta-logs letta-restart letta-migrate preflight wait \
  dev microservices dev-stop dev-logs build test demo image containers-test image-test docs

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-16s %s\n", $$1, $$2 }'

# ---- the shared Letta stack --------------------------------------------------------------
letta-start: ## start the shared Letta stack (persistent volumes letta-postgres, letta-data, letta-home)
	$(LETTA_COMPOSE) up -d

letta-stop: ## stop the shared Letta stack (WARNING: every project using Letta loses it; data stays)
	$(LETTA_COMPOSE) stop

letta-status: ## containers of the Letta stack and the gate's verdict (/readyz)
	$(LETTA_COMPOSE) ps
	$(LETTA_COMPOSE) exec -T letta-gate lettagate check || true

letta-logs: ## follow the Letta stack's logs (SERVICE=letta-server for one service)
	$(LETTA_COMPOSE) logs --tail=100 -f $(SERVICE)

letta-restart: ## restart the Letta stack's containers (volumes and network stay)
	$(LETTA_COMPOSE) restart

letta-migrate: ## copy the agents of an old Letta's Postgres volume into letta-postgres: FROM=VOLUME [FORCE=1] (scripts/letta-migrate)
	@FROM="$(FROM)" FORCE="$(FORCE)" DOCKER="$(DOCKER)" LETTAGATE="$(LETTAGATE)" \
	  LETTAGATE_IMAGE="lettagate:$${LETTAGATE_TAG:-local}" LETTA_PG_PORT="$(LETTA_PG_PORT)" \
	  LETTA_PG_PASSWORD="$(LETTA_PG_PASSWORD)" scripts/letta-migrate

# ---- the app stack -------------------------------------------------------------------------
wait: ## block until the shared Letta stack is ready with >= LETTAGATE_MIN_AGENTS agents (exit 1 after WAIT_TIMEOUT)
	@if [ -n "$(LETTAGATE)" ] && [ -x "$(LETTAGATE)" ]; then \
	  echo "lettagate wait (local $(LETTAGATE), up to $(WAIT_TIMEOUT))"; \
	  $(LOCAL_WAIT_ENV) $(LETTAGATE) wait --timeout $(WAIT_TIMEOUT); \
	else \
	  echo "lettagate wait (container, up to $(WAIT_TIMEOUT))"; \
	  LETTAGATE_MIN_AGENTS=$(LETTAGATE_MIN_AGENTS) $(DEV_COMPOSE) run --rm --no-deps lettagate wait --timeout $(WAIT_TIMEOUT); \
	fi || { echo "Letta is not ready (above): the app stack was not started. See docs/operations.md" >&2; exit 1; }

preflight: ## refuse a second Letta; start the shared stack if a container of it is missing or stopped (scripts/letta-preflight)
	@LETTA_COMPOSE="$(LETTA_COMPOSE)" DOCKER="$(DOCKER)" LETTA_PORT="$(LETTA_PORT)" LETTA_PG_PORT="$(LETTA_PG_PORT)" \
	  LETTA_ALLOW_DUPLICATE="$(LETTA_ALLOW_DUPLICATE)" scripts/letta-preflight

# preflight, then wait, one after the other (not prerequisites: `make -j` would run them at once)
dev: ## `make preflight`, `make wait`, then the app stack (it has no Letta of its own)
	@$(MAKE) --no-print-directory preflight
	@$(MAKE) --no-print-directory wait
	LETTAGATE_MIN_AGENTS=$(LETTAGATE_MIN_AGENTS) $(DEV_COMPOSE) up -d

microservices: ## the same pre-flight and wait, then the app stack with --profile microservices
	@$(MAKE) --no-print-directory preflight
	@$(MAKE) --no-print-directory wait
	LETTAGATE_MIN_AGENTS=$(LETTAGATE_MIN_AGENTS) $(DEV_COMPOSE) --profile microservices up -d

dev-stop: ## stop the app stack, microservices too (the shared Letta keeps running)
	$(DEV_COMPOSE) stop

dev-logs: ## follow the app stack's logs
	$(DEV_COMPOSE) logs --tail=100 -f $(SERVICE)

# ---- lettagate itself ----------------------------------------------------------------------
build: ## build lettagate into build/ (installs missing Debian packages first)
	source scripts/lib/deps.sh && lg_install_deps && lg_build build

test: ## the whole test suite (scripts/test)
	scripts/test

demo: ## lettagate against a local Letta-like stack (scripts/demo)
	scripts/demo

image: ## the container image lettagate:local (docker/Dockerfile)
	docker build -f docker/Dockerfile -t lettagate:local \
	  --build-arg LETTAGATE_REVISION="$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" .

containers-test: build ## the image and both compose stacks on a real Docker engine (tests/scripts/containers.sh; minutes)
	LG_BINARY=build/lettagate tests/scripts/containers.sh

image-test: ## the same with the image built from source by both Dockerfile stages (slow: a compile in Docker)
	LG_CONTAINERS_FROM_SOURCE=1 tests/scripts/containers.sh

docs: build ## regenerate docs/configuration.md from lettagate help
	scripts/gen-config-doc --binary build/lettagate
