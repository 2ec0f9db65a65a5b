package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/collab/people"
	"duet/collab/replay"
)

// participant is one socket to a session, as a browser (cookies) or a program
// (?userId=) opens it, keeping every frame it receives.
type participant struct {
	t    *testing.T
	conn *websocket.Conn
	you  struct{ ID, Name string }
	got  chan []byte // every frame, raw
}

func joinAs(t *testing.T, srv *testServer, id string, header http.Header, q url.Values) *participant {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, wsURL(srv, "/ws/"+id+"?"+q.Encode()), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	p := &participant{t: t, conn: conn, got: make(chan []byte, 256)}
	go func() {
		defer close(p.got)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			p.got <- b
		}
	}()
	var sync struct {
		Type string
		You  struct{ ID, Name string }
	}
	if b := p.next("sync"); json.Unmarshal(b, &sync) != nil || sync.Type != "sync" {
		t.Fatalf("first message %s, want a sync", b)
	}
	p.you = sync.You
	return p
}

// next returns the next frame of the given type, skipping others.
func (p *participant) next(typ string) []byte {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b, ok := <-p.got:
			if !ok {
				p.t.Fatalf("connection closed while waiting for %s", typ)
			}
			var m struct{ Type string }
			if json.Unmarshal(b, &m) == nil && m.Type == typ {
				return b
			}
		case <-timeout:
			p.t.Fatalf("no %s message", typ)
		}
	}
}

func (p *participant) send(msg string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		p.t.Fatal(err)
	}
}

// cookieHeader is what a browser's jar sends to the server.
func cookieHeader(t *testing.T, srv *testServer, browser *http.Client) (http.Header, string) {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	var parts []string
	key := ""
	for _, ck := range browser.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
		if ck.Name == "duet_key" {
			key = ck.Value
		}
	}
	if key == "" {
		t.Fatal("the browser has no identity cookie")
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}, key
}

// TestImpersonation: what others see of a participant does not let anyone act as
// them. A victim joins from a browser; an attacker who reads every id the server
// shows presents the victim's public id (as userId, and as a cookie) and gets an
// identity of its own: nothing it does is attributed to the victim, live or in the
// replay, and the victim keeps their name. The victim's key appears in nothing the
// server sends to anyone, and a browser's ids differ from one session to the next.
func TestImpersonation(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, _ := srv.mustCreate(t, "python")
	other, _ := srv.mustCreate(t, "python")

	victim := srv.browser(t)
	res, err := victim.PostForm(srv.URL+"/s/"+id+"/name", url.Values{"name": {"Victim"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	header, key := cookieHeader(t, srv, victim)
	v := joinAs(t, srv, id, header, url.Values{"userName": {"Victim"}})
	if v.you.ID == "" || v.you.ID == key || strings.Contains(key, v.you.ID) {
		t.Fatalf("victim's public id %q, key %q: want an id that is not the key", v.you.ID, key)
	}
	progSecret := uuid.NewString() // a program's chosen userId is its secret too
	bystander := joinAs(t, srv, id, nil, url.Values{"userId": {progSecret}, "userName": {"Bystander"}})
	v.next("user_joined")

	// The attacker knows the victim's public id: from the sync, user_joined, or the API.
	if api := srv.do(t, "GET", "/sessions/"+id, nil, ""); !strings.Contains(string(api.body), v.you.ID) {
		t.Fatalf("GET /sessions/%s = %s, want the victim's public id listed", id, api.body)
	}
	for _, try := range []struct {
		name   string
		header http.Header
		q      url.Values
	}{
		{"public id as userId", nil, url.Values{"userId": {v.you.ID}, "userName": {"Mallory"}}},
		{"public id as the identity cookie", http.Header{"Cookie": {"duet_key=" + v.you.ID}}, url.Values{"userName": {"Mallory"}}},
	} {
		a := joinAs(t, srv, id, try.header, try.q)
		if a.you.ID == v.you.ID || a.you.Name != "Mallory" {
			t.Fatalf("%s: the attacker joined as %+v, the victim is %q", try.name, a.you, v.you.ID)
		}
		a.send(`{"type":"edit","version":0,"updates":[{"clientID":"mallory ` + try.name + `","changes":[[0,"evil"]]}]}`)
		var upd struct {
			Updates []struct{ UserID string }
		}
		json.Unmarshal(bystander.next("update"), &upd)
		if len(upd.Updates) != 1 || upd.Updates[0].UserID != a.you.ID {
			t.Errorf("%s: the bystander sees the edit attributed to %+v, want the attacker %q", try.name, upd.Updates, a.you.ID)
		}
		a.send(`{"type":"run","runId":"r-` + try.name[:6] + `","event":"start","text":"evil.py"}`)
		var run struct{ UserID string }
		json.Unmarshal(bystander.next("run"), &run)
		if run.UserID != a.you.ID {
			t.Errorf("%s: the bystander sees the run of %q, want the attacker %q", try.name, run.UserID, a.you.ID)
		}
		a.conn.Close(websocket.StatusNormalClosure, "")
		bystander.next("user_left")
	}

	// The victim was not renamed, and is still who the list shows.
	var info struct{ Users []struct{ ID, Name string } }
	mustUnmarshal(t, srv.do(t, "GET", "/sessions/"+id, nil, "").body, &info)
	names := map[string]string{}
	for _, u := range info.Users {
		names[u.ID] = u.Name
	}
	if names[v.you.ID] != "Victim" || len(info.Users) != 2 {
		t.Errorf("GET /sessions/%s users = %+v, want the victim (still named Victim) and the bystander", id, info.Users)
	}

	// The replay attributes nothing to the victim.
	rd := replay.New(srv.store)
	tl, err := rd.Timeline(t.Context(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range tl.Authors {
		if a.UserID == v.you.ID && (a.Updates > 0 || a.Runs > 0) {
			t.Errorf("the replay attributes %d updates and %d runs to the victim", a.Updates, a.Runs)
		}
		if a.UserID == key || a.UserID == progSecret {
			t.Errorf("the replay names an author by a secret: %q", a.UserID)
		}
	}
	if len(tl.Authors) == 0 {
		t.Errorf("the replay shows no author; want the attacker")
	}

	// The same browser is someone else in another session.
	v2 := joinAs(t, srv, other, header, url.Values{"userName": {"Victim"}})
	if v2.you.ID == v.you.ID {
		t.Errorf("the browser has the public id %q in two sessions", v.you.ID)
	}

	// No secret in anything the server sent: to the bystander, to the victim, in the
	// pages, the API and the event stream.
	v.send(`{"type":"cursor","version":1,"ranges":[{"anchor":0,"head":1}]}`)
	v.send(`{"type":"language","language":"javascript"}`)
	bystander.next("cursor")
	bystander.next("language")
	seen := []string{firstEvents(t, srv, id, header)}
	for _, p := range []*participant{bystander, v, v2} {
		p.conn.Close(websocket.StatusNormalClosure, "")
		for b := range p.got {
			seen = append(seen, string(b))
		}
	}
	for _, path := range []string{"/s/" + id, "/s/" + id + "/replay", "/sessions/" + id} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+path, nil)
		req.Header = header.Clone()
		res, err := victim.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		seen = append(seen, string(b))
	}
	for i, s := range seen {
		if strings.Contains(s, key) || strings.Contains(s, progSecret) {
			t.Errorf("a secret appears in what the server sent (%d): %.300s", i, s)
		}
	}
}

// firstEvents returns the first participants event of a session's stream, as the
// browser with header sees it.
func firstEvents(t *testing.T, srv *testServer, id string, header http.Header) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/s/"+id+"/events", nil)
	req.Header = header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
		if sc.Text() == "" && strings.Contains(b.String(), "participant-you") {
			return b.String()
		}
	}
	t.Fatalf("the event stream did not mark the viewer; got %s", b.String())
	return ""
}

// TestSocketIdentityFromCookies: a browser's socket is who its cookies say, the
// identity key before any userId of the query and the name cookie when the query has
// none; a userId that is not a UUID is a participant of that connection alone; and
// the id older versions showed to everyone is deleted, never taken as a key.
func TestSocketIdentityFromCookies(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t)
	id, _ := srv.mustCreate(t, "python")
	key := strings.Repeat("A", 43)
	cookies := http.Header{"Cookie": {"duet_key=" + key + "; duet_name=" + url.QueryEscape("Ada Lovelace")}}

	browser := joinAs(t, srv, id, cookies, url.Values{"userId": {uuid.NewString()}})
	if want := people.PublicID(id, key); browser.you.ID != want || browser.you.Name != "Ada Lovelace" {
		t.Errorf("a browser's socket joined as %+v, want %q named by its cookie", browser.you, want)
	}
	prog := uuid.NewString()
	if p := joinAs(t, srv, id, nil, url.Values{"userId": {prog}}); p.you.ID != people.PublicID(id, prog) {
		t.Errorf("a program's socket joined as %q, want the public id of its userId", p.you.ID)
	}
	a := joinAs(t, srv, id, nil, url.Values{"userId": {"not-a-uuid"}})
	b := joinAs(t, srv, id, nil, url.Values{"userId": {"not-a-uuid"}})
	if a.you.ID == b.you.ID || a.you.ID == people.PublicID(id, "not-a-uuid") {
		t.Errorf("two sockets with a userId that is not a UUID joined as %q and %q, want two participants of their own", a.you.ID, b.you.ID)
	}

	old := uuid.NewString()
	res := srv.do(t, "GET", "/s/"+id, http.Header{"Cookie": {"duet_uid=" + old + "; duet_name=Ada"}}, "")
	var deleted, made bool
	for _, ck := range (&http.Response{Header: res.header}).Cookies() {
		switch {
		case ck.Name == "duet_uid" && ck.MaxAge < 0:
			deleted = true
		case ck.Name == "duet_key" && ck.Value != old && ck.HttpOnly:
			made = true
		}
	}
	if !deleted || !made {
		t.Errorf("a page for a browser with only the old id: Set-Cookie %v, want duet_uid deleted and a new HttpOnly duet_key", res.header["Set-Cookie"])
	}
}
