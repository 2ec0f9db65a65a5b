package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"duet/collab"
	"duet/handlers"
	"duet/store"
	"duet/store/sqlite"
)

// config is duet's configuration after parsing and validation.
type config struct {
	addr            string
	dataDir         string
	baseURL         string
	origins         []string
	logLevel        slog.Level
	logFormat       string
	bodyLimit       int64
	bodyTimeout     time.Duration
	shutdownTimeout time.Duration
	healthcheck     bool // probe a running duet instead of serving
	limits          collab.Limits
	store           string        // "sqlite" (in dataDir), "postgres" (at databaseURL) or "memory"
	sync            sqlite.Sync   // how hard SQLite commits press on the disk
	commitEvery     time.Duration // least time between two SQLite commits under load
	databaseURL     string        // PostgreSQL's connection string
	databasePool    int32         // PostgreSQL connections at most; 0: the URL's pool_max_conns, else 10
	bus             string        // "" (one process alone) or "redis" (at redisURL)
	redisURL        string        // Redis's URL, with -bus redis
	sessionTTL      time.Duration // idle sessions older than this are purged; 0 keeps them
	storeLimits     store.Limits  // what one session may store
	addressLimits   handlers.AddressLimits
	trustedProxies  []netip.Prefix
	metricsAddr     string                    // where /metrics is served; "" serves none
	pprof           bool                      // the Go profiler on the metrics listener too
	compression     websocket.CompressionMode // the WebSocket's permessage-deflate
	auth            string                    // handlers.AuthNone, AuthPassword or AuthOIDC
	oidc            oidcConfig                // with -auth oidc
}

// oidcConfig is the OpenID Connect issuer of -auth oidc.
type oidcConfig struct {
	issuer, clientID, clientSecret, redirectURL, emailDomain string
}

// parseConfig reads flags, each falling back to an environment variable, and refuses
// anything invalid with a message that names the setting.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("duet", flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	defAddr := ":8080"
	if p := getenv("PORT"); p != "" { // set by platforms such as Heroku or Cloud Run
		defAddr = ":" + p
	}
	addr := fs.String("addr", env("ADDR", defAddr), "listen address, host:port (env ADDR; PORT=n means :n)")
	dataDir := fs.String("data-dir", env("DATA_DIR", "./data"), "folder for durable session data (env DATA_DIR)")
	baseURL := fs.String("base-url", env("BASE_URL", ""), "public root URL for share links, e.g. https://pad.example.com (env BASE_URL; default: from each request)")
	origins := fs.String("cors-origins", env("CORS_ORIGINS", ""), "comma-separated origins, besides duet's own, allowed to call the API and open sockets (env CORS_ORIGINS)")
	logLevel := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	logFormat := fs.String("log-format", env("LOG_FORMAT", "json"), "json or text (env LOG_FORMAT)")
	bodyLimit := fs.String("max-body-bytes", env("MAX_BODY_BYTES", "65536"), "largest HTTP request body accepted (env MAX_BODY_BYTES)")
	bodyTimeout := fs.String("body-timeout", env("BODY_TIMEOUT", "15s"), "how long a request body may take to arrive; slower ones are cut with 408 (env BODY_TIMEOUT)")
	// The per-address defaults let an office of about 100 people behind one NAT
	// address work normally (a few tabs each, everyone reconnecting at once after a
	// restart), and stop one client from opening thousands of anything.
	sessionsPerMinute := fs.String("sessions-per-minute", env("SESSIONS_PER_MINUTE", "60"), "sessions one client address may start, at once and per minute; 0: no limit (env SESSIONS_PER_MINUTE)")
	opensPerMinute := fs.String("socket-opens-per-minute", env("SOCKET_OPENS_PER_MINUTE", "600"), "WebSocket connections one client address may open, at once and per minute; 0: no limit (env SOCKET_OPENS_PER_MINUTE)")
	socketsPerAddress := fs.String("max-sockets-per-address", env("MAX_SOCKETS_PER_ADDRESS", "500"), "WebSocket connections open at once from one client address; 0: no limit (env MAX_SOCKETS_PER_ADDRESS)")
	streamsPerAddress := fs.String("max-event-streams-per-address", env("MAX_EVENT_STREAMS_PER_ADDRESS", "500"), "event streams (/s/{id}/events) open at once from one client address; 0: no limit (env MAX_EVENT_STREAMS_PER_ADDRESS)")
	trustedProxies := fs.String("trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed, such as 127.0.0.1/32,10.0.0.0/8 (env TRUSTED_PROXIES)")
	shutdown := fs.String("shutdown-timeout", env("SHUTDOWN_TIMEOUT", "15s"), "how long shutdown waits for requests in flight (env SHUTDOWN_TIMEOUT)")
	maxMessage := fs.String("max-message-bytes", env("MAX_MESSAGE_BYTES", "2097152"), "largest WebSocket message a client may send (env MAX_MESSAGE_BYTES)")
	maxDoc := fs.String("max-doc-units", env("MAX_DOC_UNITS", "1048576"), "largest document, in UTF-16 code units (env MAX_DOC_UNITS)")
	rate := fs.String("rate-limit", env("RATE_LIMIT", "100"), "messages per second per connection (env RATE_LIMIT)")
	burst := fs.String("rate-burst", env("RATE_BURST", "200"), "burst of messages per connection above the rate (env RATE_BURST)")
	joins := fs.String("joins-per-minute", env("JOINS_PER_MINUTE", "0"), "arrivals and renames one session takes, as a burst and then per minute; 0: 2 × max-participants (env JOINS_PER_MINUTE)")
	recorded := fs.String("max-recorded-people", env("MAX_RECORDED_PEOPLE", "500"), "people of one session whose names are kept for the replay; past them the replay says Guest (env MAX_RECORDED_PEOPLE)")
	runRate := fs.String("run-rate", env("RUN_RATE", "2"), "runs one connection may start a second (env RUN_RATE)")
	runBurst := fs.String("run-burst", env("RUN_BURST", "10"), "burst of runs one connection may start above the rate (env RUN_BURST)")
	participants := fs.String("max-participants", env("MAX_PARTICIPANTS", "50"), "people in one session (env MAX_PARTICIPANTS)")
	sessionConns := fs.String("max-session-connections", env("MAX_SESSION_CONNECTIONS", "0"), "connections to one session, whoever they are from; 0: 4 × max-participants (env MAX_SESSION_CONNECTIONS)")
	personConns := fs.String("max-person-connections", env("MAX_PERSON_CONNECTIONS", "8"), "connections (tabs) one person may hold to one session (env MAX_PERSON_CONNECTIONS)")
	queue := fs.String("send-queue", env("SEND_QUEUE", "256"), "messages queued for a client before it is cut off as too slow (env SEND_QUEUE)")
	queueBytes := fs.String("send-queue-bytes", env("SEND_QUEUE_BYTES", "16777216"), "bytes queued for a client before it is cut off as too slow; at least the largest message duet can send (env SEND_QUEUE_BYTES)")
	pullBytes := fs.String("pull-bytes", env("PULL_BYTES", "1048576"), "bytes of updates in one answer to a pull; the client pulls again for the rest (env PULL_BYTES)")
	tailBytes := fs.String("tail-bytes", env("TAIL_BYTES", "8388608"), "bytes of recent updates one session keeps in memory; older ones are read from the store (env TAIL_BYTES)")
	storeKind := fs.String("store", env("STORE", "sqlite"), "where sessions live: sqlite (a file in -data-dir, kept across restarts), postgres (the database at -database-url) or memory (lost at exit) (env STORE)")
	databaseURL := fs.String("database-url", env("DATABASE_URL", ""), "with -store postgres: the database, as postgres://user:password@host:5432/dbname?sslmode=verify-full or key=value pairs (env DATABASE_URL)")
	databasePool := fs.String("database-pool", env("DATABASE_POOL", "0"), "with -store postgres: connections to the database at most; 0 takes pool_max_conns from the URL, else 10 (env DATABASE_POOL)")
	busKind := fs.String("bus", env("BUS", ""), "how several duet processes sharing one PostgreSQL database tell each other what happens in a session: redis (at -redis-url; needs -store postgres), or empty for one process alone (env BUS)")
	redisURL := fs.String("redis-url", env("REDIS_URL", ""), "with -bus redis: the Redis server, as redis://[:password@]host:6379/0 (rediss:// for TLS) (env REDIS_URL)")
	syncMode := fs.String("sync", env("SYNC", string(sqlite.SyncFull)), "SQLite commits: full (an edit is fsynced before anyone sees it: survives crashes and power loss) or normal (not fsynced: survives a killed process, but an OS crash or power cut can lose the last edits) (env SYNC)")
	commitEvery := fs.String("commit-interval", env("COMMIT_INTERVAL", "5ms"), "SQLite: under load, commits start at least this far apart, so that one fsync holds more edits; an edit may wait this much longer before anyone sees it, and one that finds the store idle commits at once; 0: a commit starts as soon as the last one ends (env COMMIT_INTERVAL)")
	quota := fs.String("session-quota", env("SESSION_QUOTA", "67108864"), "bytes of update log, run output and snapshots one session may store; edits past it are refused (quota_exceeded); 0: no limit (env SESSION_QUOTA)")
	snapshots := fs.String("snapshots-kept", env("SNAPSHOTS_KEPT", "32"), "snapshots of the text one session keeps for loading and replay; older ones are thinned (env SNAPSHOTS_KEPT)")
	ttl := fs.String("session-ttl", env("SESSION_TTL", "30d"), "delete sessions idle for longer than this, with their history, such as 30d or 12h; 0 keeps them forever (env SESSION_TTL)")
	metricsAddr := fs.String("metrics-addr", env("METRICS_ADDR", ""), "listen address of /metrics (Prometheus), apart from the public one, such as 127.0.0.1:9090 (env METRICS_ADDR; default: no metrics)")
	pprof := fs.Bool("pprof", env("PPROF", "") == "true", "serve the Go profiler under /debug/pprof/ on -metrics-addr too (env PPROF=true)")
	compression := fs.String("ws-compression", env("WS_COMPRESSION", "off"), "WebSocket permessage-deflate: off, context-takeover or no-context-takeover (env WS_COMPRESSION)")
	auth := fs.String("auth", env("AUTH", "none"), "who may start interviews: none (anyone; an interviewer is remembered by a browser cookie), password (accounts made with duet user add) or oidc (company sign-in through -oidc-issuer) (env AUTH)")
	oidcIssuer := fs.String("oidc-issuer", env("OIDC_ISSUER", ""), "with -auth oidc: the OpenID Connect issuer URL, such as https://accounts.google.com (env OIDC_ISSUER)")
	oidcClientID := fs.String("oidc-client-id", env("OIDC_CLIENT_ID", ""), "with -auth oidc: duet's client id at the issuer (env OIDC_CLIENT_ID)")
	oidcSecret := fs.String("oidc-client-secret", env("OIDC_CLIENT_SECRET", ""), "with -auth oidc: duet's client secret at the issuer; prefer the environment variable (env OIDC_CLIENT_SECRET)")
	oidcRedirect := fs.String("oidc-redirect-url", env("OIDC_REDIRECT_URL", ""), "with -auth oidc: the callback registered at the issuer; default: -base-url + /login/oidc/callback (env OIDC_REDIRECT_URL)")
	oidcDomain := fs.String("oidc-email-domain", env("OIDC_EMAIL_DOMAIN", ""), "with -auth oidc: only verified emails of this domain may sign in, such as example.com; empty: any (env OIDC_EMAIL_DOMAIN)")
	healthcheck := fs.Bool("healthcheck", false, "ask the duet listening on -addr whether it is healthy, and exit 0 or 1 (for container health checks)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: duet [flags]\n       duet store copy -from LOCATION -to LOCATION (see duet store copy -help)\n       duet user add|passwd|delete|token|list … (see duet user add -help)\n\nServes the duet coding pad. Every flag falls back to the environment variable named in its help.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (see duet -help)", fs.Arg(0))
	}

	var cfg config
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	checkAddr := func(name, v, example string) {
		if _, port, err := net.SplitHostPort(v); err != nil {
			bad("%s %q: want host:port, such as %s", name, v, example)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("%s %q: port must be a number from 0 to 65535", name, v)
		}
	}
	checkAddr("addr", *addr, ":8080 or 127.0.0.1:8080")
	switch *auth {
	case handlers.AuthNone, handlers.AuthPassword:
	case handlers.AuthOIDC:
		cfg.oidc = oidcConfig{issuer: *oidcIssuer, clientID: *oidcClientID, clientSecret: *oidcSecret, redirectURL: *oidcRedirect, emailDomain: strings.ToLower(*oidcDomain)}
		if cfg.oidc.redirectURL == "" && *baseURL != "" {
			cfg.oidc.redirectURL = strings.TrimSuffix(*baseURL, "/") + "/login/oidc/callback"
		}
		if u, err := url.Parse(cfg.oidc.issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("oidc-issuer %q: want the issuer's URL, such as https://accounts.example.com", cfg.oidc.issuer)
		}
		if cfg.oidc.clientID == "" {
			bad("auth oidc needs -oidc-client-id")
		}
		if u, err := url.Parse(cfg.oidc.redirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("auth oidc needs -oidc-redirect-url (or -base-url): the callback URL registered at the issuer")
		}
	default:
		bad("auth %q: want none, password or oidc", *auth)
	}
	cfg.auth = *auth
	cfg.addr = *addr
	if strings.TrimSpace(*dataDir) == "" {
		bad("data-dir must not be empty")
	}
	cfg.dataDir = *dataDir
	if *baseURL != "" {
		u, err := url.Parse(*baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("base-url %q: want an absolute http(s) URL such as https://pad.example.com", *baseURL)
		}
		cfg.baseURL = strings.TrimSuffix(*baseURL, "/")
	}
	for o := range strings.SplitSeq(*origins, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("cors-origins: %q is not an origin such as https://app.example.com", o)
			continue
		}
		cfg.origins = append(cfg.origins, u.Scheme+"://"+u.Host)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		bad("log-level %q: want debug, info, warn or error", *logLevel)
	}
	switch *logFormat {
	case "json", "text":
		cfg.logFormat = *logFormat
	default:
		bad("log-format %q: want json or text", *logFormat)
	}
	if n, err := strconv.ParseInt(*bodyLimit, 10, 64); err != nil || n < 1024 {
		bad("max-body-bytes %q: want a whole number of bytes, at least 1024", *bodyLimit)
	} else {
		cfg.bodyLimit = n
	}
	if d, err := time.ParseDuration(*bodyTimeout); err != nil || d <= 0 {
		bad("body-timeout %q: want a positive duration such as 15s", *bodyTimeout)
	} else {
		cfg.bodyTimeout = d
	}
	if d, err := time.ParseDuration(*shutdown); err != nil || d <= 0 {
		bad("shutdown-timeout %q: want a positive duration such as 15s", *shutdown)
	} else {
		cfg.shutdownTimeout = d
	}
	positive := func(name, v string, min int) int {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			bad("%s %q: want a whole number of at least %d", name, v, min)
		}
		return n
	}
	cfg.limits = collab.Limits{
		MaxMessageBytes:      positive("max-message-bytes", *maxMessage, 1024),
		MaxDocLength:         positive("max-doc-units", *maxDoc, 1),
		RatePerSecond:        float64(positive("rate-limit", *rate, 1)),
		RateBurst:            positive("rate-burst", *burst, 1),
		MaxParticipants:      positive("max-participants", *participants, 1),
		MaxConnections:       positive("max-session-connections", *sessionConns, 0),
		MaxPersonConnections: positive("max-person-connections", *personConns, 1),
		SendQueue:            positive("send-queue", *queue, 8),
		SendQueueBytes:       positive("send-queue-bytes", *queueBytes, 1),
		PullBytes:            positive("pull-bytes", *pullBytes, 1),
		TailBytes:            positive("tail-bytes", *tailBytes, 1),
		RunsPerSecond:        float64(positive("run-rate", *runRate, 1)),
		RunBurst:             positive("run-burst", *runBurst, 1),
		JoinsPerMinute:       positive("joins-per-minute", *joins, 0),
		MaxRecordedPeople:    positive("max-recorded-people", *recorded, 1),
	}
	if least := cfg.limits.MinSendQueueBytes(); cfg.limits.SendQueueBytes < least {
		bad("send-queue-bytes %q: want at least %d, the largest message duet can send (6 bytes per unit of the larger of max-doc-units and max-message-bytes, plus 64 KiB) and an answer to a pull (pull-bytes)", *queueBytes, least)
	}
	cfg.addressLimits = handlers.AddressLimits{
		SessionsPerMinute:    positive("sessions-per-minute", *sessionsPerMinute, 0),
		SocketOpensPerMinute: positive("socket-opens-per-minute", *opensPerMinute, 0),
		Sockets:              positive("max-sockets-per-address", *socketsPerAddress, 0),
		EventStreams:         positive("max-event-streams-per-address", *streamsPerAddress, 0),
	}
	for p := range strings.SplitSeq(*trustedProxies, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				bad("trusted-proxies: %q is not an address or a CIDR such as 10.0.0.0/8", p)
				continue
			}
			prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		cfg.trustedProxies = append(cfg.trustedProxies, prefix.Masked())
	}
	switch *storeKind {
	case "sqlite", "memory":
		cfg.store = *storeKind
	case "postgres":
		cfg.store = *storeKind
		if strings.TrimSpace(*databaseURL) == "" {
			bad("database-url: -store postgres needs the database's URL (or set DATABASE_URL)")
		}
		cfg.databaseURL = *databaseURL
	default:
		bad("store %q: want sqlite, postgres or memory", *storeKind)
	}
	switch *busKind {
	case "":
	case "redis":
		cfg.bus = *busKind
		if *storeKind != "postgres" {
			bad("bus redis: several processes must share one store, so -bus redis needs -store postgres (got %q)", *storeKind)
		}
		if strings.TrimSpace(*redisURL) == "" {
			bad("redis-url: -bus redis needs the Redis server's URL (or set REDIS_URL)")
		}
		cfg.redisURL = *redisURL
	default:
		bad("bus %q: want redis, or nothing for one process alone", *busKind)
	}
	if n, err := strconv.ParseInt(*databasePool, 10, 32); err != nil || n < 0 {
		bad("database-pool %q: want a whole number of connections, or 0 for the default", *databasePool)
	} else {
		cfg.databasePool = int32(n)
	}
	switch s := sqlite.Sync(*syncMode); s {
	case sqlite.SyncFull, sqlite.SyncNormal:
		cfg.sync = s
	default:
		bad("sync %q: want full or normal", *syncMode)
	}
	if d, err := time.ParseDuration(*commitEvery); err != nil || d < 0 || d > time.Second {
		bad("commit-interval %q: want a duration from 0 to 1s, such as 5ms", *commitEvery)
	} else {
		cfg.commitEvery = d
	}
	if n, err := strconv.ParseInt(*quota, 10, 64); err != nil || n < 0 {
		bad("session-quota %q: want a whole number of bytes, or 0 for no limit", *quota)
	} else if n == 0 {
		cfg.storeLimits.SessionBytes = -1
	} else {
		cfg.storeLimits.SessionBytes = n
	}
	cfg.storeLimits.Snapshots = positive("snapshots-kept", *snapshots, 4)
	if d, err := parseDays(*ttl); err != nil || d < 0 {
		bad("session-ttl %q: want a duration such as 30d or 12h, or 0 to keep sessions forever", *ttl)
	} else {
		cfg.sessionTTL = d
	}
	if *metricsAddr != "" {
		checkAddr("metrics-addr", *metricsAddr, "127.0.0.1:9090")
	}
	cfg.metricsAddr = *metricsAddr
	if *pprof && *metricsAddr == "" {
		bad("pprof: the profiler is served on -metrics-addr only; set it too")
	}
	cfg.pprof = *pprof
	switch *compression {
	case "off":
		cfg.compression = websocket.CompressionDisabled
	case "context-takeover":
		cfg.compression = websocket.CompressionContextTakeover
	case "no-context-takeover":
		cfg.compression = websocket.CompressionNoContextTakeover
	default:
		bad("ws-compression %q: want off, context-takeover or no-context-takeover", *compression)
	}
	cfg.healthcheck = *healthcheck
	if len(errs) > 0 {
		return config{}, fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return cfg, nil
}

// parseDays is time.ParseDuration that also takes whole days, such as "30d".
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, fmt.Errorf("bad number of days %q", days)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// joinLines joins errors one per line, indented under the heading.
func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}
