package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

var _ store.Accounts = (*Store)(nil)

const userColumns = `id, login, name, team, password_hash, created`

// CreateUser stores a new user, or returns ErrExists.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return s.do(ctx, "create user "+u.Login, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT DO NOTHING`, u.ID, u.Login, u.Name, u.Team, u.PasswordHash, encTime(u.Created))
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("create user %s: %w", u.Login, store.ErrExists)
		}
		return err
	})
}

// User returns a user by id, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	return s.oneUser(ctx, "user "+id, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

// UserByLogin returns a user by login, or ErrNotFound.
func (s *Store) UserByLogin(ctx context.Context, login string) (store.User, error) {
	return s.oneUser(ctx, "user "+login, `SELECT `+userColumns+` FROM users WHERE login = $1`, login)
}

func (s *Store) oneUser(ctx context.Context, what, query string, arg any) (store.User, error) {
	var u store.User
	err := s.do(ctx, what, func(ctx context.Context) error {
		err := scanUser(s.pool.QueryRow(ctx, query, arg), &u)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return err
	})
	return u, err
}

// Users returns every user by login.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	var out []store.User
	err := s.do(ctx, "users", func(ctx context.Context) error {
		out = []store.User{}
		rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY login COLLATE "C"`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u store.User
			if err := scanUser(rows, &u); err != nil {
				return err
			}
			out = append(out, u)
		}
		return rows.Err()
	})
	return out, err
}

func scanUser(row pgx.Row, u *store.User) error {
	var created *int64
	if err := row.Scan(&u.ID, &u.Login, &u.Name, &u.Team, &u.PasswordHash, &created); err != nil {
		return err
	}
	u.Created = decTime(created)
	return nil
}

// UpdateUser replaces a user but its creation time.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	return s.do(ctx, "update user "+u.ID, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE users SET login = $2, name = $3, team = $4, password_hash = $5 WHERE id = $1`,
			u.ID, u.Login, u.Name, u.Team, u.PasswordHash)
		switch {
		case violates(err, uniqueViolation, ""):
			return fmt.Errorf("update user %s: login %s: %w", u.ID, u.Login, store.ErrExists)
		case err == nil && tag.RowsAffected() == 0:
			return fmt.Errorf("update user %s: %w", u.ID, store.ErrNotFound)
		}
		return err
	})
}

// DeleteUser removes a user and, by the foreign key, their credentials.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.do(ctx, "delete user "+id, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("delete user %s: %w", id, store.ErrNotFound)
		}
		return err
	})
}

// AddCredential stores a credential of an existing user.
func (s *Store) AddCredential(ctx context.Context, c store.Credential) error {
	return s.do(ctx, "add credential", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO credentials (hash, user_id, kind, name, created, expires)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING`,
			blob(c.Hash), c.UserID, c.Kind, c.Name, encTime(c.Created), encTime(c.Expires))
		switch {
		case violates(err, foreignKeyViolation, ""):
			return fmt.Errorf("add credential: user %s: %w", c.UserID, store.ErrNotFound)
		case err == nil && tag.RowsAffected() == 0:
			return fmt.Errorf("add credential: %w", store.ErrExists)
		}
		return err
	})
}

const credentialColumns = `hash, user_id, kind, name, created, expires`

// Credential returns an unexpired credential by hash, or ErrNotFound.
func (s *Store) Credential(ctx context.Context, hash []byte, now time.Time) (store.Credential, error) {
	var c store.Credential
	err := s.do(ctx, "credential", func(ctx context.Context) error {
		err := scanCredential(s.pool.QueryRow(ctx, `SELECT `+credentialColumns+` FROM credentials
			WHERE hash = $1 AND (expires IS NULL OR expires > $2)`, blob(hash), now.UnixNano()), &c)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("credential: %w", store.ErrNotFound)
		}
		return err
	})
	return c, err
}

// Credentials returns a user's credentials by creation.
func (s *Store) Credentials(ctx context.Context, userID string) ([]store.Credential, error) {
	var out []store.Credential
	err := s.do(ctx, "credentials of "+userID, func(ctx context.Context) error {
		out = []store.Credential{}
		rows, err := s.pool.Query(ctx, `SELECT `+credentialColumns+` FROM credentials
			WHERE user_id = $1 ORDER BY created, hash`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.Credential
			if err := scanCredential(rows, &c); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

func scanCredential(row pgx.Row, c *store.Credential) error {
	var created, expires *int64
	if err := row.Scan(&c.Hash, &c.UserID, &c.Kind, &c.Name, &created, &expires); err != nil {
		return err
	}
	c.Created, c.Expires = decTime(created), decTime(expires)
	return nil
}

// DeleteCredential removes a credential (signing out), or returns ErrNotFound.
func (s *Store) DeleteCredential(ctx context.Context, hash []byte) error {
	return s.do(ctx, "delete credential", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM credentials WHERE hash = $1`, blob(hash))
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("delete credential: %w", store.ErrNotFound)
		}
		return err
	})
}

// PurgeCredentials deletes the credentials that expired before a time.
func (s *Store) PurgeCredentials(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.do(ctx, "purge credentials", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM credentials WHERE expires < $1`, before.UnixNano())
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}
