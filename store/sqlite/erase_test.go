package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"duet/store"
	"duet/store/sqlite"
)

// eraseWait is how long a deleted session's bytes may stay in the data folder.
const eraseWait = 10 * time.Second

// canaries are strings that appear only in one session's text, names and output.
type canaries struct{ text, name, title, output, note string }

func newCanaries(t *testing.T, tag string) canaries {
	t.Helper()
	mark := func(what string) string { return fmt.Sprintf("%s-%s-%s", tag, what, rand.Text()) }
	return canaries{text: mark("text"), name: mark("name"), title: mark("title"), output: mark("output"), note: mark("note")}
}

func (c canaries) all() []string { return []string{c.text, c.name, c.title, c.output, c.note} }

// fillSession gives a session everything the hub stores: a log whose updates insert
// the text canary, snapshots holding it (one large enough to overflow a page), a run
// with the title and output canaries, a participant named by the name canary, and an
// interviewer's note holding the note canary.
// Other sessions are filled at the same time by the caller, so their rows share pages.
func fillSession(t *testing.T, s *sqlite.Store, id string, c canaries, from, n int) {
	t.Helper()
	ctx := t.Context()
	for v := from; v < from+n; v++ {
		u := store.Update{ClientID: "c-" + id, UserID: "u-" + id, Time: time.Unix(int64(v), 0),
			Changes: fmt.Appendf(nil, `[%d,[0,"%s %d"]]`, v, c.text, v)}
		if err := s.AppendUpdates(ctx, id, v, []store.Update{u}); err != nil {
			t.Fatalf("AppendUpdates(%s, %d) error = %v", id, v, err)
		}
	}
	big := `"` + strings.Repeat(c.text+" ", 2000) + `"` // ~100 KB: overflow pages
	if err := s.SaveSnapshot(ctx, id, store.Snapshot{Version: from + n, Text: []byte(big)}); err != nil {
		t.Fatalf("SaveSnapshot(%s) error = %v", id, err)
	}
	run := store.Run{ID: fmt.Sprintf("run-%s-%d", id, from), UserID: "u-" + id, UserName: c.name, Language: "python",
		Title: c.title, Version: from + n, Started: time.Unix(1, 0), Ended: time.Unix(2, 0), Status: "ok",
		Output: []store.RunOutput{{Stream: "stdout", Text: c.output + "\n"}, {Stream: "stderr", Text: strings.Repeat(c.output, 500)}}}
	if err := s.AppendRun(ctx, id, run); err != nil {
		t.Fatalf("AppendRun(%s) error = %v", id, err)
	}
	if err := s.SaveParticipant(ctx, id, store.Participant{UserID: fmt.Sprintf("u-%s-%d", id, from), Name: c.name, Joined: time.Unix(1, 0)}); err != nil {
		t.Fatalf("SaveParticipant(%s) error = %v", id, err)
	}
	note := store.Note{ID: fmt.Sprintf("note-%s-%d", id, from), Author: "iv-" + id, AuthorName: c.name, Text: c.note + " " + strings.Repeat("x", 100),
		Line: 1, Version: from + n, Created: time.Unix(3, 0)}
	if err := s.AddNote(ctx, id, note); err != nil {
		t.Fatalf("AddNote(%s) error = %v", id, err)
	}
}

// onDisk returns which of the strings some file of dir holds, byte for byte.
func onDisk(t *testing.T, dir string, strs []string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	var files [][]byte
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil && !os.IsNotExist(err) { // the WAL may go between ReadDir and ReadFile
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for _, s := range strs {
		for _, b := range files {
			if bytes.Contains(b, []byte(s)) {
				found = append(found, s)
				break
			}
		}
	}
	return found
}

// waitErased waits until no file of dir holds any of the strings, or fails after
// eraseWait, naming what is still there.
func waitErased(t *testing.T, dir string, strs []string) {
	t.Helper()
	deadline := time.Now().Add(eraseWait)
	for {
		left := onDisk(t, dir, strs)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			names, _ := os.ReadDir(dir)
			t.Fatalf("%v after the session was deleted, %s still hold %q", eraseWait, dirNames(names), left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dirNames(entries []os.DirEntry) string {
	var out []string
	for _, e := range entries {
		fi, _ := e.Info()
		if fi != nil {
			out = append(out, fmt.Sprintf("%s (%d bytes)", e.Name(), fi.Size()))
		}
	}
	return strings.Join(out, ", ")
}

// TestDeletedSessionLeavesNoTrace deletes a session (DeleteSession, and PurgeIdle
// as expiry does) whose rows share pages with a session that stays, and checks the
// raw bytes of every file of the data folder: the database, its WAL and anything
// else SQLite keeps there must lose the deleted session's text, names and output,
// while the other session's stay readable.
func TestDeletedSessionLeavesNoTrace(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"delete", "expire"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dir := t.TempDir()
			// Not fsynced, only to fill the sessions faster: what is on disk is the same.
			s, err := sqlite.Open(ctx, filepath.Join(dir, "duet.db"), sqlite.Options{Sync: sqlite.SyncNormal})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			gone, kept := newCanaries(t, "gone"), newCanaries(t, "kept")
			old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			goneSess, keptSess := newSession("gone"), newSession("kept")
			goneSess.LastActive = old
			keptSess.LastActive = time.Now()
			for _, sess := range []store.Session{goneSess, keptSess} {
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}
			// Interleaved, so that both sessions' rows share pages of every table.
			for round := range 4 {
				fillSession(t, s, "gone", gone, round*50, 50)
				fillSession(t, s, "kept", kept, round*50, 50)
			}
			if left := onDisk(t, dir, gone.all()); len(left) != len(gone.all()) {
				t.Fatalf("before the delete, the files hold only %q of %q: the test would prove nothing", left, gone.all())
			}

			switch how {
			case "delete":
				if err := s.DeleteSession(ctx, "gone"); err != nil {
					t.Fatal(err)
				}
			case "expire":
				if n, err := s.PurgeIdle(ctx, old.Add(time.Hour)); err != nil || n != 1 {
					t.Fatalf("PurgeIdle() = %d, %v; want 1 session purged", n, err)
				}
			}
			waitErased(t, dir, gone.all())
			if left := onDisk(t, dir, kept.all()); len(left) != len(kept.all()) {
				t.Errorf("the session that stays lost %q from the files", diff(kept.all(), left))
			}
			if err := s.Check(ctx); err != nil {
				t.Error(err)
			}
			if _, err := s.Session(ctx, "kept"); err != nil {
				t.Errorf("Session(kept) error = %v", err)
			}
			// What is written after the scrub is not lost.
			fillSession(t, s, "kept", kept, 200, 5)
			if log, err := s.Updates(ctx, "kept", 0, 205, 0); err != nil || len(log) != 205 {
				t.Errorf("Updates(kept) = %d updates, %v; want 205", len(log), err)
			}
		})
	}
}

// TestDeleteUnderLoad deletes sessions while other sessions append without pause:
// the scrub must neither fail the appends nor be starved by them.
func TestDeleteUnderLoad(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "duet.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	gone := newCanaries(t, "gone")
	for _, id := range []string{"gone", "busy1", "busy2"} {
		if err := s.CreateSession(ctx, newSession(id)); err != nil {
			t.Fatal(err)
		}
	}
	fillSession(t, s, "gone", gone, 0, 100)
	errs := make(chan error, 2)
	for _, id := range []string{"busy1", "busy2"} {
		go func() {
			for v := 0; ; v++ {
				err := s.AppendUpdates(ctx, id, v, []store.Update{upd(v)})
				if ctx.Err() != nil {
					errs <- nil
					return
				}
				if err != nil {
					errs <- fmt.Errorf("AppendUpdates(%s, %d) during the scrub: %w", id, v, err)
					return
				}
			}
		}()
	}
	if err := s.DeleteSession(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	waitErased(t, dir, gone.all())
	cancel()
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// diff returns what of want is not in got.
func diff(want, got []string) []string {
	var out []string
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}
