package handlers_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// get fetches a page with a browser's cookies.
func get(t *testing.T, c *http.Client, u string) response {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readResponse(t, res)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) response {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return readResponse(t, res)
}

func readResponse(t *testing.T, res *http.Response) response {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// TestLibraryPages walks an interviewer's path through the library without
// JavaScript: list, search, a new question (refused, then saved), its page, an edit,
// a duplicate of an example, a delete, and an import of a file.
func TestLibraryPages(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	b := srv.browser(t)

	doc := mustDoc(t, get(t, b, srv.URL+"/library").body)
	if n := doc.Find(".question-row").Length(); n != 6 {
		t.Errorf("library lists %d questions, want the 6 examples", n)
	}
	res := srv.do(t, "GET", "/library?q=rate", http.Header{"HX-Request": {"true"}}, "")
	frag := mustDoc(t, res.body)
	if frag.Find("header.topbar").Length() != 0 || frag.Find(".question-row").Length() != 2 || res.header.Get("Vary") != "HX-Request" {
		t.Errorf("htmx search = %d rows (want the 2 rate limiters, no page around them), Vary %q", frag.Find(".question-row").Length(), res.header.Get("Vary"))
	}

	form := url.Values{"title": {"Fizz"}, "language": {"python"}, "prompt": {"Print <b>fizz</b>."}, "starterCode": {""}, "rubric": {"r"},
		"testName": {"one", "", "two"}, "testCode": {"assert fizz(3) == 'fizz'", "", "assert fizz(1) == '1'"}, "testHidden": {"2"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("language", "cobol")
	res = postForm(t, b, srv.URL+"/library", bad)
	if doc := mustDoc(t, res.body); res.status != 422 || doc.Find(".form-error").Length() != 1 || doc.Find("#q-title").AttrOr("value", "") != "Fizz" {
		t.Errorf("an invalid form = %d, want 422 with the error and the form as it was", res.status)
	}
	res = postForm(t, b, srv.URL+"/library", url.Values{"title": {"Fizz"}, "more": {"1"}, "testName": {"a"}, "testCode": {"x"}})
	if n := mustDoc(t, res.body).Find(".test-row").Length(); res.status != 200 || n != 4 {
		t.Errorf("More test rows = %d with %d rows, want 200 with the filled row and 3 blank ones", res.status, n)
	}
	res = postForm(t, b, srv.URL+"/library", form)
	page := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(page, "/library/") {
		t.Fatalf("saving a new question = %d to %q, want 303 to its page", res.status, page)
	}
	doc = mustDoc(t, get(t, b, srv.URL+page).body)
	if doc.Find(".test-item").Length() != 2 || doc.Find(`.test-item[data-hidden] .test-name span:first-child`).Text() != "two" {
		t.Errorf("question page tests = %q", doc.Find(".test-item .test-name").Text())
	}
	if doc.Find(".prose b").Length() != 0 || !strings.Contains(doc.Find(".prose").First().Text(), "fizz") {
		t.Errorf("raw HTML of the prompt came out as markup: %q", doc.Find(".prose").First().Text())
	}
	edit := mustDoc(t, get(t, b, srv.URL+page+"/edit").body)
	if edit.Find(`input[name=testHidden][value="1"][checked]`).Length() != 1 {
		t.Errorf("the edit form lost which test is hidden")
	}
	form.Set("title", "FizzBuzz")
	if res := postForm(t, b, srv.URL+page, form); res.status != http.StatusSeeOther {
		t.Errorf("saving an edit = %d, want 303", res.status)
	}
	if got := mustDoc(t, get(t, b, srv.URL+page).body).Find("h1").Text(); got != "FizzBuzz" {
		t.Errorf("after the edit the title is %q", got)
	}

	ex := mustDoc(t, get(t, b, srv.URL+"/library/example-two-sum-python").body)
	if ex.Find(`a[href$="/edit"]`).Length() != 0 || ex.Find(`form[action$="/delete"]`).Length() != 0 {
		t.Errorf("an example offers to be edited or deleted")
	}
	if res := get(t, b, srv.URL+"/library/example-two-sum-python/edit"); res.status != 409 {
		t.Errorf("editing an example = %d, want 409", res.status)
	}
	res = postForm(t, b, srv.URL+"/library/example-two-sum-python/duplicate", nil)
	if loc := res.header.Get("Location"); res.status != http.StatusSeeOther || !strings.HasSuffix(loc, "/edit") {
		t.Errorf("duplicate = %d to %q, want 303 to the copy's form", res.status, loc)
	}
	if res := postForm(t, b, srv.URL+page+"/delete", nil); res.status != http.StatusSeeOther {
		t.Errorf("delete = %d, want 303", res.status)
	}
	if res := get(t, b, srv.URL+page); res.status != 404 {
		t.Errorf("a deleted question's page = %d, want 404", res.status)
	}

	upload := func(file string) response {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		f, _ := w.CreateFormFile("file", "questions.json")
		f.Write([]byte(file))
		w.Close()
		res, err := b.Post(srv.URL+"/library/import", w.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		return readResponse(t, res)
	}
	exported := get(t, b, srv.URL+"/library/export")
	if exported.status != 200 || !bytes.Contains(exported.body, []byte(`"Two sum (copy)"`)) {
		t.Fatalf("export = %d %s", exported.status, exported.body)
	}
	res = upload(string(exported.body))
	if doc := mustDoc(t, res.body); res.status != 200 || !strings.Contains(doc.Find(".form-notice").Text(), "0 new, 1 updated") {
		t.Errorf("import of the export = %d %q", res.status, doc.Find(".form-notice").Text())
	}
	res = upload(`{"duet":"questions/v1","questions":[{"title":"","language":"python"}]}`)
	if doc := mustDoc(t, res.body); res.status != 422 || !strings.Contains(doc.Find(".form-error").Text(), "Nothing was imported") {
		t.Errorf("import of an invalid file = %d %q", res.status, doc.Find(".form-error").Text())
	}
}

// TestPadQuestionPrivacy starts an interview from a question with the start form:
// the starter's browser sees the rubric and the hidden tests, and another browser
// (the candidate) sees the prompt, the visible tests and how many hidden ones there
// are, but no private text anywhere in the page.
func TestPadQuestionPrivacy(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	res := srv.do(t, "POST", "/questions", jsonHeader(), questionBody)
	var q struct{ ID string }
	mustUnmarshal(t, res.body, &q)

	owner := srv.browser(t)
	res = postForm(t, owner, srv.URL+"/s", url.Values{"name": {"Ada"}, "question": {q.ID}, "language": {"javascript"}})
	pad := res.header.Get("Location")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(pad, "/s/") {
		t.Fatalf("start form with a question = %d to %q", res.status, pad)
	}
	mine := get(t, owner, srv.URL+pad)
	doc := mustDoc(t, mine.body)
	if got := doc.Find("#editor").AttrOr("data-language", ""); got != "python" {
		t.Errorf("the pad's language = %q, want the question's (python)", got)
	}
	if got := doc.Find(".editor-fallback").Text(); got != "def f():\n    pass\n" {
		t.Errorf("the pad starts with %q, want the starter code", got)
	}
	if !bytes.Contains(mine.body, []byte("canary-7d1e")) || doc.Find(".question-rubric").Length() != 1 || doc.Find("script#runner-tests").Length() != 1 {
		t.Errorf("the owner's pad lacks the hidden test, the rubric or the tests to run")
	}

	candidate := srv.browser(t)
	get(t, candidate, srv.URL+pad) // takes an identity
	postForm(t, candidate, srv.URL+pad+"/name", url.Values{"name": {"Bob"}})
	theirs := get(t, candidate, srv.URL+pad)
	doc = mustDoc(t, theirs.body)
	for _, secret := range []string{"canary-7d1e", "secret rubric", "kept back"} {
		if bytes.Contains(theirs.body, []byte(secret)) {
			t.Errorf("the candidate's pad holds %q", secret)
		}
	}
	if doc.Find(".question-prompt strong").Text() != "f" || doc.Find(".question-rubric").Length() != 0 {
		t.Errorf("the candidate's pad: prompt %q, rubric shown %v", doc.Find(".question-prompt").Text(), doc.Find(".question-rubric").Length() > 0)
	}
	if got := doc.Find("[data-hidden-tests]").AttrOr("data-hidden-tests", ""); got != "1" {
		t.Errorf("the candidate is told of %q hidden tests, want 1", got)
	}
	if script := doc.Find("script#runner-tests").Text(); !strings.Contains(script, `"hidden":1`) || strings.Contains(script, "kept back") {
		t.Errorf("the candidate's tests to run = %s", script)
	}
}
