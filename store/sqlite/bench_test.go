package sqlite_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"duet/store"
	"duet/store/sqlite"
)

// BenchmarkAppend measures one-update appends from 1, 16 or 64 sessions at once, each
// waiting for its commit before the next as the hub does, and reports how the
// group commit batched them, the wait of an append, and the process's CPU time per
// append (what the server pays for it, beside the disk's time). With 64 sessions it
// runs with duet's default commit interval too.
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
		for _, sessions := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/sessions=%d", sync, sessions), func(b *testing.B) {
				benchmarkAppend(b, sqlite.Options{Sync: sync}, sessions)
			})
		}
		b.Run(fmt.Sprintf("%s/sessions=64/interval=5ms", sync), func(b *testing.B) {
			benchmarkAppend(b, sqlite.Options{Sync: sync, CommitEvery: 5 * time.Millisecond}, 64)
		})
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
	cpu0 := cpuTime(b)
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
	cpu := cpuTime(b) - cpu0
	st := s.Stats()
	commits := st.Commits - before.Commits
	b.ReportMetric(float64(st.Writes-before.Writes)/float64(commits), "appends/commit")
	b.ReportMetric(float64(wait.Microseconds())/float64(b.N*sessions), "µs/append")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*sessions), "cpu-µs/append")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSecureDelete measures what zeroing deleted content costs: appends (where
// SQLite zeroes the cells it moves while balancing pages) with secure_delete on and
// off, and the deletion of a session of 2,000 updates with its snapshots and a run.
func BenchmarkSecureDelete(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts func(sqlite.Options) sqlite.Options
	}{
		{"secure_delete=on", func(o sqlite.Options) sqlite.Options { return o }},
		{"secure_delete=off", sqlite.KeepDeleted},
	} {
		for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
			b.Run(fmt.Sprintf("append/%s/%s/sessions=16", mode.name, sync), func(b *testing.B) {
				benchmarkAppend(b, mode.opts(sqlite.Options{Sync: sync}), 16)
			})
		}
		b.Run("delete/"+mode.name, func(b *testing.B) {
			s := mustOpen(b, mode.opts(sqlite.Options{Sync: sqlite.SyncFull}))
			ctx := b.Context()
			var took time.Duration
			for i := range b.N {
				id := fmt.Sprint("s", i)
				if err := s.CreateSession(ctx, newSession(id)); err != nil {
					b.Fatal(err)
				}
				const n, per = 2000, 100
				for v := 0; v < n; v += per {
					ups := make([]store.Update, per)
					for k := range ups {
						ups[k] = store.Update{ClientID: "c", UserID: "u", Changes: fmt.Appendf(nil, `[%d,[0,"some code %d"]]`, v+k, v+k)}
					}
					if err := s.AppendUpdates(ctx, id, v, ups); err != nil {
						b.Fatal(err)
					}
					if err := s.SaveSnapshot(ctx, id, store.Snapshot{Version: v + per, Text: fmt.Appendf(nil, `"%0*d"`, 4000, v)}); err != nil {
						b.Fatal(err)
					}
				}
				t0 := time.Now()
				if err := s.DeleteSession(ctx, id); err != nil {
					b.Fatal(err)
				}
				took += time.Since(t0)
			}
			b.ReportMetric(float64(took.Microseconds())/float64(b.N), "µs/delete")
			b.ReportMetric(0, "ns/op")
		})
	}
}
