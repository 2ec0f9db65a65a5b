package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"duet/handlers"
)

// hiddenCanary is the code of the hidden test of the question every case starts
// with: no answer to anyone but the session's owner may hold it.
const hiddenCanary = "assert f() != 'canary-7d1e'"

// candidateKey is the identity cookie of a browser that is nobody's interviewer.
const candidateKey = "duet_key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

const questionBody = `{"title":"Sum","language":"python","prompt":"Write **f**.","starterCode":"def f():\n    pass\n",` +
	`"rubric":"secret rubric","tests":[{"name":"shown","code":"assert f() is None","hidden":false},` +
	`{"name":"kept back","code":"` + hiddenCanary + `","hidden":true}]}`

// questionCase is one exchange with the questions API. In targets, headers and
// bodies: {qid} is a question of the library, {qs} a session started from it and
// {qtoken} that session's owner token, {id} a session without a question.
type questionCase struct {
	apiCase
	check func(t *testing.T, res response, body map[string]any)
}

func questionCases() []questionCase {
	ok := func(name, method, target, body string, status int, check func(*testing.T, response, map[string]any)) questionCase {
		h := http.Header{}
		if body != "" {
			h = jsonHeader()
		}
		return questionCase{apiCase: apiCase{name: name, method: method, target: target, header: h, body: body, wantStatus: status, validReq: true}, check: check}
	}
	refused := func(name, method, target string, header http.Header, body string, status int, code string) questionCase {
		return questionCase{apiCase: apiCase{name: name, method: method, target: target, header: header, body: body, wantStatus: status, wantCode: code}}
	}
	withTests := func(n int) string {
		var tests []string
		for i := range n {
			tests = append(tests, fmt.Sprintf(`{"name":"t%d","code":"pass"}`, i))
		}
		return `{"title":"Many","language":"python","tests":[` + strings.Join(tests, ",") + `]}`
	}
	unknown := uuid.NewString()
	return []questionCase{
		ok("list", "GET", "/questions", "", 200, func(t *testing.T, _ response, b map[string]any) {
			qs := b["questions"].([]any)
			if len(qs) != 7 || qs[0].(map[string]any)["example"] != true || qs[6].(map[string]any)["title"] != "Sum" {
				t.Errorf("GET /questions = %d questions, want the 6 examples then Sum", len(qs))
			}
		}),
		ok("search", "GET", "/questions?q=LRU", "", 200, func(t *testing.T, _ response, b map[string]any) {
			if qs := b["questions"].([]any); len(qs) != 2 {
				t.Errorf("GET /questions?q=LRU = %d questions, want the 2 LRU cache examples", len(qs))
			}
		}),
		ok("create", "POST", "/questions", strings.Replace(questionBody, `"Sum"`, `"Another"`, 1), 201, func(t *testing.T, res response, b map[string]any) {
			if b["title"] != "Another" || b["rubric"] != "secret rubric" || len(b["tests"].([]any)) != 2 || res.header.Get("Location") != "/questions/"+b["id"].(string) {
				t.Errorf("POST /questions = %v, Location %q", b, res.header.Get("Location"))
			}
		}),
		refused("create without a title", "POST", "/questions", jsonHeader(), `{"title":" ","language":"python"}`, 422, "invalid_question"),
		refused("create in an unknown language", "POST", "/questions", jsonHeader(), `{"title":"t","language":"cobol"}`, 422, "invalid_question"),
		refused("create with an unknown field", "POST", "/questions", jsonHeader(), `{"title":"t","language":"python","answer":1}`, 400, "unknown_field"),
		refused("create with a test of the wrong type", "POST", "/questions", jsonHeader(), `{"title":"t","language":"python","tests":{}}`, 400, "bad_request"),
		refused("create with too many tests", "POST", "/questions", jsonHeader(), withTests(31), 422, "invalid_question"),
		refused("create with two tests of one name", "POST", "/questions", jsonHeader(), `{"title":"t","language":"python","tests":[{"name":"a","code":"x"},{"name":"a","code":"y"}]}`, 422, "invalid_question"),
		// Over the server's 4 KiB body limit, within the question's: the rule speaks.
		refused("create with a prompt too long", "POST", "/questions", jsonHeader(), `{"title":"t","language":"python","prompt":"`+strings.Repeat("x", 20_001)+`"}`, 422, "invalid_question"),
		refused("create with a body over the question's limit", "POST", "/questions", jsonHeader(), `{"title":"t","language":"python","prompt":"`+strings.Repeat("x", 600<<10)+`"}`, 413, "too_large"),
		refused("create without JSON", "POST", "/questions", nil, questionBody, 415, "unsupported_media_type"),
		ok("read", "GET", "/questions/{qid}", "", 200, func(t *testing.T, _ response, b map[string]any) {
			if b["rubric"] != "secret rubric" || b["example"] != false || b["createdAt"] == nil {
				t.Errorf("GET /questions/{qid} = %v", b)
			}
		}),
		ok("read an example", "GET", "/questions/example-two-sum-python", "", 200, func(t *testing.T, _ response, b map[string]any) {
			if b["example"] != true || b["language"] != "python" || len(b["tests"].([]any)) != 5 {
				t.Errorf("GET example = %v", b)
			}
		}),
		refused("read an unknown question", "GET", "/questions/"+unknown, nil, "", 404, "question_not_found"),
		refused("read a malformed id", "GET", "/questions/nope", nil, "", 404, "question_not_found"),
		ok("replace", "PUT", "/questions/{qid}", strings.Replace(questionBody, `"Sum"`, `"Sum, renamed"`, 1), 200, func(t *testing.T, _ response, b map[string]any) {
			if b["title"] != "Sum, renamed" {
				t.Errorf("PUT = %v", b)
			}
		}),
		refused("replace an example", "PUT", "/questions/example-two-sum-python", jsonHeader(), questionBody, 409, "read_only"),
		refused("replace an unknown question", "PUT", "/questions/"+unknown, jsonHeader(), questionBody, 404, "question_not_found"),
		refused("replace with an invalid question", "PUT", "/questions/{qid}", jsonHeader(), `{"title":"","language":"python"}`, 422, "invalid_question"),
		ok("delete", "DELETE", "/questions/{qid}", "", 204, nil),
		refused("delete an example", "DELETE", "/questions/example-lru-cache-python", nil, "", 409, "read_only"),
		refused("delete an unknown question", "DELETE", "/questions/"+unknown, nil, "", 404, "question_not_found"),
		ok("import", "POST", "/questions/import", `{"duet":"questions/v1","questions":[`+questionBody+`]}`, 200, func(t *testing.T, _ response, b map[string]any) {
			if b["created"] != 1.0 || b["updated"] != 0.0 {
				t.Errorf("import = %v, want 1 created", b)
			}
		}),
		refused("import malformed JSON", "POST", "/questions/import", jsonHeader(), `{"duet":`, 400, "bad_json"),
		refused("import another format", "POST", "/questions/import", jsonHeader(), `{"duet":"questions/v9","questions":[]}`, 422, "invalid_question"),
		ok("export", "GET", "/questions/export", "", 200, func(t *testing.T, res response, b map[string]any) {
			if b["duet"] != "questions/v1" || len(b["questions"].([]any)) != 1 || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment") {
				t.Errorf("export = %v, %q", b, res.header.Get("Content-Disposition"))
			}
		}),
		ok("start from a question", "POST", "/sessions", `{"questionId":"example-lru-cache-javascript"}`, 201, func(t *testing.T, _ response, b map[string]any) {
			if b["language"] != "javascript" {
				t.Errorf("POST /sessions from a JavaScript question = %v", b)
			}
		}),
		refused("start from an unknown question", "POST", "/sessions", jsonHeader(), `{"questionId":"`+unknown+`"}`, 422, "unknown_question"),
		refused("start in another language than the question's", "POST", "/sessions", jsonHeader(), `{"questionId":"{qid}","language":"javascript"}`, 422, "language_mismatch"),
		// Today's privilege rule: only the owner token (or the owner's browser) sees
		// the rubric and the hidden tests.
		ok("the candidate's view of the session's question", "GET", "/sessions/{qs}/question", "", 200, func(t *testing.T, res response, b map[string]any) {
			if strings.Contains(string(res.body), "canary-7d1e") || strings.Contains(string(res.body), "secret rubric") {
				t.Errorf("the candidate's view holds private text: %s", res.body)
			}
			if b["prompt"] != "Write **f**." || len(b["tests"].([]any)) != 1 || b["hiddenTests"] != 1.0 || b["rubric"] != nil || b["questionId"] != nil {
				t.Errorf("candidate's view = %s", res.body)
			}
		}),
		{apiCase: apiCase{name: "the owner's view of the session's question", method: "GET", target: "/sessions/{qs}/question",
			header: http.Header{"Authorization": {"Bearer {qtoken}"}}, wantStatus: 200, validReq: true},
			check: func(t *testing.T, res response, b map[string]any) {
				if b["rubric"] != "secret rubric" || len(b["tests"].([]any)) != 2 || !strings.Contains(string(res.body), "canary-7d1e") {
					t.Errorf("owner's view = %s", res.body)
				}
			}},
		refused("another session's owner token", "GET", "/sessions/{qs}/question", http.Header{"Authorization": {"Bearer {token}"}}, "", 403, "forbidden"),
		{apiCase: apiCase{name: "another session's owner cookie", method: "GET", target: "/sessions/{qs}/question",
			header: http.Header{"Cookie": {"duet_owner={token}"}}, wantStatus: 200, validReq: true},
			check: func(t *testing.T, res response, b map[string]any) {
				if strings.Contains(string(res.body), "canary-7d1e") || b["rubric"] != nil {
					t.Errorf("a foreign owner cookie saw private text: %s", res.body)
				}
			}},
		{apiCase: apiCase{name: "the owner's cookie", method: "GET", target: "/sessions/{qs}/question",
			header: http.Header{"Cookie": {"duet_owner={qtoken}"}}, wantStatus: 200, validReq: true},
			check: func(t *testing.T, res response, b map[string]any) {
				if b["rubric"] != "secret rubric" {
					t.Errorf("the owner's browser = %s, want the rubric", res.body)
				}
			}},
		refused("a session without a question", "GET", "/sessions/{id}/question", nil, "", 404, "no_question"),

		// Adding a question to a live interview: interviewers only.
		{apiCase: apiCase{name: "add a question with the owner token", method: "POST", target: "/sessions/{qs}/questions",
			header: http.Header{"Authorization": {"Bearer {qtoken}"}, "Content-Type": {"application/json"}},
			body:   `{"questionId":"example-lru-cache-python"}`, wantStatus: 201, validReq: true},
			check: func(t *testing.T, res response, b map[string]any) {
				if b["questionId"] != "example-lru-cache-python" || b["rubric"] == nil || res.header.Get("Location") == "" ||
					!strings.HasSuffix(res.header.Get("Location"), "/question") {
					t.Errorf("POST /sessions/{id}/questions = %s, Location %q", res.body, res.header.Get("Location"))
				}
			}},
		{apiCase: apiCase{name: "add a question from the owner's browser", method: "POST", target: "/sessions/{id}/questions",
			header: http.Header{"Cookie": {"duet_owner={token}"}, "Content-Type": {"application/json"}},
			body:   `{"questionId":"{qid}"}`, wantStatus: 201, validReq: true},
			check: func(t *testing.T, _ response, b map[string]any) {
				if b["title"] != "Sum" || len(b["tests"].([]any)) != 2 {
					t.Errorf("the interviewer's answer = %v, want all of Sum", b)
				}
			}},
		refused("add a question without a token or a browser", "POST", "/sessions/{qs}/questions", jsonHeader(), `{"questionId":"{qid}"}`, 401, "unauthorized"),
		refused("add a question from the candidate's browser", "POST", "/sessions/{qs}/questions",
			http.Header{"Cookie": {candidateKey}, "Content-Type": {"application/json"}}, `{"questionId":"{qid}"}`, 403, "forbidden"),
		refused("add a question with another session's owner cookie", "POST", "/sessions/{qs}/questions",
			http.Header{"Cookie": {candidateKey + "; duet_owner={token}"}, "Content-Type": {"application/json"}}, `{"questionId":"{qid}"}`, 403, "forbidden"),
		refused("add a question with another session's owner token", "POST", "/sessions/{qs}/questions",
			http.Header{"Authorization": {"Bearer {token}"}, "Content-Type": {"application/json"}}, `{"questionId":"{qid}"}`, 403, "forbidden"),
		refused("add an unknown question", "POST", "/sessions/{qs}/questions",
			http.Header{"Authorization": {"Bearer {qtoken}"}, "Content-Type": {"application/json"}}, `{"questionId":"`+unknown+`"}`, 422, "unknown_question"),
		refused("add no question", "POST", "/sessions/{qs}/questions",
			http.Header{"Authorization": {"Bearer {qtoken}"}, "Content-Type": {"application/json"}}, `{}`, 422, "missing_question"),
		refused("add a question with an unknown field", "POST", "/sessions/{qs}/questions",
			http.Header{"Authorization": {"Bearer {qtoken}"}, "Content-Type": {"application/json"}}, `{"questionId":"{qid}","replace":true}`, 400, "unknown_field"),
		refused("add a question as malformed JSON", "POST", "/sessions/{qs}/questions",
			http.Header{"Authorization": {"Bearer {qtoken}"}, "Content-Type": {"application/json"}}, `{"questionId":`, 400, "bad_json"),
		refused("add a question without JSON", "POST", "/sessions/{qs}/questions",
			http.Header{"Authorization": {"Bearer {qtoken}"}}, `{"questionId":"{qid}"}`, 415, "unsupported_media_type"),
		refused("add a question to an unknown session", "POST", "/sessions/"+unknown+"/questions",
			http.Header{"Authorization": {"Bearer {qtoken}"}, "Content-Type": {"application/json"}}, `{"questionId":"{qid}"}`, 404, "not_found"),
		refused("an unknown session's question", "GET", "/sessions/"+unknown+"/question", nil, "", 404, "not_found"),
	}
}

func TestQuestionsAPI(t *testing.T) {
	t.Parallel()
	_, router := mustOpenAPI(t)
	for _, tt := range questionCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t)
			id, token := srv.mustCreate(t, "python")
			res := srv.do(t, "POST", "/questions", jsonHeader(), questionBody)
			var q struct{ ID string }
			mustUnmarshal(t, res.body, &q)
			res = srv.do(t, "POST", "/sessions", jsonHeader(), `{"questionId":"`+q.ID+`"}`)
			var qs struct{ ID, OwnerToken string }
			mustUnmarshal(t, res.body, &qs)
			expand := strings.NewReplacer("{id}", id, "{token}", token, "{qid}", q.ID, "{qs}", qs.ID, "{qtoken}", qs.OwnerToken).Replace
			header := http.Header{}
			for k, vs := range tt.header {
				for _, v := range vs {
					header.Add(k, expand(v))
				}
			}
			target := expand(tt.target)

			res = srv.do(t, tt.method, target, header, expand(tt.body))

			if res.status != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, target, res.status, res.body, tt.wantStatus)
			}
			var body map[string]any
			if len(res.body) > 0 {
				if err := json.Unmarshal(res.body, &body); err != nil {
					t.Fatalf("answer is not a JSON object: %s", res.body)
				}
			}
			if tt.wantCode != "" {
				e, _ := body["error"].(map[string]any)
				if e["code"] != tt.wantCode || e["message"] == "" {
					t.Errorf("error = %v, want code %q with a message", body, tt.wantCode)
				}
			}
			if tt.check != nil {
				tt.check(t, res, body)
			}
			if len(tt.body) < 100_000 { // the validator of the huge ones would only repeat the 413
				tt.apiCase.body = expand(tt.body)
				checkAgainstOpenAPI(t, router, tt.apiCase, srv.URL+target, header, res)
			}
		})
	}
}

// TestStartFromQuestion: a session started from a question opens with its starter
// code as the document at version 0.
func TestStartFromQuestion(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	res := srv.do(t, "POST", "/sessions", jsonHeader(), `{"questionId":"example-two-sum-python"}`)
	var s struct{ ID string }
	mustUnmarshal(t, res.body, &s)
	info, err := srv.hub.Session(t.Context(), s.ID)
	if err != nil || info.Version != 0 || !strings.HasPrefix(info.Text.String(), "def two_sum(nums, target):") {
		t.Errorf("session from two-sum = version %d, text %q, %v; want its starter code at version 0", info.Version, info.Text.String(), err)
	}
}

// TestQuestionsCountAgainstTheAddress: creating questions spends the budget of
// sessions an address may create.
func TestQuestionsCountAgainstTheAddress(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.Limits = handlers.AddressLimits{SessionsPerMinute: 2} })
	for i, want := range []int{201, 201, 429} {
		res := srv.do(t, "POST", "/questions", jsonHeader(), questionBody)
		if res.status != want {
			t.Fatalf("question %d: POST /questions = %d, want %d", i+1, res.status, want)
		}
	}
	if res := srv.do(t, "POST", "/sessions", jsonHeader(), `{}`); res.status != 429 || res.header.Get("Retry-After") == "" {
		t.Errorf("POST /sessions after two questions = %d (Retry-After %q), want 429 with Retry-After", res.status, res.header.Get("Retry-After"))
	}
}
