package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"

	"duet/handlers"
)

// apiCase is one exchange with the JSON API. In target and header values, {id} is a
// fresh python session and {token} its owner token.
type apiCase struct {
	name       string
	method     string
	target     string
	header     http.Header
	body       string
	wantStatus int
	wantCode   string                           // error.code of an error answer; "" for success
	check      func(t *testing.T, res response) // more about a successful answer
	validReq   bool                             // the request itself conforms to the OpenAPI document
}

func apiCases() []apiCase {
	unknown := uuid.NewString()
	return []apiCase{
		{name: "create python", method: "POST", target: "/sessions", header: jsonHeader(), body: `{"language":"python"}`,
			wantStatus: 201, validReq: true, check: checkCreated("python")},
		{name: "create javascript", method: "POST", target: "/sessions", header: jsonHeader(), body: `{"language":"javascript"}`,
			wantStatus: 201, validReq: true, check: checkCreated("javascript")},
		{name: "create with defaults", method: "POST", target: "/sessions", header: jsonHeader(), body: `{}`,
			wantStatus: 201, validReq: true, check: checkCreated("python")},
		{name: "create with empty body", method: "POST", target: "/sessions", header: jsonHeader(), body: ``,
			wantStatus: 201, validReq: true, check: checkCreated("python")},
		{name: "create with charset", method: "POST", target: "/sessions", header: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
			body: `{"language":"python"}`, wantStatus: 201, validReq: true, check: checkCreated("python")},
		{name: "malformed JSON", method: "POST", target: "/sessions", header: jsonHeader(), body: `{"language":`,
			wantStatus: 400, wantCode: "bad_json"},
		{name: "JSON array", method: "POST", target: "/sessions", header: jsonHeader(), body: `["python"]`,
			wantStatus: 400, wantCode: "bad_json"},
		{name: "two objects", method: "POST", target: "/sessions", header: jsonHeader(), body: `{} {}`,
			wantStatus: 400, wantCode: "bad_json"},
		{name: "unknown field", method: "POST", target: "/sessions", header: jsonHeader(), body: `{"language":"python","title":"x"}`,
			wantStatus: 400, wantCode: "unknown_field"},
		{name: "language of the wrong type", method: "POST", target: "/sessions", header: jsonHeader(), body: `{"language":3}`,
			wantStatus: 400, wantCode: "bad_request"},
		{name: "unknown language", method: "POST", target: "/sessions", header: jsonHeader(), body: `{"language":"cobol"}`,
			wantStatus: 422, wantCode: "invalid_language"},
		{name: "wrong content type", method: "POST", target: "/sessions", header: http.Header{"Content-Type": {"text/plain"}},
			body: `{"language":"python"}`, wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "no content type", method: "POST", target: "/sessions", body: `{"language":"python"}`,
			wantStatus: 415, wantCode: "unsupported_media_type"},
		{name: "oversize body", method: "POST", target: "/sessions", header: jsonHeader(),
			body: `{"language":"python","x":"` + strings.Repeat("a", 5000) + `"}`, wantStatus: 413, wantCode: "too_large"},
		{name: "read a session", method: "GET", target: "/sessions/{id}", wantStatus: 200, validReq: true,
			check: func(t *testing.T, res response) {
				var got struct {
					ID, Language string
					CreatedAt    time.Time
					Version      *int
					Users        []any
				}
				mustUnmarshal(t, res.body, &got)
				if got.Language != "python" || got.Version == nil || *got.Version != 0 || got.Users == nil || len(got.Users) != 0 || got.CreatedAt.IsZero() {
					t.Errorf("GET session = %s, want python at version 0 with users []", res.body)
				}
			}},
		{name: "read an unknown session", method: "GET", target: "/sessions/" + unknown, wantStatus: 404, wantCode: "not_found", validReq: true},
		{name: "read a malformed id", method: "GET", target: "/sessions/not-a-uuid", wantStatus: 404, wantCode: "not_found", validReq: true},
		{name: "read an id in capitals", method: "GET", target: "/sessions/" + strings.ToUpper(unknown), wantStatus: 404, wantCode: "not_found", validReq: true},
		{name: "delete without a token", method: "DELETE", target: "/sessions/{id}", wantStatus: 401, wantCode: "unauthorized",
			check: func(t *testing.T, res response) {
				if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
				}
			}},
		{name: "delete with basic auth", method: "DELETE", target: "/sessions/{id}", header: http.Header{"Authorization": {"Basic YTpi"}},
			wantStatus: 401, wantCode: "unauthorized"},
		{name: "delete with a wrong token", method: "DELETE", target: "/sessions/{id}", header: http.Header{"Authorization": {"Bearer wrong"}},
			wantStatus: 403, wantCode: "forbidden", validReq: true},
		{name: "delete", method: "DELETE", target: "/sessions/{id}", header: http.Header{"Authorization": {"Bearer {token}"}},
			wantStatus: 204, validReq: true},
		{name: "delete an unknown session", method: "DELETE", target: "/sessions/" + unknown, header: http.Header{"Authorization": {"Bearer x"}},
			wantStatus: 404, wantCode: "not_found", validReq: true},
		{name: "health", method: "GET", target: "/health", wantStatus: 200, validReq: true,
			check: func(t *testing.T, res response) {
				if got, want := string(bytes.TrimSpace(res.body)), `{"status":"ok"}`; got != want {
					t.Errorf("GET /health = %s, want %s", got, want)
				}
			}},
		{name: "method not allowed", method: "PUT", target: "/sessions/{id}", header: jsonHeader(), body: `{}`,
			wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "unknown API path", method: "GET", target: "/sessions/{id}/nope", wantStatus: 404, wantCode: "not_found"},
	}
}

func checkCreated(lang string) func(*testing.T, response) {
	return func(t *testing.T, res response) {
		var got struct {
			ID, Language, URL, OwnerToken string
			CreatedAt                     time.Time
		}
		mustUnmarshal(t, res.body, &got)
		if u, err := uuid.Parse(got.ID); err != nil || u.Version() != 4 {
			t.Errorf("id = %q, want a v4 UUID", got.ID)
		}
		if got.Language != lang {
			t.Errorf("language = %q, want %q", got.Language, lang)
		}
		if want := "/sessions/" + got.ID; res.header.Get("Location") != want {
			t.Errorf("Location = %q, want %q", res.header.Get("Location"), want)
		}
		if u, err := url.Parse(got.URL); err != nil || !u.IsAbs() || u.Path != "/s/"+got.ID {
			t.Errorf("url = %q, want an absolute link to /s/%s", got.URL, got.ID)
		}
		if len(got.OwnerToken) < 43 {
			t.Errorf("ownerToken = %q, want at least 256 bits", got.OwnerToken)
		}
		if d := time.Since(got.CreatedAt); d < 0 || d > time.Minute {
			t.Errorf("createdAt = %v, want now", got.CreatedAt)
		}
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	doc, router := mustOpenAPI(t)
	_ = doc
	for _, tt := range apiCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t)
			id, token := srv.mustCreate(t, "python")
			expand := strings.NewReplacer("{id}", id, "{token}", token).Replace
			header := http.Header{}
			for k, vs := range tt.header {
				for _, v := range vs {
					header.Add(k, expand(v))
				}
			}
			target := expand(tt.target)

			res := srv.do(t, tt.method, target, header, tt.body)

			if res.status != tt.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, target, res.status, res.body, tt.wantStatus)
			}
			if tt.wantCode != "" {
				var got struct {
					Error struct{ Code, Message string }
				}
				mustUnmarshal(t, res.body, &got)
				if got.Error.Code != tt.wantCode || got.Error.Message == "" {
					t.Errorf("error = %+v, want code %q with a message", got.Error, tt.wantCode)
				}
			}
			if ct := res.header.Get("Content-Type"); len(res.body) > 0 && !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.check != nil {
				tt.check(t, res)
			}
			if tt.method != "PUT" && !strings.HasSuffix(target, "/nope") {
				checkAgainstOpenAPI(t, router, tt, srv.URL+target, header, res)
			}
		})
	}
}

// TestDeleteEndsTheSession checks what a delete leaves behind.
func TestDeleteEndsTheSession(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, token := srv.mustCreate(t, "python")
	if res := srv.do(t, "DELETE", "/sessions/"+id, http.Header{"Authorization": {"Bearer " + token}}, ""); res.status != 204 {
		t.Fatalf("DELETE = %d, want 204", res.status)
	}
	if res := srv.do(t, "GET", "/sessions/"+id, nil, ""); res.status != 404 {
		t.Errorf("GET after DELETE = %d, want 404", res.status)
	}
	if res := srv.do(t, "DELETE", "/sessions/"+id, http.Header{"Authorization": {"Bearer " + token}}, ""); res.status != 404 {
		t.Errorf("second DELETE = %d, want 404", res.status)
	}
}

func TestShareLinkUsesBaseURL(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.BaseURL = "https://pad.example.com/" })
	res := srv.do(t, "POST", "/sessions", jsonHeader(), `{}`)
	var got struct{ ID, URL string }
	mustUnmarshal(t, res.body, &got)
	if want := "https://pad.example.com/s/" + got.ID; got.URL != want {
		t.Errorf("url = %q, want %q", got.URL, want)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  handlers.Config
	}{
		{"no sessions", handlers.Config{}},
		{"relative base URL", handlers.Config{Sessions: fakeSessions{}, BaseURL: "pad.example.com"}},
		{"bad origin", handlers.Config{Sessions: fakeSessions{}, Origins: []string{"not an origin"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := handlers.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) error = nil, want an error", tt.cfg)
			}
		})
	}
}

func TestCommonHeaders(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	for _, target := range []string{"/", "/health", "/sessions/x", "/nope", "/openapi.json"} {
		res := srv.do(t, "GET", target, nil, "")
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
			"X-Frame-Options":        "DENY",
		} {
			if got := res.header.Get(name); got != want {
				t.Errorf("GET %s: %s = %q, want %q", target, name, got, want)
			}
		}
		csp := res.header.Get("Content-Security-Policy")
		for _, part := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, part) {
				t.Errorf("GET %s: CSP %q lacks %q", target, csp, part)
			}
		}
		if strings.Contains(csp, "http") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("GET %s: CSP %q allows more than duet's own origin", target, csp)
		}
		if res.header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id", target)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.Origins = []string{"https://app.example.com"} })
	tests := []struct {
		origin    string
		wantAllow string
	}{
		{"https://app.example.com", "https://app.example.com"},
		{"https://evil.example.com", ""},
	}
	for _, tt := range tests {
		res := srv.do(t, "OPTIONS", "/sessions", http.Header{
			"Origin": {tt.origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"},
		}, "")
		if got := res.header.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want %q", tt.origin, got, tt.wantAllow)
		}
	}
	// A browser on the allowed origin may create sessions; one on another site may not
	// (cross-origin protection, whatever CORS says).
	res := srv.do(t, "POST", "/sessions", http.Header{"Content-Type": {"application/json"}, "Origin": {"https://app.example.com"}, "Sec-Fetch-Site": {"cross-site"}}, `{}`)
	if res.status != 201 {
		t.Errorf("POST from the allowed origin = %d, want 201", res.status)
	}
	res = srv.do(t, "POST", "/sessions", http.Header{"Content-Type": {"application/json"}, "Origin": {"https://evil.example.com"}, "Sec-Fetch-Site": {"cross-site"}}, `{}`)
	if res.status != 403 {
		t.Errorf("POST from another site = %d, want 403", res.status)
	}
}

// mustOpenAPI loads the served OpenAPI document and checks that it is valid.
func mustOpenAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	srv := newTestServer(t)
	res := srv.do(t, "GET", "/openapi.json", nil, "")
	if res.status != 200 {
		t.Fatalf("GET /openapi.json = %d", res.status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(res.body)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if doc.OpenAPIMajorMinor() != "3.1" {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document invalid: %v", err)
	}
	doc.Servers = nil // match any host
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("OpenAPI router: %v", err)
	}
	return doc, router
}

// checkAgainstOpenAPI checks that the exchange is one the document describes: the
// route and status exist, the answer matches its schema, and a request meant to be
// valid is valid.
func checkAgainstOpenAPI(t *testing.T, router routers.Router, tt apiCase, target string, header http.Header, res response) {
	t.Helper()
	req := httptest.NewRequest(tt.method, target, strings.NewReader(tt.body))
	req.Header = header.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the OpenAPI document: %v", tt.method, target, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if tt.validReq && reqErr != nil {
		t.Errorf("request does not conform to the OpenAPI document: %v", reqErr)
	}
	if !tt.validReq && reqErr == nil && tt.wantStatus < 300 {
		t.Errorf("request conforms to the OpenAPI document but the case says it does not")
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.status, Header: res.header, Body: io.NopCloser(bytes.NewReader(res.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		t.Errorf("%d answer does not conform to the OpenAPI document: %v", res.status, err)
	}
}

// TestOpenAPICoversEveryRoute checks that every API route the server has is in the
// document and the document names no route the server lacks.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	doc, _ := mustOpenAPI(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+strings.ReplaceAll(path, "{id}", ":id")] = true
		}
	}
	served := map[string]bool{}
	for _, r := range handlers.APIRoutes() {
		served[r] = true
		if !documented[r] {
			t.Errorf("route %s is served but not in openapi.json", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("openapi.json documents %s, which is not served", r)
		}
	}
}
