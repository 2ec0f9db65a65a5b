package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// roleFixture is a session started from the home page by one browser (its
// interviewer), with the other kinds of visitor the role rule tells apart.
type roleFixture struct {
	srv   *testServer
	id    string
	token string // the owner token, as the interviewer's browser keeps it for the link
	// Visitors, by name: each sends its own cookies and headers.
	actors map[string]actor
}

// actor is one kind of visitor: a browser with its cookies, or a program with its
// headers, or nobody at all.
type actor struct {
	client *http.Client // nil: no cookies
	header http.Header  // sent with every request
	role   string       // what the rule must decide: interviewer or candidate
}

func newRoleFixture(t *testing.T) *roleFixture {
	t.Helper()
	srv := newTestServer(t)
	f := &roleFixture{srv: srv, actors: map[string]actor{}}

	// The interviewer starts the interview from the home page.
	ada := srv.browser(t)
	res, err := ada.PostForm(srv.URL+"/s", url.Values{"language": {"python"}, "name": {"Ada"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	pad := res.Header.Get("Location")
	f.id = strings.TrimPrefix(pad, "/s/")
	padURL, _ := url.Parse(srv.URL + pad)
	for _, ck := range ada.Jar.Cookies(padURL) {
		if ck.Name == "duet_link" {
			f.token = ck.Value
		}
	}
	if f.token == "" {
		t.Fatalf("POST /s left no interviewer link in the starter's browser")
	}

	// A co-interviewer opens the interviewer link.
	bea := srv.browser(t)
	res, err = bea.Get(srv.URL + pad + "/interviewer/" + f.token)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != pad {
		t.Fatalf("GET the interviewer link = %d to %q, want 303 to %s", res.StatusCode, res.Header.Get("Location"), pad)
	}

	// The candidate opens the share link.
	cy := srv.browser(t)
	if res, err = cy.Get(srv.URL + pad); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	// Someone who opened a wrong interviewer link: it must have changed nothing.
	dan := srv.browser(t)
	if res, err = dan.Get(srv.URL + pad + "/interviewer/" + strings.Repeat("A", 43)); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("GET a wrong interviewer link = %d, want 403", res.StatusCode)
	}

	// Everyone has a name (else the pad asks for one first); with a jar, its
	// cookies are added to this header.
	named := func(h http.Header) http.Header {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Cookie", "duet_name=Someone")
		return h
	}
	f.actors = map[string]actor{
		"interviewer":                  {client: ada, role: "interviewer"},
		"co-interviewer":               {client: bea, header: named(nil), role: "interviewer"},
		"candidate":                    {client: cy, header: named(nil), role: "candidate"},
		"after a wrong link":           {client: dan, header: named(nil), role: "candidate"},
		"anonymous":                    {header: named(nil), role: "candidate"},
		"owner token":                  {header: named(bearer(f.token)), role: "interviewer"},
		"wrong owner token":            {header: named(bearer(strings.Repeat("B", 43))), role: "candidate"},
		"candidate with a wrong token": {client: cy, header: named(bearer("nope")), role: "candidate"},
	}
	return f
}

// do sends a request as the actor, without following redirects.
func (a actor) do(t *testing.T, srv *testServer, method, target string, header http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range a.header {
		req.Header[k] = vs
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	client := a.client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// TestRoles is the role rule on every page, fragment and API call it guards, for
// every kind of visitor: what interviewers get, and that the others get 403 with no
// trace of what is there.
func TestRoles(t *testing.T) {
	t.Parallel()
	f := newRoleFixture(t)
	pad := "/s/" + f.id
	// Something private in the history, to be sure the 403 shows none of it.
	const canary = "canary-code-5be1"
	conn, _, err := dial(t, f.srv, "/ws/"+f.id, nil)
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, conn, "sync")
	writeJSON(t, conn, map[string]any{"type": "edit", "version": 0, "updates": []any{map[string]any{"clientID": "c", "changes": []any{[]any{0, canary}}}}})
	readUntil(t, conn, "update")
	conn.Close(websocket.StatusNormalClosure, "")

	htmx := http.Header{"Hx-Request": {"true"}}
	tests := []struct {
		name, method, target string
		header               http.Header
		// What each role gets: status, and selectors that must be there (count > 0)
		// or absent (prefixed with "!").
		interviewer, candidate roleWant
	}{
		{
			name: "pad", method: "GET", target: pad,
			interviewer: roleWant{200, []string{"#interviewer-url", "form.end", `a[href="` + pad + `/replay"]`}},
			candidate:   roleWant{200, []string{"!#interviewer-url", "!form.end", `!a[href="` + pad + `/replay"]`, "#editor"}},
		},
		{
			name: "replay page", method: "GET", target: pad + "/replay",
			interviewer: roleWant{200, []string{"#replay-frame"}},
			candidate:   roleWant{403, []string{"!#replay-frame"}},
		},
		{
			name: "replay frame", method: "GET", target: pad + "/replay?v=1", header: htmx,
			interviewer: roleWant{200, []string{"#replay-frame"}},
			candidate:   roleWant{403, []string{"!#replay-frame"}},
		},
		{
			name: "end", method: "POST", target: pad + "/end", header: htmx,
			// Only the candidates' case is asked here: an interviewer's end is
			// TestEndInterview's, as it changes the session for the rows after it.
			candidate: roleWant{403, nil},
		},
		{
			name: "API: end", method: "POST", target: "/sessions/" + f.id + "/end",
			candidate: roleWant{403, nil}, // 401 without a token: TestEndInterviewAPI
		},
	}
	for _, tt := range tests {
		for name, a := range f.actors {
			want := tt.candidate
			if a.role == "interviewer" {
				want = tt.interviewer
			}
			if want.status == 0 {
				continue
			}
			if strings.HasPrefix(tt.target, "/sessions/") && (a.header.Get("Authorization") == "" || a.client != nil) {
				continue // the API is for programs: no token is TestEndInterviewAPI's 401
			}
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				header := tt.header.Clone()
				res := a.do(t, f.srv, tt.method, tt.target, header, "")
				if res.status != want.status {
					t.Fatalf("%s %s = %d, want %d", tt.method, tt.target, res.status, want.status)
				}
				body := string(res.body)
				if strings.Contains(body, canary) && res.status != http.StatusOK {
					t.Errorf("the answer shows the session's code")
				}
				if strings.Contains(body, f.token) && a.role != "interviewer" {
					t.Errorf("the answer holds the owner token")
				}
				if res.status == http.StatusForbidden {
					if strings.HasPrefix(tt.target, "/sessions/") {
						var e struct{ Error struct{ Code string } }
						mustUnmarshal(t, res.body, &e)
						if e.Error.Code != "forbidden" {
							t.Errorf("error code = %q, want forbidden", e.Error.Code)
						}
						return
					}
					if got := mustDoc(t, res.body).Find("main h1").Text(); got != "For interviewers only" && got != "Not the owner" {
						t.Errorf("403 page heading = %q", got)
					}
				}
				doc := mustDoc(t, res.body)
				for _, sel := range want.selectors {
					absent := strings.HasPrefix(sel, "!")
					sel = strings.TrimPrefix(sel, "!")
					if n := doc.Find(sel).Length(); (n > 0) == absent {
						t.Errorf("%s: %d, want present %v", sel, n, !absent)
					}
				}
			})
		}
	}

	// The socket says who is who: each visitor's own role in sync.you, and the
	// others see it in user_joined.
	t.Run("socket", func(t *testing.T) {
		watcher, _, err := dial(t, f.srv, "/ws/"+f.id+"?userName=Watcher", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer watcher.CloseNow()
		if got := readUntil(t, watcher, "sync"); got.You.Role != "candidate" {
			t.Errorf("a program without a token: sync.you.role = %q, want candidate", got.You.Role)
		}
		for name, a := range f.actors {
			header := a.header.Clone()
			if header == nil {
				header = http.Header{}
			}
			if a.client != nil {
				u, _ := url.Parse(f.srv.URL + "/ws/" + f.id)
				var cookies []string
				for _, ck := range a.client.Jar.Cookies(u) {
					cookies = append(cookies, ck.Name+"="+ck.Value)
				}
				header.Set("Cookie", strings.Join(cookies, "; "))
			}
			conn, _, err := dial(t, f.srv, "/ws/"+f.id+"?userName="+url.QueryEscape(name), header)
			if err != nil {
				t.Fatalf("%s: dial: %v", name, err)
			}
			sync := readUntil(t, conn, "sync")
			if sync.You.Role != a.role {
				t.Errorf("%s: sync.you.role = %q, want %q", name, sync.You.Role, a.role)
			}
			for _, u := range sync.Users {
				if u.Role != "interviewer" && u.Role != "candidate" {
					t.Errorf("%s: sync.users has role %q", name, u.Role)
				}
			}
			joined := readUntil(t, watcher, "user_joined")
			if joined.UserName != name || joined.Role != a.role {
				t.Errorf("user_joined = %s as %q, want %s as %q", joined.UserName, joined.Role, name, a.role)
			}
			users := f.srv.do(t, "GET", "/sessions/"+f.id, nil, "")
			var s struct{ Users []struct{ Name, Role string } }
			mustUnmarshal(t, users.body, &s)
			found := false
			for _, u := range s.Users {
				found = found || (u.Name == name && u.Role == a.role)
			}
			if !found {
				t.Errorf("GET /sessions/{id} users = %+v, want %s as %s", s.Users, name, a.role)
			}
			conn.Close(websocket.StatusNormalClosure, "")
			readUntil(t, watcher, "user_left")
		}
	})
}

type roleWant struct {
	status    int
	selectors []string
}

// serverMessage is any message the hub sends, with the fields these tests read.
type serverMessage struct {
	Type     string
	Code     string
	UserName string
	Role     string
	You      struct{ ID, Name, Role string }
	Users    []struct{ ID, Name, Role string }
}

// readUntil reads messages until one of type typ.
func readUntil(t *testing.T, conn *websocket.Conn, typ string) serverMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m serverMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func writeJSON(t *testing.T, conn *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// TestInterviewerLink: the interviewer link with the session's owner token makes
// the browser an interviewer and sends it to the pad, the token out of the address
// bar; any other link changes nothing.
func TestInterviewerLink(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	other, otherToken := srv.mustCreate(t, "python")
	tests := []struct {
		name         string
		target       string
		wantStatus   int
		wantMember   bool // the browser is an interviewer afterwards
		wantLocation string
	}{
		{"the owner token", "/s/" + id + "/interviewer/" + token, 303, true, "/s/" + id},
		{"a wrong token", "/s/" + id + "/interviewer/" + strings.Repeat("x", 43), 403, false, ""},
		{"another session's token", "/s/" + id + "/interviewer/" + otherToken, 403, false, ""},
		{"the token with a character more", "/s/" + id + "/interviewer/" + token + "A", 403, false, ""},
		{"the token cut short", "/s/" + id + "/interviewer/" + token[:42], 403, false, ""},
		{"an unknown session", "/s/" + "3f2a1b9c-0000-4000-8000-000000000000" + "/interviewer/" + token, 404, false, ""},
		{"a malformed session id", "/s/nope/interviewer/" + token, 404, false, ""},
		{"no token", "/s/" + id + "/interviewer/", 404, false, ""},
	}
	for _, tt := range tests {
		// In order, not in parallel: each counts the members the one before left.
		t.Run(tt.name, func(t *testing.T) {
			browser := srv.browser(t)
			before, err := srv.store.Members(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			res, err := browser.Get(srv.URL + tt.target)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantStatus || res.Header.Get("Location") != tt.wantLocation {
				t.Fatalf("GET %s = %d to %q, want %d to %q", tt.target, res.StatusCode, res.Header.Get("Location"), tt.wantStatus, tt.wantLocation)
			}
			if tt.wantStatus != 404 && res.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer: the token is in the address", res.Header.Get("Referrer-Policy"))
			}
			// What the browser is now, as the pad and the replay tell.
			replay, err := browser.Get(srv.URL + "/s/" + id + "/replay")
			if err != nil {
				t.Fatal(err)
			}
			replay.Body.Close()
			if got := replay.StatusCode == http.StatusOK; got != tt.wantMember {
				t.Errorf("replay afterwards = %d, want an interviewer: %v", replay.StatusCode, tt.wantMember)
			}
			after, err := srv.store.Members(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantMember {
				if len(after) < len(before)+1 {
					t.Errorf("members %d → %d, want one more", len(before), len(after))
				}
				for _, ck := range res.Cookies() {
					if ck.Name == "duet_link" && (ck.Path != "/s/"+id || !ck.HttpOnly) {
						t.Errorf("duet_link cookie %+v, want HttpOnly on the pad's path", ck)
					}
				}
			} else {
				if len(after) != len(before) {
					t.Errorf("members %d → %d, want no change", len(before), len(after))
				}
				for _, ck := range res.Cookies() {
					if ck.Name == "duet_link" || ck.Name == "duet_key" {
						t.Errorf("a refused link set the cookie %s", ck.Name)
					}
				}
			}
			if ms, _ := srv.store.Members(t.Context(), other); len(ms) != 0 {
				t.Errorf("the other session has members %v, want none", ms)
			}
		})
	}

	t.Run("opening it twice records one interviewer", func(t *testing.T) {
		t.Parallel()
		id, token := srv.mustCreate(t, "python")
		browser := srv.browser(t)
		for range 2 {
			res, err := browser.Get(srv.URL + "/s/" + id + "/interviewer/" + token)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		if ms, err := srv.store.Members(t.Context(), id); err != nil || len(ms) != 1 || !strings.HasPrefix(ms[0].Principal, "b:") || len(ms[0].Principal) != 34 {
			t.Errorf("members = %+v, %v; want one, with a browser principal", ms, err)
		}
	})
}

// TestOwnerCookieAdopted: a browser that started a session before roles keeps the
// owner token in the duet_owner cookie; its first visit makes it an interviewer
// and deletes the cookie, and a cookie with another token changes nothing.
func TestOwnerCookieAdopted(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	for _, tt := range []struct {
		name       string
		good       bool
		wantMember bool
	}{{"its owner token", true, true}, {"another token", false, false}} {
		t.Run(tt.name, func(t *testing.T) {
			id, token := srv.mustCreate(t, "python")
			if !tt.good {
				token = strings.Repeat("z", 43)
			}
			browser := srv.browser(t)
			u, _ := url.Parse(srv.URL + "/s/" + id)
			browser.Jar.SetCookies(u, []*http.Cookie{{Name: "duet_owner", Value: token, Path: "/s/" + id}, {Name: "duet_name", Value: "Ada", Path: "/"}})
			res, err := browser.Get(srv.URL + "/s/" + id)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			for _, ck := range browser.Jar.Cookies(u) {
				if ck.Name == "duet_owner" {
					t.Errorf("the duet_owner cookie is still there")
				}
			}
			ms, err := srv.store.Members(t.Context(), id)
			if err != nil || (len(ms) == 1) != tt.wantMember {
				t.Errorf("members = %v, %v; want a member: %v", ms, err, tt.wantMember)
			}
			// Without the cookie now, the browser is what the store says.
			replay, err := browser.Get(srv.URL + "/s/" + id + "/replay")
			if err != nil {
				t.Fatal(err)
			}
			replay.Body.Close()
			if (replay.StatusCode == http.StatusOK) != tt.wantMember {
				t.Errorf("replay = %d, want an interviewer: %v", replay.StatusCode, tt.wantMember)
			}
		})
	}
}

// TestEndInterviewAPI: POST /sessions/{id}/end with the owner token ends the
// interview (once; again is still 204): connected sockets get session_ended and
// 4410, new ones are refused the same way, the language cannot change, and the
// history stays (the replay, GET /sessions/{id} with its end time) until DELETE.
func TestEndInterviewAPI(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	conn, _, err := dial(t, srv, "/ws/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	readUntil(t, conn, "sync")
	writeJSON(t, conn, map[string]any{"type": "edit", "version": 0, "updates": []any{map[string]any{"clientID": "c", "changes": []any{[]any{0, "print(1)"}}}}})
	readUntil(t, conn, "update")

	end := "/sessions/" + id + "/end"
	for _, tt := range []struct {
		name       string
		target     string
		header     http.Header
		wantStatus int
		wantCode   string
	}{
		{"no token", end, nil, 401, "unauthorized"},
		{"not a Bearer token", end, http.Header{"Authorization": {"Basic " + token}}, 401, "unauthorized"},
		{"a wrong token", end, bearer(strings.Repeat("q", 43)), 403, "forbidden"},
		{"an unknown session", "/sessions/3f2a1b9c-0000-4000-8000-000000000000/end", bearer(token), 404, "not_found"},
		{"a malformed id", "/sessions/nope/end", bearer(token), 404, "not_found"},
	} {
		res := srv.do(t, "POST", tt.target, tt.header, "")
		var e struct{ Error struct{ Code string } }
		mustUnmarshal(t, res.body, &e)
		if res.status != tt.wantStatus || e.Error.Code != tt.wantCode {
			t.Errorf("%s: POST %s = %d %s, want %d %s", tt.name, tt.target, res.status, e.Error.Code, tt.wantStatus, tt.wantCode)
		}
	}
	if got := srv.do(t, "GET", "/sessions/"+id, nil, ""); strings.Contains(string(got.body), `"ended"`) {
		t.Fatalf("refused ends ended the session: %s", got.body)
	}

	if res := srv.do(t, "POST", end, bearer(token), ""); res.status != http.StatusNoContent {
		t.Fatalf("POST %s = %d %s, want 204", end, res.status, res.body)
	}
	if m := readUntil(t, conn, "error"); m.Code != "session_ended" {
		t.Errorf("the connected socket got %q, want session_ended", m.Code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != 4410 {
		t.Errorf("the connected socket ended with %v, want close 4410", err)
	}
	var s struct {
		Ended   *time.Time
		Version int
	}
	mustUnmarshal(t, srv.do(t, "GET", "/sessions/"+id, nil, "").body, &s)
	if s.Ended == nil || s.Version != 1 {
		t.Fatalf("GET /sessions/{id} after the end = ended %v, version %d; want an end time and the history kept", s.Ended, s.Version)
	}
	first := *s.Ended
	if res := srv.do(t, "POST", end, bearer(token), ""); res.status != http.StatusNoContent {
		t.Errorf("ending again = %d, want 204", res.status)
	}
	mustUnmarshal(t, srv.do(t, "GET", "/sessions/"+id, nil, "").body, &s)
	if !s.Ended.Equal(first) {
		t.Errorf("ending again moved the end from %v to %v", first, s.Ended)
	}

	// New sockets are refused with session_ended, 4410.
	late, _, err := dial(t, srv, "/ws/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := readUntil(t, late, "error"); m.Code != "session_ended" {
		t.Errorf("a new socket got %q, want session_ended", m.Code)
	}
	if _, _, err := late.Read(ctx); websocket.CloseStatus(err) != 4410 {
		t.Errorf("a new socket ended with %v, want close 4410", err)
	}
	// The language is part of what no longer changes.
	if res := srv.do(t, "POST", "/s/"+id+"/language", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "language=javascript"); res.status != http.StatusConflict {
		t.Errorf("POST language after the end = %d, want 409", res.status)
	}
	// The replay stays, for interviewers.
	if res := srv.do(t, "GET", "/s/"+id+"/replay", bearer(token), ""); res.status != http.StatusOK || !strings.Contains(string(res.body), "print") {
		t.Errorf("replay after the end = %d, want 200 with the code", res.status)
	}
	// Deleting still erases it.
	if res := srv.do(t, "DELETE", "/sessions/"+id, bearer(token), ""); res.status != http.StatusNoContent {
		t.Errorf("DELETE after the end = %d, want 204", res.status)
	}
	if res := srv.do(t, "GET", "/sessions/"+id, nil, ""); res.status != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d, want 404", res.status)
	}
}

// TestEndedPad: an ended interview's pad tells a candidate it is over and shows
// them nothing of it; an interviewer sees the code read-only and the replay.
func TestEndedPad(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	conn, _, err := dial(t, srv, "/ws/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, conn, "sync")
	const code = "secret_sauce = 42"
	writeJSON(t, conn, map[string]any{"type": "edit", "version": 0, "updates": []any{map[string]any{"clientID": "c", "changes": []any{[]any{0, code}}}}})
	readUntil(t, conn, "update")
	conn.CloseNow()
	if res := srv.do(t, "POST", "/sessions/"+id+"/end", bearer(token), ""); res.status != http.StatusNoContent {
		t.Fatalf("end = %d", res.status)
	}
	named := http.Header{"Cookie": {"duet_name=Cy"}}
	interviewer := bearer(token)
	interviewer.Set("Cookie", "duet_name=Ada")
	for _, tt := range []struct {
		name     string
		header   http.Header
		wantCode bool
	}{{"candidate", named, false}, {"interviewer", interviewer, true}} {
		res := srv.do(t, "GET", "/s/"+id, tt.header, "")
		if res.status != http.StatusOK {
			t.Fatalf("%s: GET the ended pad = %d, want 200", tt.name, res.status)
		}
		doc := mustDoc(t, res.body)
		if got := doc.Find("#ended-title").Text(); got != "This interview has ended" {
			t.Errorf("%s: heading %q", tt.name, got)
		}
		if doc.Find("#editor, form.end, #interviewer-url").Length() != 0 {
			t.Errorf("%s: the ended pad has an editor, End or the interviewer link", tt.name)
		}
		if got := strings.Contains(string(res.body), "secret_sauce"); got != tt.wantCode {
			t.Errorf("%s: the page shows the code: %v, want %v", tt.name, got, tt.wantCode)
		}
		if got := doc.Find(`a[href="/s/`+id+`/replay"]`).Length() > 0; got != tt.wantCode {
			t.Errorf("%s: a link to the replay: %v, want %v", tt.name, got, tt.wantCode)
		}
	}
}
