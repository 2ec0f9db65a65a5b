package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/handlers"
	"duet/store/postgres/pgtest"
	"duet/store/sqlite"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(config) bool // nil when an error is wanted
		wantErr string            // substring of the error
	}{
		{name: "defaults", want: func(c config) bool {
			return c.addr == ":8080" && c.dataDir == "./data" && c.baseURL == "" && c.logFormat == "json" &&
				c.logLevel == slog.LevelInfo && c.bodyLimit == 65536 && c.shutdownTimeout == 15*time.Second
		}},
		{name: "PORT as platforms set it", env: map[string]string{"PORT": "9000"}, want: func(c config) bool { return c.addr == ":9000" }},
		{name: "ADDR beats PORT", env: map[string]string{"PORT": "9000", "ADDR": "127.0.0.1:7000"}, want: func(c config) bool { return c.addr == "127.0.0.1:7000" }},
		{name: "flag beats env", args: []string{"-addr", ":1234"}, env: map[string]string{"ADDR": ":7000"}, want: func(c config) bool { return c.addr == ":1234" }},
		{name: "env", env: map[string]string{"LOG_LEVEL": "debug", "LOG_FORMAT": "text", "BASE_URL": "https://pad.example.com/", "CORS_ORIGINS": "https://a.example.com, http://localhost:3000", "DATA_DIR": "/var/lib/duet"},
			want: func(c config) bool {
				return c.logLevel == slog.LevelDebug && c.logFormat == "text" && c.baseURL == "https://pad.example.com" &&
					strings.Join(c.origins, " ") == "https://a.example.com http://localhost:3000" && c.dataDir == "/var/lib/duet"
			}},
		{name: "bad addr", args: []string{"-addr", "8080"}, wantErr: `addr "8080"`},
		{name: "bad port", env: map[string]string{"PORT": "http"}, wantErr: "port must be a number"},
		{name: "bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: `log-level "loud"`},
		{name: "bad log format", env: map[string]string{"LOG_FORMAT": "xml"}, wantErr: `log-format "xml"`},
		{name: "relative base URL", env: map[string]string{"BASE_URL": "pad.example.com"}, wantErr: `base-url "pad.example.com"`},
		{name: "origin with a path", env: map[string]string{"CORS_ORIGINS": "https://a.example.com/app"}, wantErr: "cors-origins"},
		{name: "tiny body limit", args: []string{"-max-body-bytes", "10"}, wantErr: "max-body-bytes"},
		{name: "bad duration", args: []string{"-shutdown-timeout", "soon"}, wantErr: "shutdown-timeout"},
		{name: "several problems at once", env: map[string]string{"LOG_LEVEL": "loud", "LOG_FORMAT": "xml"}, wantErr: "log-format"},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "store defaults: SQLite, fsynced, 30 days", want: func(c config) bool {
			return c.store == "sqlite" && c.sync == sqlite.SyncFull && c.sessionTTL == 30*24*time.Hour
		}},
		{name: "store from env", env: map[string]string{"STORE": "memory", "SYNC": "normal", "SESSION_TTL": "12h"}, want: func(c config) bool {
			return c.store == "memory" && c.sync == sqlite.SyncNormal && c.sessionTTL == 12*time.Hour
		}},
		{name: "store flags beat env", args: []string{"-store", "sqlite", "-sync", "full", "-session-ttl", "7d"}, env: map[string]string{"STORE": "memory", "SYNC": "normal", "SESSION_TTL": "1h"},
			want: func(c config) bool {
				return c.store == "sqlite" && c.sync == sqlite.SyncFull && c.sessionTTL == 7*24*time.Hour
			}},
		{name: "session TTL 0 keeps sessions", args: []string{"-session-ttl", "0"}, want: func(c config) bool { return c.sessionTTL == 0 }},
		{name: "unknown store", env: map[string]string{"STORE": "redis"}, wantErr: `store "redis": want sqlite, postgres or memory`},
		{name: "postgres from env", env: map[string]string{"STORE": "postgres", "DATABASE_URL": "postgres://duet@db/duet", "DATABASE_POOL": "20"}, want: func(c config) bool {
			return c.store == "postgres" && c.databaseURL == "postgres://duet@db/duet" && c.databasePool == 20
		}},
		{name: "postgres flags beat env", args: []string{"-store", "postgres", "-database-url", "postgres://a@b/c", "-database-pool", "3"},
			env: map[string]string{"STORE": "sqlite", "DATABASE_URL": "postgres://x@y/z", "DATABASE_POOL": "20"}, want: func(c config) bool {
				return c.store == "postgres" && c.databaseURL == "postgres://a@b/c" && c.databasePool == 3
			}},
		{name: "postgres pool defaults to the URL's or pgx's", args: []string{"-store", "postgres", "-database-url", "postgres://a@b/c"},
			want: func(c config) bool { return c.databasePool == 0 }},
		{name: "postgres without a URL", args: []string{"-store", "postgres"}, wantErr: "database-url: -store postgres needs the database's URL (or set DATABASE_URL)"},
		{name: "bad pool size", args: []string{"-store", "postgres", "-database-url", "postgres://a@b/c", "-database-pool", "many"}, wantErr: `database-pool "many"`},
		{name: "no bus by default", args: []string{"-store", "postgres", "-database-url", "postgres://a@b/c"}, want: func(c config) bool { return c.bus == "" && c.redisURL == "" }},
		{name: "redis bus from env", env: map[string]string{"STORE": "postgres", "DATABASE_URL": "postgres://a@b/c", "BUS": "redis", "REDIS_URL": "redis://r:6379/0"},
			want: func(c config) bool { return c.bus == "redis" && c.redisURL == "redis://r:6379/0" }},
		{name: "redis bus flags beat env", args: []string{"-store", "postgres", "-database-url", "postgres://a@b/c", "-bus", "redis", "-redis-url", "redis://a:1/2"},
			env: map[string]string{"BUS": "nats", "REDIS_URL": "redis://x:1/0"}, want: func(c config) bool { return c.bus == "redis" && c.redisURL == "redis://a:1/2" }},
		{name: "redis bus with sqlite", args: []string{"-bus", "redis", "-redis-url", "redis://r:6379/0"}, wantErr: `-bus redis needs -store postgres (got "sqlite")`},
		{name: "redis bus with memory", args: []string{"-store", "memory", "-bus", "redis", "-redis-url", "redis://r:6379/0"}, wantErr: `-bus redis needs -store postgres (got "memory")`},
		{name: "redis bus without a URL", args: []string{"-store", "postgres", "-database-url", "postgres://a@b/c", "-bus", "redis"}, wantErr: "redis-url: -bus redis needs the Redis server's URL (or set REDIS_URL)"},
		{name: "unknown bus", args: []string{"-bus", "nats"}, wantErr: `bus "nats": want redis, or nothing for one process alone`},
		{name: "unknown sync", args: []string{"-sync", "off"}, wantErr: `sync "off": want full or normal`},
		{name: "commits 5ms apart under load by default", want: func(c config) bool { return c.commitEvery == 5*time.Millisecond }},
		{name: "commit interval from env", env: map[string]string{"COMMIT_INTERVAL": "0"}, want: func(c config) bool { return c.commitEvery == 0 }},
		{name: "commit interval flag beats env", args: []string{"-commit-interval", "20ms"}, env: map[string]string{"COMMIT_INTERVAL": "1ms"},
			want: func(c config) bool { return c.commitEvery == 20*time.Millisecond }},
		{name: "negative commit interval", args: []string{"-commit-interval", "-1ms"}, wantErr: `commit-interval "-1ms"`},
		{name: "commit interval past a second", args: []string{"-commit-interval", "2s"}, wantErr: `commit-interval "2s"`},
		{name: "commit interval without a unit", args: []string{"-commit-interval", "5"}, wantErr: `commit-interval "5"`},
		{name: "bad session TTL", env: map[string]string{"SESSION_TTL": "a month"}, wantErr: `session-ttl "a month"`},
		{name: "negative session TTL", args: []string{"-session-ttl", "-1h"}, wantErr: "session-ttl"},
		{name: "bad days", args: []string{"-session-ttl", "1.5d"}, wantErr: "session-ttl"},
		{name: "edge defaults: an office of 100 behind one address", want: func(c config) bool {
			return c.addressLimits == handlers.AddressLimits{SessionsPerMinute: 60, SocketOpensPerMinute: 600, Sockets: 500, EventStreams: 500} &&
				len(c.trustedProxies) == 0 && c.bodyTimeout == 15*time.Second
		}},
		{name: "edge from env", env: map[string]string{"SESSIONS_PER_MINUTE": "5", "SOCKET_OPENS_PER_MINUTE": "0", "MAX_SOCKETS_PER_ADDRESS": "7",
			"MAX_EVENT_STREAMS_PER_ADDRESS": "8", "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,::1", "BODY_TIMEOUT": "2s"},
			want: func(c config) bool {
				return c.addressLimits == handlers.AddressLimits{SessionsPerMinute: 5, Sockets: 7, EventStreams: 8} && c.bodyTimeout == 2*time.Second &&
					fmt.Sprint(c.trustedProxies) == "[10.0.0.0/8 192.168.1.1/32 ::1/128]"
			}},
		{name: "edge flags beat env", args: []string{"-sessions-per-minute", "9", "-trusted-proxies", "127.0.0.1/32"}, env: map[string]string{"SESSIONS_PER_MINUTE": "5", "TRUSTED_PROXIES": "10.0.0.0/8"},
			want: func(c config) bool {
				return c.addressLimits.SessionsPerMinute == 9 && fmt.Sprint(c.trustedProxies) == "[127.0.0.1/32]"
			}},
		{name: "bad trusted proxy", env: map[string]string{"TRUSTED_PROXIES": "proxy.example.com"}, wantErr: `trusted-proxies: "proxy.example.com"`},
		{name: "negative limit", args: []string{"-max-sockets-per-address", "-1"}, wantErr: "max-sockets-per-address"},
		{name: "bad body timeout", env: map[string]string{"BODY_TIMEOUT": "0"}, wantErr: "body-timeout"},
		{name: "no metrics by default, deflate off", want: func(c config) bool {
			return c.metricsAddr == "" && !c.pprof && c.compression == websocket.CompressionDisabled
		}},
		{name: "metrics and compression from env", env: map[string]string{"METRICS_ADDR": "127.0.0.1:9090", "PPROF": "true", "WS_COMPRESSION": "context-takeover"},
			want: func(c config) bool {
				return c.metricsAddr == "127.0.0.1:9090" && c.pprof && c.compression == websocket.CompressionContextTakeover
			}},
		{name: "no-context-takeover", args: []string{"-ws-compression", "no-context-takeover"}, want: func(c config) bool { return c.compression == websocket.CompressionNoContextTakeover }},
		{name: "bad metrics addr", args: []string{"-metrics-addr", "9090"}, wantErr: `metrics-addr "9090": want host:port`},
		{name: "pprof needs the metrics listener", args: []string{"-pprof"}, wantErr: "pprof: the profiler is served on -metrics-addr only"},
		{name: "unknown compression", env: map[string]string{"WS_COMPRESSION": "gzip"}, wantErr: `ws-compression "gzip"`},
		{name: "budget defaults: what one client or session may cost", want: func(c config) bool {
			l := c.limits
			return l.SendQueueBytes == 16<<20 && l.PullBytes == 1<<20 && l.TailBytes == 8<<20 && l.MaxConnections == 0 &&
				l.MaxPersonConnections == 8 && l.RunsPerSecond == 2 && l.RunBurst == 10 && l.JoinsPerMinute == 0 && l.MaxRecordedPeople == 500 &&
				c.storeLimits.SessionBytes == 64<<20 && c.storeLimits.Snapshots == 32
		}},
		{name: "budgets from env", env: map[string]string{"SEND_QUEUE_BYTES": "20000000", "PULL_BYTES": "4096", "TAIL_BYTES": "1000",
			"MAX_SESSION_CONNECTIONS": "30", "MAX_PERSON_CONNECTIONS": "2", "RUN_RATE": "5", "RUN_BURST": "6", "JOINS_PER_MINUTE": "7",
			"MAX_RECORDED_PEOPLE": "9", "SESSION_QUOTA": "1000000", "SNAPSHOTS_KEPT": "8"},
			want: func(c config) bool {
				l := c.limits
				return l.SendQueueBytes == 20000000 && l.PullBytes == 4096 && l.TailBytes == 1000 && l.MaxConnections == 30 &&
					l.MaxPersonConnections == 2 && l.RunsPerSecond == 5 && l.RunBurst == 6 && l.JoinsPerMinute == 7 && l.MaxRecordedPeople == 9 &&
					c.storeLimits.SessionBytes == 1000000 && c.storeLimits.Snapshots == 8
			}},
		{name: "no session quota", args: []string{"-session-quota", "0"}, want: func(c config) bool { return c.storeLimits.SessionBytes < 0 }},
		{name: "a send queue smaller than a message", args: []string{"-send-queue-bytes", "1000000"}, wantErr: "send-queue-bytes \"1000000\": want at least"},
		{name: "a send queue that fits smaller messages", args: []string{"-send-queue-bytes", "1000000", "-max-doc-units", "1000", "-max-message-bytes", "4096", "-pull-bytes", "10000"},
			want: func(c config) bool { return c.limits.SendQueueBytes == 1000000 }},
		{name: "bad quota", env: map[string]string{"SESSION_QUOTA": "lots"}, wantErr: `session-quota "lots"`},
		{name: "no sign-in by default", want: func(c config) bool { return c.auth == handlers.AuthNone }},
		{name: "password sign-in from env", env: map[string]string{"AUTH": "password"}, want: func(c config) bool { return c.auth == handlers.AuthPassword }},
		{name: "oidc from env, redirect from the base URL", env: map[string]string{"AUTH": "oidc", "OIDC_ISSUER": "https://id.example.com", "OIDC_CLIENT_ID": "duet",
			"OIDC_CLIENT_SECRET": "s", "BASE_URL": "https://pad.example.com/", "OIDC_EMAIL_DOMAIN": "Example.com"},
			want: func(c config) bool {
				return c.auth == handlers.AuthOIDC && c.oidc == oidcConfig{issuer: "https://id.example.com", clientID: "duet", clientSecret: "s",
					redirectURL: "https://pad.example.com/login/oidc/callback", emailDomain: "example.com"}
			}},
		{name: "unknown auth", args: []string{"-auth", "ldap"}, wantErr: `auth "ldap": want none, password or oidc`},
		{name: "oidc without an issuer", args: []string{"-auth", "oidc", "-oidc-client-id", "duet", "-base-url", "https://pad.example.com"}, wantErr: "oidc-issuer"},
		{name: "oidc without a client", args: []string{"-auth", "oidc", "-oidc-issuer", "https://id.example.com", "-base-url", "https://pad.example.com"}, wantErr: "oidc-client-id"},
		{name: "oidc without a redirect", args: []string{"-auth", "oidc", "-oidc-issuer", "https://id.example.com", "-oidc-client-id", "duet"}, wantErr: "oidc-redirect-url"},
		{name: "store problems reported together", env: map[string]string{"STORE": "redis", "SYNC": "off", "SESSION_TTL": "x"},
			wantErr: "store \"redis\": want sqlite, postgres or memory\n  sync \"off\": want full or normal\n  session-ttl \"x\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseConfig() error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig() error = %v", err)
			}
			if !tt.want(got) {
				t.Errorf("parseConfig() = %+v", got)
			}
		})
	}
}

// TestRedisUnreachable: duet refuses to start when the Redis of -bus redis does not
// answer, and says which.
func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	args := []string{"-addr", "127.0.0.1:0", "-store", "postgres", "-database-url", pgtest.NewDatabase(t), "-bus", "redis", "-redis-url", "redis://" + addr + "/0"}
	err = run(t.Context(), args, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "open the bus: redis at "+addr) {
		t.Fatalf("run() error = %v, want one saying the bus's Redis at %s does not answer", err, addr)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := run(t.Context(), []string{"-help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(-help) error = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-addr", "ADDR", "PORT", "DATA_DIR", "BASE_URL", "CORS_ORIGINS", "LOG_LEVEL", "LOG_FORMAT",
		"TRUSTED_PROXIES", "SESSIONS_PER_MINUTE", "SOCKET_OPENS_PER_MINUTE", "MAX_SOCKETS_PER_ADDRESS", "MAX_EVENT_STREAMS_PER_ADDRESS", "BODY_TIMEOUT",
		"DATABASE_URL", "DATABASE_POOL", "SEND_QUEUE_BYTES", "PULL_BYTES", "TAIL_BYTES", "SESSION_QUOTA", "SNAPSHOTS_KEPT", "RUN_RATE",
		"JOINS_PER_MINUTE", "MAX_RECORDED_PEOPLE", "MAX_PERSON_CONNECTIONS", "MAX_SESSION_CONNECTIONS", "duet store copy", "BUS", "REDIS_URL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
}

// TestRunServesAndShutsDownGracefully starts the real program on a free port, uses
// it, and stops it while a request is still being sent: that request must finish.
func TestRunServesAndShutsDownGracefully(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logR, logW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-format", "json", "-data-dir", t.TempDir()}, func(string) string { return "" }, logW)
		logW.Close()
	}()
	lines := bufio.NewScanner(logR)
	base := ""
	for base == "" && lines.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "listening" {
			base = "http://" + rec.Addr
		}
	}
	if base == "" {
		t.Fatalf("duet never logged its address; run error = %v", <-done)
	}
	go io.Copy(io.Discard, logR) // keep the logger from blocking

	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /health = %d", res.StatusCode)
	}
	page, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != 200 {
		t.Fatalf("GET / = %d", page.StatusCode)
	}

	// A request whose body is still arriving when shutdown starts.
	bodyR, bodyW := io.Pipe()
	answered := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/sessions", bodyR)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request error = %v", err)
			answered <- nil
			return
		}
		res.Body.Close()
		answered <- res
	}()
	bodyW.Write([]byte(`{"lang`))
	time.Sleep(100 * time.Millisecond) // let the server start reading it
	cancel()
	time.Sleep(100 * time.Millisecond) // let shutdown begin
	bodyW.Write([]byte(`uage":"python"}`))
	bodyW.Close()

	if res := <-answered; res == nil || res.StatusCode != 201 {
		t.Errorf("in-flight request answered %v, want 201", res)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after shutdown = %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run() did not return after shutdown")
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Errorf("server still answers after shutdown")
	}
}
