package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"duet/collab"
	"duet/store"
	"duet/store/postgres"
	"duet/store/sqlite"
)

// runStore runs `duet store …`: for now, copy.
func runStore(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprint(out, storeUsage)
		return errors.New("store: want the command copy (see duet store copy -help)")
	}
	fs := flag.NewFlagSet("duet store copy", flag.ContinueOnError)
	fs.SetOutput(out)
	from := fs.String("from", "", "the store to copy from: sqlite:PATH or a postgres:// URL")
	to := fs.String("to", "", "the store to copy to: sqlite:PATH or a postgres:// URL")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), storeUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("store copy: unexpected argument %q", fs.Arg(0))
	case *from == "" || *to == "":
		return errors.New("store copy: give both -from and -to")
	case *from == *to:
		return errors.New("store copy: -from and -to are the same store")
	}
	src, err := openLocation(ctx, *from, true)
	if err != nil {
		return fmt.Errorf("store copy: from: %w", err)
	}
	defer src.Close()
	dst, err := openLocation(ctx, *to, false)
	if err != nil {
		return fmt.Errorf("store copy: to: %w", err)
	}
	defer dst.Close()
	return copyStore(ctx, src, dst, out)
}

const storeUsage = `Usage: duet store copy -from LOCATION -to LOCATION

Copies the question library, then every session, with its whole history (update
log, snapshots, runs, participants, interviewers, the questions it was given, owner
token hash and times, the end included), from one store to another, then checks
that both have the same counts and the same text at the latest version. A session
already copied is brought up to date, or left alone if it is; a question of the
library is replaced by the source's when the source's was edited later; running the
copy twice changes nothing the second time. A LOCATION is sqlite:PATH (the
duet.db of a data folder) or a postgres:// URL. Stop the duet serving the source
first, or copy again once it is stopped.

`

// fullStore is what the copy reads and writes: sessions and their history, and the
// question library with the questions given to sessions.
type fullStore interface {
	store.Store
	store.Questions
}

// sourceStore is a store whose sessions can be listed.
type sourceStore interface {
	fullStore
	SessionIDs(ctx context.Context) ([]string, error)
}

// openLocation opens sqlite:PATH or a PostgreSQL URL. A source must exist already.
func openLocation(ctx context.Context, loc string, source bool) (sourceStore, error) {
	if path, ok := strings.CutPrefix(loc, "sqlite:"); ok {
		if _, err := os.Stat(path); source && err != nil {
			return nil, err
		}
		st, err := sqlite.Open(ctx, path, sqlite.Options{Limits: copyLimits})
		if err != nil {
			return nil, err
		}
		return sqliteSource{st}, nil
	}
	if strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://") {
		return postgres.Open(ctx, loc, postgres.Options{Limits: copyLimits})
	}
	return nil, fmt.Errorf("%q: want sqlite:PATH or a postgres:// URL", redactURL(loc))
}

// copyLimits are the stores' limits while copying: none, so that a session is copied
// whole (every snapshot included) whatever the limits of the duet that uses the store.
var copyLimits = store.Limits{SessionBytes: -1, Snapshots: -1}

// sqliteSource lists the sessions of a SQLite store. sqlite.Store has no such
// method (the hub never needs one), so the ids are read from its sessions table,
// through a connection of their own; everything else goes through the store.
type sqliteSource struct{ *sqlite.Store }

func (s sqliteSource) SessionIDs(ctx context.Context) ([]string, error) {
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id FROM sessions ORDER BY pk`)
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", s.Path(), err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// copyStore copies the question library and every session of src to dst and says
// what it did.
func copyStore(ctx context.Context, src sourceStore, dst fullStore, out io.Writer) error {
	libErr := copyLibrary(ctx, src, dst, out)
	if ctx.Err() != nil {
		return libErr
	}
	ids, err := src.SessionIDs(ctx)
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	counts := map[copyOutcome]int{}
	for _, id := range ids {
		outcome, what, err := copySession(ctx, src, dst, id)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(out, "%s: not copied: %v\n", id, err)
			counts[failed]++
			continue
		}
		counts[outcome]++
		if outcome != unchanged {
			fmt.Fprintf(out, "%s: %s: %s\n", id, outcome, what)
		}
	}
	switch {
	case len(ids) == 0:
		fmt.Fprintln(out, "no session to copy")
	case counts[unchanged] == len(ids):
		fmt.Fprintf(out, "%d sessions, all already there and the same: nothing changed\n", len(ids))
	default:
		fmt.Fprintf(out, "%d sessions: %d copied, %d brought up to date, %d already the same, %d failed\n",
			len(ids), counts[copied], counts[updated], counts[unchanged], counts[failed])
	}
	if counts[failed] > 0 {
		return errors.Join(libErr, fmt.Errorf("store copy: %d of %d sessions not copied", counts[failed], len(ids)))
	}
	return libErr
}

// copyLibrary copies the questions of the library that dst lacks, and replaces
// those that src has edited since (a later UpdatedAt). A question dst holds
// differently and edited at the same time or later is left alone and reported:
// the copy never throws away the newer of two edits.
func copyLibrary(ctx context.Context, src, dst store.Questions, out io.Writer) error {
	qs, err := src.ListQuestions(ctx)
	if err != nil {
		return fmt.Errorf("store copy: the question library: %w", err)
	}
	counts := map[copyOutcome]int{}
	for _, q := range qs {
		outcome, err := copyQuestion(ctx, dst, q)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(out, "question %s: not copied: %v\n", q.ID, err)
			outcome = failed
		}
		counts[outcome]++
	}
	if counts[unchanged] < len(qs) {
		fmt.Fprintf(out, "%d questions in the library: %d copied, %d replaced by a later edit, %d already the same, %d failed\n",
			len(qs), counts[copied], counts[updated], counts[unchanged], counts[failed])
	}
	if counts[failed] > 0 {
		return fmt.Errorf("store copy: %d of %d questions of the library not copied", counts[failed], len(qs))
	}
	return nil
}

// copyQuestion copies one question of the library, or replaces dst's older version
// of it.
func copyQuestion(ctx context.Context, dst store.Questions, q store.Question) (copyOutcome, error) {
	have, err := dst.Question(ctx, q.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return copied, dst.CreateQuestion(ctx, q)
	case err != nil:
		return failed, err
	case sameQuestion(have, q):
		return unchanged, nil
	case q.UpdatedAt.After(have.UpdatedAt):
		return updated, dst.UpdateQuestion(ctx, q)
	}
	return failed, errors.New("the destination holds another version of it, edited at the same time or later")
}

// sameQuestion reports whether two questions of the library say the same, edited
// at the same time. (Their creation times may differ: UpdateQuestion keeps the
// destination's.)
func sameQuestion(a, b store.Question) bool {
	ea, errA := store.EncodeQuestion(a)
	eb, errB := store.EncodeQuestion(b)
	return errA == nil && errB == nil && bytes.Equal(ea, eb) && a.ID == b.ID && a.UpdatedAt.Equal(b.UpdatedAt)
}

// sameSessionQuestion reports whether two questions given to a session are the
// same, to the nanosecond.
func sameSessionQuestion(a, b store.SessionQuestion) bool {
	return sameQuestion(a.Question, b.Question) && a.CreatedAt.Equal(b.CreatedAt) && a.Version == b.Version && a.Added.Equal(b.Added)
}

type copyOutcome string

const (
	copied    copyOutcome = "copied"
	updated   copyOutcome = "brought up to date"
	unchanged copyOutcome = "unchanged"
	failed    copyOutcome = "failed"
)

// history is everything a store keeps of one session.
type history struct {
	session      store.Session
	log          []store.Update
	snapshots    []store.Snapshot
	runs         []store.Run
	participants []store.Participant
	questions    []store.SessionQuestion
	members      []store.Member
}

func readHistory(ctx context.Context, st fullStore, id string) (history, error) {
	var h history
	var err error
	if h.session, err = st.Session(ctx, id); err != nil {
		return h, err
	}
	if h.log, err = st.Updates(ctx, id, 0, h.session.Version, 0); err != nil {
		return h, err
	}
	if h.snapshots, err = allSnapshots(ctx, st, id, h.session.Version); err != nil {
		return h, err
	}
	if h.runs, err = st.Runs(ctx, id); err != nil {
		return h, err
	}
	if h.participants, err = st.Participants(ctx, id); err != nil {
		return h, err
	}
	if h.members, err = st.Members(ctx, id); err != nil {
		return h, err
	}
	h.questions, err = st.SessionQuestions(ctx, id)
	return h, err
}

// allSnapshots returns every snapshot of a session, oldest first, walking down from
// the newest. The empty document at version 0 is what a session without a
// snapshot loads from anyway, so it counts as none.
func allSnapshots(ctx context.Context, st store.Store, id string, version int) ([]store.Snapshot, error) {
	var out []store.Snapshot
	for v := version; v >= 0; {
		snap, err := st.SnapshotAt(ctx, id, v)
		if err != nil {
			return nil, err
		}
		if snap.Version == 0 && string(snap.Text) == `""` {
			break
		}
		out = append(out, snap)
		v = snap.Version - 1
	}
	slices.Reverse(out)
	return out, nil
}

// copyChunk is how many updates one append of the copy carries.
const copyChunk = 1000

// copySession copies one session, or brings an earlier copy of it up to date, and
// then verifies it. A session in dst that is not an earlier copy of src's (another
// owner, a log that differs) is left alone and reported.
func copySession(ctx context.Context, src, dst fullStore, id string) (copyOutcome, string, error) {
	h, err := readHistory(ctx, src, id)
	if err != nil {
		return failed, "", fmt.Errorf("read: %w", err)
	}
	have, err := readHistory(ctx, dst, id)
	outcome := unchanged
	switch {
	case errors.Is(err, store.ErrNotFound):
		s := h.session
		s.Version = 0
		if err := dst.CreateSession(ctx, s); err != nil {
			return failed, "", err
		}
		outcome, have = copied, history{session: s}
	case err != nil:
		return failed, "", fmt.Errorf("read the copy: %w", err)
	case !have.session.CreatedAt.Equal(h.session.CreatedAt) || !bytes.Equal(have.session.OwnerTokenHash, h.session.OwnerTokenHash):
		return failed, "", errors.New("the destination has another session with this id (its creation time or owner differs)")
	case have.session.Version > h.session.Version:
		return failed, "", fmt.Errorf("the destination's log is longer (%d updates) than the source's (%d)", have.session.Version, h.session.Version)
	}
	for v, u := range have.log {
		if !sameUpdate(u, h.log[v]) {
			return failed, "", fmt.Errorf("the logs differ at version %d", v)
		}
	}
	var did []string
	note := func(what string) {
		did = append(did, what)
		if outcome == unchanged {
			outcome = updated
		}
	}
	count := func(n int, what string) {
		if n > 0 {
			note(fmt.Sprintf("+%d %s", n, what))
		}
	}

	for v := have.session.Version; v < h.session.Version; v += copyChunk {
		end := min(v+copyChunk, h.session.Version)
		if err := dst.AppendUpdates(ctx, id, v, h.log[v:end]); err != nil {
			return failed, "", err
		}
	}
	count(h.session.Version-have.session.Version, "updates")
	if have.session.Language != h.session.Language {
		if err := dst.SetLanguage(ctx, id, h.session.Language); err != nil {
			return failed, "", err
		}
		note("the language")
	}
	// What the copy lacks, by the key each kind has (SaveSnapshot keeps the first at
	// a version: a different snapshot there shows in the check below).
	n, err := addMissing(h.snapshots, have.snapshots, func(a, b store.Snapshot) bool { return a.Version == b.Version },
		func(snap store.Snapshot) error { return dst.SaveSnapshot(ctx, id, snap) })
	if err != nil {
		return failed, "", err
	}
	count(n, "snapshots")
	n, err = addMissing(h.runs, have.runs, func(a, b store.Run) bool { return a.ID == b.ID },
		func(r store.Run) error { return dst.AppendRun(ctx, id, r) })
	if err != nil {
		return failed, "", err
	}
	count(n, "runs")
	n, err = addMissing(h.participants, have.participants, func(a, b store.Participant) bool { return a.UserID == b.UserID && a.Name == b.Name },
		func(p store.Participant) error { return dst.SaveParticipant(ctx, id, p) })
	if err != nil {
		return failed, "", err
	}
	count(n, "participants")
	n, err = addMissing(h.members, have.members, func(a, b store.Member) bool { return a.Principal == b.Principal },
		func(m store.Member) error { return dst.AddMember(ctx, id, m) })
	if err != nil {
		return failed, "", err
	}
	count(n, "members")
	if have.session.Ended.IsZero() && !h.session.Ended.IsZero() {
		if err := dst.SetEnded(ctx, id, h.session.Ended); err != nil {
			return failed, "", err
		}
		note("the end time")
	}
	// A session's questions are a list in the order they were given: the copy's must
	// be the start of the source's, and the rest is added in order.
	if len(have.questions) > len(h.questions) {
		return failed, "", fmt.Errorf("the destination's session has %d questions, the source's %d", len(have.questions), len(h.questions))
	}
	for i, q := range have.questions {
		if !sameSessionQuestion(q, h.questions[i]) {
			return failed, "", fmt.Errorf("the questions given to the session differ at the %d. one", i+1)
		}
	}
	for _, q := range h.questions[len(have.questions):] {
		if err := dst.AddSessionQuestion(ctx, id, q); err != nil {
			return failed, "", err
		}
	}
	count(len(h.questions)-len(have.questions), "questions")
	if have.session.LastActive.Before(h.session.LastActive) {
		if err := dst.Touch(ctx, id, h.session.LastActive); err != nil {
			return failed, "", err
		}
		note("the last activity time")
	}

	if err := verifyCopy(ctx, src, dst, id, h); err != nil {
		return failed, "", fmt.Errorf("copied, but %w", err)
	}
	if outcome == copied {
		did = []string{fmt.Sprintf("%d updates, %d snapshots, %d runs, %d participants, %d members, %d questions",
			len(h.log), len(h.snapshots), len(h.runs), len(h.participants), len(h.members), len(h.questions))}
	}
	return outcome, strings.Join(did, ", "), nil
}

// addMissing saves, in order, each of items that have has no match for, and
// returns how many it saved.
func addMissing[T any](items, have []T, same func(a, b T) bool, save func(T) error) (int, error) {
	n := 0
	for _, item := range items {
		if slices.ContainsFunc(have, func(h T) bool { return same(h, item) }) {
			continue
		}
		if err := save(item); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func sameUpdate(a, b store.Update) bool {
	return a.ClientID == b.ClientID && a.UserID == b.UserID && bytes.Equal(a.Changes, b.Changes) && a.Time.Equal(b.Time)
}

// verifyCopy reads the copy back and compares it with the source's history: the
// session's fields, the counts of updates, snapshots, runs and participants, the
// log itself, and the text at the latest version as duet would load it (the
// hub's restore: latest snapshot, then the updates after it).
func verifyCopy(ctx context.Context, src, dst fullStore, id string, h history) error {
	got, err := readHistory(ctx, dst, id)
	if err != nil {
		return fmt.Errorf("reading it back failed: %w", err)
	}
	s, c := h.session, got.session
	switch {
	case c.Version != s.Version || len(got.log) != len(h.log):
		return fmt.Errorf("the copy has %d updates, the source %d", c.Version, s.Version)
	case len(got.snapshots) != len(h.snapshots):
		return fmt.Errorf("the copy has %d snapshots, the source %d", len(got.snapshots), len(h.snapshots))
	case len(got.runs) != len(h.runs):
		return fmt.Errorf("the copy has %d runs, the source %d", len(got.runs), len(h.runs))
	case len(got.participants) != len(h.participants):
		return fmt.Errorf("the copy has %d participants, the source %d", len(got.participants), len(h.participants))
	case len(got.members) != len(h.members):
		return fmt.Errorf("the copy has %d members, the source %d", len(got.members), len(h.members))
	case len(got.questions) != len(h.questions):
		return fmt.Errorf("the copy has %d questions, the source %d", len(got.questions), len(h.questions))
	case c.Language != s.Language || !c.CreatedAt.Equal(s.CreatedAt) || !c.LastActive.Equal(s.LastActive) || !bytes.Equal(c.OwnerTokenHash, s.OwnerTokenHash) || !c.Ended.Equal(s.Ended):
		return fmt.Errorf("the copy's session is %+v, the source's %+v", c, s)
	}
	for v := range h.log {
		if !sameUpdate(got.log[v], h.log[v]) {
			return fmt.Errorf("the logs differ at version %d", v)
		}
	}
	for i := range h.questions {
		if !sameSessionQuestion(got.questions[i], h.questions[i]) {
			return fmt.Errorf("the %d. question given to the session differs", i+1)
		}
	}
	want, err := collab.NewHub(collab.HubConfig{Store: src}).Session(ctx, id)
	if err != nil {
		return fmt.Errorf("loading the source's document failed: %w", err)
	}
	have, err := collab.NewHub(collab.HubConfig{Store: dst}).Session(ctx, id)
	if err != nil {
		return fmt.Errorf("loading the copy's document failed: %w", err)
	}
	if have.Version != want.Version || !bytes.Equal(have.Text.AppendJSON(nil), want.Text.AppendJSON(nil)) {
		return fmt.Errorf("the text at version %d differs from the source's", want.Version)
	}
	return nil
}

// redactURL hides the password of a URL in messages.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.LastIndex(s, "@"); at > i {
			if colon := strings.Index(s[i+3:at], ":"); colon >= 0 {
				return s[:i+3+colon+1] + "xxxxx" + s[at:]
			}
		}
	}
	return s
}
