package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"duet/store"
	"duet/store/sqlite"
	"duet/store/storetest"
)

// mustOpen opens a fresh database in the test's temporary folder and closes it when
// the test ends.
func mustOpen(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "duet.db"), opts)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	t.Parallel()
	for _, sync := range []sqlite.Sync{sqlite.SyncFull, sqlite.SyncNormal} {
		t.Run(string(sync), func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T, l store.Limits) store.Store {
				return mustOpen(t, sqlite.Options{Sync: sync, Limits: l})
			})
		})
	}
}

func TestQuestionsContract(t *testing.T) {
	t.Parallel()
	storetest.RunQuestions(t, func(t *testing.T) storetest.Backend { return mustOpen(t, sqlite.Options{}) })
	storetest.RunStarter(t, func(t *testing.T) store.Store { return mustOpen(t, sqlite.Options{}) })
}

// rawDB opens the file with the driver alone, to look at what is really stored.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSession(id string) store.Session {
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	return store.Session{ID: id, Language: "python", CreatedAt: at, LastActive: at, OwnerTokenHash: bytes.Repeat([]byte{7}, 32)}
}

func upd(i int) store.Update {
	return store.Update{ClientID: "c", UserID: "u", Changes: []byte(fmt.Sprintf(`[%d,[0,"x"]]`, i)), Time: time.Unix(int64(i), 0)}
}

// TestBytesOnDisk checks that changes and snapshot text are stored as BLOBs holding
// exactly the bytes given, lone surrogate escapes and invalid UTF-8 included, and
// that they come back the same after the file is opened again.
func TestBytesOnDisk(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	values := [][]byte{
		[]byte(`[[0,"\ud83d"]]`),
		[]byte(`[1,[0,"\udc00\ud83d\\ud83d😀"]]`),
		[]byte("[2,[0,\"\x00\xff\xed\xa0\xbd\"]]"),
	}
	texts := [][]byte{[]byte(`"\ud83d"`), []byte(`"a\ud83d\udc00\udc00"`), []byte("\"\xed\xa0\xbd\x00\"")}
	sess := newSession("s1")
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		if err := s.AppendUpdates(ctx, sess.ID, i, []store.Update{{ClientID: "c", UserID: "u", Changes: v}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSnapshot(ctx, sess.ID, store.Snapshot{Version: i + 1, Text: texts[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db := rawDB(t, path)
	for i := range values {
		var typ, hexChanges string
		if err := db.QueryRowContext(ctx, `SELECT typeof(changes), hex(changes) FROM updates WHERE version = ?`, i).Scan(&typ, &hexChanges); err != nil {
			t.Fatal(err)
		}
		if want := strings.ToUpper(hex.EncodeToString(values[i])); typ != "blob" || hexChanges != want {
			t.Errorf("update %d stored as %s %s, want blob %s", i, typ, hexChanges, want)
		}
		if err := db.QueryRowContext(ctx, `SELECT typeof(text), hex(text) FROM snapshots WHERE version = ?`, i+1).Scan(&typ, &hexChanges); err != nil {
			t.Fatal(err)
		}
		if want := strings.ToUpper(hex.EncodeToString(texts[i])); typ != "blob" || hexChanges != want {
			t.Errorf("snapshot %d stored as %s %s, want blob %s", i+1, typ, hexChanges, want)
		}
	}

	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log, err := s.Updates(ctx, sess.ID, 0, len(values), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range log {
		if !bytes.Equal(u.Changes, values[i]) {
			t.Errorf("after reopening, Updates()[%d] = %q, want %q", i, u.Changes, values[i])
		}
		snap, err := s.SnapshotAt(ctx, sess.ID, i+1)
		if err != nil || !bytes.Equal(snap.Text, texts[i]) {
			t.Errorf("after reopening, SnapshotAt(%d) = %q, %v; want %q", i+1, snap.Text, err, texts[i])
		}
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	versions := func(t *testing.T, path string) []int {
		t.Helper()
		rows, err := rawDB(t, path).QueryContext(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var v int
			rows.Scan(&v)
			out = append(out, v)
		}
		return out
	}
	all := make([]int, sqlite.Migrations)
	for i := range all {
		all[i] = i + 1
	}

	t.Run("a new file gets every migration, once", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "sub", "folder", "duet.db") // the folders are created
		for range 2 {
			s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if got := versions(t, path); !slices.Equal(got, all) {
				t.Errorf("schema_migrations = %v, want %v", got, all)
			}
		}
		var mode string
		rawDB(t, path).QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode)
		if mode != "wal" {
			t.Errorf("journal_mode = %q, want wal", mode)
		}
	})

	t.Run("upgrade from the first schema keeps the data", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		path := filepath.Join(t.TempDir(), "duet.db")
		if err := sqlite.MigrateTo(ctx, path, 1); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, path)
		if _, err := db.ExecContext(ctx, `INSERT INTO sessions (id, language, created, last_active, owner_token_hash, version)
			VALUES ('old', 'python', 1, 2, x'0707', 1);
			INSERT INTO updates (session, version, client_id, user_id, changes, time)
			VALUES ((SELECT pk FROM sessions WHERE id = 'old'), 0, 'c', 'u', CAST('[[0,"a"]]' AS BLOB), 3)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got := versions(t, path); !slices.Equal(got, []int{1}) {
			t.Fatalf("before: schema_migrations = %v, want [1]", got)
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := versions(t, path); !slices.Equal(got, all) {
			t.Errorf("after: schema_migrations = %v, want %v", got, all)
		}
		got, err := s.Session(ctx, "old")
		// What the session stores is counted when the column is added, as appends count it.
		wantBytes := int64(store.Update{ClientID: "c", UserID: "u", Changes: []byte(`[[0,"a"]]`)}.Bytes())
		if err != nil || got.Version != 1 || got.Language != "python" || !got.LastActive.Equal(time.Unix(0, 2)) || got.Bytes != wantBytes {
			t.Errorf("Session(old) = %+v, %v; want version 1, %d bytes", got, err, wantBytes)
		}
		if log, err := s.Updates(ctx, "old", 0, 1, 0); err != nil || string(log[0].Changes) != `[[0,"a"]]` {
			t.Errorf("Updates(old) = %v, %v", log, err)
		}
		if err := s.AppendRun(ctx, "old", store.Run{ID: "r", Output: []store.RunOutput{{Stream: "stdout", Text: "hi"}}}); err != nil {
			t.Errorf("AppendRun() on the upgraded file error = %v", err)
		}
		if !got.Ended.IsZero() {
			t.Errorf("Session(old).Ended = %v, want zero: it never ended", got.Ended)
		}
		if err := s.AddMember(ctx, "old", store.Member{Principal: "b:x", Role: store.RoleInterviewer, PublicID: "p"}); err != nil {
			t.Errorf("AddMember() on the upgraded file error = %v", err)
		}
		if err := s.SetEnded(ctx, "old", time.Unix(0, 4)); err != nil {
			t.Errorf("SetEnded() on the upgraded file error = %v", err)
		}
	})

	t.Run("a file from a newer duet is refused", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		path := filepath.Join(t.TempDir(), "duet.db")
		s := mustOpenPath(t, path)
		s.Close()
		if _, err := rawDB(t, path).ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 0)`, sqlite.Migrations+1); err != nil {
			t.Fatal(err)
		}
		_, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("Open() error = %v, want one about a newer schema", err)
		}
	})

	t.Run("two processes opening a new file at once", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "duet.db")
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
				if err != nil {
					t.Errorf("Open() error = %v", err)
					return
				}
				s.Close()
			})
		}
		wg.Wait()
		if got := versions(t, path); !slices.Equal(got, all) {
			t.Errorf("schema_migrations = %v, want %v", got, all)
		}
	})
}

func mustOpenPath(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		path string
		opts sqlite.Options
	}{
		{"unknown sync", filepath.Join(dir, "a.db"), sqlite.Options{Sync: "off"}},
		{"a query in the path", filepath.Join(dir, "a.db?mode=ro"), sqlite.Options{}},
		{"memory", ":memory:", sqlite.Options{}},
		{"empty", "", sqlite.Options{}},
		{"a folder that is a file", filepath.Join(dir, "file", "a.db"), sqlite.Options{}},
	} {
		if tt.name == "a folder that is a file" {
			os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
		}
		if s, err := sqlite.Open(t.Context(), tt.path, tt.opts); err == nil {
			s.Close()
			t.Errorf("%s: Open(%q) error = nil, want one", tt.name, tt.path)
		}
	}
}

// TestGroupCommit checks that writes arriving together share a transaction, and
// that an append refused in a batch (a conflict, an unknown session, over the quota),
// or a snapshot refused beside them, fails alone and leaves nothing behind.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	big := store.Update{ClientID: "c", UserID: "u", Changes: bytes.Repeat([]byte("x"), 4096)}
	s := mustOpen(t, sqlite.Options{CommitEvery: 500 * time.Millisecond, Limits: store.Limits{SessionBytes: 2048}})
	for _, id := range []string{"a", "b", "c"} {
		if err := s.CreateSession(ctx, newSession(id)); err != nil {
			t.Fatal(err)
		}
	}
	// The last CreateSession began a batch: the writes below arrive within the
	// interval and share the next one.
	before := s.Stats()
	writes := []struct {
		name  string
		write func() error
		want  error
	}{
		{"append to a at 0", func() error { return s.AppendUpdates(ctx, "a", 0, []store.Update{upd(0), upd(1)}) }, nil},
		{"append to a at 5", func() error { return s.AppendUpdates(ctx, "a", 5, []store.Update{upd(5)}) }, store.ErrConflict},
		{"append to b at 0", func() error { return s.AppendUpdates(ctx, "b", 0, []store.Update{upd(0)}) }, nil},
		{"append to nobody", func() error { return s.AppendUpdates(ctx, "nobody", 0, []store.Update{upd(0)}) }, store.ErrNotFound},
		{"append past the quota", func() error { return s.AppendUpdates(ctx, "c", 0, []store.Update{upd(0), big}) }, store.ErrQuota},
		{"snapshot past the log", func() error {
			return s.SaveSnapshot(ctx, "c", store.Snapshot{Version: 9, Text: []byte(`"x"`)})
		}, store.ErrConflict},
	}
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w.write() })
	}
	wg.Wait()
	after := s.Stats()
	if got := after.Commits - before.Commits; got != 1 {
		t.Errorf("%d transactions for %d writes arriving together, want 1", got, len(writes))
	}
	for i, w := range writes {
		if (w.want == nil) != (errs[i] == nil) || !errors.Is(errs[i], w.want) {
			t.Errorf("%s: error = %v, want %v", w.name, errs[i], w.want)
		}
	}
	for id, want := range map[string]int{"a": 2, "b": 1, "c": 0} {
		if got, _ := s.Session(ctx, id); got.Version != want {
			t.Errorf("Session(%s).Version = %d, want %d", id, got.Version, want)
		}
	}
	if log, err := s.Updates(ctx, "c", 0, 0, 0); err != nil || len(log) != 0 {
		t.Errorf("Updates(c) = %d updates, %v; want none stored", len(log), err)
	}
}

// TestAppendFailingAfterAWrite makes an append fail after it has written (a trigger
// refuses its second update): appends run without a savepoint, so the whole batch
// must fail, and nothing of it may be stored, neither the failed append's first
// update nor the other session's append that shared its transaction.
func TestAppendFailingAfterAWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{CommitEvery: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"a", "b"} {
		if err := s.CreateSession(ctx, newSession(id)); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER refuse_boom BEFORE INSERT ON updates
		WHEN NEW.client_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END`); err != nil {
		t.Fatal(err)
	}
	boom := upd(1)
	boom.ClientID = "boom"
	// The last CreateSession began a batch: both appends arrive within the interval
	// and share the next one.
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errA = s.AppendUpdates(ctx, "a", 0, []store.Update{upd(0), boom}) })
	wg.Go(func() { errB = s.AppendUpdates(ctx, "b", 0, []store.Update{upd(0)}) })
	wg.Wait()
	if errA == nil || !strings.Contains(errA.Error(), "boom refused") {
		t.Errorf("the append that failed after a write: error = %v, want the trigger's", errA)
	}
	if errB == nil {
		t.Errorf("the append that shared its batch: error = nil, want the batch's failure")
	}
	for _, id := range []string{"a", "b"} {
		if got, _ := s.Session(ctx, id); got.Version != 0 {
			t.Errorf("Session(%s).Version = %d after a failed batch, want 0", id, got.Version)
		}
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM updates`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d updates stored after a failed batch (%v), want 0", rows, err)
	}
	// The store goes on: the next appends commit.
	if err := s.AppendUpdates(ctx, "b", 0, []store.Update{upd(0)}); err != nil {
		t.Errorf("an append after the failed batch: %v", err)
	}
}

// TestGroupCommitUnderLoad has many goroutines append to many sessions, one writer
// per session as the hub does (its room lock), with no commit interval: batches form on
// their own while a commit is running, and every log comes out whole.
func TestGroupCommitUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := mustOpen(t, sqlite.Options{})
	const sessions, appends = 32, 40
	for i := range sessions {
		if err := s.CreateSession(ctx, newSession(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats()
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			for v := range appends {
				if err := s.AppendUpdates(ctx, fmt.Sprint(i), v, []store.Update{upd(v)}); err != nil {
					t.Errorf("AppendUpdates(%d, %d) error = %v", i, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	commits, writes := st.Commits-before.Commits, st.Writes-before.Writes
	t.Logf("%d appends in %d transactions (at most %d in one)", writes, commits, st.MaxHeld)
	if writes != sessions*appends || commits >= writes || st.MaxHeld < 2 {
		t.Errorf("%d appends in %d transactions (at most %d in one): want fewer transactions than appends", writes, commits, st.MaxHeld)
	}
	for i := range sessions {
		log, err := s.Updates(ctx, fmt.Sprint(i), 0, appends, 0)
		if err != nil {
			t.Fatal(err)
		}
		for v, u := range log {
			if !bytes.Equal(u.Changes, upd(v).Changes) {
				t.Fatalf("session %d: update %d = %s, want %s", i, v, u.Changes, upd(v).Changes)
			}
		}
	}
}

// TestCommitInterval checks the commit interval from both sides. A write that finds
// the store idle commits at once: with an interval of an hour, the first write would
// otherwise hang the test. A write arriving just after waits for the next batch;
// when its context ends first, it is withdrawn: it reports the context's error and
// stores nothing.
func TestCommitInterval(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{CommitEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(t.Context(), newSession("a")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := s.AppendUpdates(ctx, "a", 0, []store.Update{upd(0)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AppendUpdates() error = %v, want DeadlineExceeded", err)
	}
	if err := s.Close(); err != nil { // commits whatever still waits
		t.Fatal(err)
	}
	again := mustOpenPath(t, path)
	if got, err := again.Session(t.Context(), "a"); err != nil || got.Version != 0 {
		t.Errorf("Session() = version %d, %v after a withdrawn append; want 0", got.Version, err)
	}
}

// TestCloseWhileWriting closes the store while appends are running: each append
// either returned nil and is in the file, or failed and is not.
func TestCloseWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "duet.db")
	s := mustOpenPath(t, path)
	const sessions = 8
	for i := range sessions {
		if err := s.CreateSession(ctx, newSession(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	ok := make([]int, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			for v := 0; ; v++ {
				err := s.AppendUpdates(ctx, fmt.Sprint(i), v, []store.Update{upd(v)})
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("AppendUpdates() error = %v, want nil or ErrClosed", err)
					return
				}
				ok[i]++
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	s = mustOpenPath(t, path)
	defer s.Close()
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
	for i := range sessions {
		got, err := s.Session(ctx, fmt.Sprint(i))
		if err != nil || got.Version != ok[i] {
			t.Errorf("session %d: version %d, %v after %d successful appends", i, got.Version, err, ok[i])
		}
	}
}

// TestWALStaysBounded writes without a pause, so that background checkpoints never
// catch up, and checks that the committer then checkpoints itself: the WAL file
// stays near its limit instead of growing with every commit.
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "duet.db")
	const limit = 256 << 10
	s, err := sqlite.OpenWALLimit(ctx, path, sqlite.Options{Sync: sqlite.SyncNormal}, limit)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const sessions = 4
	for i := range sessions {
		if err := s.CreateSession(ctx, newSession(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte("x"), 3000) // about a page per update
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			for v := range 400 {
				u := upd(v)
				u.Changes = big
				if err := s.AppendUpdates(ctx, fmt.Sprint(i), v, []store.Update{u}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	info, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// 1,600 commits of at least two pages each would make a WAL of 13 MB or more.
	if max := int64(2 * limit); info.Size() > max || s.Stats().InlineCheckpoints == 0 {
		t.Errorf("WAL of %d bytes after 1,600 commits, want at most %d", info.Size(), max)
	}
	t.Logf("WAL of %d bytes; %+v", info.Size(), s.Stats())
}

func TestAccountsContract(t *testing.T) {
	t.Parallel()
	storetest.RunAccounts(t, func(t *testing.T) store.Accounts { return mustOpen(t, sqlite.Options{}) })
}

func TestInterviewsContract(t *testing.T) {
	t.Parallel()
	storetest.RunInterviews(t, func(t *testing.T) storetest.InterviewsBackend { return mustOpen(t, sqlite.Options{}) })
}

// TestInterviewsCost logs what a page of interviews costs with 5,000 sessions.
func TestInterviewsCost(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 5,000 sessions")
	}
	t.Parallel()
	storetest.LogInterviewsCost(t, mustOpen(t, sqlite.Options{Sync: sqlite.SyncNormal}), 5000)
}
