package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"duet/store"
)

var _ store.Interviews = (*Store)(nil)

// listInterviews is one page of interviews in one statement. The sessions are
// those of the principal (session_members_by_principal) and of the team
// (sessions_by_team, a partial index: hence the literal test for a team); the page is
// cut by keyset on (created, id) first, and only then, for its rows alone, the
// counts, names and excerpt are read, by subqueries on each session's own keys.
// A session without a creation time sorts as the oldest.
const listInterviews = `
WITH page AS (
	SELECT s.pk FROM sessions s
	WHERE s.pk IN (
			SELECT m.session FROM session_members m WHERE m.principal = :principal AND :principal <> ''
			UNION
			SELECT t.pk FROM sessions t WHERE t.team = :team AND t.team <> '' AND :team <> '')
		AND (:search = '' OR EXISTS (SELECT 1 FROM participants p WHERE p.session = s.pk AND instr(lower(p.name), :search) > 0))
		AND (:after = '' OR COALESCE(s.created, :min) < :created OR (COALESCE(s.created, :min) = :created AND s.id < :after))
	ORDER BY COALESCE(s.created, :min) DESC, s.id DESC
	LIMIT :limit)
SELECT s.id, s.language, s.created, s.last_active, s.ended, s.team, s.version,
	(SELECT COUNT(*) FROM runs r WHERE r.session = s.pk),
	(SELECT COUNT(*) FROM notes n WHERE n.session = s.pk),
	(SELECT json_group_array(name) FROM
		(SELECT p.name FROM participants p WHERE p.session = s.pk ORDER BY p.pk LIMIT :names)),
	(SELECT substr(sn.text, 1, :excerpt) FROM snapshots sn WHERE sn.session = s.pk ORDER BY sn.version DESC LIMIT 1)
FROM page JOIN sessions s ON s.pk = page.pk
ORDER BY COALESCE(s.created, :min) DESC, s.id DESC`

// SetTeam gives a session to a team.
func (s *Store) SetTeam(ctx context.Context, id, team string) error {
	return s.write(ctx, "set team of "+id, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET team = ? WHERE id = ?`, team, id)
		return mustAffect(res, err, id)
	})
}

// ListInterviews returns a page of interviews, newest first.
func (s *Store) ListInterviews(ctx context.Context, q store.InterviewQuery) ([]store.Interview, error) {
	out := []store.Interview{}
	created := int64(math.MinInt64)
	if !q.After.Created.IsZero() {
		created = q.After.Created.UnixNano()
	}
	err := s.read(ctx, "list interviews", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, listInterviews,
			sql.Named("names", store.MaxListedParticipants), sql.Named("excerpt", store.ExcerptBytes),
			sql.Named("principal", q.Principal), sql.Named("team", q.Team), sql.Named("search", store.FoldASCII(q.Search)),
			sql.Named("after", q.After.ID), sql.Named("created", created), sql.Named("min", int64(math.MinInt64)),
			sql.Named("limit", q.ClampLimit()))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var iv store.Interview
			var created, active, ended sql.NullInt64
			var names string
			if err := rows.Scan(&iv.ID, &iv.Language, &created, &active, &ended, &iv.Team, &iv.Version, &iv.Runs, &iv.Notes, &names, &iv.Excerpt); err != nil {
				return err
			}
			iv.CreatedAt, iv.LastActive, iv.Ended = decTime(created), decTime(active), decTime(ended)
			if err := json.Unmarshal([]byte(names), &iv.Participants); err != nil {
				return fmt.Errorf("participants of %s: %w", iv.ID, err)
			}
			out = append(out, iv)
		}
		return rows.Err()
	})
	return out, err
}
