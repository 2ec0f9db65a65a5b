package main

// Durability tests: a real duet process on a SQLite file or a PostgreSQL database,
// stopped gracefully or killed while clients type, then started again on the same
// data; and, on PostgreSQL, the database stopping and starting under connected
// clients. And the benchmarks behind the README's numbers: the edit round trip
// with each store, and the time to restore a session of 100,000 updates.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"duet/collab"
	"duet/collab/replay"
	"duet/handlers"
	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
	"duet/store/sqlite"
)

func TestDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs duet processes")
	}
	t.Parallel()
	bin := buildDuetBinary(t)
	for _, backend := range []struct {
		name string
		data func(t *testing.T) func(t *testing.T) durData
	}{
		{"sqlite", func(*testing.T) func(t *testing.T) durData { return sqliteData }},
		{"postgres", func(t *testing.T) func(t *testing.T) durData { return postgresData(pgtest.NewDatabase(t)) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			newData := backend.data(t)
			t.Run("restart", func(t *testing.T) {
				t.Parallel()
				testRestart(t, bin, newData(t))
			})
			t.Run("crash", func(t *testing.T) {
				t.Parallel()
				testCrash(t, bin, newData(t))
			})
		})
	}
	t.Run("postgres/outage", func(t *testing.T) {
		t.Parallel()
		testOutage(t, bin)
	})
}

// durData is where a duet process of a test keeps its sessions: the flags that
// point it there, and checks of that data once no process runs on it.
type durData struct {
	args        []string
	check       func(t *testing.T) // after a graceful stop: the data is whole and consistent
	checkKilled func(t *testing.T) // after SIGKILL, before a restart may repair anything
}

// sqliteData is a data folder of its own. A killed duet's file is checked on a
// copy (WAL included), so that the restart recovers the original itself.
func sqliteData(t *testing.T) durData {
	dir := t.TempDir()
	path := filepath.Join(dir, "duet.db")
	return durData{
		args:  []string{"-data-dir", dir},
		check: func(t *testing.T) { durIntegrityCheck(t, path) },
		checkKilled: func(t *testing.T) {
			crashed := t.TempDir()
			for _, name := range []string{"duet.db", "duet.db-wal"} {
				if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
					os.WriteFile(filepath.Join(crashed, name), data, 0o600)
				}
			}
			durIntegrityCheck(t, filepath.Join(crashed, "duet.db"))
		},
	}
}

// postgresData returns a maker of schemas of their own in the database db. Killing
// duet leaves PostgreSQL running: the data is checked as it is.
func postgresData(db string) func(t *testing.T) durData {
	return func(t *testing.T) durData {
		url := pgtest.NewSchema(t, db)
		check := func(t *testing.T) { durLogCheck(t, url) }
		return durData{
			args:  []string{"-data-dir", t.TempDir(), "-store", "postgres", "-database-url", url},
			check: check, checkKilled: check,
		}
	}
}

// testRestart: clients type, duet stops gracefully (SIGTERM) and starts again on the
// same data; clients reconnect and pull from their version: text and version are
// intact, nothing is lost or repeated, and typing goes on.
func testRestart(t *testing.T, bin string, data durData) {
	ctx := t.Context()
	srv := startDuetProcess(t, bin, data.args...)
	id := durCreateSession(t, srv.base)

	const typists, pushes = 3, 15
	ts := make([]*typist, typists)
	for i := range ts {
		ts[i] = newTypist(t, i)
		ts[i].connect(ctx, srv.base, id)
	}
	// A late reader: it connects, follows for a while, then leaves, so that after
	// the restart it has to pull what it missed from the log.
	late := newTypist(t, typists)
	late.connect(ctx, srv.base, id)
	if err := late.push(ctx, 0); err != nil {
		t.Fatal(err)
	}
	late.close()

	var wg sync.WaitGroup
	for _, ty := range ts {
		wg.Go(func() {
			for p := range pushes {
				if err := ty.push(ctx, p); err != nil {
					t.Errorf("typist %d: push %d: %v", ty.n, p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := durSessionVersion(t, srv.base, id)
	if wantV := 3 + typists*pushes*3; want != wantV {
		t.Fatalf("version %d after the typing, want %d", want, wantV)
	}
	for _, ty := range ts {
		if err := ty.catchUp(ctx, want); err != nil {
			t.Fatalf("typist %d: %v", ty.n, err)
		}
	}
	text := ts[0].text
	for _, ty := range ts[1:] {
		if ty.text != text {
			t.Fatalf("typists disagree before the restart:\n%q\n%q", text, ty.text)
		}
	}

	srv.stop(t, syscall.SIGTERM)
	if code := srv.exitCode(); code != 0 {
		t.Fatalf("duet exited with %d after SIGTERM, want 0\n%s", code, srv.logs())
	}
	for _, ty := range ts {
		ty.close()
	}

	srv = startDuetProcess(t, bin, data.args...)
	if got := durSessionVersion(t, srv.base, id); got != want {
		t.Fatalf("after the restart: version %d, want %d", got, want)
	}
	for _, ty := range append(ts, late) {
		sync := ty.connect(ctx, srv.base, id)
		if sync.Version != want || sync.Content != text {
			t.Errorf("typist %d: sync after the restart = version %d %q, want %d %q", ty.n, sync.Version, sync.Content, want, text)
		}
		// Reconnect as a client with unconfirmed work would: pull from its own
		// version, ignoring the sync.
		if err := ty.catchUp(ctx, want); err != nil {
			t.Fatalf("typist %d: %v", ty.n, err)
		}
		if ty.text != text {
			t.Errorf("typist %d: text after pulling = %q, want %q", ty.n, ty.text, text)
		}
	}
	// The late reader pulled 3·typists·pushes updates it had never seen, from a
	// version the restarted document no longer holds in memory.
	if got := late.seenFrom(3); got != typists*pushes*3 {
		t.Errorf("late reader pulled %d updates, want %d", got, typists*pushes*3)
	}
	for _, ty := range ts {
		wg.Go(func() {
			if err := ty.push(ctx, pushes); err != nil {
				t.Errorf("typist %d: push after the restart: %v", ty.n, err)
			}
		})
	}
	wg.Wait()
	final := durSessionVersion(t, srv.base, id)
	if final != want+typists*3 {
		t.Errorf("version after typing on = %d, want %d", final, want+typists*3)
	}
	log := durPullAll(t, srv.base, id)
	checkLog(t, log, append(ts, late), true)

	srv.stop(t, syscall.SIGTERM)
	data.check(t)
}

// testCrash: several clients type at once, duet is killed (SIGKILL) in the middle,
// then started again on the same data. Every update a client had seen confirmed is
// in the restored log at the same place; no push is half there; clients resend what
// was not confirmed and it lands exactly once; the data passes its checks.
func testCrash(t *testing.T, bin string, data durData) {
	ctx := t.Context()
	srv := startDuetProcess(t, bin, data.args...)
	id := durCreateSession(t, srv.base)

	// At most 4·30·3 = 360 updates: under the hub's 500 between snapshots, so a
	// crash leaves no snapshot and the restarted document holds the whole log in
	// memory, which is what lets it recognise a resent push. (With a snapshot in
	// between, the client is told to pull first, and recognises its own updates.)
	const typists, pushes = 4, 30
	ts := make([]*typist, typists)
	for i := range ts {
		ts[i] = newTypist(t, i)
		ts[i].connect(ctx, srv.base, id)
	}
	seen := make(chan int, typists*pushes)
	var wg sync.WaitGroup
	for _, ty := range ts {
		wg.Go(func() {
			for p := range pushes {
				if err := ty.push(ctx, p); err != nil {
					return // the server died
				}
				seen <- ty.version
			}
		})
	}
	go func() {
		wg.Wait()
		close(seen)
	}()
	for v := range seen { // kill in the middle of the typing
		if v >= 120 {
			break
		}
	}
	srv.stop(t, syscall.SIGKILL)
	for range seen { // until every typist has noticed
	}
	confirmed := 0
	for _, ty := range ts {
		ty.close()
		confirmed = max(confirmed, ty.version)
	}
	t.Logf("killed with %d updates seen confirmed", confirmed)
	data.checkKilled(t)

	srv = startDuetProcess(t, bin, data.args...)
	restored := durSessionVersion(t, srv.base, id)
	if restored < confirmed {
		t.Fatalf("restored version %d, but clients had seen %d updates confirmed", restored, confirmed)
	}
	log := durPullAll(t, srv.base, id)
	checkLog(t, log, ts, false) // everything seen confirmed is there, at its place; no push is half there
	stored, lost := 0, 0
	for _, ty := range ts {
		if ty.pending == nil {
			continue
		}
		if slices.ContainsFunc(log, func(u durUpdate) bool { return bytes.Contains(u.Changes, []byte(ty.marker(ty.pendP, 0))) }) {
			stored++ // committed, but the confirmation never arrived
		} else {
			lost++ // never committed: the client still has it
		}
	}
	t.Logf("restored %d updates; unconfirmed pushes: %d stored before the kill, %d not", restored, stored, lost)

	// Clients resend what was not confirmed, from the version they had, with the
	// same client ids: what was stored before the crash is recognised and not
	// applied twice.
	for _, ty := range ts {
		ty.connect(ctx, srv.base, id)
		if err := ty.resend(ctx); err != nil {
			t.Fatalf("typist %d: resend: %v", ty.n, err)
		}
	}
	final := durSessionVersion(t, srv.base, id)
	for _, ty := range ts {
		if err := ty.catchUp(ctx, final); err != nil {
			t.Fatalf("typist %d: %v", ty.n, err)
		}
		if ty.text != ts[0].text {
			t.Errorf("typist %d disagrees after the resend:\n%q\n%q", ty.n, ty.text, ts[0].text)
		}
	}
	log = durPullAll(t, srv.base, id)
	checkLog(t, log, ts, true) // and now every push is there, once
	srv.stop(t, syscall.SIGTERM)
	data.check(t)
}

// checkLog compares the full log of a session (pulled from 0) with what each
// client saw: the same update at every version, and every push either whole and
// in one piece, once, or (unless all) absent. It also checks that the log rebuilds
// the text the clients have.
func checkLog(t *testing.T, log []durUpdate, ts []*typist, all bool) {
	t.Helper()
	for _, ty := range ts {
		for v, u := range ty.seen {
			if v >= len(log) {
				t.Errorf("typist %d saw update %d confirmed; the log has %d", ty.n, v, len(log))
				continue
			}
			if log[v].ClientID != u.ClientID || !bytes.Equal(log[v].Changes, u.Changes) {
				t.Errorf("update %d: the log has %s %s, typist %d saw %s %s", v, log[v].ClientID, log[v].Changes, ty.n, u.ClientID, u.Changes)
			}
		}
		for p := range ty.pushed {
			var at []int
			for k := range 3 {
				for v, u := range log {
					if bytes.Contains(u.Changes, []byte(ty.marker(p, k))) {
						at = append(at, v)
					}
				}
			}
			if (all || len(at) != 0) && (len(at) != 3 || at[1] != at[0]+1 || at[2] != at[0]+2) {
				t.Errorf("push %d of typist %d is in the log at versions %v, want its three updates in a row, once", p, ty.n, at)
			}
		}
	}
	text := ""
	for v, u := range log {
		var err error
		if text, err = applyChangesJSON(text, u.Changes); err != nil {
			t.Fatalf("log update %d does not apply: %v", v, err)
		}
	}
	for _, ty := range ts {
		if ty.version == len(log) && ty.text != text {
			t.Errorf("typist %d at version %d has %q; the log gives %q", ty.n, ty.version, ty.text, text)
		}
	}
}

// ---- a duet process ----

// buildDuetBinary builds cmd/duet into the test's temporary folder.
func buildDuetBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build duet with")
	}
	bin := filepath.Join(t.TempDir(), "duet")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// durProcess is a duet started by a test.
type durProcess struct {
	cmd  *exec.Cmd
	base string        // http://127.0.0.1:port
	done chan struct{} // closed when the process has exited and its log is read
	mu   sync.Mutex
	log  bytes.Buffer // its stderr
}

// startDuetProcess runs bin on a free port of 127.0.0.1 with args (which say where
// its data is) and waits for it to log where it listens. The process is killed
// when the test ends, if it still runs.
func startDuetProcess(t *testing.T, bin string, args ...string) *durProcess {
	t.Helper()
	p := &durProcess{done: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	p.cmd.Env = []string{} // nothing from the test's environment
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		lines.Buffer(nil, 1<<20)
		for lines.Scan() {
			p.mu.Lock()
			p.log.Write(lines.Bytes())
			p.log.WriteByte('\n')
			p.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("duet log:\n%s", p.logs())
		}
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-p.done:
		t.Fatalf("duet exited before listening:\n%s", p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("duet did not listen within 30s:\n%s", p.logs())
	}
	return p
}

func (p *durProcess) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends sig and waits for the process to exit.
func (p *durProcess) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("duet did not exit within 30s of %v", sig)
	}
}

func (p *durProcess) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

func durCreateSession(t testing.TB, base string) string {
	t.Helper()
	res, err := http.Post(base+"/sessions", "application/json", strings.NewReader(`{"language":"python"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /sessions = %d, %v", res.StatusCode, err)
	}
	return out.ID
}

func durSessionVersion(t testing.TB, base, id string) int {
	t.Helper()
	res, err := http.Get(base + "/sessions/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Version *int }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Version == nil {
		t.Fatalf("GET /sessions/%s = %d, %v", id, res.StatusCode, err)
	}
	return *out.Version
}

// durPullAll reads a session's whole log with a pull from 0, and checks that it
// rebuilds the text the sync gives.
func durPullAll(t *testing.T, base, id string) []durUpdate {
	t.Helper()
	r := newTypist(t, 99)
	sync := r.connect(t.Context(), base, id)
	defer r.close()
	r.version, r.text = 0, "" // as if it had been there from the start
	if err := r.catchUp(t.Context(), sync.Version); err != nil {
		t.Fatal(err)
	}
	if r.text != sync.Content {
		t.Errorf("the log from 0 gives %q; the sync has %q", r.text, sync.Content)
	}
	log := make([]durUpdate, sync.Version)
	for v := range log {
		log[v] = r.seen[v]
	}
	return log
}

// durIntegrityCheck opens the database file with the driver alone and runs SQLite's
// own checks.
func durIntegrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRowContext(t.Context(), "PRAGMA integrity_check").Scan(&got); err != nil || got != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", got, err)
	}
	rows, err := db.QueryContext(t.Context(), "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check found problems")
	}
}

// durLogCheck checks a PostgreSQL database as durIntegrityCheck checks a SQLite
// file, for what PostgreSQL does not check itself: every session's log holds
// exactly the versions 0 to version-1, and no snapshot is past its end.
func durLogCheck(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT s.id, s.version, count(u.version), coalesce(min(u.version), 0), coalesce(max(u.version), -1),
			(SELECT coalesce(max(version), 0) FROM snapshots WHERE session = s.pk)
		FROM sessions s LEFT JOIN updates u ON u.session = s.pk GROUP BY s.pk`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var version, count, lo, hi, snap int
		if err := rows.Scan(&id, &version, &count, &lo, &hi, &snap); err != nil {
			t.Fatal(err)
		}
		if count != version || lo != 0 || hi != version-1 || snap > version {
			t.Errorf("session %s: version %d, log of %d updates from %d to %d, newest snapshot at %d", id, version, count, lo, hi, snap)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// ---- a client that types ----

// durUpdate is one update as the server sends it.
type durUpdate struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
	UserID   string          `json:"userId"`
}

type durMessage struct {
	Type     string      `json:"type"`
	Version  int         `json:"version"`
	Content  string      `json:"content"`
	Updates  []durUpdate `json:"updates"`
	Code     string      `json:"code"`
	Message  string      `json:"message"`
	Language string      `json:"language"`
}

// typist is a client the way @codemirror/collab is one, simplified: it has one
// push in flight at a time and applies nothing locally before it is confirmed, so
// its text is always the server's at its version. Each push has three updates,
// each inserting a marker naming the typist, the push and the update, so the log
// shows whether a push is whole.
type typist struct {
	t        testing.TB
	n        int
	userID   string
	clientID string
	rnd      *rand.Rand

	conn    *websocket.Conn
	msgs    chan durMessage
	closed  error             // why the connection ended; set before msgs is closed
	started bool              // it has state of its own: later syncs are ignored
	version int               // updates applied
	text    string            // the document at version (ASCII: UTF-16 units are bytes)
	seen    map[int]durUpdate // every update received, by the version it applies to
	pushed  map[int]bool      // pushes sent
	pending *durEdit          // the push sent and not yet confirmed
	pendP   int               // its number
}

// durEdit is a push as sent.
type durEdit struct {
	Type    string         `json:"type"`
	Version int            `json:"version"`
	Updates []durClientUpd `json:"updates"`
}

type durClientUpd struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
}

func newTypist(t testing.TB, n int) *typist {
	return &typist{
		t: t, n: n, userID: uuid.NewString(), clientID: fmt.Sprintf("client-%d-%s", n, uuid.NewString()[:8]),
		rnd: rand.New(rand.NewPCG(uint64(n), 7)), seen: map[int]durUpdate{}, pushed: map[int]bool{},
	}
}

func (ty *typist) marker(push, update int) string {
	return fmt.Sprintf("(t%dp%du%d)", ty.n, push, update)
}

// connect opens a socket to the session and returns its sync message, keeping the
// typist's own state (a client with unconfirmed work ignores the sync's content).
func (ty *typist) connect(ctx context.Context, base, id string) durMessage {
	ty.t.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + "/ws/" + id + "?userId=" + ty.userID + "&userName=typist"
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, u, nil)
	if err != nil {
		ty.t.Fatalf("typist %d: dial: %v", ty.n, err)
	}
	conn.SetReadLimit(16 << 20)
	ty.conn = conn
	ty.msgs = make(chan durMessage, 1024)
	ty.closed = nil
	go func(msgs chan<- durMessage) {
		defer close(msgs)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				ty.closed = err
				return
			}
			var m durMessage
			if json.Unmarshal(data, &m) == nil {
				msgs <- m
			}
		}
	}(ty.msgs)
	m, err := ty.next(ctx)
	if err != nil || m.Type != "sync" {
		ty.t.Fatalf("typist %d: first message %+v, %v; want a sync", ty.n, m, err)
	}
	if !ty.started {
		ty.started = true
		ty.version, ty.text = m.Version, m.Content
	}
	return m
}

func (ty *typist) close() {
	if ty.conn != nil {
		ty.conn.CloseNow()
		for range ty.msgs { // wait for the reader
		}
		ty.conn = nil
	}
}

func (ty *typist) next(ctx context.Context) (durMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	select {
	case m, ok := <-ty.msgs:
		if !ok {
			return m, fmt.Errorf("connection closed: %w", ty.closed)
		}
		if m.Type == "error" {
			return m, fmt.Errorf("server error %s: %s", m.Code, m.Message)
		}
		return m, nil
	case <-ctx.Done():
		return durMessage{}, fmt.Errorf("no message: %w", ctx.Err())
	}
}

func (ty *typist) send(ctx context.Context, v any) error {
	data, _ := json.Marshal(v)
	return ty.conn.Write(ctx, websocket.MessageText, data)
}

// apply takes what an update message brings beyond the typist's version. A message
// from further on leaves a gap, which a pull fills.
func (ty *typist) apply(m durMessage) (mine bool, err error) {
	if m.Version > ty.version {
		return false, nil
	}
	for i, u := range m.Updates {
		v := m.Version + i
		if v < ty.version {
			continue
		}
		if ty.text, err = applyChangesJSON(ty.text, u.Changes); err != nil {
			return mine, fmt.Errorf("update %d: %w", v, err)
		}
		u.Changes = compactJSON(u.Changes)
		if ty.seen != nil {
			ty.seen[v] = u
		}
		ty.version++
		mine = mine || u.ClientID == ty.clientID
	}
	return mine, nil
}

// push sends push number p (three updates at random places) and waits for it to
// be confirmed, applying what arrives meanwhile.
func (ty *typist) push(ctx context.Context, p int) error {
	e := &durEdit{Type: "edit", Version: ty.version}
	text := ty.text
	for k := range 3 {
		pos := ty.rnd.IntN(len(text) + 1)
		mk := ty.marker(p, k)
		e.Updates = append(e.Updates, durClientUpd{ClientID: ty.clientID, Changes: insertJSON(len(text), pos, mk)})
		text = text[:pos] + mk + text[pos:]
	}
	ty.pushed[p] = true
	ty.pending, ty.pendP = e, p
	if err := ty.send(ctx, e); err != nil {
		return err
	}
	return ty.waitConfirmed(ctx)
}

func (ty *typist) waitConfirmed(ctx context.Context) error {
	for {
		m, err := ty.next(ctx)
		if err != nil {
			return err
		}
		if m.Type != "update" {
			continue
		}
		if m.Version > ty.version { // the empty answer to a resend already stored
			if err := ty.send(ctx, map[string]any{"type": "pull", "version": ty.version}); err != nil {
				return err
			}
			continue
		}
		mine, err := ty.apply(m)
		if err != nil {
			return err
		}
		if mine {
			ty.pending = nil
			return nil
		}
	}
}

// resend pushes again, from the version it was made on, the push that was not
// confirmed when the server died, as @codemirror/collab's sendableUpdates would.
func (ty *typist) resend(ctx context.Context) error {
	if ty.pending == nil {
		return nil
	}
	if err := ty.send(ctx, ty.pending); err != nil {
		return err
	}
	return ty.waitConfirmed(ctx)
}

// catchUp pulls from the typist's version, at least once, until it is at version.
func (ty *typist) catchUp(ctx context.Context, version int) error {
	for {
		from := ty.version
		if err := ty.send(ctx, map[string]any{"type": "pull", "version": from}); err != nil {
			return err
		}
		for {
			m, err := ty.next(ctx)
			if err != nil {
				return fmt.Errorf("catch up from %d to %d: %w", ty.version, version, err)
			}
			if m.Type != "update" {
				continue
			}
			if _, err := ty.apply(m); err != nil {
				return err
			}
			if m.Version == from { // the answer (a long one comes in several messages)
				break
			}
		}
		if ty.version >= version {
			break
		}
	}
	if ty.version != version {
		return fmt.Errorf("caught up to %d, want %d", ty.version, version)
	}
	return nil
}

// seenFrom counts the updates seen at version from or later.
func (ty *typist) seenFrom(from int) int {
	n := 0
	for v := range ty.seen {
		if v >= from {
			n++
		}
	}
	return n
}

// insertJSON is the change set inserting s at pos in a document of length n.
func insertJSON(n, pos int, s string) json.RawMessage {
	var parts []any
	if pos > 0 {
		parts = append(parts, pos)
	}
	parts = append(parts, []any{0, s})
	if n > pos {
		parts = append(parts, n-pos)
	}
	b, _ := json.Marshal(parts)
	return b
}

// applyChangesJSON applies a change set in CodeMirror's JSON to ASCII text.
func applyChangesJSON(text string, changes json.RawMessage) (string, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(changes, &parts); err != nil {
		return "", err
	}
	var out strings.Builder
	pos := 0
	for _, p := range parts {
		var keep int
		if json.Unmarshal(p, &keep) == nil {
			if pos+keep > len(text) {
				return "", fmt.Errorf("keep %d past the end (%d)", keep, len(text))
			}
			out.WriteString(text[pos : pos+keep])
			pos += keep
			continue
		}
		var repl []json.RawMessage
		if err := json.Unmarshal(p, &repl); err != nil || len(repl) == 0 {
			return "", fmt.Errorf("bad part %s", p)
		}
		var del int
		if err := json.Unmarshal(repl[0], &del); err != nil || pos+del > len(text) {
			return "", fmt.Errorf("bad deletion %s", p)
		}
		pos += del
		lines := make([]string, len(repl)-1)
		for i, l := range repl[1:] {
			if err := json.Unmarshal(l, &lines[i]); err != nil {
				return "", err
			}
		}
		out.WriteString(strings.Join(lines, "\n"))
	}
	if pos != len(text) {
		return "", fmt.Errorf("changes cover %d of %d units", pos, len(text))
	}
	return out.String(), nil
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return slices.Clone(b)
	}
	return buf.Bytes()
}

// ---- benchmarks ----

// BenchmarkEditRoundTrip measures the edit round trip (push → own confirmation)
// through a real server (handlers and hub over HTTP and WebSockets, wired as run
// wires them) with each store, under the same load: 16 sessions of 2 clients, each
// client typing one character every 20 ms (1,600 edits/s in all). b.N is the number
// of edits per client. It also reports how long the hub waited in AppendUpdates.
// Run with
//
//	go test -run '^$' -bench EditRoundTrip -benchtime 250x ./cmd/duet/
func BenchmarkEditRoundTrip(b *testing.B) {
	const sessions, perSession, every = 16, 2, 20 * time.Millisecond
	openSQLite := func(sync sqlite.Sync) func(b *testing.B) store.Store {
		return func(b *testing.B) store.Store {
			db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "duet.db"), sqlite.Options{Sync: sync})
			if err != nil {
				b.Fatal(err)
			}
			return db
		}
	}
	pg := pgtest.NewDatabase(b)
	for _, bc := range []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
		{"sqlite-full", openSQLite(sqlite.SyncFull)},
		{"sqlite-normal", openSQLite(sqlite.SyncNormal)},
		{"postgres", func(b *testing.B) store.Store {
			db, err := postgres.Open(b.Context(), pgtest.NewSchema(b, pg), postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return db
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := bc.open(b)
			timed := &timedStore{Store: st}
			base := durServeInProcess(b, timed)
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			start := make(chan struct{})
			for s := range sessions {
				id := durCreateSession(b, base)
				for c := range perSession {
					ty := newTypist(b, s*perSession+c)
					ty.seen = nil
					ty.connect(b.Context(), base, id)
					wg.Go(func() {
						defer ty.close()
						<-start
						time.Sleep(time.Duration(ty.rnd.Int64N(int64(every)))) // spread the clients
						tick := time.NewTicker(every)
						defer tick.Stop()
						mine := make([]time.Duration, 0, b.N)
						for range b.N {
							<-tick.C
							pos := ty.rnd.IntN(len(ty.text) + 1)
							e := &durEdit{Type: "edit", Version: ty.version, Updates: []durClientUpd{{ClientID: ty.clientID, Changes: insertJSON(len(ty.text), pos, "x")}}}
							t0 := time.Now()
							if err := ty.send(b.Context(), e); err != nil {
								b.Error(err)
								return
							}
							if err := ty.waitConfirmed(b.Context()); err != nil {
								b.Error(err)
								return
							}
							mine = append(mine, time.Since(t0))
						}
						mu.Lock()
						lat = append(lat, mine...)
						mu.Unlock()
					})
				}
			}
			b.ResetTimer()
			close(start)
			wg.Wait()
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			b.ReportMetric(quantileMs(lat, 0.5), "p50-ms")
			b.ReportMetric(quantileMs(lat, 0.99), "p99-ms")
			b.ReportMetric(quantileMs(lat, 1), "max-ms")
			appends := timed.appends()
			b.ReportMetric(quantileMs(appends, 0.5), "append-p50-ms")
			b.ReportMetric(quantileMs(appends, 0.99), "append-p99-ms")
			if db, ok := st.(*sqlite.Store); ok {
				stats := db.Stats()
				b.ReportMetric(float64(stats.Writes)/float64(stats.Commits), "writes/commit")
				b.ReportMetric(float64(stats.InlineCheckpoints), "inline-checkpoints")
			}
			if db, ok := st.(*postgres.Store); ok {
				stats := db.Stats()
				b.ReportMetric(float64(stats.Appends)/float64(stats.Batches), "appends/batch")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

func quantileMs(d []time.Duration, q float64) float64 {
	d = slices.Clone(d)
	slices.Sort(d)
	return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
}

// timedStore records how long each AppendUpdates takes.
type timedStore struct {
	store.Store
	mu sync.Mutex
	ds []time.Duration
}

func (s *timedStore) AppendUpdates(ctx context.Context, id string, from int, updates []store.Update) error {
	t0 := time.Now()
	err := s.Store.AppendUpdates(ctx, id, from, updates)
	s.mu.Lock()
	s.ds = append(s.ds, time.Since(t0))
	s.mu.Unlock()
	return err
}

func (s *timedStore) appends() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ds)
}

// durServeInProcess serves duet over st as run wires it (hub, handlers, the default
// limits but a rate limit out of the way), until the benchmark ends, and returns
// its base URL.
func durServeInProcess(b *testing.B, st store.Store) string {
	b.Helper()
	hub := collab.NewHub(collab.HubConfig{Store: st, Limits: collab.Limits{RatePerSecond: 1000, RateBurst: 1000}})
	h, err := handlers.New(handlers.Config{Sessions: hub, Sockets: hub, Replays: replay.New(st), BodyLimit: 65536})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
		st.Close()
	})
	return srv.URL
}

// BenchmarkRestore100k measures how long the hub takes to load a session of
// 100,000 updates from SQLite (GET /sessions/{id} of a session nobody has open
// does exactly this): from the empty document through the whole log, or from a
// snapshot 400 updates before the end, as the hub leaves one every 500 updates.
func BenchmarkRestore100k(b *testing.B) {
	const total = 100_000
	path := filepath.Join(b.TempDir(), "duet.db")
	st, err := sqlite.Open(b.Context(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	text, err := durFillSession(ctx, st, "no-snapshot", total, -1)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := durFillSession(ctx, st, "snapshot", total, total-400); err != nil {
		b.Fatal(err)
	}
	st.Close()
	b.Logf("document of %d UTF-16 units after %d updates", len(text), total)

	for _, id := range []string{"no-snapshot", "snapshot"} {
		b.Run(id, func(b *testing.B) {
			st, err := sqlite.Open(b.Context(), path, sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			for b.Loop() {
				hub := collab.NewHub(collab.HubConfig{Store: st})
				info, err := hub.Session(b.Context(), id)
				if err != nil || info.Version != total || info.Text.String() != text {
					b.Fatalf("Session() = version %d, %v", info.Version, err)
				}
			}
		})
	}
	b.Run("store-read-only", func(b *testing.B) {
		st, err := sqlite.Open(b.Context(), path, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for b.Loop() {
			if _, err := st.Updates(b.Context(), "no-snapshot", 0, total, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// durFillSession stores a session of n typing-like updates (inserts and deletes of
// one character, the document hovering around 3,000 units) and, if snapAt ≥ 0, a
// snapshot at that version. It returns the final text.
func durFillSession(ctx context.Context, st store.Store, id string, n, snapAt int) (string, error) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	if err := st.CreateSession(ctx, store.Session{ID: id, Language: "python", CreatedAt: at, LastActive: at}); err != nil {
		return "", err
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	text := ""
	var batch []store.Update
	for v := range n {
		var ch json.RawMessage
		if len(text) > 3000 && rnd.IntN(2) == 0 {
			pos := rnd.IntN(len(text))
			ch = deleteJSON(len(text), pos)
			text = text[:pos] + text[pos+1:]
		} else {
			pos := rnd.IntN(len(text) + 1)
			c := string(rune('a' + rnd.IntN(26)))
			ch = insertJSON(len(text), pos, c)
			text = text[:pos] + c + text[pos:]
		}
		batch = append(batch, store.Update{ClientID: "c", UserID: "u", Changes: ch, Time: at.Add(time.Duration(v) * time.Second)})
		if len(batch) == 1000 || v == n-1 {
			if err := st.AppendUpdates(ctx, id, v+1-len(batch), batch); err != nil {
				return "", err
			}
			batch = batch[:0]
		}
		if v+1 == snapAt {
			// The text so far, appended after the updates it follows.
			if len(batch) > 0 {
				if err := st.AppendUpdates(ctx, id, v+1-len(batch), batch); err != nil {
					return "", err
				}
				batch = batch[:0]
			}
			js, _ := json.Marshal(text)
			if err := st.SaveSnapshot(ctx, id, store.Snapshot{Version: snapAt, Text: js}); err != nil {
				return "", err
			}
		}
	}
	return text, nil
}

func deleteJSON(n, pos int) json.RawMessage {
	var parts []any
	if pos > 0 {
		parts = append(parts, pos)
	}
	parts = append(parts, []any{1})
	if n > pos+1 {
		parts = append(parts, n-pos-1)
	}
	b, _ := json.Marshal(parts)
	return b
}
