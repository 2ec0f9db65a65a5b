package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

// AddMember records a member of a session, unless the principal is one already.
func (s *Store) AddMember(ctx context.Context, id string, m store.Member) error {
	if err := store.CheckMember(m); err != nil {
		return fmt.Errorf("add member to %s: %w", id, err)
	}
	return s.do(ctx, "add member to "+id, func(ctx context.Context) error {
		var sessions int
		err := s.pool.QueryRow(ctx, `WITH s AS (
				SELECT pk FROM sessions WHERE id = $1
			), ins AS (
				INSERT INTO session_members (session, principal, role, public_id, added) SELECT pk, $2, $3, $4, $5 FROM s
				ON CONFLICT (session, principal) DO NOTHING
			)
			SELECT count(*) FROM s`, id, m.Principal, m.Role, m.PublicID, encTime(m.Added)).Scan(&sessions)
		if err == nil && sessions == 0 {
			return noSession(id)
		}
		return err
	})
}

// Member returns the session's member with that principal, or ErrNotFound.
func (s *Store) Member(ctx context.Context, id, principal string) (store.Member, error) {
	out := store.Member{SessionID: id, Principal: principal}
	err := s.do(ctx, "member of "+id, func(ctx context.Context) error {
		var added *int64
		err := s.pool.QueryRow(ctx, `SELECT m.role, m.public_id, m.added FROM session_members m
			JOIN sessions s ON s.pk = m.session WHERE s.id = $1 AND m.principal = $2`, id, principal).Scan(&out.Role, &out.PublicID, &added)
		if errors.Is(err, errNoRows) {
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

// Members returns a session's members by the time they were added. The order
// matches the other back ends: the zero time first, principals byte by byte.
func (s *Store) Members(ctx context.Context, id string) ([]store.Member, error) {
	var out []store.Member
	err := s.do(ctx, "members of "+id, func(ctx context.Context) error {
		out = nil
		return sessionRows(ctx, s.pool, `SELECT m.principal, m.role, m.public_id, m.added
			FROM sessions s LEFT JOIN session_members m ON m.session = s.pk
			WHERE s.id = $1 ORDER BY m.added NULLS FIRST, m.principal COLLATE "C"`, id, func(rows pgx.Rows) error {
			var principal, role, public *string
			var added *int64
			if err := rows.Scan(&principal, &role, &public, &added); err != nil {
				return err
			}
			if principal != nil { // else the LEFT JOIN's row of a session without members
				out = append(out, store.Member{SessionID: id, Principal: *principal, Role: *role, PublicID: *public, Added: decTime(added)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
