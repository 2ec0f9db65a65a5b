package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"duet/store"
)

// AddMember records a member of a session, unless the principal is one already.
func (s *Store) AddMember(ctx context.Context, id string, m store.Member) error {
	if err := store.CheckMember(m); err != nil {
		return fmt.Errorf("add member to %s: %w", id, err)
	}
	return s.write(ctx, "add member to "+id, func(ctx context.Context, tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO session_members (session, principal, role, public_id, added)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (session, principal) DO NOTHING`, pk, m.Principal, m.Role, m.PublicID, encTime(m.Added))
		return err
	})
}

// Member returns the session's member with that principal, or ErrNotFound.
func (s *Store) Member(ctx context.Context, id, principal string) (store.Member, error) {
	out := store.Member{SessionID: id, Principal: principal}
	err := s.read(ctx, "member of "+id, func(tx *sql.Tx) error {
		var added sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT m.role, m.public_id, m.added FROM session_members m
			JOIN sessions s ON s.pk = m.session WHERE s.id = ? AND m.principal = ?`, id, principal).Scan(&out.Role, &out.PublicID, &added)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("member of %s: %w", id, store.ErrNotFound)
		}
		out.Added = decTime(added)
		return err
	})
	if err != nil {
		return store.Member{}, err
	}
	return out, nil
}

// Members returns a session's members by the time they were added.
func (s *Store) Members(ctx context.Context, id string) ([]store.Member, error) {
	var out []store.Member
	err := s.read(ctx, "members of "+id, func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT principal, role, public_id, added FROM session_members
			WHERE session = ? ORDER BY added, principal`, pk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := store.Member{SessionID: id}
			var added sql.NullInt64
			if err := rows.Scan(&m.Principal, &m.Role, &m.PublicID, &added); err != nil {
				return err
			}
			m.Added = decTime(added)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
