package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"duet/accounts"
	"duet/accounts/oidctest"
	"duet/collab"
	"duet/collab/replay"
	"duet/handlers"
	"duet/questions"
	"duet/store"
)

// cheapArgon keeps the handler tests fast; accounts' own tests measure the real cost.
var cheapArgon = accounts.Argon2{Time: 1, Memory: 64, Threads: 1}

// authServer is a test server with sign-in by password, a user ada (team core) and
// a user bob (no team).
type authServer struct {
	*testServer
	accounts *accounts.Service
}

const adaPassword = "correct horse battery"

func newAuthServer(t *testing.T, mutate ...func(*handlers.Config)) *authServer {
	t.Helper()
	st := store.NewMemory()
	svc := accounts.New(st, accounts.Options{Argon2: cheapArgon, FailuresLogin: 3, Window: time.Minute})
	ts := newServerOn(t, st, append([]func(*handlers.Config){func(c *handlers.Config) {
		c.Auth, c.Accounts = handlers.AuthPassword, svc
	}}, mutate...)...)
	for _, u := range []accounts.NewUser{{Login: "ada", Name: "Ada", Team: "core", Password: adaPassword}, {Login: "bob", Password: adaPassword}} {
		if _, err := svc.AddUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	return &authServer{testServer: ts, accounts: svc}
}

// newServerOn is newTestServer on a given store, with My interviews.
func newServerOn(t *testing.T, st *store.Memory, mutate ...func(*handlers.Config)) *testServer {
	t.Helper()
	hub := collab.NewHub(collab.HubConfig{Store: st})
	library, err := questions.NewLibrary(st, collab.Languages())
	if err != nil {
		t.Fatal(err)
	}
	cfg := handlers.Config{Sessions: hub, Sockets: hub, Replays: replay.New(st), Questions: library, Owners: hub,
		Interviews: hub, BodyLimit: 4096, Static: embeddedAssets(t)}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := handlers.New(cfg)
	if err != nil {
		t.Fatalf("handlers.New() error = %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return &testServer{Server: srv, hub: hub, store: st}
}

// send makes a request with a browser's client (its cookies) and reads the answer.
func send(t *testing.T, client *http.Client, method, target string, header http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// signIn signs a new browser in as login and returns it.
func (s *authServer) signIn(t *testing.T, login string) *http.Client {
	t.Helper()
	b := s.browser(t)
	res := send(t, b, http.MethodPost, s.URL+"/login", formHeader(), url.Values{"login": {login}, "password": {adaPassword}, "next": {"/interviews"}}.Encode())
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/interviews" {
		t.Fatalf("sign in as %s = %d (to %q) %s", login, res.status, res.header.Get("Location"), res.body)
	}
	return b
}

// TestSignInRequired: with sign-in on, signed out or in × every route that needs
// an interviewer's account, and the routes a candidate uses signed out.
func TestSignInRequired(t *testing.T) {
	t.Parallel()
	s := newAuthServer(t)
	in := s.signIn(t, "ada")
	out := s.browser(t)
	apiToken, err := s.accounts.NewAPIToken(t.Context(), "ada", "ci")
	if err != nil {
		t.Fatal(err)
	}
	// A session to join, started by ada.
	res := send(t, in, http.MethodPost, s.URL+"/s", formHeader(), "language=python&name=Ada")
	if res.status != http.StatusSeeOther {
		t.Fatalf("signed-in POST /s = %d %s", res.status, res.body)
	}
	pad := res.header.Get("Location")

	for _, tt := range []struct {
		name           string
		method, target string
		header         http.Header
		body           string
		out, in        int    // status signed out, signed in
		outLocation    string // where a signed-out page is sent ("" for no redirect)
	}{
		{"home", "GET", "/", nil, "", 200, 200, ""},
		{"start (form)", "POST", "/s", formHeader(), "language=python", 401, 303, ""},
		{"start (API)", "POST", "/sessions", jsonHeader(), `{"language":"python"}`, 401, 201, ""},
		{"library", "GET", "/library", nil, "", 303, 200, "/login?next=%2Flibrary"},
		{"new question page", "GET", "/library/new", nil, "", 303, 200, "/login?next=%2Flibrary%2Fnew"},
		{"questions API", "GET", "/questions", nil, "", 401, 200, ""},
		{"create question API", "POST", "/questions", jsonHeader(), `{"title":"T","language":"python"}`, 401, 201, ""},
		{"my interviews", "GET", "/interviews?q=ada", nil, "", 303, 200, "/login?next=%2Finterviews%3Fq%3Dada"},
		{"pad (a candidate's link)", "GET", pad, nil, "", 200, 200, ""},
		{"docs", "GET", "/docs", nil, "", 200, 200, ""},
		{"login page", "GET", "/login", nil, "", 200, 303, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := send(t, out, tt.method, s.URL+tt.target, tt.header, tt.body)
			if got.status != tt.out {
				t.Errorf("signed out: %s %s = %d %.200s, want %d", tt.method, tt.target, got.status, got.body, tt.out)
			}
			if tt.outLocation != "" && got.header.Get("Location") != tt.outLocation {
				t.Errorf("signed out: %s %s sent to %q, want %q", tt.method, tt.target, got.header.Get("Location"), tt.outLocation)
			}
			if got.status == 401 && strings.HasPrefix(tt.target, "/sessions") || strings.HasPrefix(tt.target, "/questions") && got.status == 401 {
				if !strings.Contains(string(got.body), `"code":"sign_in_required"`) {
					t.Errorf("signed out: %s %s body = %s, want the JSON error sign_in_required", tt.method, tt.target, got.body)
				}
			}
			got = send(t, in, tt.method, s.URL+tt.target, tt.header, tt.body)
			if got.status != tt.in {
				t.Errorf("signed in: %s %s = %d %.200s, want %d", tt.method, tt.target, got.status, got.body, tt.in)
			}
			if strings.HasPrefix(tt.target, "/sessions") || strings.HasPrefix(tt.target, "/questions") {
				h := tt.header.Clone()
				if h == nil {
					h = http.Header{}
				}
				h.Set("Authorization", "Bearer "+apiToken)
				if got := send(t, out, tt.method, s.URL+tt.target, h, tt.body); got.status != tt.in {
					t.Errorf("with an API token: %s %s = %d %.200s, want %d", tt.method, tt.target, got.status, got.body, tt.in)
				}
				h.Set("Authorization", "Bearer duet_forged")
				if got := send(t, out, tt.method, s.URL+tt.target, h, tt.body); got.status != 401 {
					t.Errorf("with a forged API token: %s %s = %d, want 401", tt.method, tt.target, got.status)
				}
			}
		})
	}

	t.Run("the home page offers sign-in, not the form", func(t *testing.T) {
		doc := mustDoc(t, send(t, out, "GET", s.URL+"/", nil, "").body)
		if doc.Find(`form[action="/s"]`).Length() != 0 || doc.Find(`a[href="/login"]`).Length() == 0 {
			t.Error("signed out: the home page shows the start form or no sign-in link")
		}
		doc = mustDoc(t, send(t, in, "GET", s.URL+"/", nil, "").body)
		if doc.Find(`form[action="/s"]`).Length() != 1 || doc.Find(`form[action="/logout"]`).Length() != 1 ||
			!strings.Contains(doc.Find(".account-name").Text(), "Ada") || doc.Find(`a[href="/interviews"]`).Length() == 0 {
			t.Error("signed in: the home page lacks the start form, the account or My interviews")
		}
	})
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	s := newAuthServer(t)
	b := s.browser(t)
	for _, tt := range []struct {
		name, form string
		status     int
		htmx       bool
	}{
		{"wrong password", "login=ada&password=wrong+password+here", 401, false},
		{"unknown login", "login=nobody&password=" + url.QueryEscape(adaPassword), 401, false},
		{"empty", "", 401, false},
		{"htmx gets the form with 200", "login=ada&password=nope", 200, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := formHeader()
			if tt.htmx {
				h.Set("HX-Request", "true")
			}
			res := send(t, b, "POST", s.URL+"/login", h, tt.form)
			doc := mustDoc(t, res.body)
			if res.status != tt.status || !strings.Contains(doc.Find(".form-error").Text(), "do not match") {
				t.Errorf("POST /login (%s) = %d, error %q; want %d and the error", tt.name, res.status, doc.Find(".form-error").Text(), tt.status)
			}
			if tt.htmx && doc.Find("html title").Length() != 0 {
				t.Error("htmx got a whole page, want the form alone")
			}
			if strings.Contains(res.header.Get("Set-Cookie"), "duet_account=") {
				t.Error("a failed login set the account cookie")
			}
		})
	}
	// Two failures for ada so far; the third locks her login (FailuresLogin 3),
	// even with the right password.
	send(t, b, "POST", s.URL+"/login", formHeader(), "login=ada&password=still+wrong")
	res := send(t, b, "POST", s.URL+"/login", formHeader(), "login=ada&password="+url.QueryEscape(adaPassword))
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Errorf("login after 3 failures = %d (Retry-After %q), want 429 with Retry-After", res.status, res.header.Get("Retry-After"))
	}

	// Bob signs in, is sent to a safe next, and signs out for good.
	for _, tt := range []struct{ next, want string }{
		{"/library?q=x", "/library?q=x"}, {"https://evil.example/", "/"}, {"//evil.example", "/"}, {`/\evil.example`, "/"}, {"", "/"},
	} {
		c := s.browser(t)
		res := send(t, c, "POST", s.URL+"/login", formHeader(), url.Values{"login": {"BOB"}, "password": {adaPassword}, "next": {tt.next}}.Encode())
		if res.status != http.StatusSeeOther || res.header.Get("Location") != tt.want {
			t.Errorf("login with next %q = %d to %q, want 303 to %q", tt.next, res.status, res.header.Get("Location"), tt.want)
		}
		ck := res.header.Get("Set-Cookie")
		if !strings.Contains(ck, "duet_account=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
			t.Errorf("account cookie = %q, want HttpOnly and SameSite=Lax", ck)
		}
	}
	c := s.signIn(t, "bob")
	u, _ := url.Parse(s.URL)
	stolen := c.Jar.Cookies(u)
	if res := send(t, c, "POST", s.URL+"/logout", formHeader(), ""); res.status != http.StatusSeeOther {
		t.Fatalf("POST /logout = %d", res.status)
	}
	if res := send(t, c, "GET", s.URL+"/interviews", nil, ""); res.status != http.StatusSeeOther {
		t.Errorf("after logout, /interviews = %d, want 303 to sign in", res.status)
	}
	// A copy of the cookie taken before the logout proves nothing after it.
	thief := s.browser(t)
	thief.Jar.SetCookies(u, stolen)
	if res := send(t, thief, "GET", s.URL+"/interviews", nil, ""); res.status != http.StatusSeeOther {
		t.Errorf("a cookie copied before logout: /interviews = %d, want 303 to sign in", res.status)
	}
	// A cross-site form post cannot sign anyone out (or in).
	h := formHeader()
	h.Set("Sec-Fetch-Site", "cross-site")
	if res := send(t, s.signIn(t, "bob"), "POST", s.URL+"/logout", h, ""); res.status != http.StatusForbidden {
		t.Errorf("cross-site POST /logout = %d, want 403", res.status)
	}
}

// TestNoSignIn: with -auth none there is no sign-in, and everything works as before.
func TestNoSignIn(t *testing.T) {
	t.Parallel()
	s := newServerOn(t, store.NewMemory())
	for _, target := range []string{"/login"} {
		if res := s.do(t, "GET", target, nil, ""); res.status != http.StatusNotFound {
			t.Errorf("GET %s without sign-in = %d, want 404", target, res.status)
		}
	}
	if res := s.do(t, "POST", "/logout", formHeader(), ""); res.status != http.StatusNotFound {
		t.Errorf("POST /logout without sign-in = %d, want 404", res.status)
	}
	doc := mustDoc(t, s.do(t, "GET", "/", nil, "").body)
	if doc.Find(`form[action="/s"]`).Length() != 1 || doc.Find(`a[href="/login"]`).Length() != 0 || doc.Find(`a[href="/interviews"]`).Length() != 1 {
		t.Error("without sign-in the home page should show the start form and My interviews, and no sign-in")
	}
}

// TestOIDCSignIn signs a browser in through the test issuer, end to end over HTTP:
// duet's /login/oidc, the issuer, the callback with the flow cookie, and then a
// page that needs the account. A callback without the flow cookie signs nobody in.
func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	is := oidctest.New(t, "duet", "s3cret")
	st := store.NewMemory()
	svc := accounts.New(st, accounts.Options{Argon2: cheapArgon})
	// The issuer redirects to this address; the test sends the browser on to duet.
	const placeholder = "http://duet.invalid/login/oidc/callback"
	o, err := accounts.NewOIDC(t.Context(), svc, accounts.OIDCConfig{Issuer: is.URL, ClientID: "duet", ClientSecret: "s3cret", RedirectURL: placeholder})
	if err != nil {
		t.Fatal(err)
	}
	s := newServerOn(t, st, func(c *handlers.Config) { c.Auth, c.Accounts, c.OIDC = handlers.AuthOIDC, svc, o })
	b := s.browser(t)

	doc := mustDoc(t, send(t, b, "GET", s.URL+"/login?next=/interviews", nil, "").body)
	if doc.Find(`form[action="/login/oidc"]`).Length() != 1 || doc.Find(`input[name="password"]`).Length() != 0 {
		t.Error("the sign-in page of -auth oidc should offer the company account and no password")
	}
	res := send(t, b, "GET", s.URL+"/login/oidc?next=/interviews", nil, "")
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), is.URL+"/authorize?") {
		t.Fatalf("GET /login/oidc = %d to %q, want 303 to the issuer", res.status, res.header.Get("Location"))
	}
	res = send(t, b, "GET", res.header.Get("Location"), nil, "")
	back, err := url.Parse(res.header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), placeholder) {
		t.Fatalf("issuer answered %d to %q", res.status, res.header.Get("Location"))
	}
	callback := s.URL + back.Path + "?" + back.RawQuery

	// Another browser with the same callback but none of the flow's secrets: refused.
	if res := send(t, s.browser(t), "GET", callback, nil, ""); res.status != http.StatusUnauthorized || strings.Contains(res.header.Get("Set-Cookie"), "duet_account=") {
		t.Errorf("callback without the flow cookie = %d, want 401 and no sign-in", res.status)
	}
	res = send(t, b, "GET", callback, nil, "")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/interviews" {
		t.Fatalf("callback = %d to %q %.200s, want 303 to /interviews", res.status, res.header.Get("Location"), res.body)
	}
	if res := send(t, b, "GET", s.URL+"/interviews", nil, ""); res.status != http.StatusOK {
		t.Errorf("after OIDC sign-in, /interviews = %d, want 200", res.status)
	}
	// The flow cookie is used once: the same callback again signs nobody in.
	if res := send(t, s.browser(t), "GET", callback, nil, ""); res.status != http.StatusUnauthorized {
		t.Errorf("replayed callback = %d, want 401", res.status)
	}
}

// TestSignedInRole: with sign-in, the interviewer is the account: the same on
// another browser, and no one else's (another account, a signed-out browser, or a
// signed-out browser that holds the starter's old identity cookie).
func TestSignedInRole(t *testing.T) {
	t.Parallel()
	s := newAuthServer(t)
	first := s.signIn(t, "ada")
	id := startPad(t, s.testServer, first)
	u, _ := url.Parse(s.URL)
	keyOnly := s.browser(t) // the starter's browser identity, without its sign-in
	for _, ck := range first.Jar.Cookies(u) {
		if ck.Name == "duet_key" {
			keyOnly.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
	for _, tt := range []struct {
		name string
		who  *http.Client
		want int
	}{
		{"the starter", first, http.StatusOK},
		{"the same account on another browser", s.signIn(t, "ada"), http.StatusOK},
		{"another account", s.signIn(t, "bob"), http.StatusForbidden},
		{"signed out", s.browser(t), http.StatusForbidden},
		{"the starter's browser key without its sign-in", keyOnly, http.StatusForbidden},
	} {
		if res := send(t, tt.who, "GET", s.URL+"/s/"+id+"/replay", nil, ""); res.status != tt.want {
			t.Errorf("%s: GET replay = %d, want %d", tt.name, res.status, tt.want)
		}
	}
}
