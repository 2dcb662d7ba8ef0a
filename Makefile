# Everything a fresh machine needs is installed by these targets: npm packages from the lock
# file, the Python virtualenv from requirements.txt, and Java 17 for local Spark.
SHELL := /bin/bash
STACK ?= dev
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GOFAKES3 := bench/out/bin/gofakes3
# The program runs under ts-node with the node flags `pulumi` uses (Pulumi.yaml's nodeargs).
NODE_ARGS := $(shell sed -n 's/^ *nodeargs: *//p' Pulumi.yaml)
TS := node $(NODE_ARGS) -r ts-node/register/transpile-only

.PHONY: install preview diff snapshot contracts test test-all test-ts test-py test-py-slow typecheck lint format bench clean

install: node_modules/.installed $(VENV)/.installed .java-ok

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

.java-ok:
	@bash tools/ensure-java.sh
	@touch $@

## Offline preview of a stack (no AWS account, no Pulumi CLI): make preview STACK=dev
preview: node_modules/.installed
	@$(TS) tools/preview.ts --stack $(STACK) $(ARGS)

## Write test/snapshots/<stack>.json for every stack; commit them with the change they show
snapshot: node_modules/.installed
	$(TS) tools/preview.ts --write-snapshot

## Offline `pulumi preview --diff`: working tree vs the committed snapshots (every stack, or
## STACK=dev); STACKS="dev prod" compares two stacks. Exits 2 when something changed.
diff: node_modules/.installed
	$(TS) tools/preview.ts $(if $(STACKS),--diff-stacks $(STACKS),--diff $(if $(filter command line,$(origin STACK)),--stack $(STACK)))

## Rewrite the scripts' argument contracts (in scripts/glue_etl_common.py) from pipelines/*.ts
contracts: node_modules/.installed
	$(TS) tools/contracts.ts

## The development loop: type check, lint, mocha (program, components, policies, CLI) and the
## in-process pytest suite (job scripts), run side by side; output is shown per target as it ends.
test: install
	@$(MAKE) --no-print-directory -j4 --output-sync=target typecheck lint test-ts test-py

## Every test (CI): the above, then the pytest tests that start jobs as their own processes
## (command-line runs, SIGKILLed runs, the Glue bootstrap).
test-all: test test-py-slow

# Caches live under node_modules/.cache, so a fresh clone (CI) checks everything from scratch and
# the development loop re-checks only what changed (the ESLint rules are not type-aware, so a
# file's result depends on that file alone).
CACHE := node_modules/.cache

typecheck: node_modules/.installed
	npx tsc --noEmit --incremental --tsBuildInfoFile $(CACHE)/tsc-root.tsbuildinfo -p .
	npx tsc --noEmit --incremental --tsBuildInfoFile $(CACHE)/tsc-policy.tsbuildinfo -p policy

lint: node_modules/.installed $(VENV)/.installed
	npx eslint --cache --cache-location $(CACHE)/eslint/ .
	npx prettier --check --cache .
	$(VENV)/bin/ruff check scripts test bench
	$(VENV)/bin/ruff format --check scripts test bench

test-ts: node_modules/.installed $(VENV)/.installed
	npx mocha

test-py: $(VENV)/.installed .java-ok
	$(VENV)/bin/pytest -q -m "not slow"

test-py-slow: $(VENV)/.installed .java-ok
	$(VENV)/bin/pytest -q -m slow

## Benchmarks (figures, not tests): every bench/*.py, one table of all harness results, then how
## the offline preview scales with the number of pipelines (bench/preview_scale.ts).
## Benches built on bench/harness.py append their rows to BENCH_RESULTS; BENCH_ARGS=--quick
## smoke-runs them.
BENCH_RESULTS := bench/out/results.jsonl
bench: $(VENV)/.installed .java-ok $(GOFAKES3)
	@mkdir -p bench/out && rm -f $(BENCH_RESULTS)
	@set -e; for b in $(filter-out bench/harness.py,$(wildcard bench/*.py)); do \
	  echo "== $$b"; \
	  if grep -qE '^(import|from) harness' $$b; then \
	    $(PY) $$b --results $(BENCH_RESULTS) $(BENCH_ARGS); else $(PY) $$b; fi; \
	done
	$(PY) bench/harness.py --table $(BENCH_RESULTS)
	@echo "== bench/preview_scale.ts"; $(TS) bench/preview_scale.ts

# A Go S3 server for the splitter bench, built from the Go module proxy; without Go the
# splitter bench runs on moto only.
$(GOFAKES3):
	@if command -v go >/dev/null; then \
	  GOBIN=$(CURDIR)/$(dir $@) go install github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0; \
	else echo "go not found: bench/splitter_s3.py will use moto only"; fi

format: node_modules/.installed $(VENV)/.installed
	npx prettier --write .
	$(VENV)/bin/ruff format scripts test bench
	$(VENV)/bin/ruff check --fix scripts test bench

clean:
	rm -rf node_modules $(VENV) dist .java-ok
