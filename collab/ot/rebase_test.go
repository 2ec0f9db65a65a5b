package ot

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// updates builds a list of updates from "clientID:changes" strings.
func mustUpdates(t testing.TB, specs ...string) []Update {
	t.Helper()
	us := make([]Update, len(specs))
	for i, s := range specs {
		id, changes, ok := strings.Cut(s, ":")
		if !ok {
			t.Fatalf("bad update spec %q", s)
		}
		us[i] = Update{ClientID: id, Changes: mustChangeSet(t, changes)}
	}
	return us
}

func updatesString(us []Update) string {
	parts := make([]string, len(us))
	for i, u := range us {
		parts[i] = u.ClientID + ":" + u.Changes.String()
	}
	return strings.Join(parts, " ")
}

func TestSequentialRebase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		over []string
		push []string
		want []string
		// wantDoc is the document after over and the result, when checked.
		wantDoc string
	}{
		{
			name: "log's text stays first on a tie",
			doc:  "abcde",
			over: []string{`A:[[0,"q"],5]`},
			push: []string{`X:[[0,"r"],5]`, `X:[1,[0,"s"],5]`},
			want: []string{`X:[1,[0,"r"],5]`, `X:[2,[0,"s"],5]`}, wantDoc: "qrsabcde",
		},
		{
			name: "first pushed update already accepted",
			doc:  "abcde",
			over: []string{`A:[[0,"q"],5]`, `X:[1,[0,"r"],5]`},
			push: []string{`X:[[0,"r"],5]`, `X:[1,[0,"s"],5]`},
			want: []string{`X:[2,[0,"s"],5]`}, wantDoc: "qrsabcde",
		},
		{
			name: "over an empty update the push comes back as sent",
			doc:  "abcde",
			over: []string{`A:[5]`},
			push: []string{`X:[[0,"q"],2,3]`},
			want: []string{`X:[[0,"q"],2,3]`}, wantDoc: "qabcde",
		},
		{
			name: "over a no-op that is not empty it is rebuilt",
			doc:  "abcde",
			over: []string{`A:[2,3]`},
			push: []string{`X:[[0,"q"],2,3]`},
			want: []string{`X:[[0,"q"],5]`}, wantDoc: "qabcde",
		},
		{
			name: "each accepted update in turn, not their composition",
			doc:  "a",
			over: []string{`A:[[1]]`, `A:[[0,"W"]]`},
			push: []string{`X:[[1,"X"]]`},
			want: []string{`X:[1,[0,"X"]]`}, wantDoc: "WX",
		},
		{
			name: "stale resend: everything was accepted, the rest of over changes nothing",
			doc:  "ab",
			over: []string{`X:[[0,"1"],2]`, `B:[[3]]`},
			push: []string{`X:[[0,"1"],2]`},
			want: []string{},
		},
		{
			name: "dedup looks at the client id only, not at the content",
			doc:  "ab",
			over: []string{`X:[[2,"zz"]]`},
			push: []string{`X:[[0,"1"],2]`, `X:[1,[0,"2"],2]`},
			want: []string{`X:[1,[0,"2"],2]`},
		},
		{
			name: "empty over: the push itself",
			doc:  "ab",
			over: nil,
			push: []string{`X:[2,[0,"😀"]]`},
			want: []string{`X:[2,[0,"😀"]]`}, wantDoc: "ab😀",
		},
		{
			name: "empty push",
			doc:  "ab",
			over: []string{`A:[[2]]`},
			push: nil,
			want: []string{},
		},
		{
			name: "surrogate halves stay halves",
			doc:  "😀",
			over: []string{`A:[1,[1]]`},
			push: []string{`X:[2,[0,"!"]]`},
			want: []string{`X:[1,[0,"!"]]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			when := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			push := mustUpdates(t, tt.push...)
			for i := range push {
				push[i].UserID, push[i].Time = "user-x", when
			}
			over := mustUpdates(t, tt.over...)
			got, err := SequentialRebase(push, over)
			if err != nil {
				t.Fatalf("SequentialRebase: %v", err)
			}
			if gotS, want := updatesString(got), strings.Join(tt.want, " "); gotS != want {
				t.Errorf("SequentialRebase = %s, want %s", gotS, want)
			}
			for i, u := range got {
				if u.UserID != "user-x" || !u.Time.Equal(when) {
					t.Errorf("update %d: UserID, Time = %q, %v; want the pushed ones", i, u.UserID, u.Time)
				}
			}
			if tt.wantDoc != "" {
				doc := NewText(tt.doc)
				for _, u := range append(over, got...) {
					if doc, err = u.Changes.Apply(doc); err != nil {
						t.Fatalf("apply: %v", err)
					}
				}
				if doc.String() != tt.wantDoc {
					t.Errorf("document = %q, want %q", doc, tt.wantDoc)
				}
			}
		})
	}
}

func TestSequentialRebaseRefusesMismatchedLengths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		over, push []string
		wantUpdate int
	}{
		// The library's map loops forever on these.
		{name: "first update too short", over: []string{`A:[[2]]`}, push: []string{`X:[1]`}, wantUpdate: 0},
		{name: "first update too long", over: []string{`A:[[1,"y"]]`}, push: []string{`X:[[2,"x"]]`}, wantUpdate: 0},
		{name: "second update does not follow the first", over: []string{`A:[1,[0,"y"]]`}, push: []string{`X:[1,[0,"x"]]`, `X:[[3]]`}, wantUpdate: 1},
		{name: "after dedup, the rest does not fit", over: []string{`X:[[1,"abc"]]`, `B:[3,[0,"b"]]`}, push: []string{`X:[[1,"a"]]`, `X:[[1]]`}, wantUpdate: 1},
		{name: "against an empty accepted update", over: []string{`A:[4]`}, push: []string{`X:[[1]]`}, wantUpdate: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			withTimeout(t, "SequentialRebase", func() {
				got, err := SequentialRebase(mustUpdates(t, tt.push...), mustUpdates(t, tt.over...))
				var ice *InvalidChangesError
				if !errors.As(err, &ice) || ice.Update != tt.wantUpdate {
					t.Errorf("SequentialRebase = %s, %v; want an InvalidChangesError for update %d", updatesString(got), err, tt.wantUpdate)
				}
			})
		})
	}
}
