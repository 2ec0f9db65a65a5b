package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"duet/collab"
	"duet/collab/replay"
	"duet/handlers"
	"duet/questions"
	"duet/static"
	"duet/store"
)

// testServer is duet's handler on a real listener on 127.0.0.1, over a real hub and
// an in-memory store.
type testServer struct {
	*httptest.Server
	hub   *collab.Hub
	store *store.Memory
}

func newTestServer(t *testing.T, mutate ...func(*handlers.Config)) *testServer {
	t.Helper()
	st := store.NewMemory()
	hub := collab.NewHub(collab.HubConfig{Store: st})
	library, err := questions.NewLibrary(st, collab.Languages())
	if err != nil {
		t.Fatal(err)
	}
	cfg := handlers.Config{Sessions: hub, Sockets: hub, Replays: replay.New(st), Questions: library, Owners: hub,
		BodyLimit: 4096, Static: embeddedAssets(t)}
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

// embeddedAssets is the build embedded in the test binary, as cmd/duet serves it. If
// it is unusable (the assets were not built), the test goes on without assets, as a
// server would; the tests that fetch assets then fail, saying to run `make assets`.
func embeddedAssets(t testing.TB) *static.Dist {
	t.Helper()
	d, err := static.New(static.Embedded())
	if err != nil {
		t.Logf("no assets: %v", err)
		return &static.Dist{}
	}
	return d
}

// response is a finished exchange, body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the server without following redirects.
func (s *testServer) do(t *testing.T, method, target string, header http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+target, strings.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest(%s %s) error = %v", method, target, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body of %s %s: %v", method, target, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// mustCreate starts a session through the API and returns its id and owner token.
func (s *testServer) mustCreate(t *testing.T, language string) (id, token string) {
	t.Helper()
	res := s.do(t, http.MethodPost, "/sessions", jsonHeader(), `{"language":"`+language+`"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /sessions = %d %s, want 201", res.status, res.body)
	}
	var got struct{ ID, OwnerToken string }
	mustUnmarshal(t, res.body, &got)
	return got.ID, got.OwnerToken
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
func (s *testServer) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("json.Unmarshal(%s) error = %v", b, err)
	}
}

func mustDoc(t *testing.T, b []byte) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// fakeSessions serves one fixed session, for what the real hub cannot be made to
// hold through the API alone (such as hostile document text).
type fakeSessions struct{ info collab.SessionInfo }

func (f fakeSessions) CreateSession(context.Context, string) (collab.SessionInfo, string, error) {
	return f.info, "token", nil
}

func (f fakeSessions) Session(_ context.Context, id string) (collab.SessionInfo, error) {
	if id != f.info.ID {
		return collab.SessionInfo{}, collab.ErrNotFound
	}
	return f.info, nil
}

func (f fakeSessions) DeleteSession(context.Context, string, string) error { return nil }

func (f fakeSessions) SetLanguage(context.Context, string, string, string) error { return nil }

func (f fakeSessions) CheckOwner(context.Context, string, string) error { return collab.ErrForbidden }

func (f fakeSessions) AddInterviewer(context.Context, string, string, string) error { return nil }

func (f fakeSessions) IsInterviewer(context.Context, string, string) (bool, error) { return false, nil }

func (f fakeSessions) EndSession(context.Context, string) error { return nil }

func (f fakeSessions) Watch(ctx context.Context, id string) (<-chan collab.Presence, error) {
	ch := make(chan collab.Presence, 1)
	ch <- collab.Presence{Language: f.info.Language}
	return ch, nil
}

// bearer is the header that carries a session's owner token.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}
