// Package pgtest gives tests PostgreSQL databases of their own: a database with a
// random name on the shared server (DATABASE_URL, else the local one), dropped
// when the test ends, schemas in it for stores that must start empty, and a
// private server a test may stop and start.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres"

// ServerURL returns DATABASE_URL, or DefaultURL.
func ServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates a database with a random name on the server at ServerURL,
// drops it (closing what is still connected) when t ends, and returns its URL.
// Tests of other engineers run on the same server at the same time: nothing is
// shared but the server.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabaseOn(t, ServerURL())
}

func newDatabaseOn(t testing.TB, server string) string {
	t.Helper()
	name := "duet_test_" + randomName()
	run(t, server, `CREATE DATABASE `+name)
	t.Cleanup(func() {
		run(t, server, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return WithParam(server, "dbname", name)
}

// NewSchema creates a schema with a random name in the database at dbURL and
// returns a URL whose search_path is that schema alone, so that a store opened on
// it starts empty. The schema goes when the database is dropped.
func NewSchema(t testing.TB, dbURL string) string {
	t.Helper()
	name := "s_" + randomName()
	run(t, dbURL, `CREATE SCHEMA `+name)
	return WithParam(dbURL, "search_path", name)
}

// Exec runs sql on the database at dbURL, failing t on error.
func Exec(t testing.TB, dbURL, sql string, args ...any) {
	t.Helper()
	run(t, dbURL, sql, args...)
}

func run(t testing.TB, dbURL, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v (tests need a server: set DATABASE_URL, or run `make test-deps`)", redact(dbURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// WithParam returns the connection string u with one parameter set: dbname
// (the path of a URL) or any run-time parameter such as search_path. u is a
// postgres:// URL or a key=value string.
func WithParam(u, key, value string) string {
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		parsed, err := url.Parse(u)
		if err != nil {
			return u // the caller's connect reports it
		}
		if key == "dbname" {
			parsed.Path = "/" + value
		} else {
			q := parsed.Query()
			q.Set(key, value)
			parsed.RawQuery = q.Encode()
		}
		return parsed.String()
	}
	return u + " " + key + "=" + value // the last of a repeated key wins
}

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(u string) string {
	if parsed, err := url.Parse(u); err == nil && parsed.User != nil {
		return parsed.Redacted()
	}
	return u
}
