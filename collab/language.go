package collab

import (
	"context"
	"fmt"
	"strings"
)

// languages are the languages a session can be in, in the order pickers show them.
var languages = [...]struct{ value, label string }{
	{"python", "Python"},
	{"javascript", "JavaScript"},
	{"typescript", "TypeScript"},
	{"sql", "SQL"},
}

// Languages returns the supported language names, the first being the default.
func Languages() []string {
	out := make([]string, len(languages))
	for i, l := range languages {
		out[i] = l.value
	}
	return out
}

// LanguageLabel returns the display name of a supported language, or "" for others.
func LanguageLabel(lang string) string {
	for _, l := range languages {
		if l.value == lang {
			return l.label
		}
	}
	return ""
}

// SetLanguage switches a session's language for everyone: it is stored, and every
// editor and page is told. userID is who did it ("" if unknown).
func (h *Hub) SetLanguage(ctx context.Context, id, lang, userID string) error {
	if LanguageLabel(lang) == "" {
		return fmt.Errorf("set language: %w: %q", ErrInvalidLanguage, lang)
	}
	r, err := h.room(ctx, id)
	if err != nil {
		return fmt.Errorf("set language of %s: %w", id, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.setLanguageLocked(ctx, lang, userID)
}

// language switches the session's language at a client's request.
func (r *room) language(ctx context.Context, c *client, m *clientMessage) *protocolError {
	if m.Language == nil {
		return refuse(CodeBadMessage, `field "language" is missing`)
	}
	lang := *m.Language
	if LanguageLabel(lang) == "" {
		return refuse(CodeBadMessage, "unsupported language %q; use one of %s", lang, strings.Join(Languages(), ", "))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.setLanguageLocked(ctx, lang, c.person.ID); err != nil {
		r.hub.logger.Error("store language failed", "session", r.id, "err", err)
	}
	return nil
}

// setLanguageLocked stores the language and tells every editor and page.
func (r *room) setLanguageLocked(ctx context.Context, lang, userID string) error {
	if r.gone {
		return ErrNotFound
	}
	if r.over {
		return ErrEnded
	}
	if err := r.hub.store.SetLanguage(ctx, r.id, lang); err != nil {
		return fmt.Errorf("store language: %w", err)
	}
	r.lang = lang
	r.broadcastLocked(languageMessage(lang, userID), nil)
	r.notifyLocked()
	return nil
}
