package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"duet/collab"
	"duet/collab/history"
	"duet/collab/ot"
	"duet/store"
)

// notesFixture is a session whose code has three lines, with an interviewer's
// browser, a candidate's browser, and its owner token.
type notesFixture struct {
	srv                    *testServer
	id, token              string
	interviewer, candidate *http.Client
}

func newNotesFixture(t *testing.T) *notesFixture {
	t.Helper()
	srv := newTestServer(t) // its body limit (4 KiB) is raised on the notes' routes
	id, token := srv.mustCreate(t, "python")
	c, err := ot.ParseChangeSet([]byte(`[[0,"def f(x):","    y = x * 2","    return y"]]`))
	if err != nil {
		t.Fatal(err)
	}
	// Before anyone opens it, so that the hub loads it with this text.
	if err := srv.store.AppendUpdates(t.Context(), id, 0, history.Encode([]ot.Update{{ClientID: "c", UserID: "u", Changes: c}})); err != nil {
		t.Fatal(err)
	}
	f := &notesFixture{srv: srv, id: id, token: token, interviewer: srv.browser(t), candidate: srv.browser(t)}
	f.get(t, f.interviewer, "/s/"+id+"/interviewer/"+token, http.StatusSeeOther)
	f.post(t, f.interviewer, "/s/"+id+"/name", url.Values{"name": {"Ivy"}}, nil, http.StatusSeeOther)
	f.get(t, f.candidate, "/s/"+id, http.StatusOK)
	f.post(t, f.candidate, "/s/"+id+"/name", url.Values{"name": {"Cand"}}, nil, http.StatusSeeOther)
	return f
}

func (f *notesFixture) send(t *testing.T, client *http.Client, req *http.Request, want int) response {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	if want != 0 && res.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", req.Method, req.URL.Path, res.StatusCode, want, b.String())
	}
	return response{status: res.StatusCode, header: res.Header, body: []byte(b.String())}
}

func (f *notesFixture) get(t *testing.T, client *http.Client, path string, want int) response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+path, nil)
	return f.send(t, client, req, want)
}

func (f *notesFixture) post(t *testing.T, client *http.Client, path string, form url.Values, header http.Header, want int) response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return f.send(t, client, req, want)
}

func (f *notesFixture) notes(t *testing.T) []store.Note {
	t.Helper()
	ns, err := f.srv.store.Notes(t.Context(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// TestNotesAPI holds GET and POST /sessions/{id}/notes to who may use them and to
// what they accept: every refusal changes nothing.
func TestNotesAPI(t *testing.T) {
	t.Parallel()
	f := newNotesFixture(t)
	plain := &http.Client{}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	owner, wrong := bearer(f.token), bearer("not-the-token")
	path := "/sessions/" + f.id + "/notes"

	type caller struct {
		name   string
		client *http.Client
		header http.Header
	}
	callers := []struct {
		caller
		wantGet, wantPost int
		wantCode          string
		wantAuthor        string
	}{
		{caller{"owner token", plain, owner}, 200, 201, "", "API"},
		{caller{"interviewer's browser", f.interviewer, nil}, 200, 201, "", "Ivy"},
		{caller{"candidate's browser", f.candidate, nil}, 403, 403, "forbidden", ""},
		{caller{"anonymous", plain, nil}, 401, 401, "unauthorized", ""},
		{caller{"wrong owner token", plain, wrong}, 403, 403, "forbidden", ""},
		{caller{"candidate's browser with a wrong token", f.candidate, wrong}, 403, 403, "forbidden", ""},
	}
	api := func(c caller, method, target, contentType, body string) response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, f.srv.URL+target, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range c.header {
			req.Header[k] = v
		}
		return f.send(t, c.client, req, 0)
	}
	errCode := func(res response) string {
		var e struct{ Error struct{ Code string } }
		json.Unmarshal(res.body, &e)
		return e.Error.Code
	}
	for _, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			before := len(f.notes(t))
			canary := "canary-" + strings.ReplaceAll(c.name, " ", "-")
			res := api(c.caller, http.MethodPost, path, "application/json", `{"text":"`+canary+`","line":2}`)
			if res.status != c.wantPost || c.wantCode != "" && errCode(res) != c.wantCode {
				t.Fatalf("POST = %d %s, want %d %s", res.status, res.body, c.wantPost, c.wantCode)
			}
			if c.wantPost != http.StatusCreated {
				if got := len(f.notes(t)); got != before || strings.Contains(string(res.body), "canary") {
					t.Errorf("a refused POST left %d notes (had %d), answer %s", got, before, res.body)
				}
			} else {
				var n struct {
					ID, Text, Author string
					Line, Version    int
					CreatedAt        time.Time
				}
				mustUnmarshal(t, res.body, &n)
				if n.ID == "" || n.Text != canary || n.Line != 2 || n.Version != 1 || n.Author != c.wantAuthor || n.CreatedAt.IsZero() {
					t.Errorf("POST answered %s", res.body)
				}
				if got := len(f.notes(t)); got != before+1 {
					t.Errorf("the store has %d notes, want %d", got, before+1)
				}
			}
			res = api(c.caller, http.MethodGet, path, "", "")
			if res.status != c.wantGet || c.wantCode != "" && errCode(res) != c.wantCode {
				t.Fatalf("GET = %d %s, want %d %s", res.status, res.body, c.wantGet, c.wantCode)
			}
			if res.status != http.StatusOK {
				if strings.Contains(string(res.body), "canary") {
					t.Errorf("a refused GET shows a note: %s", res.body)
				}
				return
			}
			var list struct{ Notes []struct{ Text string } }
			mustUnmarshal(t, res.body, &list)
			if len(list.Notes) != len(f.notes(t)) || list.Notes[len(list.Notes)-1].Text != canary {
				t.Errorf("GET = %s, want every note, the newest last (%s)", res.body, canary)
			}
		})
	}

	for _, target := range []string{"/sessions/00000000-0000-4000-8000-000000000000/notes", "/sessions/nope/notes"} {
		if res := api(caller{"owner", plain, owner}, http.MethodGet, target, "", ""); res.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, res.status)
		}
	}

	bad := []struct {
		name, contentType, body string
		want                    int
		code                    string
	}{
		{"not JSON", "text/plain", `{"text":"x","line":1}`, 415, "unsupported_media_type"},
		{"malformed", "application/json", `{"text":`, 400, ""},
		{"an array", "application/json", `[]`, 400, ""},
		{"unknown field", "application/json", `{"text":"x","line":1,"pinned":true}`, 400, ""},
		{"line a string", "application/json", `{"text":"x","line":"2"}`, 400, ""},
		{"no text", "application/json", `{"line":1}`, 422, "invalid_note"},
		{"empty body", "application/json", ``, 422, "invalid_note"},
		{"blank text", "application/json", `{"text":"  \n ","line":1}`, 422, "invalid_note"},
		{"no line", "application/json", `{"text":"x"}`, 422, "invalid_line"},
		{"line 0", "application/json", `{"text":"x","line":0}`, 422, "invalid_line"},
		{"line past the end", "application/json", `{"text":"x","line":4}`, 422, "invalid_line"},
		{"text too long", "application/json", `{"text":"` + strings.Repeat("x", store.MaxNoteText+1) + `","line":1}`, 422, "note_too_long"},
		{"a body past any note", "application/json", `{"text":"` + strings.Repeat("\\u00e9", store.MaxNoteText+1000) + `","line":1}`, 413, "too_large"},
	}
	before := len(f.notes(t))
	for _, b := range bad {
		res := api(caller{"owner", plain, owner}, http.MethodPost, path, b.contentType, b.body)
		if res.status != b.want || b.code != "" && errCode(res) != b.code {
			t.Errorf("POST %s = %d %s, want %d %s", b.name, res.status, res.body, b.want, b.code)
		}
	}
	if got := len(f.notes(t)); got != before {
		t.Errorf("bad bodies left %d notes, had %d", got, before)
	}

	// The longest note fits whatever -max-body-bytes says, escaped in JSON or in a form.
	longest := strings.Repeat("é", collab.MaxNoteText/2)
	if res := api(caller{"owner", plain, owner}, http.MethodPost, path, "application/json", `{"text":"`+strings.Repeat("\\u00e9", collab.MaxNoteText/2)+`","line":1}`); res.status != http.StatusCreated {
		t.Errorf("POST the longest note in JSON escapes = %d %.200s", res.status, res.body)
	}
	if res := f.post(t, f.interviewer, "/s/"+f.id+"/notes", url.Values{"text": {longest}, "line": {"1"}}, nil, 0); res.status != http.StatusSeeOther {
		t.Errorf("post the longest note in a form = %d %.200s", res.status, res.body)
	}
	if ns := f.notes(t); len(ns) != before+2 || ns[len(ns)-1].Text != longest || ns[len(ns)-2].Text != longest {
		t.Errorf("the longest notes were not kept whole")
	}
}

// TestNotesPage holds the pad's notes form (POST /s/{id}/notes) and the pad itself
// to roles: interviewers write and see notes, with or without htmx; a candidate
// gets 403 and never a note's text on the pad.
func TestNotesPage(t *testing.T) {
	t.Parallel()
	f := newNotesFixture(t)
	path := "/s/" + f.id + "/notes"
	htmx := http.Header{"HX-Request": {"true"}}
	const canary = "canary-7f3e9a: uses recursion"

	// Without JavaScript: back to the pad, at the note.
	res := f.post(t, f.interviewer, path, url.Values{"text": {canary}, "line": {"3"}}, nil, http.StatusSeeOther)
	if loc := res.header.Get("Location"); !strings.HasPrefix(loc, "/s/"+f.id+"#note-") {
		t.Errorf("Location = %q, want the pad at the note", loc)
	}
	// With htmx: the list, newest first.
	res = f.post(t, f.interviewer, path, url.Values{"text": {"second\nthought"}, "line": {"1"}}, htmx, http.StatusOK)
	doc := mustDoc(t, res.body)
	if items := doc.Find("li.note"); items.Length() != 2 || !strings.Contains(items.First().Text(), "second") ||
		!strings.Contains(items.Last().Find(".note-where").Text(), "line 3") {
		t.Errorf("htmx answer = %s", res.body)
	}

	// Refused: the words come back; nothing is stored.
	before := len(f.notes(t))
	for _, tt := range []struct {
		name   string
		form   url.Values
		header http.Header
		want   int
	}{
		{"no line", url.Values{"text": {"keep these words"}}, nil, 422},
		{"line not a number", url.Values{"text": {"keep these words"}, "line": {"two"}}, nil, 422},
		{"line past the end", url.Values{"text": {"keep these words"}, "line": {"99"}}, nil, 422},
		{"empty", url.Values{"text": {""}, "line": {"1"}}, nil, 422},
		{"htmx, line past the end", url.Values{"text": {"keep these words"}, "line": {"99"}}, htmx, 422},
	} {
		res := f.post(t, f.interviewer, path, tt.form, tt.header, 0)
		if res.status != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, res.status, tt.want)
		}
		if tt.header == nil && tt.form.Get("text") != "" {
			if got := mustDoc(t, res.body).Find("textarea[name=text]").Text(); got != tt.form.Get("text") {
				t.Errorf("%s: the form holds %q, want the words back", tt.name, got)
			}
		}
		if tt.header != nil && !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: htmx answer is %s, want the reason as text", tt.name, res.header.Get("Content-Type"))
		}
	}
	if got := len(f.notes(t)); got != before {
		t.Errorf("refused notes left %d notes, had %d", got, before)
	}

	// Who may post: nobody but interviewers.
	for _, c := range []struct {
		name   string
		client *http.Client
	}{{"candidate", f.candidate}, {"anonymous", &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}} {
		res := f.post(t, c.client, path, url.Values{"text": {"sneaky"}, "line": {"1"}}, nil, 0)
		if res.status != http.StatusForbidden || strings.Contains(string(res.body), "canary") {
			t.Errorf("%s POST = %d, want 403 without a note: %s", c.name, res.status, res.body)
		}
	}
	if got := len(f.notes(t)); got != before {
		t.Errorf("refused posts left %d notes, had %d", got, before)
	}

	// The pads: the interviewer's has the notes; the candidate's no trace of them,
	// and says what is recorded.
	ipad := mustDoc(t, f.get(t, f.interviewer, "/s/"+f.id, http.StatusOK).body)
	if ipad.Find("#notes li.note").Length() != 2 || ipad.Find("#note-form").Length() != 1 || ipad.Find(".recorded-notice").Length() != 0 {
		t.Errorf("the interviewer's pad lacks the notes")
	}
	cpadBody := f.get(t, f.candidate, "/s/"+f.id, http.StatusOK).body
	cpad := mustDoc(t, cpadBody)
	if strings.Contains(string(cpadBody), "canary") || strings.Contains(string(cpadBody), "second") || cpad.Find("#notes, #note-form").Length() != 0 {
		t.Errorf("the candidate's pad shows notes")
	}
	if !strings.Contains(cpad.Find(".recorded-notice").Text(), "pastes and leaving the tab") {
		t.Errorf("the candidate's pad does not say what is recorded")
	}
}

// TestNotesEventStream: an interviewer's event stream gets a new note at once; a
// candidate's stream, read up to a later change, never carries it.
func TestNotesEventStream(t *testing.T) {
	t.Parallel()
	f := newNotesFixture(t)
	const canary = "canary-5ee-stream"
	stream := func(client *http.Client) (*bufio.Scanner, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/s/"+f.id+"/events", nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		return sc, cancel
	}
	// readUntil reads events until one named event holds want, and returns all
	// the data read.
	readUntil := func(sc *bufio.Scanner, event, want string) string {
		t.Helper()
		var all strings.Builder
		name := ""
		for sc.Scan() {
			line := sc.Text()
			all.WriteString(line + "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name == event && strings.Contains(line, want):
				return all.String()
			}
		}
		t.Fatalf("the stream ended before a %s event with %q; read:\n%s", event, want, all.String())
		return ""
	}
	isc, icancel := stream(f.interviewer)
	defer icancel()
	csc, ccancel := stream(f.candidate)
	defer ccancel()
	readUntil(isc, "notes", "No notes yet")
	readUntil(csc, "language", "python")

	f.post(t, f.interviewer, "/s/"+f.id+"/notes", url.Values{"text": {canary}, "line": {"2"}}, nil, http.StatusSeeOther)
	readUntil(isc, "notes", canary)
	// A change after the note: the candidate's stream has everything before it.
	f.post(t, f.candidate, "/s/"+f.id+"/language", url.Values{"language": {"javascript"}}, nil, http.StatusSeeOther)
	if got := readUntil(csc, "language", "javascript"); strings.Contains(got, "canary") || strings.Contains(got, "event: notes") {
		t.Errorf("the candidate's stream carried a note:\n%s", got)
	}
}

// TestNotesOnTheReplay: an interviewer's replay shows the notes and signals on the
// timeline and beside the code, and a note's link opens its version with its line
// marked; a candidate's replay request is refused without a trace of them.
func TestNotesOnTheReplay(t *testing.T) {
	t.Parallel()
	f := newNotesFixture(t)
	const canary = "canary-replay-41d0"
	f.post(t, f.interviewer, "/s/"+f.id+"/notes", url.Values{"text": {canary}, "line": {"2"}}, nil, http.StatusSeeOther)
	at := time.Now()
	for _, s := range []store.Signal{
		{UserID: "cand", Kind: store.SignalPaste, Size: 42, Version: 1, Time: at},
		{UserID: "cand", Kind: store.SignalHidden, Version: 1, Time: at.Add(time.Second)},
		{UserID: "cand", Kind: store.SignalVisible, Version: 1, Time: at.Add(2 * time.Second)},
	} {
		if err := f.srv.store.AddSignal(t.Context(), f.id, s); err != nil {
			t.Fatal(err)
		}
	}
	page := f.get(t, f.interviewer, "/s/"+f.id+"/replay", http.StatusOK)
	doc := mustDoc(t, page.body)
	for _, c := range []struct {
		sel  string
		want int
	}{
		{".timeline-note", 1},
		{".timeline-signal", 1}, // three at one version: one mark
		{".replay-notes li.note", 1},
		{".signal-list li", 3},
	} {
		if got := doc.Find(c.sel).Length(); got != c.want {
			t.Errorf("%s: %d, want %d", c.sel, got, c.want)
		}
	}
	link, _ := doc.Find(".replay-notes .note-where").Attr("href")
	if link != "/s/"+f.id+"/replay?v=1&line=2" || !strings.Contains(doc.Find(".replay-notes").Text(), canary) {
		t.Errorf("the note links to %q; notes panel %q", link, doc.Find(".replay-notes").Text())
	}
	if !strings.Contains(doc.Find(".signal-totals").Text(), "1 paste (42 characters) · left the tab once") {
		t.Errorf("signal totals %q", doc.Find(".signal-totals").Text())
	}

	// The note's link: its version, its line marked; as a page and as htmx's fragment.
	for _, hd := range []http.Header{nil, {"HX-Request": {"true"}}} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+link, nil)
		for k, v := range hd {
			req.Header[k] = v
		}
		frame := mustDoc(t, f.send(t, f.interviewer, req, http.StatusOK).body).Find("#replay-frame")
		if v, _ := frame.Attr("data-noted-line"); v != "2" || frame.Find(".line.hl").Length() != 1 ||
			!strings.Contains(frame.Find(".line.hl").Text(), "y = x * 2") {
			t.Errorf("htmx %v: frame noted line %q, marked %q", hd != nil, v, frame.Find(".line.hl").Text())
		}
	}
	for _, bad := range []string{"abc", "0", "-1", "1.5", "+2"} {
		if res := f.get(t, f.interviewer, "/s/"+f.id+"/replay?v=1&line="+url.QueryEscape(bad), 0); res.status != http.StatusBadRequest {
			t.Errorf("?line=%s = %d, want 400", bad, res.status)
		}
	}
	if frame := mustDoc(t, f.get(t, f.interviewer, "/s/"+f.id+"/replay?v=1&line=99", http.StatusOK).body).Find("#replay-frame"); frame.AttrOr("data-noted-line", "") != "" {
		t.Errorf("a line past the end is marked")
	}

	for _, target := range []string{"/s/" + f.id + "/replay", link} {
		res := f.get(t, f.candidate, target, http.StatusForbidden)
		if strings.Contains(string(res.body), canary) || strings.Contains(string(res.body), "42 characters") {
			t.Errorf("the candidate's %s shows a note or a signal", target)
		}
	}
}

// TestNotesAfterTheEnd: interviewers write feedback after the interview ended (the
// replay is where they do it); the notes keep to the code as it ended.
func TestNotesAfterTheEnd(t *testing.T) {
	t.Parallel()
	f := newNotesFixture(t)
	owner := http.Header{"Authorization": {"Bearer " + f.token}}
	if res := f.srv.do(t, http.MethodPost, "/sessions/"+f.id+"/end", owner, ""); res.status != http.StatusNoContent {
		t.Fatalf("end = %d %s", res.status, res.body)
	}
	hd := jsonHeader()
	hd.Set("Authorization", "Bearer "+f.token)
	res := f.srv.do(t, http.MethodPost, "/sessions/"+f.id+"/notes", hd, `{"text":"strong on edge cases","line":3}`)
	if res.status != http.StatusCreated || !strings.Contains(string(res.body), `"version":1`) {
		t.Fatalf("a note after the end = %d %s, want 201 at the last version", res.status, res.body)
	}
	if res := f.post(t, f.candidate, "/s/"+f.id+"/notes", url.Values{"text": {"x"}, "line": {"1"}}, nil, 0); res.status != http.StatusForbidden {
		t.Errorf("the candidate's note after the end = %d, want 403", res.status)
	}
	if n := len(f.notes(t)); n != 1 {
		t.Errorf("%d notes, want 1", n)
	}
}
