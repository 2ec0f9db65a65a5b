// Package metrics is what duet tells operators about itself, in Prometheus's text
// format: the hub (sessions, connections, messages, refusals, disconnections, edit
// and fan-out latency), the store's commits, event streams, and the Go runtime and
// process. It is served on a listener of its own (cmd/duet's -metrics-addr), never on
// the public one.
//
// What the hub already counts (Hub.Stats) is read when Prometheus scrapes, so it
// costs the hot path nothing; the rest comes through collab.Observer and the stores'
// commit hooks, each a few atomic additions per message (BenchmarkObserver, and the
// figures in BENCHMARKS.md).
package metrics

import (
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"duet/collab"
)

// Metrics holds duet's metrics in a registry of its own (no package-level
// registry: each server, and each test, has its own).
type Metrics struct {
	reg *prometheus.Registry

	received    map[string]prometheus.Counter // by client message type; "other" and "invalid" too
	sent        map[string]prometheus.Counter // by server message type
	disconnects map[string]prometheus.Counter // by reason
	editApply   prometheus.Histogram
	fanOut      prometheus.Histogram
	commitTime  prometheus.Histogram
	commitSize  prometheus.Histogram
	streams     prometheus.Gauge
	streamsSeen prometheus.Counter
}

var _ collab.Observer = (*Metrics)(nil)

// The label values each counter may take. Anything else a client sends is "other"
// (or "invalid" for a frame with no type), so that no client can grow the number of
// series.
var (
	clientTypes = []string{"edit", "pull", "cursor", "language", "run", "other", "invalid"}
	serverTypes = []string{"sync", "update", "cursor", "user_joined", "user_left", "language", "run", "error", "other"}
	// Disconnections: the error codes that end a connection, and the other reasons
	// collab.Observer names.
	disconnectReasons = []string{
		collab.CodeRateLimited, collab.CodeTooSlow, collab.CodeTooLarge, collab.CodeSessionDeleted, collab.CodeSessionFull,
		"client", "lost", "ping", "shutdown", "error", "other",
	}
)

// latencyBuckets span what an edit can take, from a memory store's tens of
// microseconds to a saturated disk's seconds.
var latencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

func latency(name, help string) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets})
}

// New returns duet's metrics, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg:         prometheus.NewRegistry(),
		received:    map[string]prometheus.Counter{},
		sent:        map[string]prometheus.Counter{},
		disconnects: map[string]prometheus.Counter{},
	}
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_ws_messages_received_total",
		Help: "Client messages handled, by type (other: a type duet does not know; invalid: not a JSON object with a type). Refused ones count too.",
	}, []string{"type"})
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_ws_messages_sent_total",
		Help: "Server messages written to sockets, by type: one per recipient (updates waiting together for one recipient go out as one message).",
	}, []string{"type"})
	disconnects := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_ws_disconnects_total",
		Help: "Connections to a session that ended (or were refused on joining), by reason: an error code, or client (closed by the client), lost, ping (no answer), shutdown, error (server side).",
	}, []string{"reason"})
	for _, t := range clientTypes {
		m.received[t] = received.WithLabelValues(t)
	}
	for _, t := range serverTypes {
		m.sent[t] = sent.WithLabelValues(t)
	}
	for _, r := range disconnectReasons {
		m.disconnects[r] = disconnects.WithLabelValues(r)
	}
	m.editApply = latency("duet_edit_apply_seconds",
		"Time to handle an edit message: parse, wait for the session, rebase, store (durably), apply, queue the broadcast.")
	m.fanOut = latency("duet_fanout_seconds",
		"Time from an edit's acceptance until its update was written to the socket of every client of the session (the sender included).")
	m.commitTime = latency("duet_store_commit_seconds",
		"Time of one store commit (SQLite: a transaction of the committer, fsync included; PostgreSQL: a batch of appends). None with -store memory.")
	m.commitSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "duet_store_commit_writes",
		Help:    "Writes in one store commit (SQLite: writes of any kind in one transaction; PostgreSQL: appends in one batch).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 9),
	})
	m.streams = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "duet_sse_streams_open",
		Help: "Event streams (/s/{id}/events) open now.",
	})
	m.streamsSeen = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "duet_sse_streams_opened_total",
		Help: "Event streams (/s/{id}/events) opened.",
	})
	m.reg.MustRegister(received, sent, disconnects, m.editApply, m.fanOut, m.commitTime, m.commitSize, m.streams, m.streamsSeen,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handled counts a client message; an edit's time is the edit apply latency.
func (m *Metrics) Handled(typ string, took time.Duration) {
	c, ok := m.received[typ]
	switch {
	case ok:
	case typ == "":
		c = m.received["invalid"]
	default:
		c = m.received["other"]
	}
	c.Inc()
	if typ == "edit" {
		m.editApply.Observe(took.Seconds())
	}
}

// Sent counts a message written to a socket.
func (m *Metrics) Sent(typ string) {
	c, ok := m.sent[typ]
	if !ok {
		c = m.sent["other"]
	}
	c.Inc()
}

// FannedOut records how long an accepted edit took to reach every socket.
func (m *Metrics) FannedOut(took time.Duration) { m.fanOut.Observe(took.Seconds()) }

// Disconnected counts a connection that ended.
func (m *Metrics) Disconnected(reason string) {
	c, ok := m.disconnects[reason]
	if !ok {
		c = m.disconnects["other"]
	}
	c.Inc()
}

// ObserveCommit records one store commit; it is the stores' commit hook
// (sqlite.Options.ObserveCommit, postgres.Options.ObserveBatch).
func (m *Metrics) ObserveCommit(writes int, took time.Duration) {
	m.commitTime.Observe(took.Seconds())
	m.commitSize.Observe(float64(writes))
}

// Hub is what the metrics read of the hub when scraped.
type Hub interface {
	Stats() collab.Stats
}

// WatchHub reports the hub's counters at every scrape: sessions and connections
// open, connections opened, updates accepted, refusals by code.
func (m *Metrics) WatchHub(h Hub) {
	m.reg.MustRegister(&hubCollector{hub: h})
}

var (
	sessionsDesc  = prometheus.NewDesc("duet_sessions_open", "Sessions live in memory (someone connected, watching, or left less than the idle time ago).", nil, nil)
	connsDesc     = prometheus.NewDesc("duet_ws_connections_open", "WebSocket connections open now.", nil, nil)
	openedDesc    = prometheus.NewDesc("duet_ws_connections_opened_total", "WebSocket connections opened.", nil, nil)
	framesDesc    = prometheus.NewDesc("duet_ws_frames_received_total", "Frames read from clients, whatever they held.", nil, nil)
	acceptedDesc  = prometheus.NewDesc("duet_updates_accepted_total", "Updates appended to documents (an edit message may hold several).", nil, nil)
	refusalsDesc  = prometheus.NewDesc("duet_ws_refusals_total", "Error messages sent to clients, by code (docs/protocol.md lists them).", []string{"code"}, nil)
	conflictsDesc = prometheus.NewDesc("duet_append_conflicts_total", "Appends another process beat to a session's log (-bus redis): read from the store, rebased and tried again.", nil, nil)
	hubCollectors = []*prometheus.Desc{sessionsDesc, connsDesc, openedDesc, framesDesc, acceptedDesc, refusalsDesc, conflictsDesc}
)

// hubCollector turns a Hub.Stats snapshot into metrics.
type hubCollector struct{ hub Hub }

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range hubCollectors {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.hub.Stats()
	ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(s.Rooms))
	ch <- prometheus.MustNewConstMetric(connsDesc, prometheus.GaugeValue, float64(s.ConnsOpen))
	ch <- prometheus.MustNewConstMetric(openedDesc, prometheus.CounterValue, float64(s.ConnsOpened))
	ch <- prometheus.MustNewConstMetric(framesDesc, prometheus.CounterValue, float64(s.Messages))
	ch <- prometheus.MustNewConstMetric(acceptedDesc, prometheus.CounterValue, float64(s.UpdatesAccepted))
	ch <- prometheus.MustNewConstMetric(conflictsDesc, prometheus.CounterValue, float64(s.AppendConflicts))
	for code, n := range s.RefusedByCode { // the hub's own codes: a bounded set
		ch <- prometheus.MustNewConstMetric(refusalsDesc, prometheus.CounterValue, float64(n), code)
	}
}

// Streams counts the event streams that pass through next (GET /s/{id}/events).
// It wraps duet's public handler, and passes every other request straight on.
func (m *Metrics) Streams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/s/") && strings.HasSuffix(r.URL.Path, "/events") {
			m.streamsSeen.Inc()
			m.streams.Inc()
			defer m.streams.Dec()
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves /metrics, and with withPprof the Go profiler under /debug/pprof/.
// It is meant for a listener only operators reach: profiles show the code and cost
// CPU while they run.
func (m *Metrics) Handler(withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: nil, Registry: m.reg}))
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
