# duet's only build recipe: people, CI (.ci/run) and the Dockerfile call these targets.
GO      ?= go
NPM     ?= npm
BIN     ?= bin/duet
ARGS    ?= -log-format text

.PHONY: run build test lint generate assets npm test-deps clean bench cluster

## run: build everything and serve duet on :8080 (sessions in ./data/duet.db, no services needed)
run: build
	./$(BIN) $(ARGS)

## cluster: three processes on :8081-8083 sharing the local PostgreSQL and Redis (see README)
cluster: build
	BIN=$(BIN) deploy/cluster/run.sh

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

## test-deps: what the tests need from Debian (installed when missing; needs root): Chromium,
## Redis, and a PostgreSQL server on 127.0.0.1:5432 (user postgres, trust authentication)
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(MAKE) --no-print-directory postgres

# postgres: what the PostgreSQL tests need. Debian's postgresql (its initdb and pg_ctl run the
# private servers of the tests that stop and start one) is installed when missing; when this
# installs it, its cluster gets trust authentication on loopback (a machine's own settings are
# never changed). And a server must answer on 127.0.0.1:5432, unless the tests are given
# DATABASE_URL: one that answers is left alone, else Debian's cluster is started.
PG_ANSWERS = bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432' 2>/dev/null
.PHONY: postgres
postgres:
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "installing: postgresql"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql || exit 1; \
		v=$$(ls /etc/postgresql | sort -V | tail -n 1); \
		printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | $$SUDO tee /etc/postgresql/$$v/main/pg_hba.conf >/dev/null; \
		$$SUDO pg_ctlcluster --skip-systemctl-redirect $$v main reload 2>/dev/null || true; \
	fi; \
	if [ -z "$$DATABASE_URL" ] && ! $(PG_ANSWERS); then \
		v=$$(ls /etc/postgresql | sort -V | tail -n 1); \
		echo "starting PostgreSQL $$v"; \
		$$SUDO pg_ctlcluster --skip-systemctl-redirect $$v main start || exit 1; \
		for i in $$(seq 30); do $(PG_ANSWERS) && exit 0; sleep 1; done; \
		echo "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; \
	fi

## bench: the standard benchmark sweep (about 25 minutes; BENCH=quick for a short check):
## duet beside y-websocket and Hocuspocus at 1,000 clients, then duet alone up to 10,000
## typing and 20,000 idle clients, permessage-deflate, a CPU profile and the Go
## benchmarks; rewrites the sweep section of BENCHMARKS.md. Not part of make test.
## The peers harness is copied out of $(PEERS_SRC) (kept read-only) and set up with npm.
PEERS_SRC ?= ../shared/bench/peers
PEERS     ?= bin/bench/peers
BENCH     ?= standard
bench: build peers
	$(GO) build -o bin/duetload ./cmd/duetload
	./bin/duetload sweep -duet $(BIN) -peers $(PEERS) -out BENCHMARKS.md $(if $(filter quick,$(BENCH)),-quick)

# peers: a copy of the peers harness with its npm dependencies (npm run setup = npm ci
# there and in servers/ywss), redone when its lock files change.
.PHONY: peers
peers: $(PEERS)/.setup
$(PEERS)/.setup: $(PEERS_SRC)/package-lock.json $(PEERS_SRC)/servers/ywss/package-lock.json
	rm -rf $(PEERS) && mkdir -p $(PEERS)
	tar -C $(PEERS_SRC) --exclude=./node_modules --exclude=./servers/ywss/node_modules --exclude=./logs --exclude=./results -cf - . | tar -C $(PEERS) -xf -
	chmod -R u+w $(PEERS)
	cd $(PEERS) && $(NPM) run setup --silent -- --no-audit --no-fund
	@touch $@

clean:
	rm -rf bin node_modules
	find static/dist -mindepth 1 ! -name .keep -delete
