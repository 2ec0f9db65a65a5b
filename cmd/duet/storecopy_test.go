package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"duet/store"
	"duet/store/postgres"
	"duet/store/postgres/pgtest"
	"duet/store/sqlite"
)

// copyFixture is a session with every kind of history a store keeps, in the
// shapes that break naive copies: emoji, lone surrogates (escaped in the JSON of
// changes and snapshots), bytes that are not UTF-8 in run output, times to the
// nanosecond, several snapshots, runs with and without an end, a renamed
// participant, two questions given to the session (the second one later, at a
// version of the log).
func copyFixture(t *testing.T, st fullStore, id string) {
	t.Helper()
	ctx := t.Context()
	at := time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC)
	s := store.Session{ID: id, Language: "python", CreatedAt: at, LastActive: at.Add(time.Hour), OwnerTokenHash: bytes.Repeat([]byte{0xab}, 32)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateSession(ctx, s))
	log := []store.Update{
		{ClientID: "c1", UserID: "u-ada", Changes: []byte(`[[0,"print('😀')","\ud83d"]]`), Time: at.Add(time.Second)},
		{ClientID: "c2", UserID: "u-bob", Changes: []byte(`[12,[0,"\udc00"],1]`), Time: at.Add(2 * time.Second)},
		{ClientID: "c1", UserID: "u-ada", Changes: []byte(`[0,[0,"# é\n"],14]`), Time: at.Add(3*time.Second + 7)},
	}
	must(st.AppendUpdates(ctx, id, 0, log[:2]))
	must(st.SaveSnapshot(ctx, id, store.Snapshot{Version: 1, Text: []byte(`"print('😀')\n\ud83d"`)}))
	must(st.AppendUpdates(ctx, id, 2, log[2:]))
	must(st.SaveSnapshot(ctx, id, store.Snapshot{Version: 3, Text: []byte(`"# é\nprint('😀')\n\udc00\ud83d"`)}))
	must(st.AppendRun(ctx, id, store.Run{ID: "r1", UserID: "u-ada", UserName: "Ada 😀", Language: "python", Title: "main.py", Version: 1,
		Started: at.Add(time.Minute), Ended: at.Add(time.Minute + 3), Status: "ok",
		Output: []store.RunOutput{{Stream: "stdout", Text: "😀\n"}, {Stream: "stderr", Text: "\x00\xff\xfe"}}}))
	must(st.AppendRun(ctx, id, store.Run{ID: "r2", UserID: "u-bob", Started: at.Add(2 * time.Minute), Truncated: true}))
	must(st.SaveParticipant(ctx, id, store.Participant{UserID: "u-ada", Name: "Ada", Joined: at}))
	must(st.SaveParticipant(ctx, id, store.Participant{UserID: "u-bob", Name: "Bob", Joined: at.Add(time.Second)}))
	must(st.SaveParticipant(ctx, id, store.Participant{UserID: "u-ada", Name: "Ada 😀", Joined: at.Add(time.Hour)}))
	must(st.AddSessionQuestion(ctx, id, store.SessionQuestion{Question: fixtureQuestion("9b0c3d1e-0000-4000-8000-000000000001", at), Added: at}))
	second := fixtureQuestion("9b0c3d1e-0000-4000-8000-000000000002", at.Add(time.Minute))
	second.Tests = nil
	must(st.AddSessionQuestion(ctx, id, store.SessionQuestion{Question: second, Version: 2, Added: at.Add(90*time.Second + 1)}))
	must(st.AddMember(ctx, id, store.Member{Principal: "b:0123456789abcdef0123456789abcdef", Role: store.RoleInterviewer, PublicID: "p-ada", Added: at}))
	must(st.AddMember(ctx, id, store.Member{Principal: "a:bob", Role: store.RoleInterviewer, PublicID: "p-bob", Added: at.Add(time.Second + 1)}))
	must(st.Touch(ctx, id, s.LastActive))
}

// fixtureQuestion is a question with every field set, emoji and a hidden test.
func fixtureQuestion(id string, at time.Time) store.Question {
	return store.Question{
		ID: id, Title: "Two sum 😀 " + id[len(id)-1:], Language: "python", Prompt: "Find **two** numbers.\n\n<b>é</b>",
		StarterCode: "def two_sum(nums, target):\n    pass\n", Rubric: "Hash map: O(n).",
		Tests: []store.QuestionTest{
			{Name: "example", Code: "assert two_sum([2, 7], 9) == [0, 1]"},
			{Name: "secret 😀", Code: "assert two_sum([3, 3], 6) == [0, 1]", Hidden: true},
		},
		CreatedAt: at, UpdatedAt: at.Add(7),
	}
}

// runCopy runs `duet store copy` and returns what it said.
func runCopy(t *testing.T, from, to string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := run(t.Context(), []string{"store", "copy", "-from", from, "-to", to}, func(string) string { return "" }, &out)
	return out.String(), err
}

func mustHistory(t *testing.T, st fullStore, id string) history {
	t.Helper()
	h, err := readHistory(t.Context(), st, id)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return h
}

// wantHistories checks that st holds each of the sessions of want, exactly.
func wantHistories(t *testing.T, st fullStore, where string, want ...history) {
	t.Helper()
	for _, w := range want {
		if diff := diffHistory(mustHistory(t, st, w.session.ID), w); diff != "" {
			t.Errorf("session %s %s: %s", w.session.ID, where, diff)
		}
	}
}

// diffHistory describes the first difference between two histories, byte for byte
// and to the nanosecond, or returns "".
func diffHistory(got, want history) string {
	g, w := got.session, want.session
	if g.ID != w.ID || g.Language != w.Language || g.Version != w.Version || !g.CreatedAt.Equal(w.CreatedAt) ||
		!g.LastActive.Equal(w.LastActive) || !bytes.Equal(g.OwnerTokenHash, w.OwnerTokenHash) || !g.Ended.Equal(w.Ended) {
		return fmt.Sprintf("session %+v, want %+v", g, w)
	}
	if len(got.log) != len(want.log) || len(got.snapshots) != len(want.snapshots) || len(got.runs) != len(want.runs) || len(got.participants) != len(want.participants) {
		return fmt.Sprintf("%d updates, %d snapshots, %d runs, %d participants; want %d, %d, %d, %d",
			len(got.log), len(got.snapshots), len(got.runs), len(got.participants), len(want.log), len(want.snapshots), len(want.runs), len(want.participants))
	}
	for i := range got.log {
		if !sameUpdate(got.log[i], want.log[i]) {
			return fmt.Sprintf("update %d = %+v, want %+v", i, got.log[i], want.log[i])
		}
	}
	for i := range got.snapshots {
		if got.snapshots[i].Version != want.snapshots[i].Version || !bytes.Equal(got.snapshots[i].Text, want.snapshots[i].Text) {
			return fmt.Sprintf("snapshot %d = %d %q, want %d %q", i, got.snapshots[i].Version, got.snapshots[i].Text, want.snapshots[i].Version, want.snapshots[i].Text)
		}
	}
	for i := range got.runs {
		g, w := got.runs[i], want.runs[i]
		if fmt.Sprintf("%q", g.Output) != fmt.Sprintf("%q", w.Output) || !g.Started.Equal(w.Started) || !g.Ended.Equal(w.Ended) {
			return fmt.Sprintf("run %d = %+v, want %+v", i, g, w)
		}
		g.Output, w.Output, g.Started, w.Started, g.Ended, w.Ended = nil, nil, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			return fmt.Sprintf("run %d = %+v, want %+v", i, got.runs[i], want.runs[i])
		}
	}
	for i := range got.participants {
		g, w := got.participants[i], want.participants[i]
		if g.UserID != w.UserID || g.Name != w.Name || !g.Joined.Equal(w.Joined) {
			return fmt.Sprintf("participant %d = %+v, want %+v", i, g, w)
		}
	}
	if len(got.questions) != len(want.questions) {
		return fmt.Sprintf("%d questions, want %d", len(got.questions), len(want.questions))
	}
	for i := range got.questions {
		if !sameSessionQuestion(got.questions[i], want.questions[i]) {
			return fmt.Sprintf("question %d = %+v, want %+v", i, got.questions[i], want.questions[i])
		}
	}
	if len(got.members) != len(want.members) {
		return fmt.Sprintf("%d members, want %d", len(got.members), len(want.members))
	}
	for i := range got.members {
		g, w := got.members[i], want.members[i]
		if g.SessionID != w.SessionID || g.Principal != w.Principal || g.Role != w.Role || g.PublicID != w.PublicID || !g.Added.Equal(w.Added) {
			return fmt.Sprintf("member %d = %+v, want %+v", i, g, w)
		}
	}
	return ""
}

// TestStoreCopy copies a SQLite store to PostgreSQL and back, twice each way, and
// checks that every session arrives whole, that a second copy changes nothing and
// says so, that a copy catches up with a source used since, and that a session
// the destination holds differently is left alone and reported.
func TestStoreCopy(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	srcPath, backPath := filepath.Join(dir, "duet.db"), filepath.Join(dir, "back", "duet.db")
	pgURL := pgtest.NewSchema(t, pgtest.NewDatabase(t))
	const a, b = "3f2a1b9c-0000-4000-8000-00000000000a", "3f2a1b9c-0000-4000-8000-00000000000b"

	src, err := sqlite.Open(ctx, srcPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	copyFixture(t, src, a)
	copyFixture(t, src, b)
	wantA, wantB := mustHistory(t, src, a), mustHistory(t, src, b)
	if len(wantA.log) != 3 || len(wantA.snapshots) != 2 || len(wantA.runs) != 2 || len(wantA.participants) != 2 || len(wantA.members) != 2 || len(wantA.questions) != 2 {
		t.Fatalf("fixture: %d updates, %d snapshots, %d runs, %d participants, %d members, %d questions",
			len(wantA.log), len(wantA.snapshots), len(wantA.runs), len(wantA.participants), len(wantA.members), len(wantA.questions))
	}
	at := wantA.session.CreatedAt
	library := []store.Question{fixtureQuestion("9b0c3d1e-0000-4000-8000-00000000000a", at), fixtureQuestion("9b0c3d1e-0000-4000-8000-00000000000b", at)}
	library[1].Tests = nil
	for _, q := range library {
		if err := src.CreateQuestion(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()

	out, err := runCopy(t, "sqlite:"+srcPath, pgURL)
	if err != nil || !strings.Contains(out, a+": copied: 3 updates, 2 snapshots, 2 runs, 2 participants, 2 members, 2 questions") ||
		!strings.Contains(out, "2 sessions: 2 copied") || !strings.Contains(out, "2 questions in the library: 2 copied, 0 replaced") {
		t.Fatalf("first copy to PostgreSQL: %v\n%s", err, out)
	}
	out, err = runCopy(t, "sqlite:"+srcPath, pgURL)
	if err != nil || out != "2 sessions, all already there and the same: nothing changed\n" {
		t.Fatalf("second copy to PostgreSQL: %v\n%s", err, out)
	}
	pg, err := postgres.Open(ctx, pgURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantHistories(t, pg, "in PostgreSQL", wantA, wantB)
	wantLibrary(t, pg, "in PostgreSQL", library)

	// Back to a new SQLite file: the round trip.
	for range 2 {
		if out, err := runCopy(t, pgURL, "sqlite:"+backPath); err != nil {
			t.Fatalf("copy back to SQLite: %v\n%s", err, out)
		}
	}
	back, err := sqlite.Open(ctx, backPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantHistories(t, back, "after the round trip", wantA, wantB)
	wantLibrary(t, back, "after the round trip", library)

	// The source was used after the copy: a new copy brings the destination up to date.
	src, err = sqlite.Open(ctx, srcPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	later := wantA.session.LastActive.Add(time.Hour)
	if err := src.AppendUpdates(ctx, a, 3, []store.Update{{ClientID: "c3", UserID: "u-cy", Changes: []byte(`[18,[0,"!"]]`), Time: later}}); err != nil {
		t.Fatal(err)
	}
	if err := src.SaveParticipant(ctx, a, store.Participant{UserID: "u-cy", Name: "Cy", Joined: later}); err != nil {
		t.Fatal(err)
	}
	if err := src.AddMember(ctx, a, store.Member{Principal: "a:cy", Role: store.RoleInterviewer, PublicID: "p-cy", Added: later}); err != nil {
		t.Fatal(err)
	}
	if err := src.SetEnded(ctx, a, later.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	third := fixtureQuestion("9b0c3d1e-0000-4000-8000-000000000003", later)
	if err := src.AddSessionQuestion(ctx, a, store.SessionQuestion{Question: third, Version: 3, Added: later}); err != nil {
		t.Fatal(err)
	}
	library[0].Prompt, library[0].UpdatedAt = "Edited later.", later
	if err := src.UpdateQuestion(ctx, library[0]); err != nil {
		t.Fatal(err)
	}
	wantA = mustHistory(t, src, a)
	src.Close()
	out, err = runCopy(t, "sqlite:"+srcPath, pgURL)
	if err != nil || !strings.Contains(out, a+": brought up to date: +1 updates, +1 participants, +1 members, the end time, +1 questions") ||
		!strings.Contains(out, "1 brought up to date, 1 already the same") || !strings.Contains(out, "2 questions in the library: 0 copied, 1 replaced by a later edit, 1 already the same") {
		t.Fatalf("copy after the source was used: %v\n%s", err, out)
	}
	wantHistories(t, pg, "brought up to date", wantA)
	wantLibrary(t, pg, "brought up to date", library)

	// A question the destination edited later than the source is left alone.
	newer := library[1]
	newer.Title, newer.UpdatedAt = "Edited in PostgreSQL", later.Add(time.Hour)
	if err := pg.UpdateQuestion(ctx, newer); err != nil {
		t.Fatal(err)
	}
	out, err = runCopy(t, "sqlite:"+srcPath, pgURL)
	if err == nil || !strings.Contains(out, "question "+newer.ID+": not copied: the destination holds another version of it") {
		t.Errorf("copy onto a question edited later: %v\n%s", err, out)
	}
	wantLibrary(t, pg, "after a refused copy", []store.Question{library[0], newer})

	// The destination holds another session under b's id: it is left alone.
	if err := back.DeleteSession(ctx, b); err != nil {
		t.Fatal(err)
	}
	other := wantB.session
	other.OwnerTokenHash, other.Version = []byte("someone else"), 0
	if err := back.CreateSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	back.Close()
	out, err = runCopy(t, pgURL, "sqlite:"+backPath)
	if err == nil || !strings.Contains(out, b+": not copied: the destination has another session with this id") {
		t.Errorf("copy onto another session: %v\n%s", err, out)
	}
	pg.Close()
}

// wantLibrary checks that st's question library is exactly want (by title).
func wantLibrary(t *testing.T, st store.Questions, where string, want []store.Question) {
	t.Helper()
	got, err := st.ListQuestions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.Question{}
	for _, q := range got {
		byID[q.ID] = q
	}
	if len(got) != len(want) {
		t.Errorf("library %s: %d questions, want %d", where, len(got), len(want))
	}
	for _, w := range want {
		if g, ok := byID[w.ID]; !ok || !sameQuestion(g, w) || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("library %s: question %s = %+v, want %+v", where, w.ID, g, w)
		}
	}
}

func TestStoreCopyRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"store"}, "want the command copy"},
		{[]string{"store", "move"}, "want the command copy"},
		{[]string{"store", "copy", "-from", "sqlite:" + filepath.Join(dir, "a.db")}, "give both -from and -to"},
		{[]string{"store", "copy", "-from", "sqlite:x.db", "-to", "sqlite:x.db"}, "the same store"},
		{[]string{"store", "copy", "-from", "sqlite:" + filepath.Join(dir, "missing.db"), "-to", "sqlite:" + filepath.Join(dir, "b.db")}, "no such file"},
		{[]string{"store", "copy", "-from", "mysql://u:secret@h/db", "-to", "sqlite:" + filepath.Join(dir, "b.db")}, `"mysql://u:xxxxx@h/db": want sqlite:PATH or a postgres:// URL`},
	} {
		err := run(context.Background(), tt.args, func(string) string { return "" }, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) error = %v, want one saying %q", tt.args, err, tt.want)
		}
	}
}
