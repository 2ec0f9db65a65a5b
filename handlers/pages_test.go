package handlers_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"duet/collab"
	"duet/collab/ot"
	"duet/handlers"
)

func TestHomePage(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	res := srv.do(t, "GET", "/", nil, "")
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %q, want 200 HTML", res.status, res.header.Get("Content-Type"))
	}
	doc := mustDoc(t, res.body)
	form := doc.Find(`form[method="post"][action="/s"]`)
	if form.Length() != 1 {
		t.Fatalf("start form: found %d, want 1", form.Length())
	}
	var langs []string
	form.Find(`input[type="radio"][name="language"]`).Each(func(_ int, s *goquery.Selection) {
		v, _ := s.Attr("value")
		if _, checked := s.Attr("checked"); checked {
			v += "*"
		}
		langs = append(langs, v)
	})
	if got, want := strings.Join(langs, ","), "python*,javascript,typescript,sql"; got != want {
		t.Errorf("language choices = %s, want %s (* = checked)", got, want)
	}
	if got := form.Find(`button[type="submit"]`).Text(); got != "Start an interview" {
		t.Errorf("submit button = %q", got)
	}
	if got := doc.Find("title").Text(); got != "Start an interview · duet" {
		t.Errorf("title = %q", got)
	}
	if doc.Find("main#main h1").Length() != 1 || doc.Find(`a.skip-link[href="#main"]`).Length() != 1 {
		t.Errorf("page lacks its main heading or skip link")
	}
}

// TestStartFromTheForm walks the newcomer's path: submit the start form, land on the
// pad, find the share link.
func TestStartFromTheForm(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	browser := srv.browser(t)

	res, err := browser.PostForm(srv.URL+"/s", url.Values{"language": {"javascript"}, "name": {"  Ada\u0000 "}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /s = %d, want 303", res.StatusCode)
	}
	loc := res.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/s/")
	if _, err := uuid.Parse(id); err != nil || !strings.HasPrefix(loc, "/s/") {
		t.Fatalf("Location = %q, want /s/{uuid}", loc)
	}

	page, err := browser.Get(srv.URL + loc)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(page.Body)
	page.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	doc := mustDoc(t, body)
	if got, want := doc.Find("title").Text(), "Interview "+id[:8]+" · duet"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	if got, want := doc.Find("header h1").Text(), "Interview "+id[:8]; got != want {
		t.Errorf("heading = %q, want %q", got, want)
	}
	if got := doc.Find("select#language option[selected]").AttrOr("value", ""); got != "javascript" {
		t.Errorf("selected language = %q, want javascript", got)
	}
	share, _ := doc.Find("input#share-url").Attr("value")
	if want := srv.URL + "/s/" + id; share != want {
		t.Errorf("share link = %q, want %q", share, want)
	}
	if doc.Find(`label[for="share-url"]`).Length() != 1 || doc.Find(`button[data-copy-target="share-url"]`).Length() != 1 {
		t.Errorf("share link lacks its label or copy button")
	}
	editor := doc.Find(`#editor[data-island="editor"]`)
	for attr, want := range map[string]string{"data-session-id": id, "data-version": "0", "data-language": "javascript",
		"data-user-name": "Ada", "data-ws-url": "/ws/" + id} {
		if got, _ := editor.Attr(attr); got != want {
			t.Errorf("editor %s = %q, want %q", attr, got, want)
		}
	}
	// The page never holds the browser's identity key: the socket reads it from the
	// HttpOnly cookie itself.
	if _, ok := editor.Attr("data-user-id"); ok {
		t.Errorf("the editor has a data-user-id")
	}
	u, _ := url.Parse(srv.URL)
	var key string
	for _, ck := range browser.Jar.Cookies(u) {
		if ck.Name == "duet_key" {
			key = ck.Value
		}
	}
	if len(key) != 43 || bytes.Contains(body, []byte(key)) {
		t.Errorf("identity key %q: want 43 characters that the page does not contain", key)
	}
	for _, sel := range []string{"#participants", "#output", "#editor pre", "#connection-status[role=status]", `[sse-connect^="/s/` + id + `/events"]`} {
		if doc.Find(sel).Length() != 1 {
			t.Errorf("pad lacks %s", sel)
		}
	}
	if doc.Find(`form[action="/s/`+id+`/end"] button`).Length() != 1 {
		t.Errorf("the browser that started the session has no End interview button")
	}

	// Someone else on the link is asked for a name first, and cannot end the session.
	other := srv.do(t, "GET", loc, nil, "")
	if other.status != 200 {
		t.Fatalf("GET %s for a guest = %d", loc, other.status)
	}
	guest := mustDoc(t, other.body)
	if guest.Find(`form[action="/s/`+id+`/name"] input[name="name"][required]`).Length() != 1 || guest.Find("#editor").Length() != 0 {
		t.Errorf("a guest without a name does not get the join form")
	}
	if guest.Find(`form.end`).Length() != 0 {
		t.Errorf("a guest sees the End interview button")
	}
}

// TestJoinWithAName: a guest gives a name and gets the pad; an empty name is refused.
func TestJoinWithAName(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, _ := srv.mustCreate(t, "python")
	browser := srv.browser(t)

	res, err := browser.PostForm(srv.URL+"/s/"+id+"/name", url.Values{"name": {" \u202e "}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty name = %d, want 422", res.StatusCode)
	}
	res, err = browser.PostForm(srv.URL+"/s/"+id+"/name", url.Values{"name": {"Grace <Hopper>"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/s/"+id {
		t.Fatalf("POST name = %d to %q, want 303 to the pad", res.StatusCode, res.Header.Get("Location"))
	}
	page, err := browser.Get(srv.URL + "/s/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	doc, err := goquery.NewDocumentFromReader(page.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Find("#editor").AttrOr("data-user-name", ""); got != "Grace <Hopper>" {
		t.Errorf("data-user-name = %q", got)
	}
	if got := doc.Find("#rename-name").AttrOr("value", ""); got != "Grace <Hopper>" {
		t.Errorf("rename field = %q", got)
	}
}

func TestStartWithAnUnknownLanguage(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	res := srv.do(t, "POST", "/s", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "language=cobol")
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("POST /s cobol = %d, want 422", res.status)
	}
	doc := mustDoc(t, res.body)
	if doc.Find(`form[action="/s"] [role="alert"]`).Length() != 1 {
		t.Errorf("form shows no error")
	}
	if v, _ := doc.Find(`input[name="language"][checked]`).Attr("value"); v != "python" {
		t.Errorf("checked language = %q, want the default", v)
	}
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		htmx       bool
		owner      bool
		wantStatus int
		wantHeader map[string]string
		wantEnded  bool
	}{
		{name: "interviewer, plain form", owner: true, wantStatus: 303, wantHeader: map[string]string{"Location": "{pad}"}, wantEnded: true},
		{name: "interviewer, htmx", owner: true, htmx: true, wantStatus: 204, wantHeader: map[string]string{"HX-Redirect": "{pad}"}, wantEnded: true},
		{name: "candidate", wantStatus: 403, wantHeader: map[string]string{"Content-Type": "text/html; charset=UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t)
			browser := srv.browser(t)
			res, err := browser.PostForm(srv.URL+"/s", url.Values{"language": {"python"}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			pad := res.Header.Get("Location")
			if !tt.owner {
				browser = srv.browser(t)
			}
			req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+pad+"/end", nil)
			if tt.htmx {
				req.Header.Set("HX-Request", "true")
			}
			res, err = browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("POST %s/end = %d, want %d", pad, res.StatusCode, tt.wantStatus)
			}
			for k, want := range tt.wantHeader {
				if want = strings.ReplaceAll(want, "{pad}", pad); res.Header.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, res.Header.Get(k), want)
				}
			}
			// Ended is not deleted: the session is still there, marked ended.
			var got struct{ Ended *time.Time }
			api := srv.do(t, "GET", strings.Replace(pad, "/s/", "/sessions/", 1), nil, "")
			if api.status != http.StatusOK {
				t.Fatalf("GET the session after the end = %d, want 200", api.status)
			}
			mustUnmarshal(t, api.body, &got)
			if ended := got.Ended != nil; ended != tt.wantEnded {
				t.Errorf("session ended = %v, want %v", ended, tt.wantEnded)
			}
		})
	}
}

func TestNotFoundPages(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	tests := []struct {
		target    string
		wantTitle string
		wantHome  bool
	}{
		{"/s/" + uuid.NewString(), "Session not found", true},
		{"/s/not-a-session", "Session not found", true},
		{"/no/such/page", "Page not found", true},
	}
	for _, tt := range tests {
		res := srv.do(t, "GET", tt.target, nil, "")
		if res.status != 404 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %q, want a 404 page", tt.target, res.status, res.header.Get("Content-Type"))
			continue
		}
		doc := mustDoc(t, res.body)
		if got := doc.Find("main h1").Text(); got != tt.wantTitle {
			t.Errorf("GET %s heading = %q, want %q", tt.target, got, tt.wantTitle)
		}
		if got := doc.Find(`main a[href="/"]`).Length() == 1; got != tt.wantHome {
			t.Errorf("GET %s offers a new session = %v, want %v", tt.target, got, tt.wantHome)
		}
	}
}

// TestPadEscapesDocumentText renders a document that is hostile HTML: it must show
// as text, never become markup.
func TestPadEscapesDocumentText(t *testing.T) {
	t.Parallel()
	const hostile = `</code></pre><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"`
	id := uuid.NewString()
	srv := newTestServer(t, func(c *handlers.Config) {
		c.Sessions = fakeSessions{info: collab.SessionInfo{ID: id, Language: "python", Text: ot.NewText(hostile), Version: 7}}
	})
	const hostileName = `"><script>alert(2)</script>`
	res := srv.do(t, "GET", "/s/"+id, http.Header{"Cookie": {"duet_name=" + url.QueryEscape(hostileName)}}, "")
	if res.status != 200 {
		t.Fatalf("GET pad = %d", res.status)
	}
	doc := mustDoc(t, res.body)
	if got := doc.Find("#editor pre code").Text(); got != hostile {
		t.Errorf("editor fallback text = %q, want %q", got, hostile)
	}
	if got := doc.Find("#editor").AttrOr("data-user-name", ""); got != hostileName {
		t.Errorf("data-user-name = %q, want %q", got, hostileName)
	}
	if n := doc.Find("script:not([src]), img").Length(); n != 0 {
		t.Errorf("user text became %d elements", n)
	}
	if v, _ := doc.Find("#editor").Attr("data-version"); v != "7" {
		t.Errorf("data-version = %q, want 7", v)
	}
}

func TestDocsPage(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	res := srv.do(t, "GET", "/docs", nil, "")
	if res.status != 200 {
		t.Fatalf("GET /docs = %d", res.status)
	}
	doc := mustDoc(t, res.body)
	if doc.Find("#swagger-ui").Length() != 1 || doc.Find(`a[href="/openapi.json"]`).Length() == 0 {
		t.Errorf("docs page lacks the Swagger UI mount or the raw link")
	}
	doc.Find("script[src], link[href]").Each(func(_ int, s *goquery.Selection) {
		u := s.AttrOr("src", s.AttrOr("href", ""))
		if strings.Contains(u, "//") {
			t.Errorf("docs page loads %s from another origin", u)
		}
	})
}

// TestPagesReferenceBuiltAssets fetches every script, stylesheet and icon the pages
// name. It fails when the assets were not built: run `make assets`.
func TestPagesReferenceBuiltAssets(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, _ := srv.mustCreate(t, "python")
	seen := map[string]bool{}
	named := http.Header{"Cookie": {"duet_name=Ada"}}
	for _, page := range []string{"/", "/s/" + id, "/docs", "/s/" + uuid.NewString()} {
		res := srv.do(t, "GET", page, named, "")
		mustDoc(t, res.body).Find("script[src], link[href]").Each(func(_ int, s *goquery.Selection) {
			u := s.AttrOr("src", s.AttrOr("href", ""))
			if seen[u] {
				return
			}
			seen[u] = true
			if !strings.HasPrefix(u, "/static/") {
				t.Errorf("%s references %q, want a /static/ asset", page, u)
				return
			}
			if got := srv.do(t, "GET", u, nil, ""); got.status != 200 || len(got.body) == 0 {
				t.Errorf("%s references %s, which answers %d: were the assets built (make assets)?", page, u, got.status)
			}
		})
	}
	if len(seen) < 4 {
		t.Errorf("pages reference %d assets, want at least stylesheet, htmx, app and docs", len(seen))
	}
}
