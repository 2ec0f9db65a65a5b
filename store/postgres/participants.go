package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"duet/store"
)

// SaveParticipant records someone who joined a session, or their new name.
func (s *Store) SaveParticipant(ctx context.Context, id string, p store.Participant) error {
	return s.do(ctx, fmt.Sprintf("record participant %s of %s", p.UserID, id), func(ctx context.Context) error {
		var sessions int
		err := s.pool.QueryRow(ctx, `WITH s AS (
				SELECT pk FROM sessions WHERE id = $1
			), ins AS (
				INSERT INTO participants (session, user_id, name, joined) SELECT pk, $2, $3, $4 FROM s
				ON CONFLICT (session, user_id) DO UPDATE SET name = excluded.name
			)
			SELECT count(*) FROM s`, id, []byte(p.UserID), []byte(p.Name), encTime(p.Joined)).Scan(&sessions)
		if err == nil && sessions == 0 {
			return noSession(id)
		}
		return err
	})
}

// Participants returns who joined a session, in the order they first joined.
func (s *Store) Participants(ctx context.Context, id string) ([]store.Participant, error) {
	var out []store.Participant
	err := s.do(ctx, "participants of "+id, func(ctx context.Context) error {
		out = nil
		return sessionRows(ctx, s.pool, `SELECT p.pk, p.user_id, p.name, p.joined
			FROM sessions s LEFT JOIN participants p ON p.session = s.pk
			WHERE s.id = $1 ORDER BY p.pk`, id, func(rows pgx.Rows) error {
			var key, joined *int64
			var user, name []byte
			if err := rows.Scan(&key, &user, &name, &joined); err != nil {
				return err
			}
			if key != nil { // else the LEFT JOIN's row of a session nobody joined
				out = append(out, store.Participant{UserID: string(user), Name: string(name), Joined: decTime(joined)})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
