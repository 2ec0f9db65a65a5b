package main

// Flood tests: a real duet process (built from this source, on SQLite) under the
// floods a hostile participant can make within every rate limit, checked from the
// outside as an operator would: the process's memory (/proc), the data folder's
// size, the refusals, and the edit round trip of another session.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// TestFloods runs each flood against a duet of its own.
func TestFloods(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: skipping the flood tests, which build and run duet")
	}
	bin := buildDuetBinary(t)
	t.Run("edits", func(t *testing.T) { t.Parallel(); editFlood(t, bin) })
	t.Run("runs", func(t *testing.T) { t.Parallel(); runFlood(t, bin) })
}

// floodInsert is what the flooding client inserts and deletes again and again: 900 KB.
const floodInsert = 900 << 10

// editFlood: one client inserts 900 KB and deletes it again, over and over, as fast
// as its confirmations come (within the message rate): duet's memory grows by no
// more than its budgets (the in-memory tail and a client's send queue, plus the
// collector's slack), the session stops at its quota with quota_exceeded, the data
// folder grows by no more than the quota and the WAL, and another session's edits
// keep being accepted (their slowest round trip is logged, not asserted).
func editFlood(t *testing.T, bin string) {
	const (
		quota     = 48 << 20 // -session-quota
		tailBytes = 8 << 20  // -tail-bytes (the default)
		queue     = 16 << 20 // -send-queue-bytes (the default)
		slack     = 64 << 20 // the collector's and SQLite's caches
		walLimit  = 8 << 20  // past which the store checkpoints (store/sqlite)
	)
	dir := t.TempDir()
	p := startDuetProcess(t, bin, "-data-dir", dir, "-sync", "normal",
		"-session-quota", strconv.Itoa(quota), "-tail-bytes", strconv.Itoa(tailBytes), "-send-queue-bytes", strconv.Itoa(queue))
	flooded, quiet := durCreateSession(t, p.base), durCreateSession(t, p.base)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// The bystander edits its own session all along, one edit at a time.
	by, bySync := floodDial(t, ctx, p.base, quiet)
	byDone := make(chan time.Duration, 1)
	stop := make(chan struct{})
	go func() {
		slowest := time.Duration(0)
		for v := bySync.Version; ; v++ {
			select {
			case <-stop:
				byDone <- slowest
				return
			default:
			}
			start := time.Now()
			m, err := floodEdit(ctx, by, v, "by", fmt.Sprintf(`[%s[0,"x"]]`, keep(v)))
			if err != nil || m.Type != "update" {
				t.Errorf("bystander's edit %d: %+v, %v", v, m, err)
				byDone <- slowest
				return
			}
			slowest = max(slowest, time.Since(start))
			time.Sleep(20 * time.Millisecond)
		}
	}()

	fl, flSync := floodDial(t, ctx, p.base, flooded)
	time.Sleep(200 * time.Millisecond) // settled: what the process holds at rest
	rssBefore, _ := procMemory(t, p.cmd.Process.Pid)
	diskBefore := dirSize(t, dir)

	insert := fmt.Sprintf(`[[0,"%s"]]`, strings.Repeat("x", floodInsert))
	remove := fmt.Sprintf(`[[%d]]`, floodInsert)
	// Until refused: the quota is reached after some 110 edits whatever the pace of
	// the machine; the bound only stops a duet that never refuses.
	refused, edits := "", 0
	const most = 4 * quota / floodInsert
	for v := flSync.Version; refused == "" && edits < most; v++ {
		changes := insert
		if v%2 == 1 {
			changes = remove
		}
		m, err := floodEdit(ctx, fl, v, "flood", changes)
		switch {
		case err != nil:
			t.Fatalf("flood edit %d: %v", v, err)
		case m.Type == "error":
			refused = m.Code
		default:
			edits++
		}
	}
	rssAfter, peak := procMemory(t, p.cmd.Process.Pid)
	close(stop)
	slowest := <-byDone
	diskAfter := dirSize(t, dir)
	t.Logf("flood of %d edits of %d KB: refused with %q; RSS %d MB → %d MB (peak %d MB); data folder %d MB → %d MB; bystander's slowest round trip %v",
		edits, floodInsert>>10, refused, rssBefore>>20, rssAfter>>20, peak>>20, diskBefore>>20, diskAfter>>20, slowest)

	if refused != "quota_exceeded" {
		t.Errorf("the flooding client was refused with %q, want quota_exceeded", refused)
	}
	if grew := peak - rssBefore; grew > tailBytes+queue+slack {
		t.Errorf("duet's memory grew by %d MB at its peak, want at most %d MB (tail, send queue and slack)", grew>>20, (tailBytes+queue+slack)>>20)
	}
	if grew := diskAfter - diskBefore; grew > quota+walLimit+quota/8 {
		t.Errorf("the data folder grew by %d MB, want at most %d MB (the quota, the WAL and SQLite's pages)", grew>>20, (quota+walLimit+quota/8)>>20)
	}
	// The flooding client is still connected, and what fits is still taken.
	if m, err := floodEdit(ctx, fl, flSync.Version+edits, "flood", `[[0,"y"]]`); err != nil || m.Type != "update" {
		t.Errorf("a small edit after the refusal: %+v, %v; want it accepted", m, err)
	}
}

// runFlood: one client starts runs as fast as the message rate lets it, each with
// a 64 KiB title and 240 KiB of output: it is refused with too_many_runs past its
// rate of runs, and the data folder grows by no more than the session's quota.
func runFlood(t *testing.T, bin string) {
	const (
		quota    = 4 << 20
		walLimit = 8 << 20
	)
	dir := t.TempDir()
	p := startDuetProcess(t, bin, "-data-dir", dir, "-sync", "normal", "-session-quota", strconv.Itoa(quota))
	id := durCreateSession(t, p.base)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c, _ := floodDial(t, ctx, p.base, id)
	refusals := make(chan []string, 1)
	go func() { // read what comes back, counting the refusals
		var codes []string
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				refusals <- codes
				return
			}
			var m durMessage
			if json.Unmarshal(data, &m) == nil && m.Type == "error" {
				codes = append(codes, m.Code)
			}
		}
	}()
	diskBefore := dirSize(t, dir)
	title, out := strings.Repeat("t", 64<<10), strings.Repeat("o", 60<<10)
	send := func(msg string) {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	runs := 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); runs++ {
		// 6 messages a run, at most 100 a second: what the message rate allows.
		run := fmt.Sprintf("run-%d", runs)
		send(`{"type":"run","runId":"` + run + `","event":"start","text":"` + title + `"}`)
		for range 4 {
			send(`{"type":"run","runId":"` + run + `","event":"output","stream":"stdout","text":"` + out + `"}`)
		}
		send(`{"type":"run","runId":"` + run + `","event":"end","status":"ok"}`)
		time.Sleep(70 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the last runs stored
	c.Close(websocket.StatusNormalClosure, "")
	codes := <-refusals
	diskAfter := dirSize(t, dir)
	t.Logf("flood of %d runs: %d refused (%v…); data folder %d MB → %d MB", runs, len(codes), first(codes), diskBefore>>20, diskAfter>>20)
	tooMany := 0
	for _, code := range codes {
		switch code {
		case "too_many_runs":
			tooMany++
		default:
			t.Errorf("refused with %s, want too_many_runs only", code)
		}
	}
	if tooMany == 0 || tooMany >= runs {
		t.Errorf("%d of %d runs refused with too_many_runs, want those over the rate", tooMany, runs)
	}
	if grew := diskAfter - diskBefore; grew > quota+walLimit {
		t.Errorf("the data folder grew by %d MB, want at most %d MB (the quota and the WAL)", grew>>20, (quota+walLimit)>>20)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// floodDial joins a session as a program does, and returns the connection and its sync.
func floodDial(t *testing.T, ctx context.Context, base, id string) (*websocket.Conn, durMessage) {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws/"+id+"?userId="+uuid.NewString(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(32 << 20)
	_, data, err := conn.Read(ctx)
	var m durMessage
	if err != nil || json.Unmarshal(data, &m) != nil || m.Type != "sync" {
		t.Fatalf("first message %.100s, %v: want a sync", data, err)
	}
	return conn, m
}

// floodEdit pushes one update at version and returns its confirmation, or the error
// the server answered with.
func floodEdit(ctx context.Context, conn *websocket.Conn, version int, clientID, changes string) (durMessage, error) {
	msg := fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":%q,"changes":%s}]}`, version, clientID, changes)
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return durMessage{}, err
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return durMessage{}, err
		}
		var m durMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return durMessage{}, err
		}
		if m.Type == "error" || m.Type == "update" && len(m.Updates) > 0 && m.Updates[0].ClientID == clientID {
			return m, nil
		}
	}
}

// keep is the kept part of a change set at the start of a document of n units.
func keep(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n) + ","
}

// procMemory returns a process's resident memory now and at its peak, in bytes.
func procMemory(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the process's memory: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		name, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case name == "VmRSS":
			rss = kb << 10
		case name == "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}

// dirSize is the bytes of the files of dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil {
			n += fi.Size()
		}
	}
	return n
}
