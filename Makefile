# tsrun — everything a fresh machine needs is installed by these targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages: real OpenSSH servers for the test hosts, sudo for become, ansible-core
# for the benchmark's comparison; for the lab, containerd, the CNCF registry, openssl for
# the control plane's certificates (the control plane is built with the machine's Go).
DEB_PACKAGES := openssh-server openssh-client sudo sshpass ansible-core iproute2 util-linux procps time \
	containerd docker-registry openssl curl

# Host state lives outside the directories each test host makes private (/tmp, /srv, ...).
BENCH_HOSTS_DIR := /var/lib/tsrun/bench-hosts

.PHONY: help deps debian-packages npm-packages build typecheck lint coverage test demo bench provision unprovision lab-up lab-down lab-status lab-binaries clean

# The inventory `make provision` / `make unprovision` work on.
INVENTORY ?= inventory/hosts.ini

help:
	@echo "make demo   the lab, the registry mirror provisioned into it, a pull from every worker"
	@echo "make test   lint and formatting, the unit tests, then the integration tests (sets everything up)"
	@echo "make bench  compare tsrun with ansible-playbook on 4 and 20 test hosts"
	@echo "make lab-up / lab-status / lab-down   the homelab in a box (.lab/hosts.ini)"
	@echo "make provision / unprovision [INVENTORY=inventory/hosts.ini]"

deps: debian-packages npm-packages

debian-packages:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

npm-packages: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: npm-packages
	npm run --silent build

typecheck: npm-packages
	npx tsc -p tsconfig.test.json

# Lint and formatting (Biome), checked without writing: `npm run format` writes the formatting.
lint: npm-packages
	npm run --silent lint

# The lab's Kubernetes and cert-manager binaries, built once per machine from the Go module
# proxy and cached outside the work tree (the first build is slow; later ones are instant).
lab-binaries:
	./lab/k8s/build.sh
	./lab/cert-manager/build.sh

# Lint and formatting first, then the unit tests: they need no root, no hosts and no lab, and take seconds.
test: deps lint build typecheck
	npm run --silent test:unit
	$(MAKE) --no-print-directory lab-binaries
	npm run --silent test:integration

# Both test projects with coverage of src/: coverage/index.html, coverage/lcov.info.
coverage: deps build typecheck lab-binaries
	npm run --silent coverage

demo: deps build lab-binaries
	./examples/demo/run.sh

bench: deps build
	node bench/bench.js --hosts-dir "$(BENCH_HOSTS_DIR)"

lab-up: deps build lab-binaries
	node lab/dist/lab-cli.js up

lab-down: build
	node lab/dist/lab-cli.js down

lab-status: build
	node lab/dist/lab-cli.js status

provision: build
	bin/tsrun provision -i "$(INVENTORY)"

unprovision: build
	bin/tsrun unprovision -i "$(INVENTORY)"

clean:
	-node lab/dist/lab-cli.js down 2>/dev/null
	-node lab/dist/testhosts-cli.js down --state-dir "$(BENCH_HOSTS_DIR)" 2>/dev/null
	rm -rf dist lab/dist
