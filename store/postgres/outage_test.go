package postgres_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
)

// TestDatabaseRestart stops the database under an open store and starts it again:
// while it is down every call fails, with an error that is not one of the store's
// answers (not a conflict, not "not found"); once it is back, the very first
// append succeeds although every pooled connection died with the server.
func TestDatabaseRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.StartCluster(t)
	s := mustOpen(t, c.URL, postgres.Options{Timeout: 5 * time.Second})
	if err := s.CreateSession(ctx, newSession("s")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendUpdates(ctx, "s", 0, []store.Update{upd(0)}); err != nil {
		t.Fatal(err)
	}

	c.Stop(t)
	err := s.AppendUpdates(ctx, "s", 1, []store.Update{upd(1)})
	if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("AppendUpdates() with the database down: error = %v, want a failure of the database", err)
	}
	t.Logf("with the database down: %v", err)
	if _, err := s.Session(ctx, "s"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session() with the database down: error = %v, want a failure of the database", err)
	}

	c.Start(t)
	if err := s.AppendUpdates(ctx, "s", 1, []store.Update{upd(1)}); err != nil {
		t.Fatalf("first AppendUpdates() after the restart: %v", err)
	}
	log, err := s.Updates(ctx, "s", 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range log {
		if !bytes.Equal(u.Changes, upd(i).Changes) {
			t.Errorf("Updates()[%d] = %s, want %s", i, u.Changes, upd(i).Changes)
		}
	}
}

// TestLostOutcome cuts the connection while an append commits, so that the store
// cannot know from it whether the append was stored: once after the server has
// committed it (its reply is lost), once before the server has seen it (the
// request is lost). Either way the store must find out, report success, and leave
// the updates in the log exactly once.
func TestLostOutcome(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgtest.WithParam(pgtest.NewSchema(t, pgtest.NewDatabase(t)), "sslmode", "disable")
	p := newTCPProxy(t, db)
	s := mustOpen(t, p.url(t, db), postgres.Options{})
	if err := s.CreateSession(ctx, newSession("s")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendUpdates(ctx, "s", 0, []store.Update{upd(0)}); err != nil {
		t.Fatal(err)
	}

	p.arm(cutReply)
	if err := s.AppendUpdates(ctx, "s", 1, []store.Update{upd(1), upd(2)}); err != nil {
		t.Errorf("AppendUpdates() whose reply was lost: %v, want nil (it was stored)", err)
	}
	p.arm(cutRequest)
	if err := s.AppendUpdates(ctx, "s", 3, []store.Update{upd(3)}); err != nil {
		t.Errorf("AppendUpdates() whose request was lost: %v, want nil (stored on the second try)", err)
	}
	if got := p.cutsDone(); got != 2 {
		t.Fatalf("the proxy cut %d connections, want 2", got)
	}
	checkLog(t, s, "s", 4)

	// Sessions appending at once, until the reply to a batch of them is lost.
	const sessions = 8
	for i := range sessions {
		if err := s.CreateSession(ctx, newSession(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	p.arm(cutBatchReply)
	rounds := 0
	for ; rounds < 50 && p.cutsDone() < 3; rounds++ {
		var wg sync.WaitGroup
		for i := range sessions {
			wg.Go(func() {
				if err := s.AppendUpdates(ctx, fmt.Sprint(i), rounds, []store.Update{upd(rounds)}); err != nil {
					t.Errorf("round %d: AppendUpdates(%d) error = %v", rounds, i, err)
				}
			})
		}
		wg.Wait()
	}
	if p.cutsDone() < 3 {
		t.Fatalf("no batch formed in %d rounds of %d sessions appending at once (stats %+v)", rounds, sessions, s.Stats())
	}
	for i := range sessions {
		checkLog(t, s, fmt.Sprint(i), rounds)
	}
}

// checkLog checks that session id's log is upd(0), upd(1)… upd(n-1).
func checkLog(t *testing.T, s store.Store, id string, n int) {
	t.Helper()
	if got, err := s.Session(t.Context(), id); err != nil || got.Version != n {
		t.Fatalf("Session(%s) = version %d, %v; want %d", id, got.Version, err, n)
	}
	log, err := s.Updates(t.Context(), id, 0, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range log {
		if !bytes.Equal(u.Changes, upd(i).Changes) {
			t.Errorf("session %s: Updates()[%d] = %s, want %s", id, i, u.Changes, upd(i).Changes)
		}
	}
}

type cut int

const (
	cutNone       cut = iota
	cutReply          // swallow the reply to the next append, then close the connection
	cutRequest        // swallow the next request that binds a statement, then close
	cutBatchReply     // swallow the reply to the next append of several sessions, then close
)

// tcpProxy forwards connections to a PostgreSQL server and, when armed, cuts one
// at the chosen point of an append.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	armed cut
	cuts  int
}

func newTCPProxy(t *testing.T, dbURL string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: u.Host}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				continue
			}
			closeBoth := sync.OnceFunc(func() { client.Close(); server.Close() })
			wg.Go(func() { p.pump(server, client, cutRequest, closeBoth) })
			wg.Go(func() { p.pump(client, server, cutReply, closeBoth) })
		}
	})
	return p
}

// url returns dbURL pointing at the proxy.
func (p *tcpProxy) url(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func (p *tcpProxy) arm(c cut) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = c
}

func (p *tcpProxy) cutsDone() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// batchReply is the tag of a statement that updated several sessions' rows.
var batchReply = regexp.MustCompile(`UPDATE ([2-9]|[1-9][0-9]+)\x00`)

// pump copies src to dst until either side closes. The direction towards the
// server cuts at a Bind message (the start of running a prepared statement); the
// one towards the client at the reply of an append, whose tag is "UPDATE n" (n
// sessions) and which the server sends once it has committed.
func (p *tcpProxy) pump(dst io.WriteCloser, src io.Reader, kind cut, closeBoth func()) {
	defer closeBoth()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			p.mu.Lock()
			hit := (p.armed == cutRequest && kind == cutRequest && chunk[0] == 'B') ||
				(p.armed == cutReply && kind == cutReply && bytes.Contains(chunk, []byte("UPDATE 1\x00"))) ||
				(p.armed == cutBatchReply && kind == cutReply && batchReply.Match(chunk))
			if hit {
				p.armed, p.cuts = cutNone, p.cuts+1
			}
			p.mu.Unlock()
			if hit {
				return
			}
			if _, err := dst.Write(chunk); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
