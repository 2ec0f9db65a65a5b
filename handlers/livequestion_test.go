package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"duet/questions"
)

// TestAddQuestionToLiveInterview: an interviewer gives a live interview a second
// question. The pads' event stream says so; each browser then fetches the question
// part as its role may see it (the candidate never the rubric, the hidden tests or
// the starter code); the document is not touched; the replay marks both questions.
func TestAddQuestionToLiveInterview(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	res := srv.do(t, "POST", "/questions", jsonHeader(), questionBody)
	var q struct{ ID string }
	mustUnmarshal(t, res.body, &q)
	res = srv.do(t, "POST", "/sessions", jsonHeader(), `{"questionId":"example-two-sum-python"}`)
	var s struct{ ID, OwnerToken string }
	mustUnmarshal(t, res.body, &s)
	owner := http.Header{"Cookie": {"duet_owner=" + s.OwnerToken + "; " + strings.Replace(candidateKey, "AAAA", "BBBB", 1)}}
	candidate := http.Header{"Cookie": {candidateKey}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	// The candidate types a line.
	conn, _, err := websocket.Dial(ctx, wsURL(srv, "/ws/"+s.ID+"?userName=Cy"), &websocket.DialOptions{HTTPHeader: candidate})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"edit","version":0,"updates":[{"clientID":"c","changes":[[0,"# mine",""],`+
		fmt.Sprint(utf16Len(t, srv, s.ID))+`]}]}`)); err != nil {
		t.Fatal(err)
	}
	for before, _ := srv.hub.Session(ctx, s.ID); before.Version == 0; before, _ = srv.hub.Session(ctx, s.ID) {
		if _, _, err := conn.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before, err := srv.hub.Session(t.Context(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/s/"+s.ID+"/events?questions=1", nil)
	req.Header.Set("Cookie", candidateKey)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	events := readEvents(t, stream.Body)
	nextEvent(t, events, "participants")

	// The candidate's pad form is refused and changes nothing.
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": candidate["Cookie"]}
	if res := srv.do(t, "POST", "/s/"+s.ID+"/questions", form, url.Values{"question": {q.ID}}.Encode()); res.status != 403 {
		t.Errorf("the candidate's form = %d, want 403", res.status)
	}
	form.Set("Cookie", owner.Get("Cookie"))
	if res := srv.do(t, "POST", "/s/"+s.ID+"/questions", form, ""); res.status != 422 {
		t.Errorf("the form without a question = %d, want 422", res.status)
	}
	if given, _ := srv.library(t).SessionQuestions(t.Context(), s.ID); len(given) != 1 {
		t.Fatalf("after refused adds the session has %d questions, want 1", len(given))
	}

	// The interviewer's form (with htmx) adds it.
	form.Set("HX-Request", "true")
	if res := srv.do(t, "POST", "/s/"+s.ID+"/questions", form, url.Values{"question": {q.ID}}.Encode()); res.status != 204 {
		t.Fatalf("the interviewer's form = %d %s, want 204", res.status, res.body)
	}
	if ev := nextEvent(t, events, "question"); strings.Contains(ev.data, "Sum") || strings.Contains(ev.data, "canary") {
		t.Errorf("the question event carries %q: the stream is the same for every role, it must carry nothing", ev.data)
	}

	after, err := srv.hub.Session(t.Context(), s.ID)
	if err != nil || after.Version != before.Version || after.Text.String() != before.Text.String() {
		t.Errorf("after adding a question the document is version %d %q, want it untouched (%d %q)",
			after.Version, after.Text.String(), before.Version, before.Text.String())
	}

	// What each role fetches.
	res = srv.do(t, "GET", "/s/"+s.ID+"/question", candidate, "")
	doc := mustDoc(t, res.body)
	if res.status != 200 || doc.Find(".question-pane-title").Text() != "Sum" || doc.Find("#question-add").Length() != 0 ||
		doc.Find("[data-insert-code]").Length() != 0 || !strings.Contains(doc.Find(".panel-title").Text(), "Question 2") ||
		doc.Find(`#question-news[hx-swap-oob][role=status]`).Text() != "New question: Sum" {
		t.Errorf("the candidate's question part = %d %s", res.status, res.body)
	}
	for _, private := range []string{"canary-7d1e", "secret rubric", "def f():"} {
		if strings.Contains(string(res.body), private) {
			t.Errorf("the candidate's question part holds %q", private)
		}
	}
	if doc.Find("[data-hidden-tests]").AttrOr("data-hidden-tests", "") != "1" || !strings.Contains(doc.Find("#runner-tests").Text(), "assert f() is None") {
		t.Errorf("the candidate's question part lacks the hidden-test count or the visible test: %s", res.body)
	}
	res = srv.do(t, "GET", "/s/"+s.ID+"/question", owner, "")
	doc = mustDoc(t, res.body)
	if res.status != 200 || !strings.Contains(doc.Find("#runner-tests").Text(), "canary-7d1e") || !strings.Contains(string(res.body), "secret rubric") ||
		doc.Find("#starter-code").Text() != "def f():\n    pass\n" || doc.Find("[data-insert-code=starter-code]").Length() != 1 ||
		doc.Find(`#question-add form[action="/s/`+s.ID+`/questions"] option`).Length() != 7 {
		t.Errorf("the interviewer's question part = %d %s", res.status, res.body)
	}

	// The API reads the newest question; the pad renders it, with its count for the stream.
	res = srv.do(t, "GET", "/sessions/"+s.ID+"/question", nil, "")
	if !strings.Contains(string(res.body), `"title":"Sum"`) || strings.Contains(string(res.body), "canary") {
		t.Errorf("GET /sessions/{id}/question = %s, want Sum without its hidden test", res.body)
	}
	pad := srv.do(t, "GET", "/s/"+s.ID, http.Header{"Cookie": {candidateKey + "; duet_name=Cy"}}, "")
	if d := mustDoc(t, pad.body); d.Find(`[sse-connect="/s/`+s.ID+`/events?questions=2"]`).Length() != 1 || d.Find("#question-news").Text() != "" ||
		d.Find("#question-region .question-pane-title").Text() != "Sum" {
		t.Errorf("the candidate's pad lacks the second question or its count: %s", pad.body)
	}

	// A page rendered before a question came hears of it when its stream opens.
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/s/"+s.ID+"/events?questions=1", nil)
	late, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Body.Close()
	nextEvent(t, readEvents(t, late.Body), "question")

	// The replay marks both, the first at version 0.
	res = srv.do(t, "GET", "/s/"+s.ID+"/replay", owner, "")
	marks := mustDoc(t, res.body).Find(".timeline-question title")
	if marks.Length() != 2 || !strings.Contains(marks.Eq(0).Text(), "Started from the question: Two sum, on version 0") ||
		!strings.Contains(marks.Eq(1).Text(), "Question 2 given: Sum, on version 1") {
		t.Errorf("replay question marks = %d %q", marks.Length(), marks.Text())
	}
}

// TestSessionQuestionsAreBounded: an interview takes at most MaxSessionQuestions
// questions; the one past it is refused and not stored.
func TestSessionQuestionsAreBounded(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	// A pad without a question: Run tests is there for when one comes, hidden; the
	// interviewer is offered a question.
	pad := mustDoc(t, srv.do(t, "GET", "/s/"+id, http.Header{"Cookie": {"duet_name=Ivy"}, "Authorization": {"Bearer " + token}}, "").body)
	if pad.Find("#tests-button[hidden]").Length() != 1 || pad.Find("#runner-tests").Length() != 0 || pad.Find("#question-region #question-add form").Length() != 1 {
		t.Errorf("a pad without a question: hidden Run tests %d, tests %d, add form %d; want 1, 0, 1",
			pad.Find("#tests-button[hidden]").Length(), pad.Find("#runner-tests").Length(), pad.Find("#question-region #question-add form").Length())
	}
	h := jsonHeader()
	h.Set("Authorization", "Bearer "+token)
	for i := range questions.MaxSessionQuestions {
		if res := srv.do(t, "POST", "/sessions/"+id+"/questions", h, `{"questionId":"example-two-sum-python"}`); res.status != 201 {
			t.Fatalf("question %d = %d %s", i+1, res.status, res.body)
		}
	}
	res := srv.do(t, "POST", "/sessions/"+id+"/questions", h, `{"questionId":"example-two-sum-python"}`)
	if res.status != 422 || !strings.Contains(string(res.body), "too_many_questions") {
		t.Errorf("question %d = %d %s, want 422 too_many_questions", questions.MaxSessionQuestions+1, res.status, res.body)
	}
	if given, _ := srv.library(t).SessionQuestions(t.Context(), id); len(given) != questions.MaxSessionQuestions {
		t.Errorf("the session holds %d questions, want %d", len(given), questions.MaxSessionQuestions)
	}
	owner := http.Header{"Cookie": {"duet_owner=" + token + "; " + candidateKey}}
	if doc := mustDoc(t, srv.do(t, "GET", "/s/"+id+"/question", owner, "").body); doc.Find("#question-add form").Length() != 0 ||
		!strings.Contains(doc.Find("#question-add").Text(), "as many questions as it may") {
		t.Errorf("a full interview still offers to add a question")
	}
}

// utf16Len is the length of a session's document in UTF-16 units (ASCII here).
func utf16Len(t *testing.T, srv *testServer, id string) int {
	t.Helper()
	info, err := srv.hub.Session(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(info.Text.String())
}

// library reads the questions of the server's store.
func (s *testServer) library(t *testing.T) *questions.Library {
	t.Helper()
	l, err := questions.NewLibrary(s.store, []string{"python", "javascript", "typescript", "sql"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestNoQuestionAfterTheEnd: an ended interview takes no question (409), and its
// interviewers are no longer offered to add one.
func TestNoQuestionAfterTheEnd(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	if res := srv.do(t, "POST", "/sessions/"+id+"/end", bearer(token), ""); res.status != 204 {
		t.Fatalf("POST /sessions/{id}/end = %d %s", res.status, res.body)
	}
	h := bearer(token)
	h.Set("Content-Type", "application/json")
	res := srv.do(t, "POST", "/sessions/"+id+"/questions", h, `{"questionId":"example-two-sum-python"}`)
	if res.status != 409 || !strings.Contains(string(res.body), "session_ended") {
		t.Errorf("adding a question after the end = %d %s, want 409 session_ended", res.status, res.body)
	}
	if given, _ := srv.library(t).SessionQuestions(t.Context(), id); len(given) != 0 {
		t.Errorf("the ended session holds %d questions", len(given))
	}
	if doc := mustDoc(t, srv.do(t, "GET", "/s/"+id+"/question", bearer(token), "").body); doc.Find("#question-add").Length() != 0 {
		t.Error("an ended interview still offers to add a question")
	}
}
