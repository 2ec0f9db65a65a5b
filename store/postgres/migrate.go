package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations is the schema's history, oldest first: migrations[i] takes the
// database from schema version i to i+1. Never edit one that has shipped; append.
//
// Times are Unix nanoseconds in int8 (NULL for the zero time): timestamptz keeps
// only microseconds, and the store gives times back to the nanosecond. Changes and
// snapshot text are bytea, so that PostgreSQL never looks at their encoding:
// collab's JSON escapes lone surrogates, and the bytes come back as they went in.
// So are the strings a client chooses (client ids, user ids and names, run ids,
// titles, statuses and output): text refuses NUL and bytes that are not UTF-8, and
// the store keeps whatever it is given. Read them in psql with
// convert_from(name, 'UTF8'). Sessions have an integer key of their own, so the
// log does not repeat a 36-byte id per row.
var migrations = []string{
	// 1: sessions, the update log and snapshots.
	`CREATE TABLE sessions (
		pk               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		id               text NOT NULL UNIQUE,
		language         text NOT NULL,
		created          bigint,
		last_active      bigint,
		owner_token_hash bytea NOT NULL,
		version          integer NOT NULL DEFAULT 0 -- length of the log
	);
	CREATE INDEX sessions_by_last_active ON sessions (last_active);

	CREATE TABLE updates (
		session   bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		version   integer NOT NULL, -- the version the update applies to: its index in the log
		client_id bytea NOT NULL,
		user_id   bytea NOT NULL,
		changes   bytea NOT NULL,
		time      bigint,
		CONSTRAINT updates_pkey PRIMARY KEY (session, version)
	);

	CREATE TABLE snapshots (
		session bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		version integer NOT NULL,
		text    bytea NOT NULL, -- a JSON string literal
		PRIMARY KEY (session, version)
	);`,

	// 2: runs and their output.
	`CREATE TABLE runs (
		pk        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		session   bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		id        bytea NOT NULL,
		user_id   bytea NOT NULL,
		user_name bytea NOT NULL,
		language  text NOT NULL,
		title     bytea NOT NULL,
		version   integer NOT NULL, -- the document version when the run started
		started   bigint,
		ended     bigint,
		status    bytea NOT NULL,
		truncated boolean NOT NULL,
		UNIQUE (session, id)
	);
	CREATE INDEX runs_by_start ON runs (session, started, pk);

	CREATE TABLE run_output (
		run    bigint NOT NULL REFERENCES runs (pk) ON DELETE CASCADE,
		seq    integer NOT NULL,
		stream text NOT NULL,
		text   bytea NOT NULL,
		PRIMARY KEY (run, seq)
	);`,

	// 3: who joined each session, for the replay's names. pk orders them by first join.
	`CREATE TABLE participants (
		pk      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		session bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		user_id bytea NOT NULL,
		name    bytea NOT NULL,
		joined  bigint,
		UNIQUE (session, user_id)
	);`,

	// 4: the question library, and the copies of questions given to sessions. What a
	// question says is one JSON document (store.EncodeQuestion), kept as bytea like
	// everything else a client wrote: it is read and written whole.
	`CREATE TABLE questions (
		id      text PRIMARY KEY,
		title   bytea NOT NULL,
		created bigint,
		updated bigint,
		body    bytea NOT NULL
	);

	CREATE TABLE session_questions (
		session bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		seq     integer NOT NULL, -- order of addition
		id      text NOT NULL, -- the library question it was copied from
		version integer NOT NULL, -- the document version when it was added
		added   bigint,
		created bigint,
		updated bigint,
		body    bytea NOT NULL,
		PRIMARY KEY (session, seq)
	);`,
	// 5: what each session stores, against its quota (store.Update.Bytes,
	// store.Run.Bytes and store.Snapshot.Bytes: 32 bytes a row besides what it was
	// given).
	`ALTER TABLE sessions ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
	UPDATE sessions SET bytes =
		(SELECT COALESCE(sum(32 + octet_length(client_id) + octet_length(user_id) + octet_length(changes)), 0)
			FROM updates WHERE session = sessions.pk)
		+ (SELECT COALESCE(sum(32 + octet_length(id) + octet_length(user_id) + octet_length(user_name)
			+ octet_length(language) + octet_length(title) + octet_length(status)), 0)
			FROM runs WHERE session = sessions.pk)
		+ (SELECT COALESCE(sum(32 + octet_length(o.stream) + octet_length(o.text)), 0)
			FROM run_output o JOIN runs r ON r.pk = o.run WHERE r.session = sessions.pk)
		+ (SELECT COALESCE(sum(32 + octet_length(text)), 0) FROM snapshots WHERE session = sessions.pk);`,

	// 6: roles. When an interview ended, and who its interviewers are (by principal,
	// which is never shown; public_id is what the others see). Principals and public
	// ids are made by duet (hex, or an account id), so they are text. The index
	// serves "the interviews of this principal, newest first".
	`ALTER TABLE sessions ADD COLUMN ended bigint;

	CREATE TABLE session_members (
		session   bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
		principal text NOT NULL,
		role      text NOT NULL,
		public_id text NOT NULL,
		added     bigint,
		PRIMARY KEY (session, principal)
	);
	CREATE INDEX session_members_by_principal ON session_members (principal, added);`,
}

// migrateLock is the key of the advisory lock that serialises migrations: any
// number that other applications on the database are unlikely to use.
const migrateLock = 0x64756574_6d696772 // "duetmigr"

// migrate brings the schema to version target (at most len(migrations)) in one
// transaction. The transaction first takes an advisory lock, so that processes
// starting at once on a new database wait for each other and the migrations run
// exactly once; the version table records each migration applied. PostgreSQL's
// DDL is transactional, so a failed migration leaves the schema as it was. A
// database newer than this code is refused rather than used half-understood.
func migrate(ctx context.Context, pool *pgxpool.Pool, target int) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Without a schema to create tables in (a search_path naming schemas that do
	// not exist, or none the user may create in), say so rather than fail later.
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if schema == nil {
		return errors.New("migrate: no schema to create duet's tables in: the search_path names none that exists")
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		applied bigint NOT NULL -- Unix nanoseconds
	)`); err != nil {
		return fmt.Errorf("migrate (in schema %s): %w", *schema, err)
	}
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this duet knows (%d): run a newer duet", current, len(migrations))
	}
	for v := current; v < target; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, v+1, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func schemaVersion(ctx context.Context, tx pgx.Tx) (int, error) {
	var v int
	err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
