package postgres

import (
	"context"
	"math"

	"duet/store"
)

var _ store.Interviews = (*Store)(nil)

// listInterviews is one page of interviews in one statement. The sessions are
// those of the principal (session_members_by_principal) and of the team
// (sessions_by_team, a partial index: hence the literal test for a team); the page is
// cut by keyset on (created, id) first, and only then, for its rows alone, the
// counts, names and excerpt are read, by subqueries on each session's own keys.
// Names are bytea: the search folds A to Z in their escape form (encode(…,
// 'escape') writes every other byte as digits), so it is the same in every locale
// and in every back end. A session without a creation time sorts as the oldest.
const listInterviews = `
WITH page AS (
	SELECT s.pk FROM sessions s
	WHERE s.pk IN (
			SELECT m.session FROM session_members m WHERE m.principal = $3 AND $3 <> ''
			UNION
			SELECT t.pk FROM sessions t WHERE t.team = $4 AND t.team <> '' AND $4 <> '')
		AND ($5 = '' OR EXISTS (SELECT 1 FROM participants p WHERE p.session = s.pk
			AND strpos(translate(encode(p.name, 'escape'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), $5) > 0))
		AND ($6 = '' OR (COALESCE(s.created, $9), s.id) < ($7, $6))
	ORDER BY COALESCE(s.created, $9) DESC, s.id DESC
	LIMIT $8)
SELECT s.id, s.language, s.created, s.last_active, s.ended, s.team, s.version,
	(SELECT count(*) FROM runs r WHERE r.session = s.pk),
	(SELECT count(*) FROM notes n WHERE n.session = s.pk),
	ARRAY(SELECT p.name FROM participants p WHERE p.session = s.pk ORDER BY p.pk LIMIT $1),
	(SELECT substring(sn.text FROM 1 FOR $2) FROM snapshots sn WHERE sn.session = s.pk ORDER BY sn.version DESC LIMIT 1)
FROM page JOIN sessions s ON s.pk = page.pk
ORDER BY COALESCE(s.created, $9) DESC, s.id DESC`

// SetTeam gives a session to a team.
func (s *Store) SetTeam(ctx context.Context, id, team string) error {
	return s.do(ctx, "set team of "+id, func(ctx context.Context) error {
		return mustAffect(s.pool.Exec(ctx, `UPDATE sessions SET team = $1 WHERE id = $2`, team, id))(id)
	})
}

// ListInterviews returns a page of interviews, newest first.
func (s *Store) ListInterviews(ctx context.Context, q store.InterviewQuery) ([]store.Interview, error) {
	var out []store.Interview
	created := int64(math.MinInt64)
	if !q.After.Created.IsZero() {
		created = q.After.Created.UnixNano()
	}
	err := s.do(ctx, "list interviews", func(ctx context.Context) error {
		out = []store.Interview{}
		rows, err := s.pool.Query(ctx, listInterviews, store.MaxListedParticipants, store.ExcerptBytes,
			q.Principal, q.Team, escapeSearch(store.FoldASCII(q.Search)), q.After.ID, created, q.ClampLimit(), int64(math.MinInt64))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var iv store.Interview
			var created, active, ended *int64
			var names [][]byte
			if err := rows.Scan(&iv.ID, &iv.Language, &created, &active, &ended, &iv.Team, &iv.Version, &iv.Runs, &iv.Notes, &names, &iv.Excerpt); err != nil {
				return err
			}
			iv.CreatedAt, iv.LastActive, iv.Ended = decTime(created), decTime(active), decTime(ended)
			iv.Participants = make([]string, len(names))
			for i, n := range names {
				iv.Participants[i] = string(n)
			}
			out = append(out, iv)
		}
		return rows.Err()
	})
	return out, err
}

// escapeSearch writes s as encode(…, 'escape') writes bytea: a backslash doubled,
// a zero byte and every byte with its high bit set as a backslash and three octal
// digits, every other byte as it is.
func escapeSearch(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == 0 || c >= 0x80:
			b = append(b, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
