package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestQuestionRoutesFollowRoles holds every route that shows or changes a session's
// question to the role rule: interviewers (the owner token, or a browser made an
// interviewer by the interviewer link) get the rubric and the hidden tests and may
// add a question; the candidate's browser and a program without a token read the
// prompt and the visible tests only, and may not add one (403; 401 for the
// program); a wrong token is refused where the API reads tokens. A refused request
// changes nothing.
func TestQuestionRoutesFollowRoles(t *testing.T) {
	t.Parallel()
	const interviewerKey = "duet_key=IIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII"
	type who struct {
		name    string
		header  func(qtoken, otherToken string) http.Header
		private bool // sees what is private to interviewers
	}
	people := []who{
		{"owner token", func(q, _ string) http.Header { return bearer(q) }, true},
		{"interviewer's browser", func(string, string) http.Header {
			return http.Header{"Cookie": {interviewerKey + "; duet_name=Ivy"}}
		}, true},
		{"candidate's browser", func(string, string) http.Header { return http.Header{"Cookie": {candidateKey + "; duet_name=Cy"}} }, false},
		{"program without a token", func(string, string) http.Header { return http.Header{} }, false},
		{"another session's token", func(_, o string) http.Header { return bearer(o) }, false},
	}
	type route struct {
		name, method, target, body string
		form                       bool
		// want is the status for each of people, in order.
		want [5]int
		// reads: the answer shows the question (privately or not, by role).
		reads bool
	}
	routes := []route{
		{name: "API read", method: "GET", target: "/sessions/{qs}/question", want: [5]int{200, 200, 200, 200, 403}, reads: true},
		{name: "pad fragment", method: "GET", target: "/s/{qs}/question", want: [5]int{200, 200, 200, 200, 200}, reads: true},
		{name: "pad", method: "GET", target: "/s/{qs}", want: [5]int{200, 200, 200, 200, 200}, reads: true},
		{name: "API add", method: "POST", target: "/sessions/{qs}/questions", body: `{"questionId":"example-rate-limiter-python"}`, want: [5]int{201, 201, 403, 401, 403}},
		{name: "pad form add", method: "POST", target: "/s/{qs}/questions", body: url.Values{"question": {"example-rate-limiter-python"}}.Encode(), form: true, want: [5]int{303, 303, 403, 403, 403}},
	}
	for _, rt := range routes {
		for i, p := range people {
			t.Run(rt.name+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				srv := newTestServer(t)
				_, other := srv.mustCreate(t, "python")
				res := srv.do(t, "POST", "/questions", jsonHeader(), questionBody)
				var q struct{ ID string }
				mustUnmarshal(t, res.body, &q)
				res = srv.do(t, "POST", "/sessions", jsonHeader(), `{"questionId":"`+q.ID+`"}`)
				var qs struct{ ID, OwnerToken, InterviewerURL string }
				mustUnmarshal(t, res.body, &qs)
				link, err := url.Parse(qs.InterviewerURL)
				if err != nil || qs.InterviewerURL == "" {
					t.Fatalf("interviewerUrl = %q", qs.InterviewerURL)
				}
				if res := srv.do(t, "GET", link.Path, http.Header{"Cookie": {interviewerKey}}, ""); res.status != 303 {
					t.Fatalf("the interviewer link = %d, want 303", res.status)
				}

				h := p.header(qs.OwnerToken, other)
				if rt.name == "pad" && h.Get("Cookie") == "" { // past the join form
					h.Set("Cookie", "duet_name=Pat")
				}
				switch {
				case rt.form:
					h.Set("Content-Type", "application/x-www-form-urlencoded")
				case rt.body != "":
					h.Set("Content-Type", "application/json")
				}
				target := strings.ReplaceAll(rt.target, "{qs}", qs.ID)
				res = srv.do(t, rt.method, target, h, rt.body)
				if res.status != rt.want[i] {
					t.Fatalf("%s %s as the %s = %d %s, want %d", rt.method, target, p.name, res.status, res.body, rt.want[i])
				}
				body := string(res.body)
				holds := strings.Contains(body, "canary-7d1e") || strings.Contains(body, "secret rubric")
				switch {
				case rt.reads && res.status == 200 && holds != p.private:
					t.Errorf("%s %s as the %s: holds private text = %v, want %v\n%s", rt.method, target, p.name, holds, p.private, body)
				case rt.reads && res.status == 200 && !strings.Contains(body, "Write") && !strings.Contains(body, "assert f() is None"):
					t.Errorf("%s %s as the %s lacks the prompt or the visible test:\n%s", rt.method, target, p.name, body)
				case !rt.reads && res.status >= 400 && holds:
					t.Errorf("the refusal holds private text: %s", body)
				}
				given, err := srv.library(t).SessionQuestions(t.Context(), qs.ID)
				if err != nil {
					t.Fatal(err)
				}
				if added := res.status < 400 && !rt.reads; len(given) != map[bool]int{false: 1, true: 2}[added] {
					t.Errorf("after %s %s as the %s (%d) the session has %d questions", rt.method, target, p.name, res.status, len(given))
				}
			})
		}
	}
}
