package ot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The vectors in ../shared/testdata/changeset (beside the repository) were computed by the real
// @codemirror/state and @codemirror/collab. Any other directory in the same
// format (another seed, a larger scale) can be checked with
// CHANGESET_VECTORS=/path/to/dir go test ./collab/ot -run Vectors.

// vectorCheckers returns the files a vector directory must hold, with the
// function that checks one record of each.
func vectorCheckers() map[string]func(t *testing.T, line []byte) error {
	return map[string]func(t *testing.T, line []byte) error{
		"apply.jsonl":   checkApplyVector,
		"compose.jsonl": checkComposeVector,
		"map.jsonl":     checkMapVector,
		"mappos.jsonl":  checkMapPosVector,
		"rebase.jsonl":  checkRebaseVector,
		"invalid.jsonl": checkRefusedVector,
		"lenient.jsonl": checkRefusedVector,
		"session.jsonl": checkSessionVector,
	}
}

func vectorDir() string {
	if dir := os.Getenv("CHANGESET_VECTORS"); dir != "" {
		return dir
	}
	return filepath.FromSlash("../../../shared/testdata/changeset")
}

// TestVectors checks every line of every vector file. It fails, never skips,
// when the directory or a file is missing or empty: a silently skipped
// differential test is worse than none.
func TestVectors(t *testing.T) {
	dir := vectorDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("vector directory (set CHANGESET_VECTORS): %v", err)
	}
	checkers := vectorCheckers()
	seen := map[string]bool{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		seen[e.Name()] = true
		if checkers[e.Name()] == nil {
			t.Errorf("%s: unknown vector file; add a checker for it", e.Name())
		}
	}
	for _, name := range slices.Sorted(maps.Keys(checkers)) {
		if !seen[name] {
			t.Errorf("%s: missing from %s", name, dir)
		}
	}
	counts := readManifest(t, dir)
	for name, check := range checkers {
		if !seen[name] {
			continue
		}
		t.Run(strings.TrimSuffix(name, ".jsonl"), func(t *testing.T) {
			t.Parallel()
			n := checkVectorFile(t, filepath.Join(dir, name), check)
			if want, ok := counts[name]; ok && n != want {
				t.Errorf("%s: %d records, manifest.json says %d", name, n, want)
			}
		})
	}
}

// readManifest returns the record counts of manifest.json, if there is one.
func readManifest(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("no manifest.json in %s: record counts not checked", dir)
		return nil
	}
	if err != nil {
		t.Fatalf("read manifest: %v", err)
	}
	var m struct {
		Files map[string]int `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("parse manifest.json: %v", err)
	}
	return m.Files
}

// checkVectorFile runs check on every line of the file and returns the number
// of records. It stops after a few failures so one bug does not bury the log.
func checkVectorFile(t *testing.T, path string, check func(*testing.T, []byte) error) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open vectors: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	records, failures := 0, 0
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		records++
		if err := check(t, line); err != nil {
			t.Errorf("%s:%d: %v\n  record: %.600s", filepath.Base(path), lineNo, err, line)
			if failures++; failures >= 20 {
				t.Fatalf("%s: too many failures, stopping", filepath.Base(path))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if records == 0 {
		t.Fatalf("%s: no records", path)
	}
	return records
}

type applyVector struct {
	Doc       Text            `json:"doc"`
	Changes   json.RawMessage `json:"changes"`
	Result    Text            `json:"result"`
	RoundTrip json.RawMessage `json:"roundTrip"`
}

func checkApplyVector(t *testing.T, line []byte) error {
	t.Helper()
	var v applyVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	c, err := ParseChangeSet(v.Changes)
	if err != nil {
		return fmt.Errorf("ParseChangeSet: %w", err)
	}
	if err := equalJSON(c, v.RoundTrip); err != nil {
		return fmt.Errorf("round trip: %w", err)
	}
	got, err := c.Apply(v.Doc)
	if err != nil {
		return fmt.Errorf("Apply: %w", err)
	}
	return equalText("Apply", got, v.Result)
}

type composeVector struct {
	Doc      Text            `json:"doc"`
	A        json.RawMessage `json:"a"`
	B        json.RawMessage `json:"b"`
	Composed json.RawMessage `json:"composed"`
	Result   Text            `json:"result"`
}

func checkComposeVector(t *testing.T, line []byte) error {
	t.Helper()
	var v composeVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	a, b, err := parseTwo(v.A, v.B)
	if err != nil {
		return err
	}
	got, err := a.Compose(b)
	if err != nil {
		return fmt.Errorf("Compose: %w", err)
	}
	if err := equalJSON(got, v.Composed); err != nil {
		return fmt.Errorf("Compose: %w", err)
	}
	text, err := got.Apply(v.Doc)
	if err != nil {
		return fmt.Errorf("apply composed: %w", err)
	}
	if err := equalText("apply composed", text, v.Result); err != nil {
		return err
	}
	text, err = applyAll(v.Doc, a, b)
	if err != nil {
		return err
	}
	return equalText("apply a then b", text, v.Result)
}

type mapVector struct {
	Doc     Text            `json:"doc"`
	A       json.RawMessage `json:"a"`
	B       json.RawMessage `json:"b"`
	Before  *bool           `json:"before"`
	AMapped json.RawMessage `json:"aMapped"`
	BMapped json.RawMessage `json:"bMapped"`
	Result  Text            `json:"result"`
}

func checkMapVector(t *testing.T, line []byte) error {
	t.Helper()
	var v mapVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	if v.Before == nil {
		return errors.New("record without before")
	}
	a, b, err := parseTwo(v.A, v.B)
	if err != nil {
		return err
	}
	aMapped, err := a.Map(b, *v.Before)
	if err != nil {
		return fmt.Errorf("a.Map(b, %v): %w", *v.Before, err)
	}
	if err := equalJSON(aMapped, v.AMapped); err != nil {
		return fmt.Errorf("a.Map(b, %v): %w", *v.Before, err)
	}
	bMapped, err := b.Map(a, !*v.Before)
	if err != nil {
		return fmt.Errorf("b.Map(a, %v): %w", !*v.Before, err)
	}
	if err := equalJSON(bMapped, v.BMapped); err != nil {
		return fmt.Errorf("b.Map(a, %v): %w", !*v.Before, err)
	}
	text, err := applyAll(v.Doc, b, aMapped)
	if err != nil {
		return err
	}
	if err := equalText("b then aMapped", text, v.Result); err != nil {
		return err
	}
	text, err = applyAll(v.Doc, a, bMapped)
	if err != nil {
		return err
	}
	return equalText("a then bMapped", text, v.Result)
}

type mapPosVector struct {
	Changes json.RawMessage `json:"changes"`
	Pos     int             `json:"pos"`
	Assoc   int             `json:"assoc"`
	Mode    string          `json:"mode"`
	Result  json.RawMessage `json:"result"` // a number, null (deleted), or absent when Error is set
	Error   string          `json:"error"`
}

func mapModeNamed(name string) (MapMode, bool) {
	switch name {
	case "Simple":
		return MapSimple, true
	case "TrackDel":
		return MapTrackDel, true
	case "TrackBefore":
		return MapTrackBefore, true
	case "TrackAfter":
		return MapTrackAfter, true
	}
	return 0, false
}

func checkMapPosVector(t *testing.T, line []byte) error {
	t.Helper()
	var v mapPosVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	c, err := ParseChangeSet(v.Changes)
	if err != nil {
		return fmt.Errorf("ParseChangeSet: %w", err)
	}
	mode, ok := mapModeNamed(v.Mode)
	if !ok {
		return fmt.Errorf("unknown mode %q", v.Mode)
	}
	got, deleted, err := c.MapPos(v.Pos, v.Assoc, mode)
	call := fmt.Sprintf("MapPos(%d, %d, %s)", v.Pos, v.Assoc, v.Mode)
	if v.Error != "" {
		if !errors.Is(err, ErrPositionOutOfRange) || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(v.Error)) {
			return fmt.Errorf("%s error = %v, want %q", call, err, v.Error)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", call, err)
	}
	gotJSON := "null"
	if !deleted {
		gotJSON = strconv.Itoa(got)
	}
	if want := string(v.Result); gotJSON != want {
		return fmt.Errorf("%s = %s, want %s", call, gotJSON, want)
	}
	return nil
}

type updateVector struct {
	ClientID string          `json:"clientID"`
	Changes  json.RawMessage `json:"changes"`
}

type rebaseVector struct {
	Doc     Text           `json:"doc"`
	Over    []updateVector `json:"over"`
	Updates []updateVector `json:"updates"`
	Result  []updateVector `json:"result"`
}

func checkRebaseVector(t *testing.T, line []byte) error {
	t.Helper()
	var v rebaseVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	over, err := parseUpdates(v.Over)
	if err != nil {
		return fmt.Errorf("over: %w", err)
	}
	push, err := parseUpdates(v.Updates)
	if err != nil {
		return fmt.Errorf("updates: %w", err)
	}
	got, err := SequentialRebase(push, over)
	if err != nil {
		return fmt.Errorf("SequentialRebase: %w", err)
	}
	return equalUpdates("SequentialRebase", got, v.Result)
}

type refusedVector struct {
	Doc      Text            `json:"doc"`
	Changes  json.RawMessage `json:"changes"`
	Category string          `json:"category"`
}

// checkRefusedVector checks that a line of invalid.jsonl or lenient.jsonl is
// refused, by the parser or, for lengths that do not fit, by Apply.
func checkRefusedVector(t *testing.T, line []byte) error {
	t.Helper()
	var v refusedVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	c, err := ParseChangeSet(v.Changes)
	if err != nil {
		if !errors.Is(err, ErrInvalidChanges) {
			return fmt.Errorf("ParseChangeSet error = %v, want one matching ErrInvalidChanges", err)
		}
		return nil
	}
	if _, err := c.Apply(v.Doc); !errors.Is(err, ErrInvalidChanges) {
		return fmt.Errorf("%s: parsed as %v and Apply error = %v, want refused", v.Category, c, err)
	}
	return nil
}

type sessionVector struct {
	InitialDoc Text `json:"initialDoc"`
	Pushes     []struct {
		ClientID string            `json:"clientID"`
		Version  int               `json:"version"`
		Updates  []json.RawMessage `json:"updates"`
		Result   []json.RawMessage `json:"result"`
	} `json:"pushes"`
	Accepted []updateVector `json:"accepted"`
	FinalDoc Text           `json:"finalDoc"`
}

// checkSessionVector replays the pushes of a recorded session through
// Document.Prepare and Commit (the vectors' README §5, replay test).
func checkSessionVector(t *testing.T, line []byte) error {
	t.Helper()
	var v sessionVector
	if err := json.Unmarshal(line, &v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	d := NewDocument(State{Text: v.InitialDoc}, Limits{TailSize: len(v.Accepted) + 1})
	for i, p := range v.Pushes {
		push := make([]Update, len(p.Updates))
		for j, raw := range p.Updates {
			c, err := ParseChangeSet(raw)
			if err != nil {
				return fmt.Errorf("push %d: update %d: %w", i, j, err)
			}
			push[j] = Update{ClientID: p.ClientID, Changes: c}
		}
		before := d.Version()
		from, accepted, err := commitPush(d, p.Version, push)
		if err != nil {
			return fmt.Errorf("push %d: Push(v=%d): %w", i, p.Version, err)
		}
		if from != before {
			return fmt.Errorf("push %d: from = %d, want %d", i, from, before)
		}
		want := make([]updateVector, len(p.Result))
		for j, r := range p.Result {
			want[j] = updateVector{ClientID: p.ClientID, Changes: r}
		}
		if err := equalUpdates(fmt.Sprintf("push %d: accepted", i), accepted, want); err != nil {
			return err
		}
	}
	log, err := d.Since(0)
	if err != nil {
		return fmt.Errorf("Since(0): %w", err)
	}
	if err := equalUpdates("final log", log, v.Accepted); err != nil {
		return err
	}
	if got, want := d.Version(), len(v.Accepted); got != want {
		return fmt.Errorf("Version() = %d, want %d", got, want)
	}
	return equalText("final document", d.State().Text, v.FinalDoc)
}

func parseTwo(a, b json.RawMessage) (*ChangeSet, *ChangeSet, error) {
	ca, err := ParseChangeSet(a)
	if err != nil {
		return nil, nil, fmt.Errorf("ParseChangeSet(a): %w", err)
	}
	cb, err := ParseChangeSet(b)
	if err != nil {
		return nil, nil, fmt.Errorf("ParseChangeSet(b): %w", err)
	}
	return ca, cb, nil
}

func parseUpdates(vs []updateVector) ([]Update, error) {
	us := make([]Update, len(vs))
	for i, v := range vs {
		c, err := ParseChangeSet(v.Changes)
		if err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		us[i] = Update{ClientID: v.ClientID, Changes: c}
	}
	return us, nil
}

func applyAll(doc Text, sets ...*ChangeSet) (Text, error) {
	for i, c := range sets {
		var err error
		if doc, err = c.Apply(doc); err != nil {
			return Text{}, fmt.Errorf("apply set %d: %w", i, err)
		}
	}
	return doc, nil
}

func equalText(what string, got, want Text) error {
	if !got.Equal(want) {
		return fmt.Errorf("%s = %s, want %s", what, got.AppendJSON(nil), want.AppendJSON(nil))
	}
	return nil
}

func equalUpdates(what string, got []Update, want []updateVector) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d updates %v, want %d", what, len(got), got, len(want))
	}
	for i := range got {
		if got[i].ClientID != want[i].ClientID {
			return fmt.Errorf("%s: update %d: clientID %q, want %q", what, i, got[i].ClientID, want[i].ClientID)
		}
		if err := equalJSON(got[i].Changes, want[i].Changes); err != nil {
			return fmt.Errorf("%s: update %d: %w", what, i, err)
		}
	}
	return nil
}

// equalJSON compares the JSON of c with want structurally (the vectors' README §2.4).
func equalJSON(c *ChangeSet, want json.RawMessage) error {
	gotJSON, err := c.MarshalJSON()
	if err != nil {
		return fmt.Errorf("MarshalJSON: %w", err)
	}
	got, err := canonicalJSON(gotJSON)
	if err != nil {
		return fmt.Errorf("output %s is not valid JSON: %w", gotJSON, err)
	}
	w, err := canonicalJSON(want)
	if err != nil {
		return fmt.Errorf("want %s: %w", want, err)
	}
	if got != w {
		return fmt.Errorf("got %s, want %s", got, w)
	}
	return nil
}
