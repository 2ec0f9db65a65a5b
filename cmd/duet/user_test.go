package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"duet/accounts"
	"duet/store/sqlite"
)

// TestUserCommand runs duet user against a SQLite data folder: add (the password
// from standard input), list, token, passwd, delete, and the refusals.
func TestUserCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := func(k string) string {
		if k == "DATA_DIR" {
			return dir
		}
		return ""
	}
	user := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := runUser(context.Background(), args, env, strings.NewReader(stdin), &out)
		return out.String(), err
	}
	if out, err := user("correct horse battery\n", "add", "-login", "Ada@Example.com", "-name", "Ada", "-team", "core"); err != nil || !strings.Contains(out, "added ada@example.com (Ada)") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"correct horse battery\n", []string{"add", "-login", "ada@example.com"}, "that login is taken"},
		{"short\n", []string{"add", "-login", "bob"}, "a password is 10 to 1024 characters long"},
		{"", []string{"add", "-login", "bob"}, "no password on standard input"},
		{"correct horse battery\n", []string{"add"}, "give -login"},
		{"correct horse battery\n", []string{"add", "-login", "two words"}, "without spaces"},
		{"", []string{"delete", "-login", "nobody"}, "no such user"},
		{"", []string{"token", "-login", "nobody"}, "no such user"},
		{"", []string{"rename"}, `unknown command "rename"`},
		{"", nil, "want a command"},
		{"", []string{"list", "extra"}, `unexpected argument "extra"`},
		{"", []string{"list", "-store", "memory"}, "-store memory keeps no accounts"},
		{"", []string{"add", "-login", "x", "-password", "secret"}, "flag provided but not defined: -password"},
	} {
		if out, err := user(tt.stdin, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("user %q = %v\n%s\nwant an error saying %q", tt.args, err, out, tt.want)
		}
	}
	out, err := user("", "list")
	if err != nil || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "core") || strings.Contains(out, "bob") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	token, err := user("", "token", "-login", "ada@example.com", "-name", "ci")
	token = strings.TrimSpace(token)
	if err != nil || !accounts.IsAPIToken(token) {
		t.Fatalf("user token = %q, %v", token, err)
	}
	if _, err := user("another good password\n", "passwd", "-login", "ADA@example.com"); err != nil {
		t.Fatalf("user passwd: %v", err)
	}

	// What the commands did, seen through the store as duet serves it.
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "duet.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := accounts.New(st, accounts.Options{})
	if _, _, err := svc.Login(t.Context(), "ada@example.com", "another good password", "192.0.2.1"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if u, err := svc.APIUser(t.Context(), token); err != nil || u.Team != "core" {
		t.Errorf("the API token proves %+v, %v; want ada of team core", u, err)
	}
	st.Close()
	if out, err := user("", "delete", "-login", "ada@example.com"); err != nil || !strings.Contains(out, "deleted ada@example.com") {
		t.Errorf("user delete: %v\n%s", err, out)
	}
	if out, _ := user("", "list"); strings.Contains(out, "ada@example.com") {
		t.Errorf("after delete, user list = %s", out)
	}
}
