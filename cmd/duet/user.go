package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"duet/accounts"
	"duet/store/sqlite"
)

const userUsage = `Usage: duet user add -login LOGIN [-name NAME] [-team TEAM]
       duet user passwd -login LOGIN
       duet user delete -login LOGIN
       duet user token -login LOGIN [-name WHAT-FOR]
       duet user list

Manages the interviewer accounts of -auth password (and the accounts -auth oidc
made). The password is read from the terminal without echo, or from the first
line of standard input when it is not a terminal (never from a flag, which
other users of the machine could read). A token is an API token for programs
that start interviews (Authorization: Bearer duet_…): it is printed once and
kept only as a hash. Every command takes the store flags of duet (-store,
-data-dir, -database-url and their environment variables).

`

// runUser runs `duet user …`.
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(out, userUsage)
		return errors.New("user: want a command: add, passwd, delete, token or list")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("duet user "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	storeKind := fs.String("store", env("STORE", "sqlite"), "sqlite (in -data-dir) or postgres (at -database-url) (env STORE)")
	dataDir := fs.String("data-dir", env("DATA_DIR", "./data"), "folder of duet.db (env DATA_DIR)")
	databaseURL := fs.String("database-url", env("DATABASE_URL", ""), "with -store postgres: the database (env DATABASE_URL)")
	login := fs.String("login", "", "the account's login: a name or an email")
	name := fs.String("name", "", "add: display name (default: the login before any @); token: what the token is for")
	team := fs.String("team", "", "add: the team whose interviews the user sees too")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), userUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("user %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	switch cmd {
	case "add", "passwd", "delete", "token":
		if *login == "" {
			return fmt.Errorf("user %s: give -login", cmd)
		}
	case "list":
	default:
		fmt.Fprint(out, userUsage)
		return fmt.Errorf("user: unknown command %q: want add, passwd, delete, token or list", cmd)
	}
	if *storeKind == "memory" {
		return errors.New("user: -store memory keeps no accounts across runs: use sqlite or postgres")
	}
	cfg := config{store: *storeKind, dataDir: *dataDir, databaseURL: *databaseURL, sync: sqlite.SyncFull}
	st, err := openStore(ctx, cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("user %s: %w", cmd, err)
	}
	defer st.Close()
	svc := accounts.New(st, accounts.Options{})

	switch cmd {
	case "add":
		pw, err := readPassword(stdin, out, true)
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		u, err := svc.AddUser(ctx, accounts.NewUser{Login: *login, Name: *name, Team: *team, Password: pw})
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(out, "added %s (%s)\n", u.Login, u.Name)
	case "passwd":
		pw, err := readPassword(stdin, out, true)
		if err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		if err := svc.SetPassword(ctx, *login, pw); err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		fmt.Fprintf(out, "password of %s changed; its browsers are signed out\n", accounts.NormalizeLogin(*login))
	case "delete":
		if err := svc.DeleteUser(ctx, *login); err != nil {
			return fmt.Errorf("user delete: %w", err)
		}
		fmt.Fprintf(out, "deleted %s; the interviews stay\n", accounts.NormalizeLogin(*login))
	case "token":
		token, err := svc.NewAPIToken(ctx, *login, *name)
		if err != nil {
			return fmt.Errorf("user token: %w", err)
		}
		fmt.Fprintln(out, token)
	case "list":
		users, err := svc.Users(ctx)
		if err != nil {
			return fmt.Errorf("user list: %w", err)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LOGIN\tNAME\tTEAM\tSIGN-IN\tCREATED")
		for _, u := range users {
			how := "password"
			if u.PasswordHash == "" {
				how = "oidc"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Login, u.Name, u.Team, how, u.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	}
	return nil
}

// readPassword reads a password: from the terminal without echo, asked twice, or
// else the first line of stdin.
func readPassword(stdin io.Reader, out io.Writer, confirm bool) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(out, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		if confirm {
			fmt.Fprint(out, "Again: ")
			again, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(out)
			if err != nil {
				return "", err
			}
			if string(again) != string(pw) {
				return "", errors.New("the two passwords differ")
			}
		}
		return string(pw), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
