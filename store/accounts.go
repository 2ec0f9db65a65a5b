package store

import (
	"context"
	"time"
)

// User is an interviewer's account, for when duet runs with sign-in (-auth password
// or oidc). Candidates never have one. The package accounts checks a user before it
// is stored: its strings are valid UTF-8 without NUL.
type User struct {
	ID           string // random; who the user is for duet ("a:"+ID is their principal)
	Login        string // unique: what they sign in with (a lower-cased name or email)
	Name         string // display name
	Team         string // the team whose interviews they see; "" for none
	PasswordHash string // argon2id in its PHC string form; "" when they cannot sign in with a password
	Created      time.Time
}

// Credential kinds.
const (
	CredentialBrowser = "browser" // a signed-in browser's cookie
	CredentialAPI     = "api"     // a token a program sends as Authorization: Bearer
)

// Credential is a secret that proves a user: a signed-in browser's cookie, or an API
// token. Only its SHA-256 is kept, so what is stored cannot be presented.
type Credential struct {
	Hash    []byte // SHA-256 of the secret
	UserID  string
	Kind    string // CredentialBrowser or CredentialAPI
	Name    string // what it is for, as its maker said ("" for a browser)
	Created time.Time
	Expires time.Time // zero: until deleted
}

// Accounts keeps users and their credentials. Every back end implements it beside
// Store; the same rules hold (safe for concurrent use, ctx honoured, ErrNotFound and
// ErrExists as sentinels, times in UTC to the nanosecond).
type Accounts interface {
	// CreateUser stores a new user, or returns ErrExists when its id or login is taken.
	CreateUser(ctx context.Context, u User) error
	// User returns the user with that id, or ErrNotFound.
	User(ctx context.Context, id string) (User, error)
	// UserByLogin returns the user with that login, or ErrNotFound.
	UserByLogin(ctx context.Context, login string) (User, error)
	// Users returns every user, by login.
	Users(ctx context.Context) ([]User, error)
	// UpdateUser replaces what is kept of u's id but its Created time, or returns
	// ErrNotFound; ErrExists when the new login is another user's.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes a user with every credential of theirs, or returns ErrNotFound.
	DeleteUser(ctx context.Context, id string) error

	// AddCredential stores c; ErrNotFound when its user does not exist, ErrExists
	// when its hash is taken.
	AddCredential(ctx context.Context, c Credential) error
	// Credential returns the credential with that hash that has not expired at now,
	// or ErrNotFound.
	Credential(ctx context.Context, hash []byte, now time.Time) (Credential, error)
	// Credentials returns a user's credentials, expired ones included, by Created
	// (then hash); none for an unknown user.
	Credentials(ctx context.Context, userID string) ([]Credential, error)
	// DeleteCredential removes a credential, or returns ErrNotFound.
	DeleteCredential(ctx context.Context, hash []byte) error
	// PurgeCredentials deletes the credentials that expired before a time and
	// returns how many.
	PurgeCredentials(ctx context.Context, before time.Time) (int, error)
}
