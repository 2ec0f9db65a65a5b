# duet's only build recipe: people, CI (.ci/run) and the Dockerfile call these targets.
GO      ?= go
NPM     ?= npm
BIN     ?= bin/duet
ARGS    ?= -log-format text

.PHONY: run build test lint generate assets npm test-deps clean

## run: build everything and serve duet on :8080 (sessions in ./data/duet.db, no services needed)
run: build
	./$(BIN) $(ARGS)

## build: one static binary with the assets embedded, in bin/duet
build: generate assets
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/duet

## test: every test of the repo (Go under -race, browser tests in headless Chromium)
test: test-deps assets
	$(GO) vet ./...
	$(GO) test -race -timeout 20m ./...

## lint: formatting and static checks
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## generate: Go code from the templ templates (committed; a test fails when it is stale)
generate:
	$(GO) tool templ generate -path views

## assets: bundle the islands and CSS, copy htmx and Pyodide, precompress (static/dist)
assets: npm
	$(GO) run ./cmd/buildassets

# npm ci only when the lock file is newer than the installed tree.
npm: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

## test-deps: what the browser tests need from Debian (installed when missing; needs root)
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf bin node_modules
	find static/dist -mindepth 1 ! -name .keep -delete
