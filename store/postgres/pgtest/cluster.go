package pgtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// Cluster is a PostgreSQL server of a test's own, in a temporary folder, on a free
// port of 127.0.0.1: a test may stop it and start it again without touching the
// server other tests share.
type Cluster struct {
	URL string // of its postgres database, user postgres, trust authentication

	bin  string // folder of initdb and pg_ctl
	dir  string // data folder
	port int
	as   string // the user to run the server as when the test runs as root ("" otherwise)
}

// StartCluster creates a cluster with initdb and starts it. It is stopped and
// removed when t ends. PostgreSQL refuses to run as root, so a test running as
// root runs it as the postgres user, in a folder that user owns.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatalf("no /usr/lib/postgresql/*/bin/pg_ctl: install Debian's postgresql (make test-deps)")
	}
	sort.Strings(bins)
	c := &Cluster{bin: filepath.Dir(bins[len(bins)-1])}

	// Not t.TempDir: its parents are private to root, and the server may have to
	// run as postgres.
	dir, err := os.MkdirTemp("", "duet-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c.dir = filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = "postgres"
	}

	c.port = stablePort(t)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)

	c.run(t, "initdb", "--no-sync", "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "-D", c.dir)
	t.Cleanup(func() {
		// Whatever state the test left it in; "immediate" since the data goes next.
		cmd := c.command("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop")
		cmd.Run()
	})
	c.Start(t)
	return c
}

// stablePort returns a free port below the kernel's ephemeral range. A port that
// ":0" handed out and that was closed again may be given to any other socket of the
// machine (an outgoing connection included) before the server binds it, or while it
// is stopped for a restart; a port below the range is only ever taken on purpose.
func stablePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s", c.port, filepath.Dir(c.dir))
	c.run(t, "pg_ctl", "-D", c.dir, "-l", filepath.Join(filepath.Dir(c.dir), "server.log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop shuts the server down the way an operator's restart or a failover does
// ("fast": open connections are cut, transactions in progress are rolled back)
// and waits until it has stopped.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", c.dir, "-m", "fast", "-w", "-t", "60", "stop")
}

// Log returns what the server logged, for a failing test to show.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(c.dir), "server.log"))
	return string(b)
}

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, c.Log())
	}
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.as != "" {
		return exec.Command("runuser", append([]string{"-u", c.as, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}
