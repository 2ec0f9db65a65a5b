package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"duet/accounts"
	"duet/collab"
	"duet/collab/replay"
	"duet/handlers"
	"duet/store"
	"duet/store/sqlite"
)

// startPad starts an interview from the home page's form with a browser and
// returns the session's id.
func startPad(t *testing.T, s *testServer, b *http.Client) string {
	t.Helper()
	res := send(t, b, http.MethodPost, s.URL+"/s", formHeader(), "language=python&name=Ada")
	if res.status != http.StatusSeeOther {
		t.Fatalf("POST /s = %d %s", res.status, res.body)
	}
	return strings.TrimPrefix(res.header.Get("Location"), "/s/")
}

// listed returns the session ids /interviews shows a browser, in order, and the
// page's document.
func listed(t *testing.T, s *testServer, b *http.Client, target string) ([]string, *goquery.Document) {
	t.Helper()
	res := send(t, b, http.MethodGet, s.URL+target, nil, "")
	if res.status != http.StatusOK {
		t.Fatalf("GET %s = %d %.300s", target, res.status, res.body)
	}
	doc := mustDoc(t, res.body)
	var ids []string
	doc.Find(".interview-row .interview-when").Each(func(_ int, a *goquery.Selection) {
		ids = append(ids, strings.TrimPrefix(a.AttrOr("href", ""), "/s/"))
	})
	return ids, doc
}

func TestMyInterviews(t *testing.T) {
	t.Parallel()
	st := store.NewMemory()
	s := newServerOn(t, st)
	ctx := t.Context()
	ada, candidate, co := s.browser(t), s.browser(t), s.browser(t)
	var ids []string
	for range 3 {
		ids = append(ids, startPad(t, s, ada))
		time.Sleep(time.Millisecond) // distinct creation times, for the order
	}
	// The candidate opens the share link of the first: a candidate, who sees nothing.
	if res := send(t, candidate, "GET", s.URL+"/s/"+ids[0], nil, ""); res.status != http.StatusOK {
		t.Fatalf("candidate GET pad = %d", res.status)
	}
	// A co-interviewer opens the interviewer link of the second.
	var created struct{ ID, OwnerToken, InterviewerURL string }
	res := s.do(t, "POST", "/sessions", jsonHeader(), `{"language":"javascript"}`)
	mustUnmarshal(t, res.body, &created)
	if res := send(t, co, "GET", created.InterviewerURL, nil, ""); res.status != http.StatusSeeOther {
		t.Fatalf("interviewer link = %d", res.status)
	}
	if err := st.SaveParticipant(ctx, ids[1], store.Participant{UserID: "u1", Name: "Grace Hopper", Joined: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.EndSession(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name   string
		who    *http.Client
		target string
		want   []string
	}{
		{"the starter's, newest first", ada, "/interviews", []string{ids[2], ids[1], ids[0]}},
		{"a candidate sees none", candidate, "/interviews", nil},
		{"a browser never seen sees none", s.browser(t), "/interviews", nil},
		{"a co-interviewer sees theirs only", co, "/interviews", []string{created.ID}},
		{"search by participant, any case", ada, "/interviews?q=grace+HOP", []string{ids[1]}},
		{"search finds no one", ada, "/interviews?q=nobody", nil},
		{"search stays within one's own", candidate, "/interviews?q=grace", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, doc := listed(t, s, tt.who, tt.target)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("GET %s lists %v, want %v", tt.target, got, tt.want)
			}
			if len(tt.want) == 0 && doc.Find(".panel-empty").Length() != 1 {
				t.Error("an empty list says nothing")
			}
		})
	}

	_, doc := listed(t, s, ada, "/interviews")
	rows := doc.Find(".interview-row")
	first, last := rows.First(), rows.Last()
	if first.Find(`a[href="/s/`+ids[2]+`/replay"]`).Length() != 1 || !strings.Contains(first.Find(".badge").Text(), "Python") ||
		!strings.Contains(first.Find(".state").Text(), "Idle") || !strings.Contains(first.Text(), "0 runs") {
		t.Errorf("first row = %q, want the replay link, Python, Idle and 0 runs", first.Text())
	}
	if !strings.Contains(last.Find(".state").Text(), "Ended") {
		t.Errorf("ended row state = %q, want Ended", last.Find(".state").Text())
	}
	if !strings.Contains(rows.Eq(1).Find(".interview-people").Text(), "Grace Hopper") {
		t.Errorf("participants = %q, want Grace Hopper", rows.Eq(1).Find(".interview-people").Text())
	}

	t.Run("htmx gets the list alone", func(t *testing.T) {
		res := send(t, ada, "GET", s.URL+"/interviews?q=grace", http.Header{"Hx-Request": {"true"}}, "")
		if res.status != 200 || strings.Contains(string(res.body), "<html") || !strings.Contains(string(res.body), ids[1]) {
			t.Errorf("htmx GET /interviews = %d %.200s, want the fragment with the match", res.status, res.body)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, target := range []string{"/interviews?after=x", "/interviews?after=12_", "/interviews?after=_abc", "/interviews?q=" + strings.Repeat("a", 101)} {
			if res := send(t, ada, "GET", s.URL+target, nil, ""); res.status != http.StatusBadRequest {
				t.Errorf("GET %s = %d, want 400", target, res.status)
			}
		}
	})
}

// TestMyInterviewsPages walks the keyset pages: every interview once, in order.
func TestMyInterviewsPages(t *testing.T) {
	t.Parallel()
	s := newServerOn(t, store.NewMemory())
	ada := s.browser(t)
	var want []string
	for range 30 {
		want = append([]string{startPad(t, s, ada)}, want...)
	}
	var got []string
	target := "/interviews"
	pages := 0
	for target != "" && pages < 5 {
		ids, doc := listed(t, s, ada, target)
		got = append(got, ids...)
		pages++
		target = ""
		doc.Find(".pager a").Each(func(_ int, a *goquery.Selection) {
			if a.Text() == "Older interviews" {
				target = a.AttrOr("href", "")
			}
		})
		if pages == 2 && doc.Find(`.pager a[href="/interviews"]`).Length() != 1 {
			t.Error("the second page has no link to the newest")
		}
	}
	if pages != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%d pages listing %d interviews; want 2 pages with all 30 newest first", pages, len(got))
	}
}

// TestMyInterviewsTeam: with sign-in, an account sees its own interviews and its
// team's, from any browser; an account of no team sees only its own.
func TestMyInterviewsTeam(t *testing.T) {
	t.Parallel()
	s := newAuthServer(t, func(c *handlers.Config) {})
	if _, err := s.accounts.AddUser(t.Context(), accounts.NewUser{Login: "cy", Team: "core", Password: adaPassword}); err != nil {
		t.Fatal(err)
	}
	adaID := startPad(t, s.testServer, s.signIn(t, "ada"))
	bobID := startPad(t, s.testServer, s.signIn(t, "bob"))
	token, err := s.accounts.NewAPIToken(t.Context(), "ada", "ci")
	if err != nil {
		t.Fatal(err)
	}
	res := s.do(t, "POST", "/sessions", http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}, `{}`)
	var api struct{ ID string }
	mustUnmarshal(t, res.body, &api)
	for _, tt := range []struct {
		login string
		want  []string
	}{
		{"ada", []string{api.ID, adaID}}, // on another browser: the account's
		{"cy", []string{api.ID, adaID}},  // the team's
		{"bob", []string{bobID}},
	} {
		if got, doc := listed(t, s.testServer, s.signIn(t, tt.login), "/interviews"); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s's interviews = %v, want %v", tt.login, got, tt.want)
		} else if tt.login == "cy" && !strings.Contains(doc.Find(".interviews-team").Text(), "core") {
			t.Error("the page does not say the team's interviews are included")
		}
	}
}

// TestMyInterviewsBench renders My interviews over a SQLite store of 5,000 sessions
// of one interviewer (each with participants, a run and a snapshot) and logs how
// long a page takes: a BENCH line, not an assertion.
func TestMyInterviewsBench(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 5,000 sessions")
	}
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "duet.db"), sqlite.Options{Sync: sqlite.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hub := collab.NewHub(collab.HubConfig{Store: st})
	h, err := handlers.New(handlers.Config{Sessions: hub, Sockets: hub, Replays: replay.New(st), Interviews: hub, Static: embeddedAssets(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		hs.Close()
	})
	srv := &testServer{Server: hs, hub: hub}
	b := srv.browser(t)
	// The browser's principal: it starts one interview through the page.
	members, err := st.Members(ctx, startPad(t, srv, b))
	if err != nil || len(members) != 1 {
		t.Fatalf("members = %v, %v", members, err)
	}
	principal := members[0].Principal

	const n = 5000
	start := time.Now()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				id := fmt.Sprintf("3f2a1b9c-0000-4000-8000-%012d", i)
				c := at.Add(time.Duration(i) * time.Minute)
				err := st.CreateSession(ctx, store.Session{ID: id, Language: "python", CreatedAt: c, LastActive: c.Add(40 * time.Minute), OwnerTokenHash: []byte{1}})
				for _, f := range []func() error{
					func() error {
						return st.AddMember(ctx, id, store.Member{Principal: principal, Role: store.RoleInterviewer, PublicID: "p", Added: c})
					},
					func() error {
						return st.SaveParticipant(ctx, id, store.Participant{UserID: "c", Name: fmt.Sprintf("Candidate %d", i), Joined: c})
					},
					func() error { return st.AppendRun(ctx, id, store.Run{ID: "r", Started: c}) },
					func() error {
						return st.SaveSnapshot(ctx, id, store.Snapshot{Version: 0, Text: []byte(`"def solve(xs):\n    return sorted(xs)\n"`)})
					},
				} {
					if err == nil {
						err = f()
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("filled %d sessions in %v", n, time.Since(start))

	for _, target := range []string{"/interviews", "/interviews?q=candidate+4999", "/interviews?q=zzz"} {
		send(t, b, "GET", srv.URL+target, nil, "") // warm
		const rounds = 20
		start := time.Now()
		var rows int
		for range rounds {
			ids, _ := listed(t, srv, b, target)
			rows = len(ids)
		}
		t.Logf("BENCH My interviews over %d sessions (SQLite, sync normal), GET %s: %v a page of %d rows (mean of %d, over HTTP on 127.0.0.1)",
			n+1, target, time.Since(start)/rounds, rows, rounds)
	}
}
