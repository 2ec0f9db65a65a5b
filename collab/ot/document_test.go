package ot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"duet/collab/ot/ottest"
)

// pushSpec is one push in a test: a version and "clientID:changes" updates.
type pushSpec struct {
	version int
	updates []string
}

func newTestDocument(t testing.TB, doc string, lim Limits, history ...pushSpec) *Document {
	t.Helper()
	d := NewDocument(State{Text: NewText(doc)}, lim)
	for i, p := range history {
		if _, _, err := commitPush(d, p.version, mustUpdates(t, p.updates...)); err != nil {
			t.Fatalf("history push %d: %v", i, err)
		}
	}
	return d
}

// commitPush prepares a push and commits it at once, as a caller with nothing
// to store in between would.
func commitPush(d *Document, version int, updates []Update) (from int, accepted []Update, err error) {
	p, err := d.Prepare(version, updates)
	if err != nil {
		return p.From, nil, err
	}
	d.Commit(p)
	return p.From, p.Accepted, nil
}

// documentState is everything observable about a document, to check that a
// refused push changed nothing.
func documentState(t testing.TB, d *Document) string {
	t.Helper()
	snap := d.State()
	log, err := d.Since(0)
	if err != nil {
		log = nil // trimmed; the text and version still say a lot
	}
	return fmt.Sprintf("v%d %s [%s]", snap.Version, snap.Text.AppendJSON(nil), updatesString(log))
}

func TestDocumentPush(t *testing.T) {
	t.Parallel()
	abcde := []pushSpec{{0, []string{`A:[[0,"q"],5]`}}} // on "abcde"
	tests := []struct {
		name         string
		doc          string
		lim          Limits
		history      []pushSpec
		version      int
		push         []string
		wantFrom     int
		wantAccepted []string
		wantText     string
		wantErr      []error // all must match; nil for success
	}{
		{
			name: "at the current version", doc: "print(1)\n",
			version: 0, push: []string{`X:[6,[1,"2"],2]`},
			wantFrom: 0, wantAccepted: []string{`X:[6,[1,"2"],2]`}, wantText: "print(2)\n",
		},
		{
			name: "CRLF initial content counts one unit per break", doc: "a\r\nb",
			version: 0, push: []string{`X:[2,[0,"c"],1]`},
			wantAccepted: []string{`X:[2,[0,"c"],1]`}, wantText: "a\ncb",
		},
		{
			name: "emoji positions are UTF-16 units", doc: "😀x",
			version: 0, push: []string{`X:[2,[1,"y"]]`},
			wantAccepted: []string{`X:[2,[1,"y"]]`}, wantText: "😀y",
		},
		{
			name: "CJK", doc: "中文",
			version: 0, push: []string{`X:[1,[1,"国"]]`},
			wantAccepted: []string{`X:[1,[1,"国"]]`}, wantText: "中国",
		},
		{
			name: "empty document", doc: "",
			version: 0, push: []string{`X:[[0,"hello",""]]`},
			wantAccepted: []string{`X:[[0,"hello",""]]`}, wantText: "hello\n",
		},
		{
			name: "several updates in order", doc: "ab",
			version: 0, push: []string{`X:[2,[0,"c"]]`, `X:[[1],2]`},
			wantAccepted: []string{`X:[2,[0,"c"]]`, `X:[[1],2]`}, wantText: "bc",
		},
		{
			name: "empty changes are real updates", doc: "ab",
			version: 0, push: []string{`X:[2]`},
			wantAccepted: []string{`X:[2]`}, wantText: "ab",
		},
		{
			name: "stale version is rebased", doc: "abcde", history: abcde,
			version: 0, push: []string{`X:[[0,"r"],5]`, `X:[1,[0,"s"],5]`},
			wantFrom: 1, wantAccepted: []string{`X:[1,[0,"r"],5]`, `X:[2,[0,"s"],5]`}, wantText: "qrsabcde",
		},
		{
			name: "a resent update is deduplicated", doc: "abcde", history: []pushSpec{{0, []string{`X:[[0,"r"],5]`}}},
			version: 0, push: []string{`X:[[0,"r"],5]`, `X:[1,[0,"s"],5]`},
			wantFrom: 1, wantAccepted: []string{`X:[1,[0,"s"],5]`}, wantText: "rsabcde",
		},
		{
			name: "all deduplicated: nothing accepted", doc: "abcde", history: []pushSpec{{0, []string{`X:[[0,"r"],5]`}}},
			version: 0, push: []string{`X:[[0,"r"],5]`},
			wantFrom: 1, wantAccepted: []string{}, wantText: "rabcde",
		},
		{
			name: "version ahead", doc: "abcde",
			version: 1, push: []string{`X:[5]`},
			wantErr: []error{ErrVersionAhead},
		},
		{
			name: "negative version", doc: "abcde",
			version: -1, push: []string{`X:[5]`},
			wantErr: []error{ErrInvalidVersion},
		},
		{
			name: "too short for the document", doc: "abcde",
			version: 0, push: []string{`X:[4]`},
			wantErr: []error{ErrInvalidChanges},
		},
		{
			name: "counted in code points instead of UTF-16 units", doc: "😀",
			version: 0, push: []string{`X:[[1,"x"]]`},
			wantErr: []error{ErrInvalidChanges},
		},
		{
			name: "second update does not follow the first", doc: "abcde",
			version: 0, push: []string{`X:[5]`, `X:[4]`},
			wantErr: []error{ErrInvalidChanges},
		},
		{
			name: "stale push that fits the current document but not its version", doc: "abcde", history: abcde,
			version: 0, push: []string{`X:[6]`},
			wantErr: []error{ErrInvalidChanges},
		},
		{
			name: "updates from two clients", doc: "ab",
			version: 0, push: []string{`X:[2]`, `Y:[2]`},
			wantErr: []error{ErrInvalidChanges},
		},
		{
			name: "over the length limit", doc: "abcde", lim: Limits{MaxLength: 6},
			version: 0, push: []string{`X:[5,[0,"xy"]]`},
			wantErr: []error{ErrDocTooLarge},
		},
		{
			name: "over the length limit in an intermediate update", doc: "abcde", lim: Limits{MaxLength: 6},
			version: 0, push: []string{`X:[5,[0,"xy"]]`, `X:[[2],5]`},
			wantErr: []error{ErrDocTooLarge},
		},
		{
			name: "up to the length limit", doc: "abcde", lim: Limits{MaxLength: 7},
			version: 0, push: []string{`X:[5,[0,"xy"]]`},
			wantAccepted: []string{`X:[5,[0,"xy"]]`}, wantText: "abcdexy",
		},
		{
			name: "over the length limit after rebasing", doc: "abcde", lim: Limits{MaxLength: 6}, history: abcde,
			version: 0, push: []string{`X:[5,[0,"x"]]`},
			wantErr: []error{ErrDocTooLarge},
		},
		{
			name: "an oversized document may shrink", doc: "abcdefgh", lim: Limits{MaxLength: 4},
			version: 0, push: []string{`X:[[1],7]`},
			wantAccepted: []string{`X:[[1],7]`}, wantText: "bcdefgh",
		},
		{
			name: "an oversized document may not grow", doc: "abcdefgh", lim: Limits{MaxLength: 4},
			version: 0, push: []string{`X:[[1,"xy"],7]`},
			wantErr: []error{ErrDocTooLarge},
		},
		{
			name: "rebase over the work limit", doc: "abcde", lim: Limits{MaxRebaseWork: 5}, // 3 parts, 2 updates behind
			history: []pushSpec{{0, []string{`A:[[0,"q"],5]`}}, {1, []string{`A:[[0,"q"],6]`}}},
			version: 0, push: []string{`X:[1,[1],3]`},
			wantErr: []error{ErrRebaseTooCostly},
		},
		{
			name: "rebase up to the work limit", doc: "abcde", lim: Limits{MaxRebaseWork: 6},
			history: []pushSpec{{0, []string{`A:[[0,"q"],5]`}}, {1, []string{`A:[[0,"q"],6]`}}},
			version: 0, push: []string{`X:[1,[1],3]`},
			wantFrom: 2, wantAccepted: []string{`X:[3,[1],3]`}, wantText: "qqacde",
		},
		{
			name: "too many parts", doc: "abcde", lim: Limits{MaxParts: 2},
			version: 0, push: []string{`X:[1,[1],3]`},
			wantErr: []error{ErrTooManyChanges, ErrInvalidChanges},
		},
		{
			name: "too many updates", doc: "abcde", lim: Limits{MaxUpdates: 1},
			version: 0, push: []string{`X:[5]`, `X:[5]`},
			wantErr: []error{ErrTooManyChanges, ErrInvalidChanges},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newTestDocument(t, tt.doc, tt.lim, tt.history...)
			before := documentState(t, d)
			from, accepted, err := commitPush(d, tt.version, mustUpdates(t, tt.push...))
			if tt.wantErr != nil {
				for _, want := range tt.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("Push(v=%d) error = %v, want %v", tt.version, err, want)
					}
				}
				if after := documentState(t, d); after != before {
					t.Errorf("refused Push changed the document:\n before %s\n after  %s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("Push(v=%d) error = %v", tt.version, err)
			}
			if from != tt.wantFrom {
				t.Errorf("Push(v=%d) from = %d, want %d", tt.version, from, tt.wantFrom)
			}
			if got, want := updatesString(accepted), strings.Join(tt.wantAccepted, " "); got != want {
				t.Errorf("Push(v=%d) accepted = %s, want %s", tt.version, got, want)
			}
			snap := d.State()
			if snap.Text.String() != tt.wantText || snap.Version != from+len(accepted) || d.Version() != snap.Version {
				t.Errorf("after Push: text %q version %d, want %q version %d", snap.Text, snap.Version, tt.wantText, from+len(accepted))
			}
			log, err := d.Since(from)
			if err != nil || updatesString(log) != updatesString(accepted) {
				t.Errorf("Since(%d) = %s, %v; want the accepted updates", from, updatesString(log), err)
			}
		})
	}
}

func TestDocumentPushKeepsUserAndTime(t *testing.T) {
	t.Parallel()
	d := newTestDocument(t, "ab", Limits{}, pushSpec{0, []string{`A:[2,[0,"x"]]`}})
	when := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	push := mustUpdates(t, `X:[[0,"y"],2]`)
	push[0].UserID, push[0].Time = "user-1", when
	_, accepted, err := commitPush(d, 0, push)
	if err != nil {
		t.Fatal(err)
	}
	log, err := d.Since(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range [][]Update{accepted, log} {
		if len(u) != 1 || u[0].UserID != "user-1" || !u[0].Time.Equal(when) || u[0].ClientID != "X" {
			t.Errorf("accepted update = %+v, want client X, user-1 at %v", u, when)
		}
	}
	// The caller's slices are not the document's: changing them changes nothing.
	accepted[0].UserID = "someone else"
	push[0].Changes = nil
	if log, _ := d.Since(1); log[0].UserID != "user-1" {
		t.Errorf("changing the returned slice changed the log")
	}
}

// TestDocumentPrepareCommit: Prepare changes nothing, whatever it answers;
// Commit then applies exactly what was prepared, and refuses (by panicking) a
// preparation the document has moved past.
func TestDocumentPrepareCommit(t *testing.T) {
	t.Parallel()
	d := newTestDocument(t, "ab", Limits{}, pushSpec{0, []string{`X:[2,[0,"c"]]`}})
	before := documentState(t, d)
	p, err := d.Prepare(1, mustUpdates(t, `Y:[3,[0,"d"]]`))
	if err != nil {
		t.Fatal(err)
	}
	if after := documentState(t, d); after != before {
		t.Errorf("Prepare changed the document (a store failing now would leave it ahead):\n before %s\n after  %s", before, after)
	}
	if p.From != 1 || updatesString(p.Accepted) != `Y:[3,[0,"d"]]` {
		t.Errorf("Prepare(v=1) = from %d, accepted %s; want from 1, Y:[3,[0,\"d\"]]", p.From, updatesString(p.Accepted))
	}
	// A second preparation at the same version, dropped: as if the store refused it.
	if _, err := d.Prepare(1, mustUpdates(t, `Z:[[0,"e"],3]`)); err != nil {
		t.Fatal(err)
	}
	d.Commit(p)
	if got := d.Text().String(); got != "abcd" || d.Version() != 2 {
		t.Errorf("after Commit: %q at version %d, want \"abcd\" at 2", got, d.Version())
	}

	// A resend that is all duplicates prepares nothing, and committing it does nothing.
	resend, err := d.Prepare(0, mustUpdates(t, `X:[2,[0,"c"]]`))
	if err != nil || len(resend.Accepted) != 0 || resend.From != 2 {
		t.Errorf("resend: from %d, accepted %v, %v; want from 2, nothing", resend.From, resend.Accepted, err)
	}
	before = documentState(t, d)
	d.Commit(resend)
	if after := documentState(t, d); after != before {
		t.Errorf("committing nothing changed the document:\n before %s\n after  %s", before, after)
	}

	// Committing a preparation the document has moved past would apply changes
	// to a text they were not made for.
	stale, err := d.Prepare(1, mustUpdates(t, `W:[3,[0,"!"]]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := commitPush(d, 2, mustUpdates(t, `V:[4,[0,"?"]]`)); err != nil {
		t.Fatal(err)
	}
	before = documentState(t, d)
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Commit of a stale preparation did not panic")
			}
		}()
		d.Commit(stale)
	}()
	if after := documentState(t, d); after != before {
		t.Errorf("a refused Commit changed the document:\n before %s\n after  %s", before, after)
	}
}

func TestDocumentSinceAndResync(t *testing.T) {
	t.Parallel()
	d := newTestDocument(t, "", Limits{TailSize: 2})
	for i := range 5 {
		if _, _, err := commitPush(d, i, mustUpdates(t, fmt.Sprintf(`X:[[0,"%d"]%s]`, i, lenSuffix(i)))); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
	// Five updates with a tail of two: at least the last two stay in memory,
	// at most four.
	tests := []struct {
		version int
		want    int // updates returned
		wantErr error
	}{
		{version: 5, want: 0},
		{version: 4, want: 1},
		{version: 3, want: 2},
		{version: 0, wantErr: ErrResync},
		{version: 6, wantErr: ErrVersionAhead},
		{version: -1, wantErr: ErrInvalidVersion},
	}
	for _, tt := range tests {
		got, err := d.Since(tt.version)
		if !errors.Is(err, tt.wantErr) || len(got) != tt.want {
			t.Errorf("Since(%d) = %d updates, %v; want %d, %v", tt.version, len(got), err, tt.want, tt.wantErr)
		}
	}
	if _, _, err := commitPush(d, 0, mustUpdates(t, `Y:[]`)); !errors.Is(err, ErrResync) {
		t.Errorf("Push(v=0) behind the tail: error = %v, want ErrResync", err)
	}
	if _, err := d.MapPos(0, 0, 1); !errors.Is(err, ErrResync) {
		t.Errorf("MapPos(v=0) behind the tail: error = %v, want ErrResync", err)
	}
	if got := d.State().Text.String(); got != "43210" {
		t.Errorf("text = %q, want %q", got, "43210")
	}
}

// TestDocumentTailBytes floods a document as a hostile client would, inserting
// 30,000 units and deleting them again and again: what the tail holds in memory
// stays within TailBytes, while the newest updates are still there for clients
// one step behind.
func TestDocumentTailBytes(t *testing.T) {
	t.Parallel()
	const budget, big = 200_000, 30_000
	d := newTestDocument(t, "", Limits{TailSize: 1000, TailBytes: budget})
	insert := mustUpdates(t, fmt.Sprintf(`X:[[0,%q]]`, strings.Repeat("x", big)))
	if n := insert[0].MemSize(); n < 2*big {
		t.Fatalf("MemSize() of an insertion of %d units = %d, want at least %d", big, n, 2*big)
	}
	for i := range 40 {
		if _, _, err := commitPush(d, 2*i, insert); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		if _, _, err := commitPush(d, 2*i+1, mustUpdates(t, fmt.Sprintf(`X:[[%d]]`, big))); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	held, oldest := 0, d.Version()
	for ; oldest > 0; oldest-- {
		if _, err := d.Since(oldest - 1); err != nil {
			break
		}
	}
	kept, _ := d.Since(oldest)
	for _, u := range kept {
		held += u.MemSize()
	}
	if held > budget || oldest == 0 {
		t.Errorf("the tail holds %d bytes in %d updates (from version %d), want at most %d", held, len(kept), oldest, budget)
	}
	if d.Version()-oldest < 2 {
		t.Errorf("the tail keeps %d updates, want the newest insertion and deletion at least", d.Version()-oldest)
	}
	// What no longer fits is asked of the store: a push behind memory is refused.
	if _, _, err := commitPush(d, 0, insert); !errors.Is(err, ErrResync) {
		t.Errorf("Push(v=0) behind the tail: error = %v, want ErrResync", err)
	}

	// A restored document keeps what fits too: the newest updates first.
	r := NewDocument(State{Version: d.Version(), Text: d.Text(), Tail: kept}, Limits{TailBytes: big})
	if got, err := r.Since(d.Version() - 1); err != nil || len(got) != 1 {
		t.Errorf("restored with room for one deletion: Since(v-1) = %d updates, %v; want the deletion", len(got), err)
	}
	if _, err := r.Since(d.Version() - 2); !errors.Is(err, ErrResync) {
		t.Errorf("restored with no room for an insertion: Since(v-2) = %v, want ErrResync", err)
	}
}

// lenSuffix returns the kept part after an insertion at 0 into a document of
// length n.
func lenSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return "," + strconv.Itoa(n)
}

func TestDocumentMapPos(t *testing.T) {
	t.Parallel()
	// "abc" -> insert "XY" at 1 -> delete "b" (now at 3..4).
	d := newTestDocument(t, "abc", Limits{},
		pushSpec{0, []string{`A:[1,[0,"XY"],2]`}},
		pushSpec{1, []string{`A:[3,[1],1]`}})
	tests := []struct {
		version, pos, assoc int
		want                int
		wantErr             error
	}{
		{version: 0, pos: 0, assoc: 1, want: 0},
		{version: 0, pos: 1, assoc: -1, want: 1}, // stays before the insertion
		{version: 0, pos: 1, assoc: 1, want: 3},  // moves after it
		{version: 0, pos: 2, assoc: 1, want: 3},  // "b" was deleted
		{version: 0, pos: 3, assoc: 1, want: 4},
		{version: 1, pos: 5, assoc: 1, want: 4},
		{version: 2, pos: 4, assoc: 1, want: 4},
		{version: 0, pos: 4, wantErr: ErrPositionOutOfRange},
		{version: 0, pos: -1, wantErr: ErrPositionOutOfRange},
		{version: 3, pos: 0, wantErr: ErrVersionAhead},
	}
	for _, tt := range tests {
		got, err := d.MapPos(tt.version, tt.pos, tt.assoc)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("MapPos(v=%d, %d, %d) = %d, %v; want %d, %v", tt.version, tt.pos, tt.assoc, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewDocumentRestore(t *testing.T) {
	t.Parallel()
	tail := mustUpdates(t, `A:[[0,"x"],2]`, `B:[3,[0,"y"]]`) // "ab" -> "xab" -> "xaby"
	tests := []struct {
		name      string
		st        State
		wantSince int // the oldest version Since serves
	}{
		{name: "consistent tail kept", st: State{Version: 7, Text: NewText("xaby"), Tail: tail}, wantSince: 5},
		{name: "no tail", st: State{Version: 7, Text: NewText("xaby")}, wantSince: 7},
		{name: "tail not ending at the text is dropped", st: State{Version: 7, Text: NewText("xab"), Tail: tail}, wantSince: 7},
		{name: "tail with a gap is dropped", st: State{Version: 7, Text: NewText("xaby"), Tail: []Update{tail[1], tail[1]}}, wantSince: 7},
		{name: "tail longer than the version is cut", st: State{Version: 1, Text: NewText("xaby"), Tail: tail}, wantSince: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewDocument(tt.st, Limits{})
			if d.Version() != tt.st.Version || !d.Text().Equal(tt.st.Text) {
				t.Errorf("restored %q v%d, want %q v%d", d.Text(), d.Version(), tt.st.Text, tt.st.Version)
			}
			if _, err := d.Since(tt.wantSince); err != nil {
				t.Errorf("Since(%d) = %v, want the tail", tt.wantSince, err)
			}
			if tt.wantSince > 0 {
				if _, err := d.Since(tt.wantSince - 1); !errors.Is(err, ErrResync) {
					t.Errorf("Since(%d) = %v, want ErrResync", tt.wantSince-1, err)
				}
			}
			// A restored document takes pushes at its version.
			n := tt.st.Text.Len()
			if _, _, err := commitPush(d, tt.st.Version, mustUpdates(t, fmt.Sprintf(`Z:[%d,[0,"!"]]`, n))); err != nil {
				t.Errorf("Push at the restored version: %v", err)
			}
		})
	}
}

func TestDocumentState(t *testing.T) {
	t.Parallel()
	d := newTestDocument(t, "x", Limits{})
	snap := d.State()
	if snap.Version != 0 || snap.Text.String() != "x" || snap.Tail != nil {
		t.Errorf("State = %+v", snap)
	}
	if _, _, err := commitPush(d, 0, mustUpdates(t, `X:[[1,"y"]]`)); err != nil {
		t.Fatal(err)
	}
	if snap.Text.String() != "x" {
		t.Errorf("a state changed after a push: %q", snap.Text)
	}
}

// lockedDocument serialises every call to a Document under one lock, as the
// hub's room does.
type lockedDocument struct {
	mu sync.Mutex
	d  *Document
}

func (l *lockedDocument) push(version int, updates []Update) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _, err := commitPush(l.d, version, updates)
	return err
}

func (l *lockedDocument) Since(version int) ([]Update, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d.Since(version)
}

func (l *lockedDocument) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d.State()
}

func (l *lockedDocument) MapPos(version, pos, assoc int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d.MapPos(version, pos, assoc)
}

// TestDocumentConcurrent runs collab clients on goroutines against one
// document behind one lock, with readers alongside (run it with -race). Every
// client pushes from whatever version it has, so most pushes are rebased, and
// in the end every client must hold the authority's text.
func TestDocumentConcurrent(t *testing.T) {
	t.Parallel()
	const clients, edits = 4, 60
	d := &lockedDocument{d: NewDocument(State{Text: NewText("start\n")}, Limits{})}
	var wg sync.WaitGroup
	errs := make(chan error, clients+1)
	done := make(chan struct{})
	ends := make([]*simClient, clients)
	for i := range clients {
		c := &simClient{id: "client-" + strconv.Itoa(i), base: NewText("start\n")}
		ends[i] = c
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			if err := runConcurrentClient(d, c, rng, edits); err != nil {
				errs <- fmt.Errorf("%s: %w", c.id, err)
			}
		})
	}
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			snap := d.State()
			if _, err := d.Since(snap.Version); err != nil {
				errs <- fmt.Errorf("Since(%d): %w", snap.Version, err)
				return
			}
			if _, err := d.MapPos(max(snap.Version-3, 0), 0, 1); err != nil {
				errs <- fmt.Errorf("MapPos: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Catch-up, one client at a time: everyone ends with the authority's text.
	final := d.State()
	log, err := d.Since(0)
	if err != nil {
		t.Fatal(err)
	}
	text := NewText("start\n")
	for _, u := range log {
		if text, err = u.Changes.Apply(text); err != nil {
			t.Fatalf("log does not apply: %v", err)
		}
	}
	if !text.Equal(final.Text) || len(log) != final.Version {
		t.Fatalf("the log does not lead to the text")
	}
	for _, c := range ends {
		if err := pullAll(d, c); err != nil {
			t.Fatal(err)
		}
		if len(c.pending) != 0 || c.version != final.Version || !c.base.Equal(final.Text) {
			t.Errorf("%s: version %d, %d pending, text %q; want version %d, none pending, %q",
				c.id, c.version, len(c.pending), c.base, final.Version, final.Text)
		}
	}
}

// runConcurrentClient edits, pushes and pulls like a collab client until all
// its edits are confirmed. It returns errors instead of failing the test,
// since it runs on its own goroutine.
func runConcurrentClient(d *lockedDocument, c *simClient, rng *rand.Rand, edits int) error {
	for made := 0; made < edits || len(c.pending) > 0; {
		if made < edits && rng.IntN(2) == 0 {
			local := c.base
			for _, u := range c.pending {
				var err error
				if local, err = u.Changes.Apply(local); err != nil {
					return err
				}
			}
			ch, err := ParseChangeSet(ottest.ChangeSetJSON(rng, local.Len(), 4))
			if err != nil {
				return err
			}
			c.pending = append(c.pending, Update{ClientID: c.id, Changes: ch})
			made++
		}
		if len(c.pending) > 0 {
			if err := d.push(c.version, c.pending); err != nil && !errors.Is(err, ErrDocTooLarge) {
				return fmt.Errorf("Push(v=%d): %w", c.version, err)
			}
		}
		if err := pullAll(d, c); err != nil {
			return err
		}
	}
	return nil
}

// pullAll has c receive every update it lacks, one at a time.
func pullAll(d interface{ Since(int) ([]Update, error) }, c *simClient) error {
	updates, err := d.Since(c.version)
	if err != nil {
		return fmt.Errorf("Since(%d): %w", c.version, err)
	}
	for _, u := range updates {
		if c.base, err = u.Changes.Apply(c.base); err != nil {
			return fmt.Errorf("received update does not apply: %w", err)
		}
		c.version++
		if len(c.pending) > 0 && u.ClientID == c.id {
			c.pending = c.pending[1:]
			continue
		}
		if c.pending, err = SequentialRebase(c.pending, []Update{u}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkDocumentPush measures Push: a stream of one-unit edits on a 1 MiB
// document (the case that picked the rope), and pushes on a small document
// made at the current version or rebased over k updates accepted since.
func BenchmarkDocumentPush(b *testing.B) {
	b.Run("1MiB-single-char-stream", func(b *testing.B) {
		const size = 1<<20 - 16
		d := NewDocument(State{Text: NewText(strings.Repeat("abcdefgh\n😀", size/11))}, Limits{})
		n := d.State().Text.Len()
		rng := rand.New(rand.NewPCG(1, 2))
		// Alternate an insertion and a deletion so the length stays n or n+1.
		var sets [2][]*ChangeSet
		for range 512 {
			p := 1 + rng.IntN(n-1) // no zero-length kept part at either end
			sets[0] = append(sets[0], mustChangeSet(b, fmt.Sprintf(`[%d,[0,"x"],%d]`, p, n-p)))
			p = 1 + rng.IntN(n-1)
			sets[1] = append(sets[1], mustChangeSet(b, fmt.Sprintf(`[%d,[1],%d]`, p, n-p)))
		}
		i := 0
		for b.Loop() {
			c := sets[i%2][i/2%512]
			if _, _, err := commitPush(d, d.Version(), []Update{{ClientID: "x", Changes: c}}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, k := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("small-rebase-over-%d", k), func(b *testing.B) {
			d := NewDocument(State{Text: NewText(strings.Repeat("line of code\n", 200))}, Limits{})
			n := d.State().Text.Len()
			// Other clients' edits and ours, made k versions ago; all keep
			// the length, so any of them applies at any version.
			other := []*ChangeSet{
				mustChangeSet(b, fmt.Sprintf(`[100,[2,"ab"],%d]`, n-102)),
				mustChangeSet(b, fmt.Sprintf(`[1000,[2,"cd"],%d]`, n-1002)),
			}
			mine := mustChangeSet(b, fmt.Sprintf(`[500,[1,"x"],%d]`, n-501))
			for range k {
				if _, _, err := commitPush(d, d.Version(), []Update{{ClientID: "o", Changes: other[d.Version()%2]}}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				// Our edit goes in from k versions ago, then another client's
				// edit keeps the distance at k.
				if _, _, err := commitPush(d, d.Version()-k, []Update{{ClientID: "me", Changes: mine}}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, _, err := commitPush(d, d.Version(), []Update{{ClientID: "o", Changes: other[d.Version()%2]}}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
