package sqlite_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"duet/store"
	"duet/store/sqlite"
)

// BenchmarkAppend measures one-update appends from 16 sessions at once, each
// waiting for its commit before the next as the hub does, and reports how the
// group commit batched them.
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
		for _, sessions := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/sessions=%d", sync, sessions), func(b *testing.B) {
				benchmarkAppend(b, sqlite.Options{Sync: sync}, sessions)
			})
		}
	}
}

func benchmarkAppend(b *testing.B, opts sqlite.Options, sessions int) {
	s := mustOpen(b, opts)
	ctx := b.Context()
	for i := range sessions {
		if err := s.CreateSession(ctx, newSession(fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
	before := s.Stats()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wait time.Duration
	b.ResetTimer()
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
	b.StopTimer()
	st := s.Stats()
	commits := st.Commits - before.Commits
	b.ReportMetric(float64(st.Writes-before.Writes)/float64(commits), "appends/commit")
	b.ReportMetric(float64(wait.Microseconds())/float64(b.N*sessions), "µs/append")
	b.ReportMetric(0, "ns/op")
}
