package postgres_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
	"duet/store/storetest"
)

// mustOpen opens a store on url and closes it when the test ends.
func mustOpen(t testing.TB, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, opts)
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

// newStore opens a store on a schema of its own in db: an empty store.
func newStore(t testing.TB, db string) *postgres.Store {
	t.Helper()
	return mustOpen(t, pgtest.NewSchema(t, db), postgres.Options{})
}

func TestContract(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	storetest.Run(t, func(t *testing.T, l store.Limits) store.Store {
		return mustOpen(t, pgtest.NewSchema(t, db), postgres.Options{Limits: l})
	})
}

func TestQuestionsContract(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	storetest.RunQuestions(t, func(t *testing.T) storetest.Backend { return newStore(t, db) })
	storetest.RunStarter(t, func(t *testing.T) store.Store { return newStore(t, db) })
}

// rawConn connects to url with pgx alone, to look at what is really stored.
func rawConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func newSession(id string) store.Session {
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	return store.Session{ID: id, Language: "python", CreatedAt: at, LastActive: at, OwnerTokenHash: bytes.Repeat([]byte{7}, 32)}
}

func upd(i int) store.Update {
	return store.Update{ClientID: "c", UserID: "u", Changes: []byte(fmt.Sprintf(`[%d,[0,"x"]]`, i)), Time: time.Unix(int64(i), 0)}
}

// TestBytesStored checks that changes, snapshot text and a client's strings are
// stored as bytea holding exactly the bytes given (lone surrogate escapes, NUL and
// bytes that are not UTF-8 included), and times as Unix nanoseconds.
func TestBytesStored(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.NewSchema(t, pgtest.NewDatabase(t))
	s := mustOpen(t, url, postgres.Options{})
	changes := []byte("[[0,\"\\ud83d\x00\xff\xed\xa0\xbd\"]]")
	text := []byte(`"a\ud83d\udc00\udc00"`)
	at := time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC)
	if err := s.CreateSession(ctx, newSession("s1")); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendUpdates(ctx, "s1", 0, []store.Update{{ClientID: "c\xff", UserID: "u\x00", Changes: changes, Time: at}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(ctx, "s1", store.Snapshot{Version: 1, Text: text}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRun(ctx, "s1", store.Run{ID: "r\x00", Title: "\xff", Started: at,
		Output: []store.RunOutput{{Stream: "stdout", Text: "\x00\xfe"}}}); err != nil {
		t.Fatal(err)
	}

	conn := rawConn(t, url)
	var typ, hexChanges, hexClient, hexUser, hexText, hexOutput string
	var time int64
	if err := conn.QueryRow(ctx, `SELECT pg_typeof(u.changes)::text, encode(u.changes, 'hex'), encode(u.client_id, 'hex'),
			encode(u.user_id, 'hex'), u.time, encode(sn.text, 'hex'), encode(o.text, 'hex')
		FROM updates u, snapshots sn, run_output o`).Scan(&typ, &hexChanges, &hexClient, &hexUser, &time, &hexText, &hexOutput); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"type of changes", typ, "bytea"},
		{"changes", hexChanges, hex.EncodeToString(changes)},
		{"client id", hexClient, hex.EncodeToString([]byte("c\xff"))},
		{"user id", hexUser, hex.EncodeToString([]byte("u\x00"))},
		{"snapshot", hexText, hex.EncodeToString(text)},
		{"run output", hexOutput, hex.EncodeToString([]byte("\x00\xfe"))},
	} {
		if c.got != c.want {
			t.Errorf("%s stored as %s, want %s", c.name, c.got, c.want)
		}
	}
	if time != at.UnixNano() {
		t.Errorf("time stored as %d, want %d", time, at.UnixNano())
	}
}

// twoStores opens two stores on one new schema, as two duet processes would share a
// database, with sessions "0", "1"… created.
func twoStores(t *testing.T, opts postgres.Options, sessions int) []*postgres.Store {
	t.Helper()
	url := pgtest.NewSchema(t, pgtest.NewDatabase(t))
	stores := []*postgres.Store{mustOpen(t, url, opts), mustOpen(t, url, opts)}
	for i := range sessions {
		if err := stores[0].CreateSession(t.Context(), newSession(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	return stores
}

// race runs fn at once for every writer w of every session of twoStores, through
// stores[w%2], and waits for them all.
func race(stores []*postgres.Store, sessions, writers int, fn func(id string, w int, st *postgres.Store)) {
	var wg sync.WaitGroup
	for i := range sessions {
		for w := range writers {
			wg.Go(func() { fn(fmt.Sprint(i), w, stores[w%2]) })
		}
	}
	wg.Wait()
}

// TestTwoStores races writers through two stores (two pools and two sets of
// batchers, as two duet processes would have) on the same sessions: exactly one
// append wins each version, the others see ErrConflict, and every log comes out
// whole. Batches that lose a race to the other store fail whole and are split.
func TestTwoStores(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const sessions, writers, appends = 3, 4, 20
	stores := twoStores(t, postgres.Options{}, sessions)
	var mu sync.Mutex
	wins := map[string]string{} // session/version → writer that stored it
	conflicts := 0
	race(stores, sessions, writers, func(id string, w int, st *postgres.Store) {
		for n := 0; n < appends; {
			cur, err := st.Session(ctx, id)
			if err != nil {
				t.Error(err)
				return
			}
			u := store.Update{ClientID: fmt.Sprintf("w%d", w), Changes: []byte(fmt.Sprintf(`[%d,[0,"x"]]`, cur.Version)), Time: time.Unix(1, 0)}
			err = st.AppendUpdates(ctx, id, cur.Version, []store.Update{u, u})
			mu.Lock()
			switch key := fmt.Sprintf("%s/%d", id, cur.Version); {
			case errors.Is(err, store.ErrConflict):
				conflicts++
			case err != nil:
				t.Errorf("AppendUpdates() error = %v", err)
				mu.Unlock()
				return
			default:
				if other, ok := wins[key]; ok {
					t.Errorf("session %s, version %d stored by %s and by w%d", id, cur.Version, other, w)
				}
				wins[key] = u.ClientID
				n++
			}
			mu.Unlock()
		}
	})
	t.Logf("%d appends stored, %d conflicts; stats %+v and %+v", len(wins), conflicts, stores[0].Stats(), stores[1].Stats())
	if conflicts == 0 {
		t.Errorf("no conflict among %d writers per session: the race did not happen", writers)
	}
	for i := range sessions {
		id := fmt.Sprint(i)
		got, err := stores[1].Session(ctx, id)
		if err != nil || got.Version != 2*writers*appends {
			t.Fatalf("Session(%s) = version %d, %v; want %d", id, got.Version, err, 2*writers*appends)
		}
		log, err := stores[1].Updates(ctx, id, 0, got.Version, 0)
		if err != nil {
			t.Fatal(err)
		}
		for v := 0; v < len(log); v += 2 {
			want, by := fmt.Sprintf(`[%d,[0,"x"]]`, v), wins[fmt.Sprintf("%s/%d", id, v)]
			if string(log[v].Changes) != want || string(log[v+1].Changes) != want || log[v].ClientID != by || log[v+1].ClientID != by {
				t.Fatalf("session %s: updates %d and %d = %s %s by %s %s, want %s twice by %s", id, v, v+1, log[v].Changes, log[v+1].Changes, log[v].ClientID, log[v+1].ClientID, want, by)
			}
		}
	}
}

// TestQuotaAcrossStores races writers through two stores, in batches, on sessions
// until their quota is full: the quota is decided with the compare-and-set, so no
// session ever stores more than it, and what Session.Bytes says is what its log holds.
func TestQuotaAcrossStores(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const quota, sessions, writers = 20_000, 6, 4
	stores := twoStores(t, postgres.Options{Limits: store.Limits{SessionBytes: quota}}, sessions)
	race(stores, sessions, writers, func(id string, w int, st *postgres.Store) {
		for {
			cur, err := st.Session(ctx, id)
			if err != nil {
				t.Error(err)
				return
			}
			u := store.Update{ClientID: fmt.Sprintf("w%d", w), Changes: []byte(fmt.Sprintf(`[%d,[0,"%s"]]`, cur.Version, strings.Repeat("x", 300))), Time: time.Unix(1, 0)}
			switch err := st.AppendUpdates(ctx, id, cur.Version, []store.Update{u}); {
			case errors.Is(err, store.ErrQuota):
				return
			case err != nil && !errors.Is(err, store.ErrConflict):
				t.Errorf("AppendUpdates() error = %v", err)
				return
			}
		}
	})
	for i := range sessions {
		id := fmt.Sprint(i)
		got, err := stores[1].Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		log, err := stores[1].Updates(ctx, id, 0, got.Version, 0)
		if err != nil {
			t.Fatal(err)
		}
		held := int64(0)
		for _, u := range log {
			held += int64(u.Bytes())
		}
		if got.Bytes != held || held > quota || quota-held >= int64(log[0].Bytes()) {
			t.Errorf("session %s: Session().Bytes = %d, the log holds %d; want them equal, full to within one update of %d", id, got.Bytes, held, quota)
		}
	}
	if st := stores[0].Stats(); st.MaxBatch < 2 {
		t.Logf("no append was batched with another (stats %+v): the batch statement's quota was not exercised this time", st)
	}
}

// TestAppendAgain checks that appending exactly what the log holds at a version is
// not a conflict (the retry of an append whose outcome was lost) and stores
// nothing, while anything else there is.
func TestAppendAgain(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t, pgtest.NewDatabase(t))
	if err := s.CreateSession(ctx, newSession("s")); err != nil {
		t.Fatal(err)
	}
	first := []store.Update{upd(0), upd(1)}
	if err := s.AppendUpdates(ctx, "s", 0, first); err != nil {
		t.Fatal(err)
	}
	later := slices.Clone(first)
	later[0].Time, later[1].Time = time.Unix(100, 0), time.Unix(101, 0) // a retry is stamped anew
	otherUser := slices.Clone(first)
	otherUser[1].UserID = "someone else"
	for _, tt := range []struct {
		name    string
		from    int
		updates []store.Update
		wantErr error
	}{
		{"the same updates at the same version", 0, later, nil},
		{"the first of them", 0, later[:1], nil},
		{"one of them by someone else", 0, otherUser, store.ErrConflict},
		{"at another version", 1, later[:1], store.ErrConflict},
		{"more than the log holds", 0, append(slices.Clone(first), upd(2)), store.ErrConflict},
	} {
		if err := s.AppendUpdates(ctx, "s", tt.from, tt.updates); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: AppendUpdates() error = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
	log, err := s.Updates(ctx, "s", 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "s"); got.Version != 2 || !log[0].Time.Equal(first[0].Time) || !log[1].Time.Equal(first[1].Time) {
		t.Errorf("after the retries: version %d, times %v %v; want 2 and the first times", got.Version, log[0].Time, log[1].Time)
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	versions := func(t *testing.T, url string) []int {
		t.Helper()
		rows, err := rawConn(t, url).Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := make([]int, postgres.Migrations)
	for i := range all {
		all[i] = i + 1
	}
	if len(all) < 2 {
		t.Fatalf("%d migrations: the upgrade path needs at least two", len(all))
	}

	t.Run("an empty database gets every migration, once", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewSchema(t, db)
		for range 2 {
			s := mustOpen(t, url, postgres.Options{})
			s.Close()
			if got := versions(t, url); !slices.Equal(got, all) {
				t.Errorf("schema_migrations = %v, want %v", got, all)
			}
		}
	})

	// From the first schema, from the one before the bytes column (5) was added and
	// counted, and from the one before the newest.
	for _, from := range slices.Compact([]int{1, 4, postgres.Migrations - 1}) {
		t.Run(fmt.Sprintf("upgrade from schema %d keeps the data", from), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := pgtest.NewSchema(t, db)
			if err := postgres.MigrateTo(ctx, url, from); err != nil {
				t.Fatal(err)
			}
			// What a duet of that schema stored: a session with one update.
			pgtest.Exec(t, url, `INSERT INTO sessions (id, language, created, last_active, owner_token_hash, version)
				VALUES ('old', 'python', 1, 2, '\x0707', 1)`)
			pgtest.Exec(t, url, `INSERT INTO updates (session, version, client_id, user_id, changes, time)
				VALUES ((SELECT pk FROM sessions WHERE id = 'old'), 0, 'c', 'u', convert_to('[[0,"a"]]', 'UTF8'), 3)`)
			if got := versions(t, url); !slices.Equal(got, all[:from]) {
				t.Fatalf("before: schema_migrations = %v, want %v", got, all[:from])
			}
			s := mustOpen(t, url, postgres.Options{})
			if got := versions(t, url); !slices.Equal(got, all) {
				t.Errorf("after: schema_migrations = %v, want %v", got, all)
			}
			got, err := s.Session(ctx, "old")
			// What the session stores is counted when the column is added, as appends
			// count it; a session inserted by hand after that counts nothing.
			wantBytes := int64(store.Update{ClientID: "c", UserID: "u", Changes: []byte(`[[0,"a"]]`)}.Bytes())
			if from >= 5 {
				wantBytes = 0
			}
			if err != nil || got.Version != 1 || got.Language != "python" || !got.LastActive.Equal(time.Unix(0, 2)) ||
				!bytes.Equal(got.OwnerTokenHash, []byte{7, 7}) || got.Bytes != wantBytes || !got.Ended.IsZero() {
				t.Errorf("Session(old) = %+v, %v; want version 1, %d bytes", got, err, wantBytes)
			}
			if log, err := s.Updates(ctx, "old", 0, 1, 0); err != nil || string(log[0].Changes) != `[[0,"a"]]` || !log[0].Time.Equal(time.Unix(0, 3)) {
				t.Errorf("Updates(old) = %v, %v", log, err)
			}
			if err := s.AppendRun(ctx, "old", store.Run{ID: "r", Output: []store.RunOutput{{Stream: "stdout", Text: "hi"}}}); err != nil {
				t.Errorf("AppendRun() on the upgraded database error = %v", err)
			}
			if err := s.SaveParticipant(ctx, "old", store.Participant{UserID: "u", Name: "Ada"}); err != nil {
				t.Errorf("SaveParticipant() on the upgraded database error = %v", err)
			}
			if err := s.AddMember(ctx, "old", store.Member{Principal: "b:x", Role: store.RoleInterviewer, PublicID: "p"}); err != nil {
				t.Errorf("AddMember() on the upgraded database error = %v", err)
			}
			if err := s.SetEnded(ctx, "old", time.Unix(0, 4)); err != nil {
				t.Errorf("SetEnded() on the upgraded database error = %v", err)
			}
		})
	}

	t.Run("a database from a newer duet is refused", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewSchema(t, db)
		mustOpen(t, url, postgres.Options{}).Close()
		pgtest.Exec(t, url, `INSERT INTO schema_migrations VALUES ($1, 0)`, postgres.Migrations+1)
		_, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err == nil || !strings.Contains(err.Error(), "newer than this duet") {
			t.Errorf("Open() error = %v, want one about a newer schema", err)
		}
	})

	t.Run("processes starting at once migrate once", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewSchema(t, db)
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				s, err := postgres.Open(t.Context(), url, postgres.Options{})
				if err != nil {
					t.Errorf("Open() error = %v", err)
					return
				}
				s.Close()
			})
		}
		wg.Wait()
		if got := versions(t, url); !slices.Equal(got, all) {
			t.Errorf("schema_migrations = %v, want %v", got, all)
		}
	})

	t.Run("no schema to create the tables in", func(t *testing.T) {
		t.Parallel()
		url := pgtest.WithParam(db, "search_path", "no_such_schema")
		_, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err == nil || !strings.Contains(err.Error(), "no schema") {
			t.Errorf("Open() error = %v, want one saying there is no schema", err)
		}
	})
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, url, want string
	}{
		{"no URL", "", "no database URL"},
		{"not a URL", "postgres://[::1", "cannot parse"},
		{"nobody listening", "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=5", "does not answer"},
	} {
		s, err := postgres.Open(t.Context(), tt.url, postgres.Options{})
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open(%q) error = %v, want one saying %q", tt.name, tt.url, err, tt.want)
		}
	}
}
