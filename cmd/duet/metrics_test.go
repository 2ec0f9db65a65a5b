package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMetrics scrapes /metrics from a real duet process: every metric the README
// lists is there, the counters move after an edit and after a refusal, and neither
// /metrics nor the profiler is ever served on the public listener.
func TestMetrics(t *testing.T) {
	t.Parallel()
	bin := buildDuetBinary(t)

	t.Run("absent by default", func(t *testing.T) {
		t.Parallel()
		p := startDuetProcess(t, bin, "-data-dir", t.TempDir())
		for _, path := range []string{"/metrics", "/debug/pprof/"} {
			if got := httpStatus(t, p.base+path); got != http.StatusNotFound {
				t.Errorf("GET %s on the public listener = %d, want 404", path, got)
			}
		}
		if strings.Contains(p.logs(), "metrics listening") {
			t.Errorf("duet serves metrics without -metrics-addr:\n%s", p.logs())
		}
	})

	t.Run("scraped", func(t *testing.T) {
		t.Parallel()
		p := startDuetProcess(t, bin, "-data-dir", t.TempDir(), "-metrics-addr", "127.0.0.1:0", "-pprof")
		metricsBase := "http://" + waitLogAddr(t, p, "metrics listening")
		for _, path := range []string{"/metrics", "/debug/pprof/"} {
			if got := httpStatus(t, p.base+path); got != http.StatusNotFound {
				t.Errorf("GET %s on the public listener = %d, want 404", path, got)
			}
		}
		if got := httpStatus(t, metricsBase+"/debug/pprof/"); got != http.StatusOK {
			t.Errorf("GET /debug/pprof/ on the metrics listener with -pprof = %d, want 200", got)
		}

		before := scrape(t, metricsBase)
		for _, name := range []string{
			"duet_sessions_open", "duet_ws_connections_open", "duet_ws_connections_opened_total",
			`duet_ws_messages_received_total{type="edit"}`, `duet_ws_messages_sent_total{type="update"}`,
			`duet_ws_disconnects_total{reason="too_slow"}`, `duet_ws_disconnects_total{reason="ping"}`,
			"duet_updates_accepted_total", "duet_append_conflicts_total", "duet_edit_apply_seconds_count", "duet_fanout_seconds_count",
			"duet_store_commit_seconds_count", "duet_store_commit_writes_count", "duet_sse_streams_open",
			"go_goroutines", "go_memstats_heap_inuse_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes",
		} {
			if _, ok := before[name]; !ok {
				t.Errorf("/metrics has no %s", name)
			}
		}

		id := durCreateSession(t, p.base)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.base, "http")+"/ws/"+id, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.CloseNow()
		readType := func(want string) {
			t.Helper()
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					t.Fatalf("read, waiting for %s: %v", want, err)
				}
				var m struct{ Type string }
				json.Unmarshal(data, &m)
				if m.Type == want {
					return
				}
			}
		}
		readType("sync")
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"edit","version":0,"updates":[{"clientID":"m","changes":[[0,"hi"]]}]}`)); err != nil {
			t.Fatal(err)
		}
		readType("update")
		if err := conn.Write(ctx, websocket.MessageText, []byte(`not json`)); err != nil {
			t.Fatal(err)
		}
		readType("error")

		during := scrape(t, metricsBase)
		moved := func(at map[string]float64, name string, by float64) {
			t.Helper()
			if got := at[name] - before[name]; got != by {
				t.Errorf("%s moved by %v, want %v", name, got, by)
			}
		}
		moved(during, `duet_ws_messages_received_total{type="edit"}`, 1)
		moved(during, `duet_ws_messages_received_total{type="invalid"}`, 1)
		moved(during, "duet_updates_accepted_total", 1)
		moved(during, `duet_ws_refusals_total{code="bad_json"}`, 1)
		moved(during, `duet_ws_messages_sent_total{type="sync"}`, 1)
		moved(during, `duet_ws_messages_sent_total{type="update"}`, 1)
		moved(during, `duet_ws_messages_sent_total{type="error"}`, 1)
		moved(during, "duet_edit_apply_seconds_count", 1)
		moved(during, "duet_fanout_seconds_count", 1)
		moved(during, "duet_ws_connections_open", 1)
		moved(during, "duet_ws_connections_opened_total", 1)
		if during["duet_store_commit_seconds_count"] <= before["duet_store_commit_seconds_count"] {
			t.Errorf("duet_store_commit_seconds_count = %v after an edit, was %v: no commit observed",
				during["duet_store_commit_seconds_count"], before["duet_store_commit_seconds_count"])
		}
		if during["duet_sessions_open"] < 1 {
			t.Errorf("duet_sessions_open = %v with a client connected, want at least 1", during["duet_sessions_open"])
		}

		// A refusal that ends the connection: a frame over the message limit (2 MiB).
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pull","version":0,"pad":"`+strings.Repeat("x", 2<<20)+`"}`)); err != nil {
			t.Fatal(err)
		}
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				break
			}
		}
		// A scrape reads each collector in turn, so it may see the disconnection
		// counted and the connection not yet closed (or the other way round): wait for
		// both, then check the rest.
		deadline := time.Now().Add(30 * time.Second)
		for {
			after := scrape(t, metricsBase)
			gone := after[`duet_ws_disconnects_total{reason="too_large"}`]-before[`duet_ws_disconnects_total{reason="too_large"}`] == 1
			closed := after["duet_ws_connections_open"] == before["duet_ws_connections_open"]
			if gone && closed {
				moved(after, `duet_ws_refusals_total{code="too_large"}`, 1)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after an oversized frame, duet_ws_disconnects_total{reason=\"too_large\"} moved by %v (want 1) and duet_ws_connections_open by %v (want 0)",
					after[`duet_ws_disconnects_total{reason="too_large"}`]-before[`duet_ws_disconnects_total{reason="too_large"}`],
					after["duet_ws_connections_open"]-before["duet_ws_connections_open"])
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// waitLogAddr waits for the process to log msg with an addr, and returns the addr.
func waitLogAddr(t *testing.T, p *durProcess, msg string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for line := range strings.SplitSeq(p.logs(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
				return rec.Addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("duet did not log %q within 10 s:\n%s", msg, p.logs())
	return ""
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// scrape reads /metrics as series → value, each series named as the text format
// writes it (name{label="value",…}).
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %s, want 200", res.Status)
	}
	out := map[string]float64{}
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics line %q is not \"series value\"", line)
		}
		out[line[:i]] = v
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return out
}
