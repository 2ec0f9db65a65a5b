package postgres_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
	"duet/store/sqlite"
)

// BenchmarkAppendCapacity measures the appends per second a store takes from many
// sessions at once, each session appending one update and waiting for its commit
// before the next, as the hub does: PostgreSQL with pools of several sizes beside
// SQLite (full and normal), in one run on one machine. b.N is the number of
// appends per session. Run with
//
//	go test -run '^$' -bench AppendCapacity -benchtime 200x ./store/postgres/
func BenchmarkAppendCapacity(b *testing.B) {
	db := pgtest.NewDatabase(b)
	type backend struct {
		name string
		open func(b *testing.B) store.Store
	}
	backends := []backend{
		{"sqlite-full", func(b *testing.B) store.Store { return openSQLite(b, sqlite.SyncFull) }},
		{"sqlite-normal", func(b *testing.B) store.Store { return openSQLite(b, sqlite.SyncNormal) }},
	}
	for _, conns := range []int32{4, 10} {
		backends = append(backends, backend{fmt.Sprintf("postgres-pool%d", conns), func(b *testing.B) store.Store {
			return mustOpen(b, pgtest.NewSchema(b, db), postgres.Options{MaxConns: conns})
		}})
	}
	for _, sessions := range []int{1, 16, 64} {
		for _, bc := range backends {
			b.Run(fmt.Sprintf("sessions=%d/%s", sessions, bc.name), func(b *testing.B) {
				benchmarkAppends(b, bc.open(b), sessions)
			})
		}
	}
}

func openSQLite(b *testing.B, sync sqlite.Sync) store.Store {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "duet.db"), sqlite.Options{Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchmarkAppends(b *testing.B, s store.Store, sessions int) {
	ctx := b.Context()
	for i := range sessions {
		if err := s.CreateSession(ctx, newSession(fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
	var before postgres.Stats
	if pg, ok := s.(*postgres.Store); ok {
		before = pg.Stats()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wait time.Duration
	b.ResetTimer()
	start := time.Now()
	for i := range sessions {
		wg.Go(func() {
			var mine time.Duration
			for v := range b.N {
				t0 := time.Now()
				if err := s.AppendUpdates(ctx, fmt.Sprint(i), v, []store.Update{upd(v)}); err != nil {
					b.Error(err)
					return
				}
				mine += time.Since(t0)
			}
			mu.Lock()
			wait += mine
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*sessions)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(float64(wait.Microseconds())/float64(b.N*sessions), "µs/append")
	if pg, ok := s.(*postgres.Store); ok {
		st := pg.Stats()
		b.ReportMetric(float64(st.Appends-before.Appends)/float64(st.Batches-before.Batches), "appends/batch")
	}
	b.ReportMetric(0, "ns/op")
}
