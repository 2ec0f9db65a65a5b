package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"duet/store"
)

var _ store.Accounts = (*Store)(nil)

const userColumns = `id, login, name, team, password_hash, created`

// CreateUser stores a new user, or returns ErrExists.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return s.write(ctx, "create user "+u.Login, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, u.ID, u.Login, u.Name, u.Team, u.PasswordHash, encTime(u.Created))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("create user %s: %w", u.Login, store.ErrExists)
		}
		return nil
	})
}

// User returns a user by id, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (store.User, error) {
	return s.oneUser(ctx, "user "+id, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// UserByLogin returns a user by login, or ErrNotFound.
func (s *Store) UserByLogin(ctx context.Context, login string) (store.User, error) {
	return s.oneUser(ctx, "user "+login, `SELECT `+userColumns+` FROM users WHERE login = ?`, login)
}

func (s *Store) oneUser(ctx context.Context, what, query string, arg any) (store.User, error) {
	var u store.User
	err := s.read(ctx, what, func(tx *sql.Tx) error {
		err := scanUser(tx.QueryRowContext(ctx, query, arg), &u)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return err
	})
	return u, err
}

// Users returns every user by login.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	out := []store.User{}
	err := s.read(ctx, "users", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY login`)
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

func scanUser(row interface{ Scan(...any) error }, u *store.User) error {
	var created sql.NullInt64
	if err := row.Scan(&u.ID, &u.Login, &u.Name, &u.Team, &u.PasswordHash, &created); err != nil {
		return err
	}
	u.Created = decTime(created)
	return nil
}

// UpdateUser replaces a user but its creation time.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	return s.write(ctx, "update user "+u.ID, func(ctx context.Context, tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE login = ? AND id <> ?`, u.Login, u.ID).Scan(&other)
		if err == nil {
			return fmt.Errorf("update user %s: login %s: %w", u.ID, u.Login, store.ErrExists)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET login = ?, name = ?, team = ?, password_hash = ? WHERE id = ?`,
			u.Login, u.Name, u.Team, u.PasswordHash, u.ID)
		return affected(res, err, "update user "+u.ID)
	})
}

// DeleteUser removes a user and their credentials; no file keeps them (erase.go).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.erase(ctx, "delete user "+id, func(ctx context.Context, tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		err = affected(res, err, "delete user "+id)
		return err == nil, err
	})
}

// AddCredential stores a credential of an existing user.
func (s *Store) AddCredential(ctx context.Context, c store.Credential) error {
	return s.write(ctx, "add credential", func(ctx context.Context, tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, c.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("add credential: user %s: %w", c.UserID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO credentials (hash, user_id, kind, name, created, expires) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, blob(c.Hash), c.UserID, c.Kind, c.Name, encTime(c.Created), encTime(c.Expires))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("add credential: %w", store.ErrExists)
		}
		return nil
	})
}

const credentialColumns = `hash, user_id, kind, name, created, expires`

// Credential returns an unexpired credential by hash, or ErrNotFound.
func (s *Store) Credential(ctx context.Context, hash []byte, now time.Time) (store.Credential, error) {
	var c store.Credential
	err := s.read(ctx, "credential", func(tx *sql.Tx) error {
		err := scanCredential(tx.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM credentials
			WHERE hash = ? AND (expires IS NULL OR expires > ?)`, blob(hash), now.UnixNano()), &c)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("credential: %w", store.ErrNotFound)
		}
		return err
	})
	return c, err
}

// Credentials returns a user's credentials by creation.
func (s *Store) Credentials(ctx context.Context, userID string) ([]store.Credential, error) {
	out := []store.Credential{}
	err := s.read(ctx, "credentials of "+userID, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+credentialColumns+` FROM credentials
			WHERE user_id = ? ORDER BY created, hash`, userID)
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

func scanCredential(row interface{ Scan(...any) error }, c *store.Credential) error {
	var created, expires sql.NullInt64
	if err := row.Scan(&c.Hash, &c.UserID, &c.Kind, &c.Name, &created, &expires); err != nil {
		return err
	}
	c.Created, c.Expires = decTime(created), decTime(expires)
	return nil
}

// DeleteCredential removes a credential (signing out), or returns ErrNotFound.
func (s *Store) DeleteCredential(ctx context.Context, hash []byte) error {
	return s.erase(ctx, "delete credential", func(ctx context.Context, tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM credentials WHERE hash = ?`, blob(hash))
		err = affected(res, err, "delete credential")
		return err == nil, err
	})
}

// PurgeCredentials deletes the credentials that expired before a time.
func (s *Store) PurgeCredentials(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.erase(ctx, "purge credentials", func(ctx context.Context, tx *sql.Tx) (bool, error) {
		res, err := tx.ExecContext(ctx, `DELETE FROM credentials WHERE expires < ?`, before.UnixNano())
		if err != nil {
			return false, err
		}
		n, err = res.RowsAffected()
		return n > 0, err
	})
	return int(n), err
}

// affected turns a statement that changed no row into ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
