package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

var _ Accounts = (*Memory)(nil)

// CreateUser stores a new user, or returns ErrExists.
func (m *Memory) CreateUser(ctx context.Context, u User) error {
	return m.withAccounts(ctx, func() error {
		if _, ok := m.users[u.ID]; ok || m.loginTaken(u.Login, "") {
			return fmt.Errorf("create user %s: %w", u.Login, ErrExists)
		}
		u.Created = u.Created.UTC()
		m.users[u.ID] = u
		return nil
	})
}

// loginTaken tells whether a user other than the one with id except has login.
func (m *Memory) loginTaken(login, except string) bool {
	for id, u := range m.users {
		if u.Login == login && id != except {
			return true
		}
	}
	return false
}

// User returns a user by id, or ErrNotFound.
func (m *Memory) User(ctx context.Context, id string) (User, error) {
	var out User
	err := m.withAccounts(ctx, func() error {
		u, ok := m.users[id]
		if !ok {
			return fmt.Errorf("user %s: %w", id, ErrNotFound)
		}
		out = u
		return nil
	})
	return out, err
}

// UserByLogin returns a user by login, or ErrNotFound.
func (m *Memory) UserByLogin(ctx context.Context, login string) (User, error) {
	var out User
	err := m.withAccounts(ctx, func() error {
		for _, u := range m.users {
			if u.Login == login {
				out = u
				return nil
			}
		}
		return fmt.Errorf("user %s: %w", login, ErrNotFound)
	})
	return out, err
}

// Users returns every user by login.
func (m *Memory) Users(ctx context.Context) ([]User, error) {
	out := []User{}
	err := m.withAccounts(ctx, func() error {
		for _, u := range m.users {
			out = append(out, u)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b User) int { return cmp.Compare(a.Login, b.Login) })
	return out, err
}

// UpdateUser replaces a user but its creation time.
func (m *Memory) UpdateUser(ctx context.Context, u User) error {
	return m.withAccounts(ctx, func() error {
		old, ok := m.users[u.ID]
		if !ok {
			return fmt.Errorf("update user %s: %w", u.ID, ErrNotFound)
		}
		if m.loginTaken(u.Login, u.ID) {
			return fmt.Errorf("update user %s: login %s: %w", u.ID, u.Login, ErrExists)
		}
		u.Created = old.Created
		m.users[u.ID] = u
		return nil
	})
}

// DeleteUser removes a user and their credentials.
func (m *Memory) DeleteUser(ctx context.Context, id string) error {
	return m.withAccounts(ctx, func() error {
		if _, ok := m.users[id]; !ok {
			return fmt.Errorf("delete user %s: %w", id, ErrNotFound)
		}
		delete(m.users, id)
		for k, c := range m.creds {
			if c.UserID == id {
				delete(m.creds, k)
			}
		}
		return nil
	})
}

// AddCredential stores a credential of an existing user.
func (m *Memory) AddCredential(ctx context.Context, c Credential) error {
	return m.withAccounts(ctx, func() error {
		if _, ok := m.users[c.UserID]; !ok {
			return fmt.Errorf("add credential: user %s: %w", c.UserID, ErrNotFound)
		}
		if _, ok := m.creds[string(c.Hash)]; ok {
			return fmt.Errorf("add credential: %w", ErrExists)
		}
		m.creds[string(c.Hash)] = cloneCredential(c)
		return nil
	})
}

// Credential returns an unexpired credential by hash, or ErrNotFound.
func (m *Memory) Credential(ctx context.Context, hash []byte, now time.Time) (Credential, error) {
	var out Credential
	err := m.withAccounts(ctx, func() error {
		c, ok := m.creds[string(hash)]
		if !ok || expired(c, now) {
			return fmt.Errorf("credential: %w", ErrNotFound)
		}
		out = cloneCredential(c)
		return nil
	})
	return out, err
}

// Credentials returns a user's credentials by creation.
func (m *Memory) Credentials(ctx context.Context, userID string) ([]Credential, error) {
	out := []Credential{}
	err := m.withAccounts(ctx, func() error {
		for _, c := range m.creds {
			if c.UserID == userID {
				out = append(out, cloneCredential(c))
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Credential) int {
		return cmp.Or(a.Created.Compare(b.Created), bytes.Compare(a.Hash, b.Hash))
	})
	return out, err
}

// DeleteCredential removes a credential, or returns ErrNotFound.
func (m *Memory) DeleteCredential(ctx context.Context, hash []byte) error {
	return m.withAccounts(ctx, func() error {
		if _, ok := m.creds[string(hash)]; !ok {
			return fmt.Errorf("delete credential: %w", ErrNotFound)
		}
		delete(m.creds, string(hash))
		return nil
	})
}

// PurgeCredentials deletes the credentials that expired before a time.
func (m *Memory) PurgeCredentials(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := m.withAccounts(ctx, func() error {
		for k, c := range m.creds {
			if !c.Expires.IsZero() && c.Expires.Before(before) {
				delete(m.creds, k)
				n++
			}
		}
		return nil
	})
	return n, err
}

// expired tells whether c no longer proves anything at now.
func expired(c Credential, now time.Time) bool {
	return !c.Expires.IsZero() && !now.Before(c.Expires)
}

func cloneCredential(c Credential) Credential {
	c.Hash = slices.Clone(c.Hash)
	c.Created, c.Expires = c.Created.UTC(), c.Expires.UTC()
	return c
}

func (m *Memory) withAccounts(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("accounts: %w", ErrClosed)
	}
	if m.users == nil {
		m.users, m.creds = map[string]User{}, map[string]Credential{}
	}
	return f()
}
