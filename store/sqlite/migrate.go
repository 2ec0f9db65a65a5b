package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations is the schema's history, oldest first: migrations[i] takes the
// database from schema version i to i+1. Never edit one that has shipped; append.
//
// Times are Unix nanoseconds (NULL for the zero time). Changes and snapshot text
// are BLOBs so that SQLite never looks at their encoding: collab's JSON escapes
// lone surrogates, and the bytes come back as they went in. Sessions have an integer
// key of their own, so the log does not repeat a 36-byte UUID per row.
var migrations = []string{
	// 1: sessions, the update log and snapshots.
	`CREATE TABLE sessions (
		pk               INTEGER PRIMARY KEY,
		id               TEXT NOT NULL UNIQUE,
		language         TEXT NOT NULL,
		created          INTEGER,
		last_active      INTEGER,
		owner_token_hash BLOB,
		version          INTEGER NOT NULL DEFAULT 0 -- length of the log
	) STRICT;
	CREATE INDEX sessions_by_last_active ON sessions (last_active);

	CREATE TABLE updates (
		session   INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		version   INTEGER NOT NULL, -- the version the update applies to: its index in the log
		client_id TEXT NOT NULL,
		user_id   TEXT NOT NULL,
		changes   BLOB NOT NULL,
		time      INTEGER,
		PRIMARY KEY (session, version)
	) STRICT, WITHOUT ROWID;

	CREATE TABLE snapshots (
		session INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		version INTEGER NOT NULL,
		text    BLOB NOT NULL, -- a JSON string literal
		PRIMARY KEY (session, version)
	) STRICT, WITHOUT ROWID;`,

	// 2: runs and their output.
	`CREATE TABLE runs (
		pk        INTEGER PRIMARY KEY,
		session   INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		id        TEXT NOT NULL,
		user_id   TEXT NOT NULL,
		user_name TEXT NOT NULL,
		language  TEXT NOT NULL,
		title     TEXT NOT NULL,
		version   INTEGER NOT NULL, -- the document version when the run started
		started   INTEGER,
		ended     INTEGER,
		status    TEXT NOT NULL,
		truncated INTEGER NOT NULL,
		UNIQUE (session, id)
	) STRICT;
	CREATE INDEX runs_by_start ON runs (session, started, pk);

	CREATE TABLE run_output (
		run    INTEGER NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
		seq    INTEGER NOT NULL,
		stream TEXT NOT NULL,
		text   BLOB NOT NULL,
		PRIMARY KEY (run, seq)
	) STRICT, WITHOUT ROWID;`,

	// 3: who joined each session, for the replay's names. pk orders them by first join.
	`CREATE TABLE participants (
		pk      INTEGER PRIMARY KEY,
		session INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		user_id TEXT NOT NULL,
		name    TEXT NOT NULL,
		joined  INTEGER,
		UNIQUE (session, user_id)
	) STRICT;`,

	// 4: the question library, and the copies of questions given to sessions. What a
	// question says is one JSON document (store.EncodeQuestion): it is read and
	// written whole.
	`CREATE TABLE questions (
		id      TEXT PRIMARY KEY,
		title   TEXT NOT NULL,
		created INTEGER,
		updated INTEGER,
		body    BLOB NOT NULL
	) STRICT;

	CREATE TABLE session_questions (
		session INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		seq     INTEGER NOT NULL, -- order of addition
		id      TEXT NOT NULL, -- the library question it was copied from
		version INTEGER NOT NULL, -- the document version when it was added
		added   INTEGER,
		created INTEGER,
		updated INTEGER,
		body    BLOB NOT NULL,
		PRIMARY KEY (session, seq)
	) STRICT, WITHOUT ROWID;`,
	// 5: what each session stores, against its quota (store.Update.Bytes,
	// store.Run.Bytes and store.Snapshot.Bytes: 32 bytes a row besides what it was
	// given).
	`ALTER TABLE sessions ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
	UPDATE sessions SET bytes =
		(SELECT COALESCE(SUM(32 + length(CAST(client_id AS BLOB)) + length(CAST(user_id AS BLOB)) + length(changes)), 0)
			FROM updates WHERE session = sessions.pk)
		+ (SELECT COALESCE(SUM(32 + length(CAST(id AS BLOB)) + length(CAST(user_id AS BLOB)) + length(CAST(user_name AS BLOB))
			+ length(CAST(language AS BLOB)) + length(CAST(title AS BLOB)) + length(CAST(status AS BLOB))), 0)
			FROM runs WHERE session = sessions.pk)
		+ (SELECT COALESCE(SUM(32 + length(CAST(o.stream AS BLOB)) + length(o.text)), 0)
			FROM run_output o JOIN runs r ON r.pk = o.run WHERE r.session = sessions.pk)
		+ (SELECT COALESCE(SUM(32 + length(text)), 0) FROM snapshots WHERE session = sessions.pk);`,

	// 6: roles. When an interview ended, and who its interviewers are (by principal,
	// which is never shown; public_id is what the others see). The index serves
	// "the interviews of this principal, newest first".
	`ALTER TABLE sessions ADD COLUMN ended INTEGER;

	CREATE TABLE session_members (
		session   INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		principal TEXT NOT NULL,
		role      TEXT NOT NULL,
		public_id TEXT NOT NULL,
		added     INTEGER,
		PRIMARY KEY (session, principal)
	) STRICT, WITHOUT ROWID;
	CREATE INDEX session_members_by_principal ON session_members (principal, added);`,
}

// migrate brings the schema to version target (at most len(migrations)) in one
// transaction: the version table records each migration applied, so running it
// again does nothing, and two processes opening a new file at once are serialised
// by the write lock (BEGIN IMMEDIATE). A database newer than this code is refused
// rather than used half-understood.
func migrate(ctx context.Context, db *sql.DB, target int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied INTEGER NOT NULL -- Unix nanoseconds
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this duet knows (%d): run a newer duet", current, len(migrations))
	}
	for v := current; v < target; v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`, v+1, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
