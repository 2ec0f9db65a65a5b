package accounts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"duet/store"
)

// cheap keeps tests fast; TestDefaultCost measures the real cost.
var cheap = Argon2{Time: 1, Memory: 64, Threads: 1}

// clock is a settable time for the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(t *testing.T, o Options) (*Service, *clock, *store.Memory) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	o.Argon2, o.Now = cheap, c.now
	return New(st, o), c, st
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	if h := DefaultArgon2.hash("correct horse battery"); !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash = %q, want argon2id with its parameters stated", h)
	}
	a := Argon2{Time: 2, Memory: 1024, Threads: 2}
	h := a.hash("correct horse battery")
	if h2 := a.hash("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tt := range []struct {
		encoded, pw string
		want        bool
		wantErr     bool
	}{
		{h, "correct horse battery", true, false},
		{h, "correct horse batterY", false, false},
		{h, "", false, false},
		{strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false, true},
		{strings.Replace(h, "m=1024", "m=4294967295", 1), "correct horse battery", false, true}, // absurd memory refused, not allocated
		{strings.Replace(h, "m=1024", "m=2048", 1), "correct horse battery", false, false},      // the parameters are part of the hash
		{strings.Replace(h, "t=2", "t=0", 1), "correct horse battery", false, true},
		{h[:len(h)-4], "correct horse battery", false, false}, // truncated key: compared, and wrong
		{h[:len(h)-30], "correct horse battery", false, true}, // too short to be a key
		{"", "x", false, true},
		{"$argon2id$v=19$m=64,t=1,p=1$!!$!!", "x", false, true},
	} {
		got, err := verify(tt.encoded, tt.pw)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("verify(%.40q…, %q) = %v, %v; want %v, error %v", tt.encoded, tt.pw, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestDefaultCost logs what a login costs with the default parameters.
func TestDefaultCost(t *testing.T) {
	t.Parallel()
	h := DefaultArgon2.hash("correct horse battery")
	start := time.Now()
	const n = 1
	for range n {
		if ok, err := verify(h, "correct horse battery"); !ok || err != nil {
			t.Fatalf("verify = %v, %v", ok, err)
		}
	}
	t.Logf("BENCH argon2id t=3 m=64MiB p=2: %v a check (mean of %d; slow under -race, shared cores)", time.Since(start)/n, n)
}

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _, _ := newService(t, Options{})
	u, err := s.AddUser(ctx, NewUser{Login: "  Ada@Example.com ", Password: "correct horse battery", Team: "core"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Login != "ada@example.com" || u.Name != "ada" || u.Team != "core" || !strings.HasPrefix(u.PasswordHash, "$argon2id$") || u.ID == "" {
		t.Errorf("AddUser = %+v", u)
	}
	for _, tt := range []struct {
		n    NewUser
		want error
	}{
		{NewUser{Login: "ADA@example.com", Password: "another password"}, ErrLoginTaken},
		{NewUser{Login: "", Password: "correct horse battery"}, ErrInvalid},
		{NewUser{Login: "two words", Password: "correct horse battery"}, ErrInvalid},
		{NewUser{Login: "ctl\x00", Password: "correct horse battery"}, ErrInvalid},
		{NewUser{Login: strings.Repeat("a", 255), Password: "correct horse battery"}, ErrInvalid},
		{NewUser{Login: "bob", Name: strings.Repeat("é", 65), Password: "correct horse battery"}, ErrInvalid},
		{NewUser{Login: "bob", Team: "a\nb", Password: "correct horse battery"}, ErrInvalid},
		{NewUser{Login: "bob", Password: "short"}, ErrWeakPassword},
		{NewUser{Login: "bob", Password: strings.Repeat("x", maxPassword+1)}, ErrWeakPassword},
	} {
		if _, err := s.AddUser(ctx, tt.n); !errors.Is(err, tt.want) {
			t.Errorf("AddUser(%+.60v) error = %v, want %v", tt.n, err, tt.want)
		}
	}
	if users, _ := s.Users(ctx); len(users) != 1 {
		t.Errorf("refused users were stored: %+v", users)
	}
	if err := s.SetPassword(ctx, "nobody", "correct horse battery"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("SetPassword(unknown) error = %v, want ErrUnknownUser", err)
	}
	if err := s.DeleteUser(ctx, "nobody"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("DeleteUser(unknown) error = %v, want ErrUnknownUser", err)
	}
	if err := s.DeleteUser(ctx, "ADA@example.com"); err != nil {
		t.Errorf("DeleteUser error = %v", err)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, clk, _ := newService(t, Options{})
	if _, err := s.AddUser(ctx, NewUser{Login: "ada", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, NewUser{Login: "sso-only"}); err != nil {
		t.Fatal(err)
	}
	token, u, err := s.Login(ctx, "Ada", "correct horse battery", "192.0.2.1")
	if err != nil || u.Login != "ada" || token == "" {
		t.Fatalf("Login = %q, %+v, %v", token, u, err)
	}
	if got, err := s.Browser(ctx, token); err != nil || got.ID != u.ID {
		t.Errorf("Browser(token) = %+v, %v; want ada", got, err)
	}
	if _, err := s.APIUser(ctx, "duet_"+token); !errors.Is(err, ErrSignedOut) {
		t.Errorf("APIUser(a browser's token) error = %v, want ErrSignedOut", err)
	}
	for _, tt := range []struct{ login, pw string }{
		{"ada", "wrong password!"},
		{"nobody", "correct horse battery"},
		{"sso-only", ""},
		{"sso-only", "anything at all"},
		{"ada", strings.Repeat("x", maxPassword+1)},
	} {
		if _, _, err := s.Login(ctx, tt.login, tt.pw, "192.0.2.9"); !errors.Is(err, ErrBadLogin) {
			t.Errorf("Login(%q, %.20q) error = %v, want ErrBadLogin", tt.login, tt.pw, err)
		}
	}

	clk.add(s.SessionTTL())
	if _, err := s.Browser(ctx, token); !errors.Is(err, ErrSignedOut) {
		t.Errorf("Browser(expired) error = %v, want ErrSignedOut", err)
	}
	token, _, _ = s.Login(ctx, "ada", "correct horse battery", "192.0.2.1")
	if err := s.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Browser(ctx, token); !errors.Is(err, ErrSignedOut) {
		t.Errorf("Browser(after logout) error = %v, want ErrSignedOut", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("a", 65)} {
		if _, err := s.Browser(ctx, bad); !errors.Is(err, ErrSignedOut) {
			t.Errorf("Browser(%q) error = %v, want ErrSignedOut", bad, err)
		}
	}

	// A new password signs every browser out; API tokens stay.
	token, _, _ = s.Login(ctx, "ada", "correct horse battery", "192.0.2.1")
	api, err := s.NewAPIToken(ctx, "ada", "ci")
	if err != nil || !IsAPIToken(api) {
		t.Fatalf("NewAPIToken = %q, %v", api, err)
	}
	if err := s.SetPassword(ctx, "ada", "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Browser(ctx, token); !errors.Is(err, ErrSignedOut) {
		t.Errorf("Browser(after a new password) error = %v, want ErrSignedOut", err)
	}
	if got, err := s.APIUser(ctx, api); err != nil || got.Login != "ada" {
		t.Errorf("APIUser(after a new password) = %+v, %v; want ada", got, err)
	}
	if _, err := s.Browser(ctx, strings.TrimPrefix(api, "duet_")); !errors.Is(err, ErrSignedOut) {
		t.Errorf("Browser(an API token) error = %v, want ErrSignedOut", err)
	}
	if _, _, err := s.Login(ctx, "ada", "correct horse battery", "192.0.2.1"); !errors.Is(err, ErrBadLogin) {
		t.Errorf("Login(old password) error = %v, want ErrBadLogin", err)
	}
	if err := s.DeleteUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APIUser(ctx, api); !errors.Is(err, ErrSignedOut) {
		t.Errorf("APIUser(of a deleted user) error = %v, want ErrSignedOut", err)
	}
}

func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, clk, _ := newService(t, Options{FailuresLogin: 3, FailuresAddr: 5, Window: time.Minute})
	for _, l := range []string{"ada", "bob"} {
		if _, err := s.AddUser(ctx, NewUser{Login: l, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, _, err := s.Login(ctx, "ada", "wrong password!", fmt.Sprintf("192.0.2.%d", i)); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Per login: the right password from a fresh address waits too.
	_, _, err := s.Login(ctx, "ADA", "correct horse battery", "198.51.100.1")
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > time.Minute {
		t.Fatalf("Login after 3 failures = %v, want ThrottledError within the minute", err)
	}
	if _, _, err := s.Login(ctx, "bob", "correct horse battery", "198.51.100.1"); err != nil {
		t.Errorf("another login is not throttled: %v", err)
	}
	clk.add(time.Minute)
	if _, _, err := s.Login(ctx, "ada", "correct horse battery", "198.51.100.1"); err != nil {
		t.Errorf("Login after the window = %v, want success", err)
	}

	// Per address: failures across many logins from one address.
	for i := range 5 {
		s.Login(ctx, fmt.Sprintf("guess%d", i), "wrong password!", "203.0.113.7")
	}
	if _, _, err := s.Login(ctx, "bob", "correct horse battery", "203.0.113.7"); !errors.As(err, &te) {
		t.Errorf("Login from an address after 5 failures = %v, want ThrottledError", err)
	}
	if _, _, err := s.Login(ctx, "bob", "correct horse battery", "203.0.113.8"); err != nil {
		t.Errorf("Login from another address = %v, want success", err)
	}
}

func TestThrottleBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	th := newThrottle(2, time.Minute, 100)
	th.fail("victim", now)
	th.fail("victim", now)
	for i := range 99 {
		th.fail(fmt.Sprint("flood", i), now.Add(time.Second))
	}
	if th.size() > 100 {
		t.Fatalf("table holds %d keys, want at most 100", th.size())
	}
	if th.wait("victim", now.Add(2*time.Second)) == 0 {
		t.Error("the victim's lock went before the table was full")
	}
	for i := range 1000 {
		th.fail(fmt.Sprint("more", i), now.Add(3*time.Second))
	}
	if th.size() > 100 {
		t.Errorf("table holds %d keys after a flood, want at most 100", th.size())
	}
	// After the window, everything may be evicted or forgotten.
	if w := th.wait("more999", now.Add(2*time.Minute)); w != 0 {
		t.Errorf("wait after the window = %v, want 0", w)
	}
}
