package collab

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"duet/collab/history"
	"duet/collab/ot"
	"duet/store"
)

// Errors of the session service. Handlers map them to HTTP once.
var (
	// ErrNotFound is history.ErrNotFound, so that one errors.Is test matches a
	// session missing from the hub or from its history.
	ErrNotFound        = history.ErrNotFound
	ErrUnauthorized    = errors.New("owner token required")
	ErrForbidden       = errors.New("owner token does not match")
	ErrInvalidLanguage = errors.New("unsupported language")
	// ErrEnded refuses a change to an interview that was ended.
	ErrEnded = errors.New("the interview has ended")
	// ErrStarterTooLarge is starter text longer than a document may be.
	ErrStarterTooLarge = errors.New("starter text longer than a document may be")
)

// SessionInfo is what the outside world may know about a session.
type SessionInfo struct {
	ID        string
	Language  string
	CreatedAt time.Time
	Version   int
	Text      ot.Text   // document at Version
	Users     []Person  // connected now
	Ended     time.Time // when an interviewer ended the interview; zero while it runs
}

// ownerTokenBytes is the entropy of an owner token: 256 bits, so guessing is hopeless
// and a SHA-256 hash (no salt, no stretching) is enough to store it.
const ownerTokenBytes = 32

// CreateSession starts a session in the given language ("" means the default) and
// returns it with its owner token, which is shown once and never stored.
func (h *Hub) CreateSession(ctx context.Context, language string) (SessionInfo, string, error) {
	return h.CreateSessionFrom(ctx, language, "")
}

// CreateSessionFrom is CreateSession with a document that starts as text (a
// question's starter code) instead of empty. The text is the document at version 0,
// kept as the session's first snapshot: nobody wrote it, so it is no update of the
// log, and the replay starts from it.
func (h *Hub) CreateSessionFrom(ctx context.Context, language, text string) (SessionInfo, string, error) {
	if language == "" {
		language = languages[0].value
	}
	if LanguageLabel(language) == "" {
		return SessionInfo{}, "", fmt.Errorf("create session: %w: %q", ErrInvalidLanguage, language)
	}
	start := ot.NewText(text)
	if start.Len() > h.limits.MaxDocLength {
		return SessionInfo{}, "", fmt.Errorf("create session: %w (%d units, at most %d)", ErrStarterTooLarge, start.Len(), h.limits.MaxDocLength)
	}
	raw := make([]byte, ownerTokenBytes)
	rand.Read(raw) // never fails (crypto/rand documents it panics instead)
	token := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(token))
	now := h.now().UTC()
	s := store.Session{
		ID:             uuid.NewString(),
		Language:       language,
		CreatedAt:      now,
		LastActive:     now,
		OwnerTokenHash: sum[:],
	}
	if err := h.store.CreateSession(ctx, s); err != nil {
		return SessionInfo{}, "", fmt.Errorf("create session: %w", err)
	}
	if start.Len() > 0 {
		if err := h.store.SaveSnapshot(ctx, s.ID, history.EncodeSnapshot(0, start)); err != nil {
			// Nobody knows the session yet: take it back rather than hand out an
			// empty pad that should have had the starter code.
			if derr := h.store.DeleteSession(context.WithoutCancel(ctx), s.ID); derr != nil {
				err = errors.Join(err, derr)
			}
			return SessionInfo{}, "", fmt.Errorf("create session: starter text: %w", err)
		}
	}
	return SessionInfo{ID: s.ID, Language: s.Language, CreatedAt: s.CreatedAt, Text: start}, token, nil
}

// Session returns what may be shown of a session: its metadata, its document and who
// is connected now.
func (h *Hub) Session(ctx context.Context, id string) (SessionInfo, error) {
	s, err := h.loadSession(ctx, id)
	if err != nil {
		return SessionInfo{}, err
	}
	info := SessionInfo{ID: s.ID, Language: s.Language, CreatedAt: s.CreatedAt, Version: s.Version, Users: []Person{}, Ended: s.Ended}
	h.mu.Lock()
	r := h.rooms[id]
	h.mu.Unlock()
	if r != nil && r.waitLoaded(ctx) == nil {
		r.mu.Lock()
		info.Version, info.Text, info.Language = r.doc.Version(), r.doc.Text(), r.lang
		info.Users = r.peopleLocked()
		r.mu.Unlock()
		return info, nil
	}
	// Nobody is connected: read the document from the store without keeping it.
	doc, err := history.Load(ctx, h.store, s, 0, 0)
	if err != nil {
		return SessionInfo{}, err
	}
	info.Version, info.Text = doc.Version, doc.Text
	return info, nil
}

// DeleteSession ends a session for good when token is its owner token. Connected
// clients are told and disconnected.
func (h *Hub) DeleteSession(ctx context.Context, id, token string) error {
	if err := h.CheckOwner(ctx, id, token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if err := h.store.DeleteSession(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) { // deleted concurrently
			return fmt.Errorf("delete session: %w", ErrNotFound)
		}
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	h.endRoom(id)
	return nil
}

// CheckOwner returns nil when token is the session's owner token: ErrNotFound for
// an unknown session, ErrUnauthorized for no token, ErrForbidden for another one.
func (h *Hub) CheckOwner(ctx context.Context, id, token string) error {
	s, err := h.loadSession(ctx, id)
	if err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("session %s: %w", id, ErrUnauthorized)
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], s.OwnerTokenHash) != 1 {
		return fmt.Errorf("session %s: %w", id, ErrForbidden)
	}
	return nil
}

// loadSession reads a session from the store.
func (h *Hub) loadSession(ctx context.Context, id string) (store.Session, error) {
	return history.Session(ctx, h.store, id)
}
