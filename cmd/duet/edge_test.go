package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestAddressLimitsFromFlags runs duet with a small session budget behind a
// trusted proxy: each address X-Forwarded-For names has a budget of its own, spent
// ones are refused with 429, the API's JSON error and Retry-After.
func TestAddressLimitsFromFlags(t *testing.T) {
	t.Parallel()
	base, _ := startRun(t, "-store", "memory", "-sessions-per-minute", "2", "-trusted-proxies", "127.0.0.1")
	post := func(client string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/sessions", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", client)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Retry-After"), string(b)
	}
	for _, client := range []string{"198.51.100.1", "198.51.100.1", "198.51.100.2"} {
		if status, _, body := post(client); status != http.StatusCreated {
			t.Fatalf("POST /sessions for %s = %d %s, want 201", client, status, body)
		}
	}
	status, retry, body := post("198.51.100.1")
	var got struct{ Error struct{ Code string } }
	json.Unmarshal([]byte(body), &got)
	if n, err := strconv.Atoi(retry); status != http.StatusTooManyRequests || got.Error.Code != "rate_limited" || err != nil || n < 1 {
		t.Errorf("third POST for 198.51.100.1 = %d %s, Retry-After %q; want 429 rate_limited with Retry-After", status, body, retry)
	}
}

// TestDeleteLeavesNoTraceOnDisk uses a session as people do, through a real duet on
// SQLite: someone joins with a name, types, runs code that prints. Then its owner
// deletes it, and within a few seconds no file of the data folder may hold the
// text, the name or the output any more, byte for byte.
func TestDeleteLeavesNoTraceOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, _ := startRun(t, "-data-dir", dir)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	res, err := http.Post(base+"/sessions", "application/json", strings.NewReader(`{"language":"python"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ ID, OwnerToken string }
	json.NewDecoder(res.Body).Decode(&sess)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /sessions = %d", res.StatusCode)
	}

	text, name, output := "secret-code-"+rand.Text(), "Name"+rand.Text()[:12], "secret-output-"+rand.Text()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws/"+sess.ID+"?userName="+name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send := func(m string) {
		t.Helper()
		if err := conn.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"type":"edit","version":0,"updates":[{"clientID":"c1","changes":[[0,"print('` + text + `')"]]}]}`)
	for confirmed := false; !confirmed; {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the edit's confirmation: %v", err)
		}
		confirmed = bytes.Contains(b, []byte(`"type":"update"`))
	}
	send(`{"type":"run","runId":"r1","event":"start","text":"main.py"}`)
	send(`{"type":"run","runId":"r1","event":"output","stream":"stdout","text":"` + output + `\n"}`)
	send(`{"type":"run","runId":"r1","event":"end","status":"ok"}`)

	canaries := []string{text, name, output}
	waitFiles(t, dir, "the session's text, name and output to be stored", func(files map[string][]byte) bool {
		return len(holding(files, canaries)) == len(canaries)
	})

	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/sessions/"+sess.ID, nil)
	req.Header.Set("Authorization", "Bearer "+sess.OwnerToken)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %d, want 204", res.StatusCode)
	}
	waitFiles(t, dir, "the deleted session's text, name and output to leave the data folder", func(files map[string][]byte) bool {
		return len(holding(files, canaries)) == 0
	})
}

// waitFiles polls the raw bytes of every file of dir until cond holds, for 10 s at
// most.
func waitFiles(t *testing.T, dir, what string, cond func(map[string][]byte) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				files[e.Name()] = b
			}
		}
		if cond(files) {
			return
		}
		if time.Now().After(deadline) {
			var sizes []string
			for n, b := range files {
				sizes = append(sizes, n+" ("+strconv.Itoa(len(b))+" bytes)")
			}
			t.Fatalf("waited 10 s for %s; files: %s", what, strings.Join(sizes, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holding returns the strings that some file holds.
func holding(files map[string][]byte, strs []string) []string {
	var out []string
	for _, s := range strs {
		for _, b := range files {
			if bytes.Contains(b, []byte(s)) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
