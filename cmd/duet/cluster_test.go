package main

import (
	"sync"
	"syscall"
	"testing"
	"time"

	"duet/bus/redisbus/redistest"
	"duet/store/postgres/pgtest"
)

// TestClusterKill: two duet processes (real binaries) serve one session over one
// PostgreSQL database and one Redis; typists on both type at once, and one process
// is killed with SIGKILL in the middle. Its typists move to the other process and
// resend the push that was not confirmed; the others never stop. Every update any
// typist saw confirmed is in the log at its place, every push is there once and
// whole, and everyone ends with the log's text.
func TestClusterKill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	start := time.Now()
	bin := buildDuetBinary(t)
	t.Logf("built in %v", time.Since(start))
	db, rs := pgtest.NewDatabase(t), redistest.Start(t)
	args := []string{"-store", "postgres", "-database-url", db, "-bus", "redis", "-redis-url", rs.URL}
	a := startDuetProcess(t, bin, args...)
	b := startDuetProcess(t, bin, args...)
	id := durCreateSession(t, a.base)

	const typists, pushes = 4, 30
	ts := make([]*typist, typists)
	for i := range ts {
		ts[i] = newTypist(t, i)
		ts[i].connect(ctx, []*durProcess{a, b}[i%2].base, id)
	}
	stopped := make([]int, typists) // the push a typist was at when its process died
	seen := make(chan int, typists*pushes)
	var wg sync.WaitGroup
	for i, ty := range ts {
		stopped[i] = pushes
		wg.Go(func() {
			for p := range pushes {
				if err := ty.push(ctx, p); err != nil {
					stopped[i] = p // its process died
					return
				}
				seen <- ty.version
			}
		})
	}
	for v := range seen { // kill in the middle of the typing
		if v >= 120 {
			break
		}
	}
	a.stop(t, syscall.SIGKILL)
	t.Logf("killed after %v", time.Since(start))
	// The typists on the dead process notice and stop; the others type on. Then
	// the first move to the other process and carry on from their version with the
	// push that was not confirmed.
	wg.Wait() // a's typists have stopped; b's have finished
	for i, ty := range ts {
		if i%2 != 0 || stopped[i] == pushes {
			continue
		}
		ty.close()
		ty.connect(ctx, b.base, id)
		if err := ty.resend(ctx); err != nil {
			t.Fatalf("typist %d: resend on the other process: %v", i, err)
		}
		for p := stopped[i] + 1; p < pushes; p++ {
			if err := ty.push(ctx, p); err != nil {
				t.Fatalf("typist %d: push %d on the other process: %v", i, p, err)
			}
		}
	}
	t.Logf("all pushed after %v", time.Since(start))
	final := durSessionVersion(t, b.base, id)
	if final != typists*pushes*3 {
		t.Errorf("the log has %d updates, want %d (%d typists × %d pushes × 3)", final, typists*pushes*3, typists, pushes)
	}
	for _, ty := range ts {
		if err := ty.catchUp(ctx, final); err != nil {
			t.Fatalf("typist %d: %v", ty.n, err)
		}
	}
	log := durPullAll(t, b.base, id)
	checkLog(t, log, ts, true) // everything seen confirmed is at its place; every push once and whole
	for _, ty := range ts {
		if ty.text != ts[0].text {
			t.Errorf("typist %d disagrees with typist 0", ty.n)
		}
	}
}
