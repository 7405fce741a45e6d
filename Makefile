# chorus-bot — build/test entry points (GNU make).
#
# Targets:
#   make venv          create .venv (python3 -m venv), upgrade pip, pip install -e '.[test]'
#                      (re-runs only when pyproject.toml changes; stamp: .venv/.installed)
#   make browser       make sure a Chromium is available (scripts/ensure-browser.sh)
#   make keyring-deps  make sure dbus-run-session + gnome-keyring-daemon exist
#                      (scripts/ensure-keyring-deps.sh; installs via apt only as root)
#   make test-servers  make sure Dovecot (IMAP) exists for the mail tests
#                      (scripts/ensure-test-servers.sh; installs via apt only as root)
#   make proxy-deps    make sure tinyproxy exists, for the proxy tests
#                      (scripts/ensure-proxy-deps.sh; installs via apt only as root)
#   make ocr-deps      make sure tesseract exists, to read screenshots in the masking tests
#                      (scripts/ensure-ocr-deps.sh; installs via apt only as root)
#   make test          venv + browser + keyring-deps + test-servers + proxy-deps + ocr-deps,
#                      then pytest inside a private
#                      D-Bus session with a throwaway GNOME keyring (scripts/with-keyring.sh)
#                      extra pytest args: make test PYTEST_ARGS='-k foo -x'
#                      in PYTEST_WORKERS parallel workers (pytest-xdist; default: one per
#                      core; PYTEST_WORKERS=0 runs everything in one process)
#   make demo          same setup, then scripts/demo.sh inside the throwaway keyring: the
#                      seed's documented path through the DGFiP portal (2017)
#   make demo PORTAL=2026   the same on today's Chorus Pro: its own login, a TOTP second
#                      factor, the documented path and the Raccordements one
#   make lint          ruff check + ruff format --check
#   make format        ruff check --fix + ruff format
#   make bench         venv + browser, then python -m bench
#   make clean         remove .venv and caches/build artefacts
#   make help          show this list

SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto
PORTAL ?= 2017

.PHONY: help venv browser keyring-deps test-servers proxy-deps ocr-deps test demo lint format \
	bench clean

help:
	@sed -n '/^# Targets:/,/^$$/p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

venv: $(STAMP)

# pip -qq shows errors only: not the warnings of a pip configuration that lists package
# folders absent from this machine ("Location ... is ignored"), nor setuptools' notice that
# an editable install of a flat layout uses an import finder. A failure still shows.
$(STAMP): pyproject.toml
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -qq --upgrade pip
	$(VPY) -m pip install -qq -e '.[test]'
	@touch $@

browser: venv
	@bash scripts/ensure-browser.sh

keyring-deps:
	@bash scripts/ensure-keyring-deps.sh

test-servers:
	@bash scripts/ensure-test-servers.sh

proxy-deps:
	@bash scripts/ensure-proxy-deps.sh

ocr-deps:
	@bash scripts/ensure-ocr-deps.sh

test: venv browser keyring-deps test-servers proxy-deps ocr-deps
	bash scripts/with-keyring.sh $(VPY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup \
		$(PYTEST_ARGS)

demo: venv browser keyring-deps
	PORTAL=$(PORTAL) bash scripts/with-keyring.sh bash scripts/demo.sh

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

bench: venv browser
	$(VPY) -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache test-results
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
