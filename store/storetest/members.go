package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"testing"
	"time"

	"duet/store"
)

// runMembers checks the members of a session: who its interviewers are.
func runMembers(t *testing.T, open func(t *testing.T) store.Store, sess store.Session) {
	at := sess.CreatedAt
	ada := store.Member{Principal: "b:0123456789abcdef0123456789abcdef", Role: store.RoleInterviewer, PublicID: "pub-ada", Added: at.Add(2 * time.Minute)}
	bob := store.Member{Principal: "a:bob", Role: store.RoleInterviewer, PublicID: "pub-bob", Added: at.Add(time.Minute)}
	cat := store.Member{Principal: "a:cat", Role: store.RoleInterviewer, PublicID: "pub-cat", Added: at.Add(time.Minute)}
	adaAgain := store.Member{Principal: ada.Principal, Role: "observer", PublicID: "pub-other", Added: at.Add(time.Hour)}
	in := func(m store.Member) store.Member { m.SessionID = sess.ID; return m }

	tests := []struct {
		name    string
		add     []store.Member
		addTo   string // session id added to; sess.ID when ""
		wantErr error  // from the first add that fails; errAny: any error
		want    []store.Member
	}{
		{name: "none at first"},
		{name: "one", add: []store.Member{ada}, want: []store.Member{in(ada)}},
		{name: "by the time added, then by principal", add: []store.Member{ada, cat, bob}, want: []store.Member{in(bob), in(cat), in(ada)}},
		{name: "adding again keeps the first record whole", add: []store.Member{ada, adaAgain}, want: []store.Member{in(ada)}},
		{name: "the zero time comes first", add: []store.Member{ada, {Principal: "a:zed", Role: store.RoleInterviewer, PublicID: "z"}}, want: []store.Member{in(store.Member{Principal: "a:zed", Role: store.RoleInterviewer, PublicID: "z"}), in(ada)}},
		{name: "unknown session", add: []store.Member{ada}, addTo: "nope", wantErr: store.ErrNotFound},
		{name: "no principal", add: []store.Member{{Role: store.RoleInterviewer, PublicID: "x", Added: at}}, wantErr: errAny},
		{name: "a blank principal", add: []store.Member{{Principal: "  ", Role: store.RoleInterviewer, PublicID: "x", Added: at}}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			s := withSession(t, open(t), sess)
			to := cmp.Or(tt.addTo, sess.ID)
			var err error
			for _, m := range tt.add {
				if err = s.AddMember(ctx, to, m); err != nil {
					break
				}
			}
			switch {
			case tt.wantErr == errAny && err == nil:
				t.Fatalf("AddMember() error = nil, want an error")
			case tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("AddMember() error = %v, want %v", err, tt.wantErr)
			}
			got, err := s.Members(ctx, sess.ID)
			if err != nil {
				t.Fatalf("Members() error = %v", err)
			}
			if diff := diffMembers(got, tt.want); diff != "" {
				t.Errorf("Members() = %s", diff)
			}
			for _, w := range tt.want {
				m, err := s.Member(ctx, sess.ID, w.Principal)
				if err != nil {
					t.Errorf("Member(%s) error = %v", w.Principal, err)
				} else if diff := diffMembers([]store.Member{m}, []store.Member{w}); diff != "" {
					t.Errorf("Member(%s) = %s", w.Principal, diff)
				}
			}
			if _, err := s.Member(ctx, sess.ID, "a:nobody"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Member(not a member) error = %v, want ErrNotFound", err)
			}
			if _, err := s.Member(ctx, sess.ID, ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Member(no principal) error = %v, want ErrNotFound", err)
			}
			if _, err := s.Member(ctx, "nope", ada.Principal); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Member(unknown session) error = %v, want ErrNotFound", err)
			}
			if _, err := s.Members(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Members(unknown session) error = %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("a member of one session is not of another", func(t *testing.T) {
		ctx := t.Context()
		s := withSession(t, open(t), sess)
		other := sess
		other.ID = "3f2a1b9c-0000-4000-8000-0000000000aa"
		if err := s.CreateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMember(ctx, sess.ID, ada); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Member(ctx, other.ID, ada.Principal); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Member(other session) error = %v, want ErrNotFound", err)
		}
		if got, err := s.Members(ctx, other.ID); err != nil || len(got) != 0 {
			t.Errorf("Members(other session) = %v, %v; want none", got, err)
		}
	})

	for _, gone := range []struct {
		name string
		do   func(s store.Store) error
	}{
		{"deleted with the session", func(s store.Store) error { return s.DeleteSession(t.Context(), sess.ID) }},
		{"purged with the session", func(s store.Store) error {
			return wantPurged(s.PurgeIdle(t.Context(), at.Add(time.Nanosecond)))(1)
		}},
	} {
		t.Run(gone.name, func(t *testing.T) {
			ctx := t.Context()
			s := withSession(t, open(t), sess)
			if err := s.AddMember(ctx, sess.ID, ada); err != nil {
				t.Fatal(err)
			}
			if err := gone.do(s); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Members(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Members(gone) error = %v, want ErrNotFound", err)
			}
			if err := s.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Members(ctx, sess.ID); err != nil || len(got) != 0 {
				t.Errorf("Members(created again) = %v, %v; want none", got, err)
			}
			if _, err := s.Member(ctx, sess.ID, ada.Principal); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Member(created again) error = %v, want ErrNotFound", err)
			}
		})
	}
}

// errAny stands for "some error" in a table where the error has no sentinel.
var errAny = errors.New("any error")

func diffMembers(got, want []store.Member) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d members %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.SessionID != w.SessionID || g.Principal != w.Principal || g.Role != w.Role || g.PublicID != w.PublicID ||
			!g.Added.Equal(w.Added) || g.Added.IsZero() != w.Added.IsZero() || g.Added.Location() != time.UTC {
			return fmt.Sprintf("[%d] %+v, want %+v (in UTC)", i, g, w)
		}
	}
	return ""
}
