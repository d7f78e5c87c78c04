# terraform.mk: memo's Terraform targets. The Makefile includes it (define
# BIN before the include if you want another tool directory) and provides
# `build`, which writes build/splitter.zip and build/compute.zip.
#
#   make tf-check                  fmt, tflint, tfsec, validate + plans, policy tests: offline
#   make deploy  WORKSPACE=dev     build, select or create the workspace, apply env/dev.tfvars
#   make destroy WORKSPACE=dev     build, destroy, delete the workspace
#   make tf-plan WORKSPACE=dev     build, plan only
#   make tf-validate               init -backend=false, validate and plans with each checked
#                                  CLI (Terraform 1.5.7 and 1.13.3, OpenTofu 1.10.6), offline
#
# Options: TF=terraform|tofu|PATH (the CLI deploy, tf-plan and destroy run;
# default: terraform, else tofu, from your PATH, else the pinned OpenTofu),
# AUTO_APPROVE=1 (no yes prompt), TF_ARGS='-var x=y ...' (more apply,
# plan or destroy arguments), KEEP_WORKSPACE=1 (destroy keeps the workspace),
# ALLOW_DESTROY=<workspace> (destroy a protected workspace: prod, deletion
# protection, force_destroy = false), PREFLIGHT=warn|off (deploy's check of
# the account's Lambda concurrency; tools/tfguard).
# terraform/README.md walks through a deployment.

BIN ?= bin
GO ?= go

TF_DIR := terraform
TERRAFORM := $(BIN)/terraform
TFLINT := $(BIN)/tflint
TFSEC := $(BIN)/tfsec

TERRAFORM_VERSION := v1.5.7
TFLINT_VERSION := v0.61.0
TFSEC_VERSION := v1.28.14

# The CLIs make tf-check validates and plans with: Terraform v1.5.7 (the
# floor versions.tf allows, and the one the policy tests plan with), the
# newest Terraform on the Go module proxy, and OpenTofu. The two newer
# ones carry their version in their names, beside bin/terraform.
TERRAFORM_NEW_VERSION := v1.13.3
TOFU_VERSION := v1.10.6
TERRAFORM_NEW := $(BIN)/terraform-$(TERRAFORM_NEW_VERSION:v%=%)
TOFU := $(BIN)/tofu-$(TOFU_VERSION:v%=%)
TF_CHECKED := Terraform $(TERRAFORM_VERSION) and $(TERRAFORM_NEW_VERSION), OpenTofu $(TOFU_VERSION)

# Pinned tools, installed once into $(BIN) (a file that exists is not
# rebuilt: delete it to change versions).
$(BIN)/terraform:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/hashicorp/terraform@$(TERRAFORM_VERSION)

# go install refuses these two (replace directives in their go.mod):
# tools/build-cli.sh builds inside the downloaded module, and says what the
# Terraform build leaves out (the remote-state backends in nested modules).
$(TERRAFORM_NEW):
	GO=$(GO) tools/build-cli.sh terraform $(TERRAFORM_NEW_VERSION) $@

$(TOFU):
	GO=$(GO) tools/build-cli.sh tofu $(TOFU_VERSION) $@

$(BIN)/tflint:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/terraform-linters/tflint@$(TFLINT_VERSION)

$(BIN)/tfsec:
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/aquasecurity/tfsec/cmd/tfsec@$(TFSEC_VERSION)

# The same files under their relative names, when BIN spells the repo's
# bin/ differently (the Makefile's BIN is $(CURDIR)/bin; its tools target
# names bin/terraform ...).
ifneq ($(BIN),bin)
ifeq ($(abspath $(BIN)),$(abspath bin))
bin/terraform bin/tflint bin/tfsec $(patsubst $(BIN)/%,bin/%,$(TERRAFORM_NEW) $(TOFU)): bin/%: $(BIN)/%
endif
endif

.PHONY: tf-tools
tf-tools: $(TERRAFORM) $(TERRAFORM_NEW) $(TOFU) $(TFLINT) $(TFSEC) ## terraform (1.5.7, 1.13.3), tofu, tflint and tfsec (pinned) into bin/

# ---- offline checks -------------------------------------------------------

.PHONY: tf-check tf-fmt tf-fmt-fix tf-lint tf-sec tf-policy tf-validate

tf-check: tf-fmt tf-lint tf-sec tf-validate tf-policy ## Terraform checks, offline: fmt, tflint, tfsec, validate + plan, policy tests

tf-fmt: $(TERRAFORM) ## terraform fmt -check over terraform/
	$(TERRAFORM) fmt -check -recursive -diff $(TF_DIR)

tf-fmt-fix: $(TERRAFORM) ## terraform fmt (rewrite) over terraform/
	$(TERRAFORM) fmt -recursive $(TF_DIR)

# The bundled terraform ruleset only: no plugin download, no tflint --init.
# Each module directory is linted with the same configuration; notices fail.
tf-lint: $(TFLINT) ## tflint, bundled terraform ruleset, preset all
	$(TFLINT) --chdir=$(TF_DIR) --recursive --config=$(abspath $(TF_DIR)/.tflint.hcl) --minimum-failure-severity=notice

# Zero findings, with the defaults and with every optional resource and
# statement switched on.
tf-sec: $(TFSEC) ## tfsec, zero findings
	$(TFSEC) $(TF_DIR) --no-color --concise-output --no-module-downloads
	$(TFSEC) $(TF_DIR) --no-color --concise-output --no-module-downloads --var-file $(abspath test/policy/testdata/features-on.tfvars)

# The policy tests plan copies of terraform/ with the pinned Terraform
# v1.5.7 and the offline provider (test/policy/plan_test.go): the floor,
# and the strictest of the three (tf-validate plans with all of them).
# backend_test.go runs backend.tf.example on moto with v1.5.7 and OpenTofu.
tf-policy: $(TERRAFORM) $(TOFU) ## policy tests over the HCL and the plans (go test -count=1 ./test/policy/...: the plans are not in the test cache)
	MEMO_TERRAFORM=$(abspath $(TERRAFORM)) MEMO_TOFU=$(abspath $(TOFU)) $(GO) test -count=1 ./test/policy/...

# Offline: hashicorp/aws is memo's schema-only stand-in (tools/tfprovider,
# the 6.25.0 schema from the npm package @cdktf/provider-aws), installed
# from a filesystem mirror under .cache/tf-offline/ through a CLI
# configuration written there (never the user's). Init, validate and the
# plans run in a temporary copy of terraform/. The first run downloads the
# npm package and extracts the schema (see README, "Terraform checks").
# Each CLI in turn: its version line, validate, the plans, and a copy with a
# misspelled argument that validate must refuse.
tf-validate: $(TERRAFORM) $(TERRAFORM_NEW) $(TOFU) ## init -backend=false, validate and plan (default, dev, prod, features on) with Terraform 1.5.7, 1.13.3 and OpenTofu, offline
	$(GO) run ./tools/tfcheck $(foreach t,$(TERRAFORM) $(TERRAFORM_NEW) $(TOFU),-terraform $(abspath $(t)))

# ---- deploy and destroy ---------------------------------------------------

.PHONY: deploy destroy tf-plan tf-workspace-arg tf-cli

# The CLI deploy, tf-plan and destroy run: yours. TF=terraform or TF=tofu
# (looked up on your PATH) or TF=<path>; without TF, terraform from your
# PATH, else tofu, else the pinned OpenTofu, built into bin/ on first use
# (it locks S3 state natively, as backend.tf.example does by default; the
# pinned Terraform 1.5.7 cannot, and the 1.13.3 built here has no S3
# backend). bin/ is left out of the search: the Makefile puts it first on
# PATH for its own tools.
TF ?=
tf-empty :=
tf-space := $(tf-empty) $(tf-empty)
TF_USER_PATH := $(subst $(tf-space),:,$(filter-out $(abspath $(BIN)) $(abspath bin),$(subst :, ,$(PATH))))
tf-lookup = $(shell PATH='$(TF_USER_PATH)' command -v '$(1)' 2>/dev/null)
TF_CLI := $(if $(TF),$(call tf-lookup,$(TF)),$(or $(call tf-lookup,terraform),$(call tf-lookup,tofu),$(abspath $(TOFU))))
TF_CLI_BUILD := $(if $(TF),,$(if $(filter $(abspath $(TOFU)),$(TF_CLI)),$(TOFU)))

# Says which CLI runs and which versions make test checks.
tf-cli: $(TF_CLI_BUILD)
	@if [ -z "$(TF_CLI)" ]; then echo "TF=$(TF): not found on your PATH (TF=terraform, TF=tofu or a path)" >&2; exit 2; fi
	@echo "make $(MAKECMDGOALS): $(TF_CLI): $$(CHECKPOINT_DISABLE=1 $(TF_CLI) version | sed -n 1p) (make test checks $(TF_CHECKED))"

WORKSPACE ?=
TF_ARGS ?=
TF_VAR_FILE_ARG = $(if $(wildcard $(TF_DIR)/env/$(WORKSPACE).tfvars),-var-file=env/$(WORKSPACE).tfvars)
TF_APPROVE_ARG = $(if $(filter 1 yes true,$(AUTO_APPROVE)),-auto-approve)
ALLOW_DESTROY ?=
PREFLIGHT ?= check
# tools/tfguard: deploy's pre-flight (the account's Lambda concurrency in the
# pipeline's region against the mappings' maximum concurrency) and destroy's
# guard (a protected workspace is refused before Terraform plans anything).
TF_PREFLIGHT = $(if $(filter off,$(PREFLIGHT)),@echo "PREFLIGHT=off: the account's Lambda concurrency is not checked",$(GO) run ./tools/tfguard preflight -dir $(TF_DIR) -workspace $(WORKSPACE) $(if $(TF_VAR_FILE_ARG),-var-file env/$(WORKSPACE).tfvars) -args "$(TF_ARGS)"$(if $(filter warn,$(PREFLIGHT)), || true))
TF_DESTROY_GUARD = $(GO) run ./tools/tfguard destroy -terraform $(TF_CLI) -dir $(TF_DIR) -workspace $(WORKSPACE) -allow "$(ALLOW_DESTROY)"

# The workspace names memo-<workspace>-<role>: the same rule as
# internal/pipeline/naming.ValidWorkspace, checked before anything is built.
tf-workspace-arg:
	@if [ -z "$(WORKSPACE)" ]; then echo "usage: make $(MAKECMDGOALS) WORKSPACE=<name>" >&2; exit 2; fi
	@if ! printf '%s' "$(WORKSPACE)" | grep -Eq '^[a-z0-9][a-z0-9-]{0,19}$$'; then \
		echo "WORKSPACE=$(WORKSPACE): use 1-20 lowercase letters, digits or '-', starting with a letter or digit" >&2; exit 2; fi

deploy: tf-workspace-arg tf-cli build ## deploy to AWS: WORKSPACE=name [TF=terraform|tofu] [AUTO_APPROVE=1] [TF_ARGS=...]
	$(TF_CLI) -chdir=$(TF_DIR) init -input=false
	$(TF_CLI) -chdir=$(TF_DIR) workspace select -or-create=true $(WORKSPACE)
	$(TF_PREFLIGHT)
	$(TF_CLI) -chdir=$(TF_DIR) apply $(TF_VAR_FILE_ARG) $(TF_APPROVE_ARG) $(TF_ARGS)

tf-plan: tf-workspace-arg tf-cli build ## plan a deployment: WORKSPACE=name [TF=terraform|tofu] [TF_ARGS=...]
	$(TF_CLI) -chdir=$(TF_DIR) init -input=false
	$(TF_CLI) -chdir=$(TF_DIR) workspace select -or-create=true $(WORKSPACE)
	$(TF_CLI) -chdir=$(TF_DIR) plan $(TF_VAR_FILE_ARG) $(TF_ARGS)

# Terraform reads the zips (source_code_hash) even to destroy: build first.
destroy: tf-workspace-arg tf-cli build ## destroy a workspace: WORKSPACE=name [TF=terraform|tofu] [AUTO_APPROVE=1] [KEEP_WORKSPACE=1] [ALLOW_DESTROY=name]
	$(TF_CLI) -chdir=$(TF_DIR) init -input=false
	$(TF_CLI) -chdir=$(TF_DIR) workspace select $(WORKSPACE)
	$(TF_DESTROY_GUARD)
	$(TF_CLI) -chdir=$(TF_DIR) destroy $(TF_VAR_FILE_ARG) $(TF_APPROVE_ARG) $(TF_ARGS)
ifeq ($(filter 1 yes true,$(KEEP_WORKSPACE)),)
	$(TF_CLI) -chdir=$(TF_DIR) workspace select default
	$(TF_CLI) -chdir=$(TF_DIR) workspace delete $(WORKSPACE)
endif
