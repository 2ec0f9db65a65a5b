// Package accounts is sign-in for interviewers, when duet runs with it: users and
// their passwords (argon2id), login throttling, the credentials that keep a browser
// signed in or let a program use the API, and users from an OpenID Connect issuer.
// Candidates never have an account. It speaks to storage through store.Accounts.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"duet/store"
)

// Errors of the package, for the handlers to map once.
var (
	// ErrBadLogin is a login and password that do not match a user: which of the
	// two was wrong is not said.
	ErrBadLogin = errors.New("wrong login or password")
	// ErrInvalid is input that cannot be an account (a login, name or team).
	ErrInvalid = errors.New("invalid account")
	// ErrUnknownUser is a login with no user (for the duet user subcommand).
	ErrUnknownUser = errors.New("no such user")
	// ErrLoginTaken is a login another user has.
	ErrLoginTaken = errors.New("that login is taken")
	// ErrSignedOut is a credential that proves nobody (unknown, expired, deleted).
	ErrSignedOut = errors.New("not signed in")
)

// ThrottledError is a login refused because of too many failures lately.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Options configure a Service. Zero fields take the defaults.
type Options struct {
	Argon2        Argon2        // DefaultArgon2
	SessionTTL    time.Duration // how long a browser stays signed in (14 days)
	FailuresLogin int           // failed logins per login before it waits (5)
	FailuresAddr  int           // failed logins per address before it waits (20)
	Window        time.Duration // over which failures are counted and then waited (15 minutes)
	MaxThrottled  int           // entries of each throttle table (10,000)
	Hashing       int           // password hashes at once (2)
	Now           func() time.Time
}

// Service is the accounts of one duet.
type Service struct {
	store   store.Accounts
	opts    Options
	byLogin *throttle
	byAddr  *throttle
	hashing chan struct{} // a slot per hash at once
	dummy   string        // a hash to check unknown logins against, so they take as long
}

// New returns the accounts kept in st.
func New(st store.Accounts, o Options) *Service {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	if o.Argon2 == (Argon2{}) {
		o.Argon2 = DefaultArgon2
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 14 * 24 * time.Hour
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	def(&o.FailuresLogin, 5)
	def(&o.FailuresAddr, 20)
	def(&o.MaxThrottled, 10_000)
	def(&o.Hashing, 2)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{
		store: st, opts: o,
		byLogin: newThrottle(o.FailuresLogin, o.Window, o.MaxThrottled),
		byAddr:  newThrottle(o.FailuresAddr, o.Window, o.MaxThrottled),
		hashing: make(chan struct{}, o.Hashing),
		dummy:   o.Argon2.hash("not anyone's password"),
	}
}

// SessionTTL is how long a sign-in lasts.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }

// NormalizeLogin is a login as it is kept: trimmed and lower-cased, so that
// Ada@Example.com and ada@example.com are one user.
func NormalizeLogin(login string) string {
	return strings.ToLower(strings.TrimSpace(login))
}

// checkLogin refuses a login that is empty, too long, or has spaces or controls.
func checkLogin(login string) error {
	if login == "" || len(login) > 254 || !utf8.ValidString(login) ||
		strings.IndexFunc(login, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%w: a login is 1 to 254 characters, without spaces", ErrInvalid)
	}
	return nil
}

// checkText refuses a name or team that is too long or not plain text.
func checkText(what, v string, required bool) error {
	if (required && v == "") || utf8.RuneCountInString(v) > 64 || !utf8.ValidString(v) ||
		strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: a %s is up to 64 characters of plain text", ErrInvalid, what)
	}
	return nil
}

// NewUser is what AddUser needs.
type NewUser struct {
	Login, Name, Team string
	Password          string // "" for a user who signs in only through OIDC
}

// AddUser creates a user.
func (s *Service) AddUser(ctx context.Context, n NewUser) (store.User, error) {
	u := store.User{ID: newID(), Login: NormalizeLogin(n.Login), Name: strings.TrimSpace(n.Name), Team: strings.TrimSpace(n.Team), Created: s.opts.Now().UTC()}
	if u.Name == "" {
		u.Name = u.Login
		if at := strings.IndexByte(u.Name, '@'); at > 0 {
			u.Name = u.Name[:at]
		}
	}
	if err := errors.Join(checkLogin(u.Login), checkText("name", u.Name, true), checkText("team", u.Team, false)); err != nil {
		return store.User{}, err
	}
	if n.Password != "" {
		if err := checkPassword(n.Password); err != nil {
			return store.User{}, err
		}
		var err error
		if u.PasswordHash, err = s.hash(ctx, n.Password); err != nil {
			return store.User{}, err
		}
	}
	if err := s.store.CreateUser(ctx, u); errors.Is(err, store.ErrExists) {
		return store.User{}, fmt.Errorf("%w: %s", ErrLoginTaken, u.Login)
	} else if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// SetPassword changes a user's password; every browser signed in as them is
// signed out (their API tokens stay).
func (s *Service) SetPassword(ctx context.Context, login, password string) error {
	u, err := s.user(ctx, login)
	if err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	if u.PasswordHash, err = s.hash(ctx, password); err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	return s.signOutBrowsers(ctx, u.ID)
}

// DeleteUser deletes a user with their credentials. Their interviews stay.
func (s *Service) DeleteUser(ctx context.Context, login string) error {
	u, err := s.user(ctx, login)
	if err != nil {
		return err
	}
	return s.store.DeleteUser(ctx, u.ID)
}

// Users lists every user by login.
func (s *Service) Users(ctx context.Context) ([]store.User, error) { return s.store.Users(ctx) }

// User returns a user by id, or ErrUnknownUser.
func (s *Service) User(ctx context.Context, id string) (store.User, error) {
	u, err := s.store.User(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUnknownUser
	}
	return u, err
}

func (s *Service) user(ctx context.Context, login string) (store.User, error) {
	u, err := s.store.UserByLogin(ctx, NormalizeLogin(login))
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("%w: %s", ErrUnknownUser, NormalizeLogin(login))
	}
	return u, err
}

// Login checks a login and password from the address addr and, when they match,
// signs a browser in: it returns the secret of its cookie. Failures are throttled
// per login and per address; a throttled attempt is refused before its password is
// looked at, so guessing costs the guesser the wait.
func (s *Service) Login(ctx context.Context, login, password, addr string) (string, store.User, error) {
	login = NormalizeLogin(login)
	now := s.opts.Now()
	if w := max(s.byLogin.wait("l:"+login, now), s.byAddr.wait("a:"+addr, now)); w > 0 {
		return "", store.User{}, &ThrottledError{RetryAfter: w}
	}
	u, err := s.store.UserByLogin(ctx, login)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", store.User{}, err
	}
	encoded := u.PasswordHash
	if encoded == "" || len(password) > maxPassword {
		encoded = s.dummy // the same work, so timing tells no login apart
	}
	ok, err := s.verify(ctx, encoded, password)
	if err != nil && !errors.Is(err, errBadHash) {
		return "", store.User{}, err
	}
	if !ok || u.PasswordHash == "" || encoded == s.dummy {
		s.byLogin.fail("l:"+login, now)
		s.byAddr.fail("a:"+addr, now)
		return "", store.User{}, ErrBadLogin
	}
	s.byLogin.forget("l:" + login)
	token, err := s.SignIn(ctx, u)
	return token, u, err
}

// SignIn signs a browser in as u (after a password or an OIDC issuer vouched for
// them) and returns the secret of its cookie.
func (s *Service) SignIn(ctx context.Context, u store.User) (string, error) {
	now := s.opts.Now().UTC()
	return s.newCredential(ctx, store.Credential{UserID: u.ID, Kind: store.CredentialBrowser, Created: now, Expires: now.Add(s.opts.SessionTTL)})
}

// NewAPIToken makes an API token for the user with that login, for a program that
// starts interviews: it is shown once and kept only as a hash.
func (s *Service) NewAPIToken(ctx context.Context, login, name string) (string, error) {
	u, err := s.user(ctx, login)
	if err != nil {
		return "", err
	}
	if err := checkText("token name", name, false); err != nil {
		return "", err
	}
	token, err := s.newCredential(ctx, store.Credential{UserID: u.ID, Kind: store.CredentialAPI, Name: name, Created: s.opts.Now().UTC()})
	if err != nil {
		return "", err
	}
	return apiTokenPrefix + token, nil
}

// apiTokenPrefix marks an API token, so that one pasted where it should not be is
// recognised (and a secret scanner can find it), and so it is never taken for a
// session's owner token.
const apiTokenPrefix = "duet_"

// IsAPIToken tells a string shaped like an API token.
func IsAPIToken(s string) bool { return strings.HasPrefix(s, apiTokenPrefix) }

func (s *Service) newCredential(ctx context.Context, c store.Credential) (string, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	c.Hash = tokenHash(token)
	if err := s.store.AddCredential(ctx, c); err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	return token, nil
}

// Browser returns the user a signed-in browser's cookie proves, or ErrSignedOut.
func (s *Service) Browser(ctx context.Context, token string) (store.User, error) {
	return s.prove(ctx, token, store.CredentialBrowser)
}

// APIUser returns the user an API token proves, or ErrSignedOut.
func (s *Service) APIUser(ctx context.Context, token string) (store.User, error) {
	t, ok := strings.CutPrefix(token, apiTokenPrefix)
	if !ok {
		return store.User{}, ErrSignedOut
	}
	return s.prove(ctx, t, store.CredentialAPI)
}

func (s *Service) prove(ctx context.Context, token, kind string) (store.User, error) {
	if token == "" || len(token) > 64 {
		return store.User{}, ErrSignedOut
	}
	c, err := s.store.Credential(ctx, tokenHash(token), s.opts.Now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Kind != kind) {
		return store.User{}, ErrSignedOut
	} else if err != nil {
		return store.User{}, err
	}
	u, err := s.store.User(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrSignedOut
	}
	return u, err
}

// Logout signs a browser out: its credential is deleted, so the cookie proves
// nothing even if it was copied.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" || len(token) > 64 {
		return nil
	}
	err := s.store.DeleteCredential(ctx, tokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Purge deletes the sign-ins that have expired.
func (s *Service) Purge(ctx context.Context) (int, error) {
	return s.store.PurgeCredentials(ctx, s.opts.Now())
}

func (s *Service) signOutBrowsers(ctx context.Context, userID string) error {
	cs, err := s.store.Credentials(ctx, userID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Kind == store.CredentialBrowser {
			if err := s.store.DeleteCredential(ctx, c.Hash); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// hash and verify take a slot of s.hashing: each hash holds Argon2.Memory.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashing }()
	return s.opts.Argon2.hash(pw), nil
}

func (s *Service) verify(ctx context.Context, encoded, pw string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashing }()
	return verify(encoded, pw)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tokenHash is how a credential's secret is kept.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte("duet credential\x00" + token))
	return h[:]
}

// newID is a user's id: random, never derived from their login, so a login can
// change and an id says nothing.
func newID() string {
	raw := make([]byte, 16)
	rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// User is an account (store.User), so that callers need not reach into the store.
type User = store.User

// ErrOIDCRefused is an OpenID Connect sign-in that does not check out: a bad
// state, nonce or audience, an expired or badly signed token, an error from the
// issuer, or an email outside the allowed domain.
var ErrOIDCRefused = errors.New("OIDC sign-in refused")
