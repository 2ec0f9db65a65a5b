package main

import (
	"errors"
	"net/http"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"duet/store/postgres/pgtest"
)

// testOutage: the database stops under a duet process with two clients connected,
// then starts again (a private PostgreSQL server: the shared one is never
// stopped). While it is down, an edit is refused: the hub closes the pushing
// client's connection with 1011 "could not save the update", and the client keeps
// its edit, reconnects (the session is in memory) and is refused again; duet keeps
// serving. Once the database is back, the resent edit lands exactly once, typing
// goes on, and after a restart of duet every confirmed update is in the log, in
// order.
func testOutage(t *testing.T, bin string) {
	ctx := t.Context()
	c := pgtest.StartCluster(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL log:\n%s", c.Log())
		}
	})
	args := []string{"-data-dir", t.TempDir(), "-store", "postgres", "-database-url", c.URL}
	srv := startDuetProcess(t, bin, args...)
	id := durCreateSession(t, srv.base)
	ty, other := newTypist(t, 0), newTypist(t, 1)
	ty.connect(ctx, srv.base, id)
	other.connect(ctx, srv.base, id)
	for p := range 5 {
		if err := ty.push(ctx, p); err != nil {
			t.Fatalf("push %d: %v", p, err)
		}
	}

	c.Stop(t)
	wantRefused := func(err error, when string) {
		t.Helper()
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusInternalError || ce.Reason != "could not save the update" {
			t.Fatalf("%s: push error = %v, want the connection closed with 1011 \"could not save the update\"", when, err)
		}
	}
	wantRefused(ty.push(ctx, 5), "database down")
	if res, err := http.Get(srv.base + "/health"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /health with the database down = %v, %v; want 200", res, err)
	} else {
		res.Body.Close()
	}
	ty.close()
	ty.connect(ctx, srv.base, id) // the session is in memory: joining needs no database
	wantRefused(ty.resend(ctx), "database still down, after reconnecting")
	ty.close()

	c.Start(t)
	ty.connect(ctx, srv.base, id)
	if err := ty.resend(ctx); err != nil {
		t.Fatalf("resend once the database is back: %v", err)
	}
	if err := ty.push(ctx, 6); err != nil {
		t.Fatalf("push after the database came back: %v", err)
	}
	if err := other.push(ctx, 0); err != nil {
		t.Fatalf("the other client's push after the database came back: %v", err)
	}
	if err := ty.catchUp(ctx, other.version); err != nil {
		t.Fatal(err)
	}
	if ty.text != other.text {
		t.Errorf("clients disagree after the outage:\n%q\n%q", ty.text, other.text)
	}
	want := ty.version

	srv.stop(t, syscall.SIGTERM)
	if code := srv.exitCode(); code != 0 {
		t.Fatalf("duet exited with %d after SIGTERM, want 0\n%s", code, srv.logs())
	}
	ty.close()
	other.close()
	srv = startDuetProcess(t, bin, args...)
	if got := durSessionVersion(t, srv.base, id); got != want {
		t.Fatalf("after the restart: version %d, want %d", got, want)
	}
	checkLog(t, durPullAll(t, srv.base, id), []*typist{ty, other}, true)
	srv.stop(t, syscall.SIGTERM)
	durLogCheck(t, c.URL)
}
