package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrations is how many migrations this code knows.
var Migrations = len(migrations)

// MigrateTo brings the database at url to schema version n only, as an older duet
// would have left it.
func MigrateTo(ctx context.Context, url string, n int) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool, n)
}
