# Sluice developer tasks. `make` (or `make help`) lists them.

GO       ?= go
GOFMT    ?= gofmt
FUZZTIME ?= 30s## how long `make fuzz` runs each fuzz target
SCHEMA   := docs/pipeline.schema.json
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)## version stamped into sluice-exec and its image tag
IMAGE_ARCH   ?= $(shell $(GO) env GOARCH)## architecture of bin/sluice-exec and its image
IMAGE_FORMAT ?= docker## `make image` output: docker (archive for ctr/docker load) or oci (layout dir)

.DEFAULT_GOAL := help
.PHONY: help build exec plugin-bin image test lint fuzz bench schema schema-check proto proto-check clean

help: ## show this help
	@awk 'BEGIN { FS = ":.*## " } \
	  /^[a-zA-Z0-9_-]+:.*## / { printf "  make %-18s %s\n", $$1, $$2 } \
	  /^[A-Z_]+ *\?=.*## / { split($$0, v, "## "); sub(/ *\?= */, "=", $$0); sub(/##.*/, "", $$0); \
	    vars = vars sprintf("  %-19s %s\n", $$0, v[2]) } \
	  END { if (vars != "") printf "\nvariables:\n%s", vars }' $(MAKEFILE_LIST)

build: ## build the binaries into bin/
	$(GO) build -o bin/ ./cmd/...

exec: ## build the in-pod launcher bin/sluice-exec: static, stripped, for IMAGE_ARCH
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath \
	  -ldflags "-s -w -X main.version=$(VERSION)" -o bin/sluice-exec ./cmd/sluice-exec

plugin-bin: ## build the static sluice binary bin/linux/sluice that the cache plugins' image holds
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath \
	  -ldflags "-s -w -X main.version=$(VERSION)" -o bin/linux/sluice ./cmd/sluice

CA_CERTS ?= /etc/ssl/certs/ca-certificates.crt## CA bundle put into the cache plugins' image

image: exec plugin-bin ## build the launcher's and the cache plugins' images, bin/sluice-exec-image.tar and bin/sluice-image.tar, without Docker
	GOOS= GOARCH= $(GO) run ./cmd/sluice-image --binary bin/sluice-exec --arch $(IMAGE_ARCH) \
	  --version $(VERSION) --format $(IMAGE_FORMAT)
	GOOS= GOARCH= $(GO) run ./cmd/sluice-image --binary bin/linux/sluice --path /usr/bin/sluice \
	  --ca-certs $(CA_CERTS) --ref ghcr.io/sluice-dev/sluice:$(VERSION) --arch $(IMAGE_ARCH) \
	  --version $(VERSION) --format $(IMAGE_FORMAT) \
	  --output bin/sluice-image$(if $(filter docker,$(IMAGE_FORMAT)),.tar)

test: ## run all tests with the race detector (the README's test command)
	$(GO) test -race -count=1 ./...

lint: ## fail if gofmt would change a file; go vet
	@files=$$(find . -type d \( -name testdata -o -name vendor -o -name bin -o -name '.?*' \) -prune \
	    -o -type f -name '*.go' -print); \
	if [ -n "$$files" ]; then \
	  bad=$$($(GOFMT) -l $$files) || exit 1; \
	  if [ -n "$$bad" ]; then echo "gofmt would change (run gofmt -w):"; echo "$$bad"; exit 1; fi; \
	fi
	$(GO) vet ./...

fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; \
	list=$$($(GO) test -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	targets=$$(printf '%s\n' "$$list" | awk '/^Fuzz/ { names = names " " $$1; next } \
	  /^ok/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2, a[i] } { names = "" }'); \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	printf '%s\n' "$$targets" | while read -r pkg name; do \
	  echo "== $$pkg $$name ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	done

bench: ## run all benchmarks, with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./...

schema: ## regenerate docs/pipeline.schema.json with `sluice schema`
	@$(GO) run ./cmd/sluice schema > $(SCHEMA).tmp || { rm -f $(SCHEMA).tmp; exit 1; }
	@mv $(SCHEMA).tmp $(SCHEMA)
	@echo "wrote $(SCHEMA)"

schema-check: ## fail if docs/pipeline.schema.json is not what `sluice schema` prints
	@set -e; tmp=$$(mktemp); trap 'rm -f "$$tmp"' EXIT; \
	$(GO) run ./cmd/sluice schema > "$$tmp"; \
	if ! diff -u $(SCHEMA) "$$tmp"; then \
	  echo "$(SCHEMA) is stale: run 'make schema' and commit the result" >&2; exit 1; \
	fi; \
	echo "$(SCHEMA) is up to date"

# The store plugin protocol's Go code, from plugins/store/proto/store.proto:
# protoc from Debian (protobuf-compiler 3.21) and the Go generators at the
# versions the checked-in code names, built into bin/tools.
PROTO_DIR := plugins/store
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1

proto: ## regenerate plugins/store/proto/*.pb.go (needs protoc: apt-get install protobuf-compiler)
	@command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
	GOBIN=$(CURDIR)/bin/tools GOFLAGS= $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(CURDIR)/bin/tools GOFLAGS= $(GO) install $(PROTOC_GEN_GO_GRPC)
	cd $(PROTO_DIR) && PATH=$(CURDIR)/bin/tools:$$PATH protoc \
	  --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative proto/store.proto

proto-check: proto ## fail if the generated protocol code is not what `make proto` writes
	@git diff --exit-code -- $(PROTO_DIR)/proto || \
	  { echo "$(PROTO_DIR)/proto is stale: run 'make proto' and commit the result" >&2; exit 1; }

clean: ## remove build outputs (bin/)
	rm -rf bin/

.PHONY: e2e e2e-up e2e-down conformance-report
E2E := conformance/cluster/cluster.sh

e2e: ## build (cached) a single-node Kubernetes with Argo and Tekton, play the conformance cases on local, argo and tekton, tear it down
	bash conformance/cluster/e2e.sh

conformance-report: ## as e2e, and write the matrix to docs/conformance.md
	SLUICE_CONFORMANCE_REPORT=$(CURDIR)/docs/conformance.md.new bash conformance/cluster/e2e.sh
	{ printf '%s\n\n' '# Conformance: every case on local, Argo and Tekton'; \
	  printf '%s\n\n' 'Played by `make conformance-report` (conformance/cluster/e2e.sh) on a single-node cluster built from source on this machine kind: each case twice, the second run taking every step that succeeded from the cache. `argo` and `tekton` run every step under the launcher; `argo-plugin` and `tekton-plugin` are the same engines with the cache plugins (`--cache-plugin`: Argo'"'"'s executor plugin, Tekton'"'"'s CachedStep controller), where a pod of a Cached step fails the case. ✅ passed; ❌ failed, with the reason below the table.'; \
	  cat docs/conformance.md.new; } > docs/conformance.md && rm docs/conformance.md.new

e2e-up: ## build (cached) and start a single-node Kubernetes with Argo and Tekton on 127.0.0.1, smoke-check it
	bash $(E2E) up

e2e-down: ## stop everything e2e-up started and clean the machine
	bash $(E2E) down
