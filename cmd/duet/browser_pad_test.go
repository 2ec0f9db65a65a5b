package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// ---- the environment of one scenario ----

type env struct {
	backend string // duet itself
	proxy   *cutProxy
	session string
	token   string
	ada     *browser
	bob     *browser
}

func newEnv(t *testing.T, backend string, ada, bob *browser) *env {
	t.Helper()
	e := &env{backend: backend, proxy: newCutProxy(t, backend), ada: ada, bob: bob}
	e.session, e.token = createSession(t, backend)
	return e
}

// padURL is the session page through the proxy.
func (e *env) padURL() string {
	return e.proxy.URL + "/s/" + e.session
}

// openBoth opens the pad in a tab of Ada's browser and one of Bob's.
func (e *env) openBoth(t *testing.T) (a, b *tab) {
	t.Helper()
	a, b = e.ada.open(t, "Ada"), e.bob.open(t, "Bob")
	a.openPad(e.padURL())
	b.openPad(e.padURL())
	return a, b
}

// checkServer compares the server's document (the hub's text, read by a socket of its
// own, and the version of GET /sessions/{id}) with want and with the pages' versions.
func (e *env) checkServer(t *testing.T, want string, tabs ...*tab) {
	t.Helper()
	version, text := e.hubState(t)
	if text != want {
		t.Errorf("server text = %q…%q (%d units), want the editors' %q…%q (%d units)",
			head(text), tail(text), len16(text), head(want), tail(want), len16(want))
	}
	res, err := http.Get(e.backend + "/sessions/" + e.session)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info struct{ Version int }
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Version != version {
		t.Errorf("GET /sessions/%s version = %d, hub's sync says %d", e.session, info.Version, version)
	}
	for _, tb := range tabs {
		if got := tb.syncedVersion(); got != version {
			t.Errorf("%s's editor is at version %d, server at %d", tb.name, got, version)
		}
	}
}

// hubState joins the session with a raw socket (to the server, not through the proxy)
// and returns the version and text of its sync message.
func (e *env) hubState(t *testing.T) (int, string) {
	t.Helper()
	conn, sync := e.dialHub(t)
	conn.Close(websocket.StatusNormalClosure, "")
	return sync.Version, sync.Content
}

type syncMsg struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	Content string `json:"content"`
}

func (e *env) dialHub(t *testing.T) (*websocket.Conn, syncMsg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(e.backend, "http") + "/ws/" + e.session + "?userName=test+observer&userId=" + uuid.NewString()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial the hub: %v", err)
	}
	conn.SetReadLimit(16 << 20)
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read sync: %v", err)
	}
	var m syncMsg
	if err := json.Unmarshal(data, &m); err != nil || m.Type != "sync" {
		t.Fatalf("first message %.100s: want sync (%v)", data, err)
	}
	return conn, m
}

// pushFromGo is another participant editing straight on the server: insert text at pos.
func (e *env) pushFromGo(t *testing.T, pos int, text string) {
	t.Helper()
	conn, sync := e.dialHub(t)
	defer conn.Close(websocket.StatusNormalClosure, "")
	n := len16(sync.Content)
	lines, _ := json.Marshal(strings.Split(text, "\n"))
	changes := fmt.Sprintf("[[0,%s]", strings.TrimPrefix(string(lines), "["))
	if pos > 0 {
		changes = fmt.Sprintf("[%d,%s", pos, strings.TrimPrefix(changes, "["))
	}
	if n > pos {
		changes = strings.TrimSuffix(changes, "]") + fmt.Sprintf(",%d]", n-pos)
	}
	msg := fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":"go-test","changes":%s}]}`, sync.Version, changes)
	ctx, cancel := context.WithTimeout(t.Context(), stepTimeout)
	defer cancel()
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the confirmation of %s: %v", msg, err)
		}
		if strings.Contains(string(data), `"clientID":"go-test"`) {
			return
		}
		if strings.Contains(string(data), `"type":"error"`) {
			t.Fatalf("edit %s refused: %s", msg, data)
		}
	}
}

// sizes are the bytes of files as sent raw, gzipped and in brotli.
type sizes struct{ raw, gz, br int }

func (s *sizes) add(f sizes) {
	s.raw += f.raw
	s.gz += f.gz
	s.br += f.br
}

// fetchSizes returns the bytes of one static file as sent raw, gzipped and in brotli.
func fetchSizes(t *testing.T, u string) (raw, gz, br int) {
	t.Helper()
	size := func(enc string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept-Encoding", enc) // set by hand: the transport then leaves the body as sent
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		n, _ := io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", u, res.StatusCode)
		}
		if got := res.Header.Get("Content-Encoding"); enc != "identity" && got != enc {
			t.Errorf("GET %s with Accept-Encoding %s: Content-Encoding %q", u, enc, got)
		}
		return int(n)
	}
	return size("identity"), size("gzip"), size("br")
}

// ---- the proxy ----

// cutProxy passes everything to duet (WebSockets included, which httputil supports)
// and can cut the sockets: drop every open one and refuse new ones with 503, while
// pages and everything else are still served.
type cutProxy struct {
	*httptest.Server
	mu      sync.Mutex
	backend *url.URL // where requests go; switched when duet restarts
	isCut   bool
	conns   map[net.Conn]struct{} // client sides of the proxied sockets
	fetched []string              // request paths, in order
	last    time.Time             // when the last request came
}

func newCutProxy(t *testing.T, backend string) *cutProxy {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{backend: target, conns: map[net.Conn]struct{}{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		p.mu.Lock()
		to := p.backend
		p.mu.Unlock()
		r.SetURL(to)
		r.Out.Host = r.In.Host // same-origin sockets stay same-origin for duet's origin check
	}, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		w.WriteHeader(http.StatusBadGateway) // duet is down (ServerRestart): quietly
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.fetched = append(p.fetched, r.URL.Path)
		p.last = time.Now()
		p.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/ws/") {
			p.mu.Lock()
			cut := p.isCut
			p.mu.Unlock()
			if cut {
				http.Error(w, "sockets are cut by the test", http.StatusServiceUnavailable)
				return
			}
			w = &hijackRecorder{ResponseWriter: w, p: p}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		p.cut()
		p.Close()
	})
	return p
}

// cut drops every proxied socket and refuses new ones.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// requests returns the paths requested so far, and how long ago the last one came.
func (p *cutProxy) requests() ([]string, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.fetched), time.Since(p.last)
}

// setBackend sends the next requests to another duet (a restarted one).
func (p *cutProxy) setBackend(t *testing.T, base string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backend = u
}

// restore lets sockets through again.
func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = false
}

// hijackRecorder records the connection ReverseProxy hijacks for an upgrade.
type hijackRecorder struct {
	http.ResponseWriter
	p *cutProxy
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.p.mu.Lock()
	defer h.p.mu.Unlock()
	if h.p.isCut {
		conn.Close() // cut while this one was being set up
	} else {
		h.p.conns[conn] = struct{}{}
	}
	return conn, rw, nil
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// ---- the pad in a tab ----

// openPad opens the session page, joins with the tab's name if the page asks for
// one (the join form, #join-name), and waits for a live editor.
func (tb *tab) openPad(u string) {
	tb.t.Helper()
	tb.do(stepTimeout, chromedp.Navigate(u))
	tb.waitUntil(`!!(document.querySelector("#editor[data-ready] .cm-content") || document.getElementById("join-name"))`,
		stepTimeout, "the editor or the join form")
	if evalAs[bool](tb, `!!document.getElementById("join-name")`) {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		defer cancel()
		err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("join-name"), tb.name))
		if err == nil {
			_, err = chromedp.RunResponse(ctx, chromedp.Submit(chromedp.ID("join-name")))
		}
		if err != nil {
			tb.t.Fatalf("%s's page: join as %q: %v\n%s", tb.name, tb.name, err, tb.describe())
		}
		tb.waitUntil(`!!document.querySelector("#editor[data-ready] .cm-content")`, stepTimeout, "the editor after joining")
	}
	tb.waitLive(stepTimeout)
}

func (tb *tab) waitLive(d time.Duration) {
	tb.t.Helper()
	tb.waitUntil(`document.getElementById("connection-status")?.dataset.state === "live"`, d, "a live connection")
}

// waitSaved waits until the server has confirmed every edit of the page.
func (tb *tab) waitSaved() {
	tb.t.Helper()
	tb.waitUntil(`(() => { const s = document.getElementById("connection-status");
		return s.dataset.state === "live" && s.dataset.pending === "0"; })()`, syncTimeout, "every edit confirmed")
}

func (tb *tab) focusEditor() {
	tb.t.Helper()
	tb.eval(`document.querySelector("#editor .cm-content").focus()`)
}

// paste pastes text into the editor, through a paste event as the clipboard gives it.
func (tb *tab) paste(s string) {
	tb.t.Helper()
	tb.eval(`(() => { const dt = new DataTransfer(); dt.setData("text/plain", ` + jsString(s) + `);
		document.querySelector("#editor .cm-content").dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true})); })()`)
}

func (tb *tab) text() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.getElementById("editor").duetEditor.getText()`)
}

func (tb *tab) statusState() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.getElementById("connection-status").dataset.state`)
}

func (tb *tab) statusText() string {
	tb.t.Helper()
	return evalAs[string](tb, `document.getElementById("connection-status").textContent`)
}

// syncedVersion is the version the page's editor has synced to.
func (tb *tab) syncedVersion() int {
	tb.t.Helper()
	return evalAs[int](tb, `Number(document.getElementById("editor").dataset.syncedVersion)`)
}

// waitSame waits until every page is live with nothing unconfirmed and shows the same
// text, and returns it.
func waitSame(t *testing.T, tabs ...*tab) string {
	t.Helper()
	for _, tb := range tabs {
		tb.waitSaved()
	}
	deadline := time.Now().Add(syncTimeout)
	for {
		texts := make([]string, len(tabs))
		same := true
		for i, tb := range tabs {
			texts[i] = tb.text()
			same = same && texts[i] == texts[0]
		}
		if same {
			return texts[0]
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, tb := range tabs {
				fmt.Fprintf(&b, "\n%s: %q…%q (%d units)", tb.name, head(texts[i]), tail(texts[i]), len16(texts[i]))
			}
			t.Fatalf("the editors did not converge:%s", b.String())
		}
		// Pages confirm on their own schedule; poll the text again shortly.
		select {
		case <-time.After(50 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// ---- small helpers ----

// pasteText is n lines of code-like text.
func pasteText(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "line_%04d = compute(%d) + offset  # pasted\n", i, i)
	}
	return b.String()
}

func len16(s string) int { return len(utf16.Encode([]rune(s))) }

func head(s string) string {
	r := []rune(s)
	return string(r[:min(len(r), 60)])
}

func tail(s string) string {
	r := []rune(s)
	return string(r[max(0, len(r)-60):])
}
