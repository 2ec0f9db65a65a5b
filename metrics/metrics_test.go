package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"duet/metrics"
)

// TestLabelsStayBounded: whatever type or reason comes in, it lands in a known
// series, so that no client can make new ones.
func TestLabelsStayBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.Handled("edit", time.Millisecond)
	m.Handled("<script>", 0)
	m.Handled("", 0)
	m.Sent("made_up")
	m.Disconnected("whatever")
	m.ObserveCommit(3, 2*time.Millisecond)
	body := get(t, m.Handler(false), "/metrics")
	for _, want := range []string{
		`duet_ws_messages_received_total{type="edit"} 1`,
		`duet_ws_messages_received_total{type="other"} 1`,
		`duet_ws_messages_received_total{type="invalid"} 1`,
		`duet_ws_messages_sent_total{type="other"} 1`,
		`duet_ws_disconnects_total{reason="other"} 1`,
		`duet_edit_apply_seconds_count 1`,
		`duet_store_commit_writes_sum 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, label := range []string{`"<script>"`, `"made_up"`, `"whatever"`} {
		if strings.Contains(body, label) {
			t.Errorf("/metrics has the label %s, which a client chose", label)
		}
	}
}

// TestStreams counts event streams while they are open, and nothing else.
func TestStreams(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	release := make(chan struct{})
	open := make(chan struct{}, 1)
	h := m.Streams(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			open <- struct{}{}
			<-release
		}
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/s/abc/events", nil))
	<-open
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/s/abc", nil))
	if body := get(t, m.Handler(false), "/metrics"); !strings.Contains(body, "duet_sse_streams_open 1\n") || !strings.Contains(body, "duet_sse_streams_opened_total 1\n") {
		t.Errorf("with one stream open, /metrics says:\n%s", grep(body, "duet_sse"))
	}
	close(release)
}

// TestPprofOnlyWhenAsked: the profiler is served only with withPprof.
func TestPprofOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	for _, tt := range []struct {
		pprof bool
		want  int
	}{{false, http.StatusNotFound}, {true, http.StatusOK}} {
		rec := httptest.NewRecorder()
		m.Handler(tt.pprof).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
		if rec.Code != tt.want {
			t.Errorf("Handler(%v): GET /debug/pprof/ = %d, want %d", tt.pprof, rec.Code, tt.want)
		}
	}
}

// BenchmarkObserver is what the hub's hot path pays per call of the observer.
func BenchmarkObserver(b *testing.B) {
	m := metrics.New()
	b.Run("Sent", func(b *testing.B) {
		for b.Loop() {
			m.Sent("update")
		}
	})
	b.Run("Handled(edit)", func(b *testing.B) {
		for b.Loop() {
			m.Handled("edit", 300*time.Microsecond)
		}
	})
	b.Run("FannedOut", func(b *testing.B) {
		for b.Loop() {
			m.FannedOut(2 * time.Millisecond)
		}
	})
	b.Run("Sent/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Sent("update")
			}
		})
	})
}

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d", path, rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func grep(body, s string) string {
	var out []string
	for line := range strings.SplitSeq(body, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
