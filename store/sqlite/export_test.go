package sqlite

import (
	"context"
	"database/sql"
)

// Migrations is how many migrations this code knows.
var Migrations = len(migrations)

// MigrateTo brings the database at path to schema version n only, as an older duet
// would have left it.
func MigrateTo(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", path+"?_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	return migrate(ctx, db, n)
}

// OpenWALLimit is Open with another WAL size (in bytes) past which the committer
// checkpoints itself.
func OpenWALLimit(ctx context.Context, path string, opts Options, bytes int64) (*Store, error) {
	return open(ctx, path, opts, bytes)
}

// KeepDeleted is o without secure_delete, to measure what zeroing deleted content
// costs.
func KeepDeleted(o Options) Options {
	o.keepDeleted = true
	return o
}
