package ot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"duet/collab/ot/ottest"
)

// Native fuzz tests. Run each one with, for example:
//
//	go test ./collab/ot -run '^$' -fuzz '^FuzzCompose$' -fuzztime 5m -parallel 1
//
// Inputs that once found a bug stay in testdata/fuzz/<FuzzName> and run with
// every go test.

// genChangeSet returns a random valid change set over a document of length n.
func genChangeSet(t testing.TB, src ottest.Source, n, maxParts int) *ChangeSet {
	t.Helper()
	data := ottest.ChangeSetJSON(src, n, maxParts)
	c, err := ParseChangeSet(data)
	if err != nil {
		t.Fatalf("generated change set %s refused: %v", data, err)
	}
	if c.Len() != n {
		t.Fatalf("generated change set %s has length %d, want %d", data, c.Len(), n)
	}
	return c
}

// addVectorSeeds adds the change sets of the vector files as seeds, when the
// vectors are there (they are not copied into the corpus).
func addVectorSeeds(f *testing.F, file string, fields ...string) {
	f.Helper()
	fh, err := os.Open(filepath.Join(vectorDir(), file))
	if err != nil {
		return
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		for _, field := range fields {
			if raw, ok := rec[field]; ok {
				f.Add([]byte(raw))
			}
		}
	}
}

// FuzzParseChangeSet: parsing never panics, refuses with ErrInvalidChanges,
// and what it accepts serializes to JSON that parses back to the same set.
func FuzzParseChangeSet(f *testing.F) {
	for _, s := range []string{`[]`, `[5]`, `[[2,"x","y"],3,[0,"😀"],1,[2],2]`, `[[0,"\ud83d"],1]`, `[[2,""],1]`,
		`[0]`, `[-1]`, `[1.5]`, `[[1,"a\nb"]]`, `{"a":1}`, `[9007199254740991,1]`} {
		f.Add([]byte(s))
	}
	addVectorSeeds(f, "apply.jsonl", "changes")
	addVectorSeeds(f, "invalid.jsonl", "changes")
	addVectorSeeds(f, "lenient.jsonl", "changes")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseChangeSet(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidChanges) {
				t.Fatalf("ParseChangeSet(%q) error = %v, want ErrInvalidChanges", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("ParseChangeSet accepted invalid JSON %q", data)
		}
		out := c.AppendJSON(nil)
		if !json.Valid(out) {
			t.Fatalf("AppendJSON = %q, not valid JSON", out)
		}
		back, err := ParseChangeSet(out)
		if err != nil {
			t.Fatalf("ParseChangeSet(%s) of our own output: %v", out, err)
		}
		if again := back.AppendJSON(nil); !bytes.Equal(again, out) {
			t.Fatalf("round trip %s -> %s", out, again)
		}
		if back.Len() != c.Len() || back.NewLen() != c.NewLen() || back.Empty() != c.Empty() {
			t.Fatalf("round trip changed Len/NewLen/Empty: %d/%d/%v -> %d/%d/%v",
				c.Len(), c.NewLen(), c.Empty(), back.Len(), back.NewLen(), back.Empty())
		}
		if c.Len() <= 1<<16 && c.NewLen() <= 1<<16 {
			doc := TextFromUTF16(make([]uint16, c.Len()))
			got, err := c.Apply(doc)
			if err != nil || got.Len() != c.NewLen() {
				t.Fatalf("Apply to a document of length %d: length %d, %v; want %d", c.Len(), got.Len(), err, c.NewLen())
			}
		}
	})
}

// FuzzCompose: Apply(Compose(a, b)) == Apply(b, Apply(a)), composition is
// associative in effect, and mis-sized sets are refused.
func FuzzCompose(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x03abc\x02\x01\x00\x04\x04\x04\x03\x03"))
	f.Add(bytes.Repeat([]byte{3, 4, 1, 0, 2}, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := ottest.NewBytes(data)
		doc := TextFromUTF16(ottest.Units(src, 12))
		a := genChangeSet(t, src, doc.Len(), 8)
		docA, err := a.Apply(doc)
		if err != nil {
			t.Fatalf("a.Apply: %v", err)
		}
		b := genChangeSet(t, src, docA.Len(), 8)
		docAB, err := b.Apply(docA)
		if err != nil {
			t.Fatalf("b.Apply: %v", err)
		}
		ab, err := a.Compose(b)
		if err != nil {
			t.Fatalf("%v.Compose(%v): %v", a, b, err)
		}
		if ab.Len() != a.Len() || ab.NewLen() != b.NewLen() {
			t.Fatalf("%v.Compose(%v) = %v: lengths %d->%d, want %d->%d", a, b, ab, ab.Len(), ab.NewLen(), a.Len(), b.NewLen())
		}
		got, err := ab.Apply(doc)
		if err != nil || !got.Equal(docAB) {
			t.Fatalf("%v.Compose(%v) = %v applied to %s = %s, %v; want %s", a, b, ab, doc.AppendJSON(nil),
				got.AppendJSON(nil), err, docAB.AppendJSON(nil))
		}
		c := genChangeSet(t, src, docAB.Len(), 8)
		want, err := c.Apply(docAB)
		if err != nil {
			t.Fatalf("c.Apply: %v", err)
		}
		bc, err := b.Compose(c)
		if err != nil {
			t.Fatalf("b.Compose(c): %v", err)
		}
		left, err := ab.Compose(c)
		if err != nil {
			t.Fatalf("ab.Compose(c): %v", err)
		}
		right, err := a.Compose(bc)
		if err != nil {
			t.Fatalf("a.Compose(bc): %v", err)
		}
		for _, s := range []*ChangeSet{left, right} {
			if got, err := s.Apply(doc); err != nil || !got.Equal(want) {
				t.Fatalf("(a∘b)∘c or a∘(b∘c) = %v gives %s, %v; want %s", s, got.AppendJSON(nil), err, want.AppendJSON(nil))
			}
		}
		// A set over another length is refused, never looped on.
		other := genChangeSet(t, src, docA.Len()+1+src.IntN(3), 4)
		if _, err := a.Compose(other); !errors.Is(err, ErrInvalidChanges) {
			t.Fatalf("%v.Compose(%v) error = %v, want ErrInvalidChanges", a, other, err)
		}
	})
}

// FuzzMap: a and b mapped over each other converge, lengths stay consistent,
// MapPos stays in range, and mis-sized sets are refused instead of looping.
func FuzzMap(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x03abc\x02\x01\x00\x04\x04\x04\x03\x03\x01"))
	f.Add(bytes.Repeat([]byte{4, 2, 1, 0, 3}, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := ottest.NewBytes(data)
		doc := TextFromUTF16(ottest.Units(src, 12))
		a := genChangeSet(t, src, doc.Len(), 8)
		b := genChangeSet(t, src, doc.Len(), 8)
		before := src.IntN(2) == 0
		aMapped, err := a.Map(b, before)
		if err != nil {
			t.Fatalf("%v.Map(%v, %v): %v", a, b, before, err)
		}
		bMapped, err := b.Map(a, !before)
		if err != nil {
			t.Fatalf("%v.Map(%v, %v): %v", b, a, !before, err)
		}
		if aMapped.Len() != b.NewLen() || bMapped.Len() != a.NewLen() || aMapped.NewLen() != bMapped.NewLen() {
			t.Fatalf("lengths: a %d->%d, b %d->%d, a mapped %d->%d, b mapped %d->%d", a.Len(), a.NewLen(),
				b.Len(), b.NewLen(), aMapped.Len(), aMapped.NewLen(), bMapped.Len(), bMapped.NewLen())
		}
		viaB, err := applyAll(doc, b, aMapped)
		if err != nil {
			t.Fatal(err)
		}
		viaA, err := applyAll(doc, a, bMapped)
		if err != nil {
			t.Fatal(err)
		}
		if !viaA.Equal(viaB) {
			t.Fatalf("doc %s, a %v, b %v, before %v: a then b mapped = %s, b then a mapped = %s",
				doc.AppendJSON(nil), a, b, before, viaA.AppendJSON(nil), viaB.AppendJSON(nil))
		}
		for pos := 0; pos <= a.Len(); pos++ {
			for mode := MapSimple; mode <= MapTrackAfter; mode++ {
				assoc := 1 - 2*src.IntN(2)
				got, deleted, err := a.MapPos(pos, assoc, mode)
				if err != nil || got < 0 || got > a.NewLen() || deleted && mode == MapSimple {
					t.Fatalf("%v.MapPos(%d, %d, %d) = %d, %v, %v", a, pos, assoc, mode, got, deleted, err)
				}
			}
		}
		if _, _, err := a.MapPos(a.Len()+1, 1, MapSimple); !errors.Is(err, ErrPositionOutOfRange) {
			t.Fatalf("MapPos past the end: error = %v, want ErrPositionOutOfRange", err)
		}
		// Mis-sized: the library's map can loop forever here.
		other := genChangeSet(t, src, doc.Len()+1+src.IntN(3), 8)
		if _, err := a.Map(other, before); !errors.Is(err, ErrInvalidChanges) {
			t.Fatalf("%v.Map(%v) error = %v, want ErrInvalidChanges", a, other, err)
		}
		if _, err := mapSet(a, other, before); !errors.Is(err, ErrInvalidChanges) {
			t.Fatalf("mapSet(%v, %v) error = %v, want ErrInvalidChanges", a, other, err)
		}
		if _, err := mapSet(other, a, before); !errors.Is(err, ErrInvalidChanges) {
			t.Fatalf("mapSet(%v, %v) error = %v, want ErrInvalidChanges", other, a, err)
		}
	})
}

// FuzzDocument drives a Document with simulated @codemirror/collab clients
// (which push stale versions, resend, and pull partially) and with pushes that
// do not fit. The authority must refuse every push that does not fit, change
// nothing when it refuses, and every client must end with its document.
func FuzzDocument(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add(bytes.Repeat([]byte{0, 3, 1, 7, 2, 5, 9, 4}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := ottest.NewBytes(data)
		sim := newSim(t, src, 2+src.IntN(3), Limits{
			MaxLength: 40 + src.IntN(40), MaxParts: 12, MaxUpdates: 4, TailSize: 2 + src.IntN(12),
		})
		for range 60 {
			sim.step(t, src)
		}
		sim.converge(t, src)
	})
}

// sim is a document with simulated clients, and the test's own record of
// everything the document accepted (what a store would hold).
type sim struct {
	d       *Document
	lim     Limits
	log     []Update
	texts   []Text // the document's text at every version
	clients []*simClient
}

func newSim(t testing.TB, src ottest.Source, clients int, lim Limits) *sim {
	t.Helper()
	initial := TextFromUTF16(ottest.Units(src, 6))
	s := &sim{d: NewDocument(State{Text: initial}, lim), lim: lim.withDefaults(), texts: []Text{initial}}
	for i := range clients {
		s.clients = append(s.clients, &simClient{id: "c" + strconv.Itoa(i), base: initial})
	}
	return s
}

// simClient is a collab client as @codemirror/collab runs one: a synced
// version and text, and unconfirmed updates on top. It receives updates one
// at a time, which the sequential rebase relies on (docs/protocol.md).
type simClient struct {
	id      string
	version int
	base    Text     // the authority's text at version
	pending []Update // unconfirmed; pending[0] applies to base
}

func (c *simClient) local(t testing.TB) Text {
	t.Helper()
	doc := c.base
	for _, u := range c.pending {
		var err error
		if doc, err = u.Changes.Apply(doc); err != nil {
			t.Fatalf("client %s: unconfirmed update does not apply: %v", c.id, err)
		}
	}
	return doc
}

// receive is receiveUpdates with one update.
func (c *simClient) receive(t testing.TB, u Update) {
	t.Helper()
	var err error
	if c.base, err = u.Changes.Apply(c.base); err != nil {
		t.Fatalf("client %s: received update does not apply: %v", c.id, err)
	}
	c.version++
	if len(c.pending) > 0 && u.ClientID == c.id {
		c.pending = c.pending[1:]
		return
	}
	if c.pending, err = SequentialRebase(c.pending, []Update{u}); err != nil {
		t.Fatalf("client %s: map unconfirmed: %v", c.id, err)
	}
}

// pull has c receive what happened since its version: from the document
// when it still has it in memory (checking it against the record), else
// from the record, as the hub would from its store. With all unset, only a
// random prefix arrives (a partial pull answer).
func (s *sim) pull(t testing.TB, c *simClient, src ottest.Source, all bool) {
	t.Helper()
	want := s.log[c.version:]
	got, err := s.d.Since(c.version)
	switch {
	case errors.Is(err, ErrResync):
		if c.version >= len(s.log)-s.lim.TailSize {
			t.Fatalf("Since(%d) = ErrResync, but the last %d updates must be in memory", c.version, s.lim.TailSize)
		}
	case err != nil:
		t.Fatalf("Since(%d): %v", c.version, err)
	case len(got) != len(want):
		t.Fatalf("Since(%d) returned %d updates, want %d", c.version, len(got), len(want))
	}
	if !all {
		want = want[:src.IntN(len(want)+1)]
	}
	for _, u := range want {
		c.receive(t, u)
	}
}

// push sends c's unconfirmed updates (at most MaxUpdates, mostly) from its
// synced version, as a collab client does.
func (s *sim) push(t testing.TB, c *simClient, src ottest.Source) {
	t.Helper()
	push := c.pending
	if len(push) > s.lim.MaxUpdates && src.IntN(4) != 0 {
		push = push[:s.lim.MaxUpdates] // each accepted one confirms the first pending
	}
	s.checkPush(t, c.version, push)
}

func (s *sim) step(t testing.TB, src ottest.Source) {
	t.Helper()
	c := s.clients[src.IntN(len(s.clients))]
	switch src.IntN(6) {
	case 0, 1: // a local edit
		local := c.local(t)
		c.pending = append(c.pending, Update{ClientID: c.id, Changes: genChangeSet(t, src, local.Len(), 6)})
	case 2:
		if len(c.pending) > 0 {
			s.push(t, c, src)
		}
	case 3, 4:
		s.pull(t, c, src, src.IntN(2) == 0)
	case 5: // a push from someone else that may not fit
		v := src.IntN(len(s.log) + 3)
		n := src.IntN(s.lim.MaxLength)
		if v < len(s.texts) && src.IntN(2) == 0 {
			n = max(s.texts[v].Len()+src.IntN(3)-1, 0)
		}
		// Intruders may share ids: deduplication then drops updates
		// without looking at them, and the push may no
		// longer fit; it must be refused, not looped on.
		id := "intruder" + strconv.Itoa(src.IntN(3))
		var push []Update
		for range 1 + src.IntN(2) {
			ch := genChangeSet(t, src, n, 6)
			push = append(push, Update{ClientID: id, Changes: ch})
			n = ch.NewLen()
		}
		s.checkPush(t, v, push)
	}
}

// converge has every client catch up and push until nothing is pending, then
// checks that all of them have the authority's document.
func (s *sim) converge(t testing.TB, src ottest.Source) {
	t.Helper()
	for range 2 * s.lim.MaxUpdates {
		for _, c := range s.clients {
			s.pull(t, c, src, true)
			if len(c.pending) > 0 {
				s.push(t, c, src)
			}
		}
	}
	final := s.d.State()
	for _, c := range s.clients {
		s.pull(t, c, src, true)
		if c.version != final.Version || !c.base.Equal(final.Text) {
			t.Fatalf("client %s at version %d has %s, the authority at %d has %s",
				c.id, c.version, c.base.AppendJSON(nil), final.Version, final.Text.AppendJSON(nil))
		}
	}
}

// checkPush pushes and checks the outcome against what the test knows: the
// document's text at every version and the limits.
func (s *sim) checkPush(t testing.TB, version int, push []Update) {
	t.Helper()
	before := s.d.State()
	p, err := s.d.Prepare(version, push)
	if after := s.d.State(); after.Version != before.Version || !after.Text.Equal(before.Text) {
		t.Fatalf("Prepare(v=%d) changed the document: %v", version, err)
	}
	from, accepted := p.From, p.Accepted
	if err == nil {
		s.d.Commit(p)
	}
	after := s.d.State()

	fits := version >= 0 && version < len(s.texts)
	if fits {
		n := s.texts[version].Len()
		for _, u := range push {
			fits = fits && u.Changes.Len() == n
			n = u.Changes.NewLen()
		}
	}
	over := len(push) > s.lim.MaxUpdates
	for _, u := range push {
		over = over || u.Changes.Parts() > s.lim.MaxParts
	}
	sharedID := false // another push with this client id was accepted since version
	if fits {
		for _, u := range s.log[version:] {
			sharedID = sharedID || u.ClientID == push[0].ClientID
		}
	}
	switch {
	case err != nil && !fits:
		if !errors.Is(err, ErrInvalidChanges) && !errors.Is(err, ErrVersionAhead) && !errors.Is(err, ErrResync) {
			t.Fatalf("Push(v=%d) of a push that does not fit: error = %v, want a refusal", version, err)
		}
	case !fits:
		t.Fatalf("Push(v=%d, %v) accepted a push that does not fit the document at that version: accepted %v",
			version, push, accepted)
	case err != nil:
		switch {
		case errors.Is(err, ErrTooManyChanges) && over:
		case errors.Is(err, ErrDocTooLarge):
		case errors.Is(err, ErrInvalidChanges) && sharedID:
		case errors.Is(err, ErrResync) && version < before.Version-s.lim.TailSize:
		default:
			t.Fatalf("Push(v=%d, %v) of a push that fits: error = %v", version, push, err)
		}
	case over:
		t.Fatalf("Push(v=%d) accepted a push over the limits", version)
	default:
		if from != before.Version {
			t.Fatalf("Push(v=%d): from = %d, want %d", version, from, before.Version)
		}
		text := before.Text
		for i, u := range accepted {
			var aerr error
			if text, aerr = u.Changes.Apply(text); aerr != nil {
				t.Fatalf("accepted update %d does not apply: %v", i, aerr)
			}
			if text.Len() > s.lim.MaxLength && text.Len() > s.texts[len(s.texts)-1].Len() {
				t.Fatalf("accepted a document of length %d over the limit %d", text.Len(), s.lim.MaxLength)
			}
			s.texts = append(s.texts, text)
			s.log = append(s.log, u)
		}
		if after.Version != before.Version+len(accepted) || !after.Text.Equal(text) {
			t.Fatalf("after Push: version %d, text %s; want %d, %s", after.Version, after.Text.AppendJSON(nil),
				before.Version+len(accepted), text.AppendJSON(nil))
		}
		return
	}
	if after.Version != before.Version || !after.Text.Equal(before.Text) {
		t.Fatalf("refused Push(v=%d) changed the document: %v", version, err)
	}
}
