package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"duet/store"
)

// SaveParticipant records someone who joined a session, or their new name.
func (s *Store) SaveParticipant(ctx context.Context, id string, p store.Participant) error {
	return s.write(ctx, fmt.Sprintf("record participant %s of %s", p.UserID, id), func(ctx context.Context, tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO participants (session, user_id, name, joined) VALUES (?, ?, ?, ?)
			ON CONFLICT (session, user_id) DO UPDATE SET name = excluded.name`, pk, p.UserID, p.Name, encTime(p.Joined))
		return err
	})
}

// Participants returns who joined a session, in the order they first joined.
func (s *Store) Participants(ctx context.Context, id string) ([]store.Participant, error) {
	var out []store.Participant
	err := s.read(ctx, "participants of "+id, func(tx *sql.Tx) error {
		pk, _, err := sessionVersion(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT user_id, name, joined FROM participants WHERE session = ? ORDER BY pk`, pk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p store.Participant
			var joined sql.NullInt64
			if err := rows.Scan(&p.UserID, &p.Name, &joined); err != nil {
				return err
			}
			p.Joined = decTime(joined)
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
