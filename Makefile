# memo — build, run and test. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO        ?= go
BIN       := $(CURDIR)/bin
BUILD     := build
export PATH := $(BIN):$(PATH)

# Lambda artifacts: provided.al2023 runs a static binary named bootstrap.
FUNCTIONS    := splitter compute
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
# lambda-bin(ARCH,FUNCTION): the one rule that builds a function binary.
# build/arm64/* go into the zips Terraform deploys; build/amd64/* run in the
# twin under aws-lambda-rie (this machine is amd64). Only GOARCH differs.
lambda-bin = GOOS=linux GOARCH=$(1) CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD)/$(1)/$(2)/bootstrap ./lambda/$(2)

# Pinned tools, installed into bin/ (git-ignored) when missing.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
GREMLINS_VERSION := v0.6.0
DEADCODE_VERSION := v0.42.0
# A count, not a duration: with a duration Go 1.26's fuzz coordinator can
# fail a clean run with "context deadline exceeded" when the deadline fires
# while a worker is mid-input (golang/go#75804, fixed in Go 1.27; CI hit it
# on FuzzEvaluate). 100000 inputs take 5-15 s per target on this machine.
FUZZTIME    ?= 100000x

# Mutation testing (make mutate): the domain packages, one at a time. One
# worker and one CPU per test run (-cpu=1) keep it within a 2-core machine
# shared with other work; -short skips the timing and heap tests (they
# measure, they do not decide a mutant). Both go through GOFLAGS: gremlins
# v0.6.0's own --test-cpu passes "-cpu 1" as one argument, go test fails to
# start, and every mutant is reported KILLED. A mutant gets 5x the package's clean test time
# before it counts as TIMED OUT. The gate counts a timed-out mutant as
# detected (a mutant that hangs the tests is caught, as PIT and Stryker count
# it); gremlins' own "Test efficacy" leaves timeouts out. gremlins v0.6.0
# exits 0 below its own --threshold-efficacy, so the gate is checked here.
MUTATE_PKGS     ?= internal/pipeline/retry internal/pipeline/record internal/ops/status internal/pipeline/compute \
                   internal/pipeline/splitter internal/pipeline/eval internal/pipeline/batch
MUTATE_WORKERS  ?= 1
MUTATE_EFFICACY ?= 90
MUTATE_OUT      ?= $(BUILD)/mutate

.PHONY: help build build-twin run test lint unit fuzz-smoke e2e bench mutate mutate-smoke tools clean FORCE

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: $(BUILD)/splitter.zip $(BUILD)/compute.zip ## the two Lambda zips (linux/arm64 bootstrap) under build/

$(BUILD)/%.zip: FORCE
	$(call lambda-bin,arm64,$*)
	$(GO) run ./tools/mkzip -o $@ $(BUILD)/arm64/$*/bootstrap

build-twin: ## the same function binaries for linux/amd64, for the twin's aws-lambda-rie
	$(foreach f,$(FUNCTIONS),$(call lambda-bin,amd64,$(f));)

run: ## run the seed batch through the local twin (needs moto: pip install "moto[server]")
	@command -v moto_server >/dev/null || { echo 'make run needs moto_server: pip install "moto[server]"' >&2; exit 1; }
	$(GO) run ./cmd/memo local --batch examples/work.json

test: lint unit tf-check fuzz-smoke mutate-smoke ## every check: lint, unit + integration (moto) + twin end-to-end, Terraform, fuzz and mutation smoke
	@echo "make test: all checks passed"

lint: bin/deadcode ## gofmt, go vet, go mod tidy -diff (memo's module and tools/tfprovider's) and deadcode -test
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; exit 1; }
	$(GO) -C tools/tfprovider vet ./...
	@$(GO) -C tools/tfprovider mod tidy -diff || { echo "tools/tfprovider/go.mod is not tidy: run go mod tidy there" >&2; exit 1; }
	@out=$$(deadcode -test ./...); \
	  if [ -n "$$out" ]; then echo "deadcode -test ./... found unreachable functions (delete them, or use them):"; echo "$$out"; exit 1; fi

# test/policy is left to tf-check (tf-policy), which make test also runs:
# it plans copies of terraform/ for about a minute, once is enough.
unit: bin/aws-lambda-rie ## go test ./... but test/policy (integration tests start their own moto_server; the twin e2e runs the built binaries)
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/test/policy$$')
	$(GO) -C tools/tfprovider test -count=1 ./...

fuzz-smoke: ## run each fuzz target for FUZZTIME (default 100000x: that many inputs)
	@for t in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' internal | sed 's/func //' | sort -u); do \
	  pkg=$$(grep -rlE "^func $$t\(" --include='*_test.go' internal | xargs -n1 dirname | head -1); \
	  echo "fuzz $$t in ./$$pkg for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./$$pkg > /tmp/memo-fuzz.log 2>&1 || { cat /tmp/memo-fuzz.log; exit 1; }; \
	done

e2e: ## Terratest against AWS (MEMO_E2E_TARGET=aws); skips without credentials
	MEMO_E2E_TARGET=aws $(GO) test -count=1 -timeout 90m -v ./test/e2e/

e2e-clean: ## tear down what killed AWS e2e runs left (test/e2e/.test-data/runs), then list resources still tagged memo-e2e
	MEMO_E2E_TARGET=aws $(GO) test -count=1 -timeout 60m -v -run '^TestCleanLeftovers$$' ./test/e2e/

bench: build build-twin bin/aws-lambda-rie ## performance and cost figures, one "key value" line each (see docs/performance.md; needs moto)
	@command -v moto_server >/dev/null || { echo 'make bench needs moto_server: pip install "moto[server]"' >&2; exit 1; }
	$(GO) run ./tools/bench -go $(GO) -log $(BUILD)/bench.log

mutate: bin/gremlins ## mutation testing of the domain packages (gremlins; about an hour on 2 busy cores; not part of make test)
	@mkdir -p $(MUTATE_OUT); fail=0; \
	for p in $(MUTATE_PKGS); do \
	  log=$(MUTATE_OUT)/$$(basename $$p).txt; \
	  echo "== gremlins $$p (log: $$log)"; \
	  GOFLAGS='-short -cpu=1' gremlins unleash --workers $(MUTATE_WORKERS) --timeout-coefficient 5 \
	    -o $(MUTATE_OUT)/$$(basename $$p).json ./$$p > $$log 2>&1 || fail=1; \
	  grep -E 'LIVED|TIMED OUT' $$log || true; \
	  grep -E '^(Killed|Timed out|Test efficacy|Mutator coverage|ERROR)' $$log || fail=1; \
	  awk -v min=$(MUTATE_EFFICACY) -F'[:,] *' '/^Killed:/ { k = $$2; l = $$4 } /^Timed out:/ { t = $$2 } \
	    END { if (k + l + t == 0) exit 1; d = 100 * (k + t) / (k + l + t); \
	          printf "detected (killed + timed out) / (killed + timed out + lived): %.2f%%\n", d; exit !(d >= min) }' $$log || fail=1; \
	done; \
	[ $$fail = 0 ] || { echo "make mutate: a package is below $(MUTATE_EFFICACY)% efficacy (or gremlins failed)" >&2; exit 1; }

mutate-smoke: ## make mutate over the three smallest domain packages (retry, record, status): 1-2.5 min here
	@$(MAKE) --no-print-directory mutate MUTATE_PKGS="internal/pipeline/retry internal/pipeline/record internal/ops/status" MUTATE_OUT=$(BUILD)/mutate-smoke

tools: bin/terraform bin/tflint bin/tfsec bin/aws-lambda-rie bin/deadcode ## pinned tools into bin/

bin/gremlins:
	GOBIN=$(BIN) $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION)

bin/deadcode:
	GOBIN=$(BIN) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)

bin/aws-lambda-rie:
	GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

clean: ## remove build outputs
	rm -rf $(BUILD)

FORCE:

-include terraform.mk
