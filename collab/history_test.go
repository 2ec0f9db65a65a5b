package collab_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"duet/collab"
	"duet/collab/history"
	"duet/collab/ot"
	"duet/collab/ot/ottest"
	"duet/collab/people"
	"duet/collab/replay"
	"duet/store"
	"duet/store/sqlite"
)

// newReplayServer is newHubServer over any store.
func newReplayServer(t *testing.T, st store.Store, lim collab.Limits) *hubServer {
	t.Helper()
	return newHubServerWith(t, collab.HubConfig{Store: st, Limits: lim})
}

// newHubServerWith is newHubServer with the hub's whole configuration.
func newHubServerWith(t *testing.T, cfg collab.HubConfig) *hubServer {
	t.Helper()
	hub := collab.NewHub(cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		q := r.URL.Query()
		hub.Serve(conn, strings.TrimPrefix(r.URL.Path, "/ws/"), collab.JoinParams{Secret: q.Get("userId"), UserName: q.Get("userName")})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return &hubServer{Server: srv, hub: hub, tokens: map[string]string{}}
}

// typeEdits connects as a participant and makes edits one at a time, each on the
// version the previous one reached, waiting for its confirmation. It returns the
// document's length and version at the end.
func typeEdits(t *testing.T, s *hubServer, id, userID, name string, edits int, rng *rand.Rand) {
	t.Helper()
	c := dial(t, s, id, url.Values{"userId": {userID}, "userName": {name}})
	defer c.conn.Close(websocket.StatusNormalClosure, "")
	sync := c.readType("sync")
	var text ot.Text
	if err := text.UnmarshalJSON(sync.Content); err != nil {
		t.Fatal(err)
	}
	version := sync.Version
	for range edits {
		changes := ottest.EditJSON(rng, text.Len())
		cs, err := ot.ParseChangeSet(changes)
		if err != nil {
			t.Fatalf("generated %s: %v", changes, err)
		}
		if text, err = cs.Apply(text); err != nil {
			t.Fatalf("generated %s: %v", changes, err)
		}
		c.send(fmt.Sprintf(`{"type":"edit","version":%d,"updates":[{"clientID":%q,"changes":%s}]}`, version, name, changes))
		for {
			m := c.read()
			if m.Type == "error" {
				t.Fatalf("edit %s refused: %s %s", changes, m.Code, m.Message)
			}
			if m.Type == "update" && m.Version == version && len(m.Updates) == 1 {
				break
			}
		}
		version++
	}
}

// TestTextAtEveryVersion: what the hub stores, history reads back. The text at
// version v is exactly what applying the first v updates of the log gives, for every
// v of a session made by two people typing emoji, CJK and lone surrogates, with
// snapshots every 7 updates, over both stores.
func TestTextAtEveryVersion(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"memory", func(*testing.T) store.Store { return store.NewMemory() }},
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "duet.db"), sqlite.Options{Sync: sqlite.SyncNormal})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
	for _, tt := range stores {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := tt.open(t)
			s := newReplayServer(t, st, collab.Limits{SnapshotEvery: 7})
			rd := replay.New(st)
			id := s.mustSession(t)
			ada, bob := uuid.NewString(), uuid.NewString()
			rng := rand.New(rand.NewPCG(7, 9))
			typeEdits(t, s, id, ada, "Ada", 90, rng)
			typeEdits(t, s, id, bob, "Bob", 60, rng)
			typeEdits(t, s, id, ada, "Ada", 30, rng)
			const total = 180

			ctx := t.Context()
			log, err := st.Updates(ctx, id, 0, total, 0)
			if err != nil {
				t.Fatalf("Updates(0, %d) error = %v", total, err)
			}
			if snap, err := st.SnapshotAt(ctx, id, total); err != nil || snap.Version < total-7 {
				t.Fatalf("SnapshotAt(%d) = version %d, %v; want snapshots every 7 updates", total, snap.Version, err)
			}
			var want ot.Text
			lone := false
			for v := 0; v <= total; v++ {
				if v > 0 {
					cs, err := ot.ParseChangeSet(log[v-1].Changes)
					if err != nil {
						t.Fatal(err)
					}
					if want, err = cs.Apply(want); err != nil {
						t.Fatal(err)
					}
				}
				got, err := history.TextAt(ctx, st, id, v)
				if err != nil {
					t.Fatalf("TextAt(v=%d) error = %v", v, err)
				}
				if !got.Equal(want) {
					t.Fatalf("TextAt(v=%d) = %q, want %q", v, got.AppendJSON(nil), want.AppendJSON(nil))
				}
				f, err := rd.FrameAt(ctx, id, v)
				if err != nil {
					t.Fatalf("FrameAt(v=%d) error = %v", v, err)
				}
				wantUser := ""
				if v > 0 {
					wantUser = log[v-1].UserID
				}
				if !f.Text.Equal(want) || f.Version != v || f.Latest != total || f.UserID != wantUser {
					t.Fatalf("FrameAt(v=%d) = version %d of %d by %q, want %d of %d by %q (text equal: %v)",
						v, f.Version, f.Latest, f.UserID, v, total, wantUser, f.Text.Equal(want))
				}
				lone = lone || strings.Contains(string(want.AppendJSON(nil)), `\ud`)
			}
			if !lone {
				t.Errorf("no version held a lone surrogate: the test does not test them")
			}
			for _, v := range []int{-1, total + 1} {
				if _, err := history.TextAt(ctx, st, id, v); !errors.Is(err, ot.ErrInvalidVersion) && !errors.Is(err, ot.ErrVersionAhead) {
					t.Errorf("TextAt(v=%d) error = %v, want ErrInvalidVersion or ErrVersionAhead", v, err)
				}
			}
			for v, want := range map[int]int{-5: 0, total + 100: total} {
				if f, err := rd.FrameAt(ctx, id, v); err != nil || f.Version != want {
					t.Errorf("FrameAt(v=%d) = version %d, %v; want it clamped to %d", v, f.Version, err, want)
				}
			}
			if _, err := history.TextAt(ctx, st, uuid.NewString(), 0); !errors.Is(err, history.ErrNotFound) {
				t.Errorf("TextAt(unknown session) error = %v, want ErrNotFound", err)
			}

			// The timeline knows both people by the names they joined with (stored
			// apart from the join), each with a color of their own.
			deadline := time.Now().Add(10 * time.Second)
			for ps, _ := st.Participants(ctx, id); len(ps) < 2; ps, _ = st.Participants(ctx, id) {
				if time.Now().After(deadline) {
					t.Fatalf("Participants() = %v, want Ada and Bob", ps)
				}
				time.Sleep(10 * time.Millisecond)
			}
			tl, err := rd.Timeline(ctx, id, 0)
			if err != nil {
				t.Fatalf("Timeline() error = %v", err)
			}
			if tl.Version != total || len(tl.Buckets) != total {
				t.Errorf("Timeline() = version %d in %d buckets, want %d in %d", tl.Version, len(tl.Buckets), total, total)
			}
			var got []string
			for _, a := range tl.Authors {
				got = append(got, fmt.Sprintf("%s %s %d", a.UserID, a.Name, a.Updates))
			}
			// The store holds public ids only: what the replay shows is no credential.
			wantAuthors := []string{people.PublicID(id, ada) + " Ada 120", people.PublicID(id, bob) + " Bob 60"}
			if strings.Join(got, ",") != strings.Join(wantAuthors, ",") {
				t.Errorf("Timeline().Authors = %v, want %v", got, wantAuthors)
			}
			if len(tl.Authors) == 2 && tl.Authors[0].Color == tl.Authors[1].Color {
				t.Errorf("Ada and Bob share the color %s", tl.Authors[0].Color)
			}
			if f, err := rd.FrameAt(ctx, id, 100); err != nil || f.Author.Name != "Bob" || f.Author.Color != tl.Authors[1].Color {
				t.Errorf("FrameAt(100).Author = %+v, %v; want Bob in %s", f.Author, err, tl.Authors[1].Color)
			}
		})
	}
}
