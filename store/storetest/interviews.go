package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"duet/store"
)

// InterviewsBackend is a store that lists interviews.
type InterviewsBackend interface {
	store.Store
	store.Interviews
}

// RunInterviews checks the list of interviews: whose they are, the team's, the
// order, keyset pages, the search and what a row holds. open returns a fresh, empty
// store; RunInterviews closes it.
func RunInterviews(t *testing.T, open func(t *testing.T) InterviewsBackend) {
	t.Helper()
	ctx := t.Context()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	at := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
	id := func(i int) string { return fmt.Sprintf("3f2a1b9c-0000-4000-8000-%012d", i) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Sessions 1–5: ada's (5 and 4 created at the same instant); 6–7: team core's,
	// not ada's; 8: bob's, of team other.
	for i := 1; i <= 8; i++ {
		created := at.Add(time.Duration(i) * time.Minute)
		if i == 5 {
			created = at.Add(4 * time.Minute)
		}
		team := map[bool]string{true: "core", false: ""}[i >= 6]
		must(s.CreateSession(ctx, store.Session{ID: id(i), Language: "python", CreatedAt: created, LastActive: created.Add(time.Hour),
			OwnerTokenHash: []byte{1}, Team: team}))
		if i == 8 {
			must(s.SetTeam(ctx, id(i), "other"))
		}
		who := "b:ada"
		if i >= 6 {
			who = "b:someone"
		}
		if i == 8 {
			who = "a:bob"
		}
		must(s.AddMember(ctx, id(i), store.Member{Principal: who, Role: store.RoleInterviewer, PublicID: "p", Added: created}))
	}
	must(s.AddMember(ctx, id(3), store.Member{Principal: "b:someone", Role: store.RoleInterviewer, PublicID: "q", Added: at}))
	for i, name := range []string{"Ada Lovelace", "Grace", "ÉMILE", "Zoë", "x\\y"} {
		must(s.SaveParticipant(ctx, id(1), store.Participant{UserID: fmt.Sprint("u", i), Name: name, Joined: at.Add(time.Duration(i))}))
	}
	for i := range 10 {
		must(s.SaveParticipant(ctx, id(2), store.Participant{UserID: fmt.Sprint("u", i), Name: fmt.Sprint("P", i), Joined: at.Add(time.Duration(i))}))
	}
	must(s.AppendRun(ctx, id(2), store.Run{ID: "r1", Started: at}))
	must(s.AppendRun(ctx, id(2), store.Run{ID: "r2", Started: at.Add(time.Second)}))
	must(s.AddNote(ctx, id(2), store.Note{ID: "n1", Text: "good start", Line: 1, Created: at}))
	must(s.AppendUpdates(ctx, id(3), 0, []store.Update{{ClientID: "c", UserID: "u", Changes: []byte(`[[0,"x"]]`), Time: at}}))
	long := []byte(`"def f():\n` + string(slices.Repeat([]byte("x"), 1000)) + `"`)
	must(s.SaveSnapshot(ctx, id(3), store.Snapshot{Version: 0, Text: []byte(`""`)}))
	must(s.SaveSnapshot(ctx, id(3), store.Snapshot{Version: 1, Text: long}))
	must(s.SetEnded(ctx, id(4), at.Add(2*time.Hour)))

	ids := func(ivs []store.Interview) []string {
		out := []string{}
		for _, iv := range ivs {
			out = append(out, iv.ID[len(iv.ID)-1:])
		}
		return out
	}
	list := func(t *testing.T, q store.InterviewQuery) []store.Interview {
		t.Helper()
		ivs, err := s.ListInterviews(ctx, q)
		if err != nil {
			t.Fatalf("ListInterviews(%+v) error = %v", q, err)
		}
		return ivs
	}
	for _, tt := range []struct {
		name string
		q    store.InterviewQuery
		want []string
	}{
		{"a principal's, newest first, ties by id", store.InterviewQuery{Principal: "b:ada", Limit: 50}, []string{"5", "4", "3", "2", "1"}},
		{"and the team's", store.InterviewQuery{Principal: "b:ada", Team: "core", Limit: 50}, []string{"7", "6", "5", "4", "3", "2", "1"}},
		{"a co-interviewer's", store.InterviewQuery{Principal: "b:someone", Limit: 50}, []string{"7", "6", "3"}},
		{"a team alone", store.InterviewQuery{Team: "other", Limit: 50}, []string{"8"}},
		{"nobody's", store.InterviewQuery{Limit: 50}, []string{}},
		{"an unknown principal", store.InterviewQuery{Principal: "b:nobody", Limit: 50}, []string{}},
		{"search folds A to Z", store.InterviewQuery{Principal: "b:ada", Search: "LOVE", Limit: 50}, []string{"1"}},
		{"search folds nothing else", store.InterviewQuery{Principal: "b:ada", Search: "émile", Limit: 50}, []string{}},
		{"search exact beyond ASCII", store.InterviewQuery{Principal: "b:ada", Search: "ÉMILE", Limit: 50}, []string{"1"}},
		{"search with a backslash", store.InterviewQuery{Principal: "b:ada", Search: `x\y`, Limit: 50}, []string{"1"}},
		{"search any participant", store.InterviewQuery{Principal: "b:ada", Search: "p9", Limit: 50}, []string{"2"}},
		{"search no one", store.InterviewQuery{Principal: "b:ada", Search: "%", Limit: 50}, []string{}},
		{"search stays within the principal's", store.InterviewQuery{Principal: "a:bob", Search: "ada", Limit: 50}, []string{}},
		{"limit at least 1", store.InterviewQuery{Principal: "b:ada", Limit: 0}, []string{"5"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(list(t, tt.q)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListInterviews(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}

	t.Run("keyset pages", func(t *testing.T) {
		var got []string
		q := store.InterviewQuery{Principal: "b:ada", Team: "core", Limit: 2}
		for page := 0; ; page++ {
			ivs := list(t, q)
			got = append(got, ids(ivs)...)
			if len(ivs) < q.Limit || page > 10 {
				break
			}
			q.After = ivs[len(ivs)-1].Cursor()
		}
		if want := []string{"7", "6", "5", "4", "3", "2", "1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("pages = %v, want %v", got, want)
		}
	})

	t.Run("what a row holds", func(t *testing.T) {
		ivs := list(t, store.InterviewQuery{Principal: "b:ada", Limit: 50})
		byID := map[string]store.Interview{}
		for _, iv := range ivs {
			byID[iv.ID] = iv
		}
		one, two, three, four := byID[id(1)], byID[id(2)], byID[id(3)], byID[id(4)]
		if want := []string{"Ada Lovelace", "Grace", "ÉMILE", "Zoë", "x\\y"}; !reflect.DeepEqual(one.Participants, want) {
			t.Errorf("participants = %q, want %q (in the order they joined)", one.Participants, want)
		}
		if len(two.Participants) != store.MaxListedParticipants || two.Participants[0] != "P0" || two.Runs != 2 || two.Notes != 1 {
			t.Errorf("session 2: %d participants (first %q), %d runs, %d notes; want %d, P0, 2, 1", len(two.Participants), two.Participants, two.Runs, two.Notes, store.MaxListedParticipants)
		}
		if len(one.Participants) == 0 || one.Runs != 0 || one.Notes != 0 || one.Excerpt != nil {
			t.Errorf("session 1: %d runs, %d notes, excerpt %q; want 0, 0, none", one.Runs, one.Notes, one.Excerpt)
		}
		if want := long[:store.ExcerptBytes]; string(three.Excerpt) != string(want) || three.Version != 1 {
			t.Errorf("excerpt = %q (version %d), want the newest snapshot's first %d bytes (version 1)", three.Excerpt, three.Version, store.ExcerptBytes)
		}
		if !four.Ended.Equal(at.Add(2*time.Hour)) || !one.Ended.IsZero() || !one.CreatedAt.Equal(at.Add(time.Minute)) ||
			!one.LastActive.Equal(at.Add(time.Minute+time.Hour)) || one.Language != "python" || one.OwnerTokenHash != nil {
			t.Errorf("session 1 = %+v, session 4 = %+v", one.Session, four.Session)
		}
		if tm := list(t, store.InterviewQuery{Team: "core", Limit: 1}); len(tm) != 1 || tm[0].Team != "core" {
			t.Errorf("team's = %+v, want its team", tm)
		}
	})

	t.Run("set team", func(t *testing.T) {
		if err := s.SetTeam(ctx, "3f2a1b9c-0000-4000-8000-999999999999", "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetTeam(unknown) error = %v, want ErrNotFound", err)
		}
		if got, err := s.Session(ctx, id(8)); err != nil || got.Team != "other" {
			t.Errorf("Session after SetTeam = %+v, %v; want team other", got, err)
		}
	})

	t.Run("deleted sessions go", func(t *testing.T) {
		must(s.DeleteSession(ctx, id(5)))
		if got := ids(list(t, store.InterviewQuery{Principal: "b:ada", Limit: 50})); !reflect.DeepEqual(got, []string{"4", "3", "2", "1"}) {
			t.Errorf("after a delete = %v", got)
		}
	})
}

// LogInterviewsCost fills s with n sessions of one interviewer (each with a
// participant, a run and a snapshot) and logs what listing a page costs, first
// page, a deep page and a search: BENCH lines, not assertions. It fails only when
// a page is wrong.
func LogInterviewsCost(t *testing.T, s InterviewsBackend, n int) {
	t.Helper()
	ctx := t.Context()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				id := fmt.Sprintf("3f2a1b9c-0000-4000-8000-%012d", i)
				c := at.Add(time.Duration(i) * time.Minute)
				err := s.CreateSession(ctx, store.Session{ID: id, Language: "python", CreatedAt: c, LastActive: c, OwnerTokenHash: []byte{1}})
				if err == nil {
					err = s.AddMember(ctx, id, store.Member{Principal: "b:ada", Role: store.RoleInterviewer, PublicID: "p", Added: c})
				}
				if err == nil {
					err = s.SaveParticipant(ctx, id, store.Participant{UserID: "c", Name: fmt.Sprintf("Candidate %d", i), Joined: c})
				}
				if err == nil {
					err = s.AppendRun(ctx, id, store.Run{ID: "r", Started: c})
				}
				if err == nil {
					err = s.SaveSnapshot(ctx, id, store.Snapshot{Version: 0, Text: []byte(`"def solve(xs):\n    return sorted(xs)\n"`)})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("filled %d sessions in %v", n, time.Since(start))
	deep := store.InterviewCursor{Created: at.Add(time.Duration(n/2) * time.Minute), ID: fmt.Sprintf("3f2a1b9c-0000-4000-8000-%012d", n/2)}
	for _, c := range []struct {
		name string
		q    store.InterviewQuery
		want int
	}{
		{"first page", store.InterviewQuery{Principal: "b:ada", Limit: 25}, 25},
		{"a page halfway down", store.InterviewQuery{Principal: "b:ada", After: deep, Limit: 25}, 25},
		{"a search matching one", store.InterviewQuery{Principal: "b:ada", Search: fmt.Sprintf("candidate %d", n-1), Limit: 25}, 1},
		{"a search matching none", store.InterviewQuery{Principal: "b:ada", Search: "zzz", Limit: 25}, 0},
	} {
		const rounds = 20
		s.ListInterviews(ctx, c.q) // warm
		start := time.Now()
		for range rounds {
			ivs, err := s.ListInterviews(ctx, c.q)
			if err != nil || len(ivs) != c.want {
				t.Fatalf("%s: %d interviews, %v; want %d", c.name, len(ivs), err, c.want)
			}
		}
		t.Logf("BENCH ListInterviews over %d sessions, %s: %v a query (mean of %d)", n, c.name, time.Since(start)/rounds, rounds)
	}
}
