package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"duet/handlers"
)

// wantRefusal checks a 429 (or another refusal) as the API answers it: the JSON
// error with its code, and, for 429, a Retry-After of whole seconds.
func wantRefusal(t *testing.T, what string, res response, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s = %d %s, want %d", what, res.status, res.body, status)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want JSON", what, ct)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	mustUnmarshal(t, res.body, &body)
	if body.Error.Code != code || body.Error.Message == "" {
		t.Errorf("%s: body = %s, want error code %q with a message", what, res.body, code)
	}
	if status == http.StatusTooManyRequests {
		if n, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: Retry-After = %q, want whole seconds", what, res.header.Get("Retry-After"))
		}
	}
	if res.header.Get("Content-Security-Policy") == "" || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: the refusal lacks the security headers: %v", what, res.header)
	}
}

// wantPageRefusal checks a refusal as pages answer it: the error page.
func wantPageRefusal(t *testing.T, what string, res response, status int) {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s = %d, want %d", what, res.status, status)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type = %q, want the error page", what, ct)
	}
	if got := mustDoc(t, res.body).Find("h1").Text(); got == "" {
		t.Errorf("%s: the error page has no heading:\n%s", what, res.body)
	}
	if res.header.Get("Content-Security-Policy") == "" || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: the refusal lacks the security headers: %v", what, res.header)
	}
}

// wantInOpenAPI checks that an API refusal is one /openapi.json describes.
func wantInOpenAPI(t *testing.T, method, target string, header http.Header, body string, res response) {
	t.Helper()
	_, router := mustOpenAPI(t)
	checkAgainstOpenAPI(t, router, apiCase{method: method, body: body, wantStatus: res.status, validReq: true}, target, header, res)
}

func formHeader() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
}

func TestSessionsPerAddress(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.Limits.SessionsPerMinute = 3 })
	// The API and the start form share the address's budget.
	for i := range 2 {
		if res := srv.do(t, "POST", "/sessions", jsonHeader(), `{}`); res.status != http.StatusCreated {
			t.Fatalf("POST /sessions #%d = %d, want 201", i+1, res.status)
		}
	}
	if res := srv.do(t, "POST", "/s", formHeader(), "language=python"); res.status != http.StatusSeeOther {
		t.Fatalf("POST /s #3 = %d, want 303", res.status)
	}
	res := srv.do(t, "POST", "/sessions", jsonHeader(), `{}`)
	wantRefusal(t, "POST /sessions #4", res, http.StatusTooManyRequests, "rate_limited")
	wantInOpenAPI(t, "POST", "/sessions", jsonHeader(), `{}`, res)
	wantPageRefusal(t, "POST /s #5", srv.do(t, "POST", "/s", formHeader(), "language=python"), http.StatusTooManyRequests)
	// Other requests are not limited.
	if res := srv.do(t, "GET", "/health", nil, ""); res.status != http.StatusOK {
		t.Errorf("GET /health after the limit = %d", res.status)
	}
}

// TestClientAddressBehindProxies: X-Forwarded-For names the client only when the
// peer is a trusted proxy; otherwise anyone could claim a fresh address per request.
func TestClientAddressBehindProxies(t *testing.T) {
	t.Parallel()
	xff := func(addr string) http.Header {
		h := jsonHeader()
		h.Set("X-Forwarded-For", addr)
		return h
	}
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		srv := newTestServer(t, func(c *handlers.Config) { c.Limits.SessionsPerMinute = 2 })
		for i, addr := range []string{"203.0.113.1", "203.0.113.2"} {
			if res := srv.do(t, "POST", "/sessions", xff(addr), `{}`); res.status != http.StatusCreated {
				t.Fatalf("POST #%d = %d, want 201", i+1, res.status)
			}
		}
		wantRefusal(t, "POST claiming a third address", srv.do(t, "POST", "/sessions", xff("203.0.113.3"), `{}`), http.StatusTooManyRequests, "rate_limited")
	})
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		srv := newTestServer(t, func(c *handlers.Config) {
			c.Limits.SessionsPerMinute = 2
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		for _, addr := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.2", "198.51.100.7, 203.0.113.2"} {
			if res := srv.do(t, "POST", "/sessions", xff(addr), `{}`); res.status != http.StatusCreated {
				t.Fatalf("POST for %s = %d, want 201", addr, res.status)
			}
		}
		// The nearest untrusted address counts: a client cannot prepend its way out.
		wantRefusal(t, "POST for 203.0.113.2 (prepended)", srv.do(t, "POST", "/sessions", xff("198.51.100.8, 203.0.113.2"), `{}`), http.StatusTooManyRequests, "rate_limited")
		wantRefusal(t, "POST for 203.0.113.1", srv.do(t, "POST", "/sessions", xff("203.0.113.1"), `{}`), http.StatusTooManyRequests, "rate_limited")
		// IPv6 addresses count by their /64.
		for i, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::ffff"} {
			if res := srv.do(t, "POST", "/sessions", xff(addr), `{}`); res.status != http.StatusCreated {
				t.Fatalf("POST #%d from 2001:db8:1:2::/64 = %d, want 201", i+1, res.status)
			}
		}
		wantRefusal(t, "POST from a third address of the /64", srv.do(t, "POST", "/sessions", xff("2001:db8:1:2:abcd::9"), `{}`), http.StatusTooManyRequests, "rate_limited")
	})
}

// dial opens a socket, returning the response when it is refused.
func dial(t *testing.T, srv *testServer, path string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, wsURL(srv, path), &websocket.DialOptions{HTTPHeader: header})
}

// wantRefusedDial checks that a dial was refused before the upgrade with status.
func wantRefusedDial(t *testing.T, what string, conn *websocket.Conn, res *http.Response, err error, status int) {
	t.Helper()
	if err == nil {
		conn.CloseNow()
		t.Fatalf("%s: connected, want %d before the upgrade", what, status)
	}
	if res == nil || res.StatusCode != status {
		t.Fatalf("%s: %v (response %v), want %d", what, err, res, status)
	}
	if status == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After", what)
	}
}

func TestSocketsPerAddress(t *testing.T) {
	t.Parallel()
	t.Run("open at once", func(t *testing.T) {
		t.Parallel()
		srv := newTestServer(t, func(c *handlers.Config) { c.Limits.Sockets = 2 })
		id, _ := srv.mustCreate(t, "python")
		var conns []*websocket.Conn
		for i := range 2 {
			conn, _, err := dial(t, srv, "/ws/"+id, nil)
			if err != nil {
				t.Fatalf("dial #%d: %v", i+1, err)
			}
			t.Cleanup(func() { conn.CloseNow() })
			conns = append(conns, conn)
		}
		conn, res, err := dial(t, srv, "/ws/"+id, nil)
		wantRefusedDial(t, "dial #3", conn, res, err, http.StatusTooManyRequests)
		// Once one is closed, its place is free again.
		conns[0].Close(websocket.StatusNormalClosure, "")
		waitFor(t, "a place for a new socket", func() bool {
			conn, _, err := dial(t, srv, "/ws/"+id, nil)
			if err == nil {
				conn.CloseNow()
			}
			return err == nil
		})
	})
	t.Run("opened per minute", func(t *testing.T) {
		t.Parallel()
		srv := newTestServer(t, func(c *handlers.Config) { c.Limits.SocketOpensPerMinute = 2 })
		id, _ := srv.mustCreate(t, "python")
		for i := range 2 {
			conn, _, err := dial(t, srv, "/ws/"+id, nil)
			if err != nil {
				t.Fatalf("dial #%d: %v", i+1, err)
			}
			conn.CloseNow()
		}
		conn, res, err := dial(t, srv, "/ws/"+id, nil)
		wantRefusedDial(t, "dial #3", conn, res, err, http.StatusTooManyRequests)
	})
}

func TestEventStreamsPerAddress(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.Limits.EventStreams = 2 })
	id, _ := srv.mustCreate(t, "python")
	open := func() (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/s/"+id+"/events", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("GET events: %v", err)
		}
		return res, func() { cancel(); res.Body.Close() }
	}
	var closers []context.CancelFunc
	for i := range 2 {
		res, closeIt := open()
		t.Cleanup(closeIt)
		closers = append(closers, closeIt)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("stream #%d = %d, want 200", i+1, res.StatusCode)
		}
	}
	res, closeIt := open()
	if res.StatusCode == http.StatusOK {
		closeIt()
		t.Fatalf("stream #3 = 200, want 429")
	}
	b, _ := io.ReadAll(res.Body)
	closeIt()
	wantPageRefusal(t, "stream #3", response{status: res.StatusCode, header: res.Header, body: b}, http.StatusTooManyRequests)
	closers[0]()
	waitFor(t, "a place for a new stream", func() bool {
		res, closeIt := open()
		defer closeIt()
		return res.StatusCode == http.StatusOK
	})
}

// waitFor polls cond until it holds, for 10 s at most.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSlowBody sends a request body a byte at a time: the server must give up on it
// after the body timeout instead of holding the connection for as long as the
// client likes, and answer 408 where it still can.
func TestSlowBody(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.BodyTimeout = 300 * time.Millisecond })
	for _, tt := range []struct {
		path, contentType, body string
		wantJSON                bool
	}{
		{"/sessions", "application/json", `{"language":"python"}`, true},
		{"/s", "application/x-www-form-urlencoded", "language=python&name=Ada", false},
	} {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// However the server behaves, the test ends: the whole exchange is bounded.
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
				tt.path, srv.Listener.Addr(), tt.contentType, len(tt.body))
			// A byte every 100 ms: the whole body would take over 2 s; the server waits 300 ms.
			sent := make(chan int, 1)
			go func() {
				n := 0
				for _, b := range []byte(tt.body) {
					if _, err := conn.Write([]byte{b}); err != nil {
						break
					}
					n++
					time.Sleep(100 * time.Millisecond)
				}
				sent <- n
			}()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to the slow body: %v", err)
			}
			b, _ := io.ReadAll(res.Body)
			conn.Close()
			if n := <-sent; n == len(tt.body) {
				t.Fatalf("the server waited for the whole slow body (%d bytes) and answered %d", n, res.StatusCode)
			}
			r := response{status: res.StatusCode, header: res.Header, body: b}
			if tt.wantJSON {
				wantRefusal(t, "POST "+tt.path, r, http.StatusRequestTimeout, "timeout")
				wantInOpenAPI(t, "POST", tt.path, http.Header{"Content-Type": {tt.contentType}}, tt.body, r)
			} else {
				wantPageRefusal(t, "POST "+tt.path, r, http.StatusRequestTimeout)
			}
		})
	}
	// A body that arrives in time is served, over the same kind of connection.
	if res := srv.do(t, "POST", "/sessions", jsonHeader(), `{"language":"python"}`); res.status != http.StatusCreated {
		t.Errorf("POST /sessions with a prompt body = %d, want 201", res.status)
	}
}

// TestHead answers HEAD like GET, without the body, on every GET route.
func TestHead(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, _ := srv.mustCreate(t, "python")
	for _, tt := range []struct {
		target, wantType string
		wantStatus       int
	}{
		{"/health", "application/json", http.StatusOK},
		{"/", "text/html", http.StatusOK},
		{"/sessions/" + id, "application/json", http.StatusOK},
		{"/s/" + id, "text/html", http.StatusOK},
		{"/s/" + id + "/events", "text/event-stream", http.StatusOK},
		{"/openapi.json", "application/json", http.StatusOK},
		{"/docs", "text/html", http.StatusOK},
		{"/sessions/00000000-0000-4000-8000-000000000000", "application/json", http.StatusNotFound},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, srv.URL+tt.target, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("HEAD %s: %v", tt.target, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		if res.StatusCode != tt.wantStatus || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.wantType) || len(b) != 0 {
			t.Errorf("HEAD %s = %d %q with %d bytes of body, want %d %s without a body",
				tt.target, res.StatusCode, res.Header.Get("Content-Type"), len(b), tt.wantStatus, tt.wantType)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("HEAD %s: no Content-Security-Policy", tt.target)
		}
	}
	// A HEAD to a route that has no GET is still refused.
	if res := srv.do(t, http.MethodHead, "/s", nil, ""); res.status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD /s = %d, want 405", res.status)
	}
}

// TestSocketOriginScheme: an origin allowed as https is not allowed as http, and
// duet's own host does not pass over http when duet is served over https.
func TestSocketOriginScheme(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, func(c *handlers.Config) { c.Origins = []string{"https://app.example.com"} })
	id, _ := srv.mustCreate(t, "python")
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tt := range []struct {
		origin string
		want   bool
	}{
		{"https://app.example.com", true},
		{"http://app.example.com", false},
		{"https://app.example.com:8443", false},
		{"http://" + host, true}, // same origin: the server is reached over http
		{"https://" + host, true},
		{"null", false},
		{"ws://" + host, false},
	} {
		conn, res, err := dial(t, srv, "/ws/"+id, http.Header{"Origin": {tt.origin}})
		switch {
		case tt.want && err != nil:
			t.Errorf("dial from %s: %v (response %v), want it allowed", tt.origin, err, res)
		case !tt.want:
			wantRefusedDial(t, "dial from "+tt.origin, conn, res, err, http.StatusForbidden)
		default:
			conn.CloseNow()
		}
	}

	secure := newTestServer(t, func(c *handlers.Config) { c.BaseURL = "https://" + host })
	id, _ = secure.mustCreate(t, "python")
	conn, res, err := dial(t, secure, "/ws/"+id, http.Header{"Origin": {"http://" + strings.TrimPrefix(secure.URL, "http://")}})
	wantRefusedDial(t, "dial over http to a duet served over https", conn, res, err, http.StatusForbidden)
}

// TestCrossOriginRefusal: a cross-site write is refused with duet's own error, JSON
// on the API and the error page on pages, with the usual headers.
func TestCrossOriginRefusal(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	crossSite := func(h http.Header) http.Header {
		h.Set("Origin", "https://evil.example.com")
		h.Set("Sec-Fetch-Site", "cross-site")
		return h
	}
	res := srv.do(t, "POST", "/sessions", crossSite(jsonHeader()), `{}`)
	wantRefusal(t, "POST /sessions from another site", res, http.StatusForbidden, "cross_origin")
	wantInOpenAPI(t, "POST", "/sessions", crossSite(jsonHeader()), `{}`, res)
	id, token := srv.mustCreate(t, "python")
	wantRefusal(t, "DELETE /sessions/{id} from another site",
		srv.do(t, "DELETE", "/sessions/"+id, crossSite(http.Header{"Authorization": {"Bearer " + token}}), ""), http.StatusForbidden, "cross_origin")
	wantPageRefusal(t, "POST /s from another site", srv.do(t, "POST", "/s", crossSite(formHeader()), "language=python"), http.StatusForbidden)
	wantPageRefusal(t, "POST /s/{id}/end from another site", srv.do(t, "POST", "/s/"+id+"/end", crossSite(formHeader()), ""), http.StatusForbidden)
	if res := srv.do(t, "GET", "/sessions/"+id, nil, ""); res.status != http.StatusOK {
		t.Errorf("the session is gone after refused cross-site writes: GET = %d", res.status)
	}
}

// TestSecureCookies: cookies are Secure when duet's public address is https, and
// when a trusted proxy says the client came over https; anyone else saying so is
// not believed.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		baseURL    string
		proxies    []netip.Prefix
		header     http.Header
		wantSecure bool
	}{
		{"plain http", "", nil, nil, false},
		{"https base URL", "https://pad.example.com", nil, nil, true},
		{"X-Forwarded-Proto from anyone", "", nil, http.Header{"X-Forwarded-Proto": {"https"}}, false},
		{"X-Forwarded-Proto from a trusted proxy", "", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, http.Header{"X-Forwarded-Proto": {"https"}}, true},
		{"http base URL", "http://pad.example.com", nil, http.Header{"X-Forwarded-Proto": {"https"}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, func(c *handlers.Config) { c.BaseURL, c.TrustedProxies = tt.baseURL, tt.proxies })
			res := srv.do(t, "GET", "/", tt.header, "")
			cookies := (&http.Response{Header: res.header}).Cookies()
			if len(cookies) == 0 {
				t.Fatalf("GET / set no cookie")
			}
			for _, c := range cookies {
				if c.Secure != tt.wantSecure {
					t.Errorf("cookie %s: Secure = %v, want %v", c.Name, c.Secure, tt.wantSecure)
				}
			}
			// The share link follows the same rule when there is no base URL.
			res = srv.do(t, "POST", "/sessions", mergeHeaders(jsonHeader(), tt.header), `{}`)
			var got struct{ URL string }
			mustUnmarshal(t, res.body, &got)
			u, err := url.Parse(got.URL)
			if err != nil {
				t.Fatal(err)
			}
			if wantHTTPS := tt.wantSecure; (u.Scheme == "https") != wantHTTPS {
				t.Errorf("share link %s, want https: %v", got.URL, wantHTTPS)
			}
		})
	}
}

func mergeHeaders(a, b http.Header) http.Header {
	for k, vs := range b {
		a[k] = vs
	}
	return a
}
