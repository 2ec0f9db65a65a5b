package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"duet/store"
)

// RunAccounts checks users and their credentials. open returns a fresh, empty store
// with accounts; RunAccounts closes it.
func RunAccounts(t *testing.T, open func(t *testing.T) store.Accounts) {
	t.Helper()
	created := time.Date(2026, 12, 3, 9, 30, 0, 123456789, time.UTC)
	ada := store.User{ID: "u-ada", Login: "ada@example.com", Name: "Ada ✓", Team: "compilers",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", Created: created}
	bob := store.User{ID: "u-bob", Login: "bob", Name: "Bob", Created: created.Add(time.Minute)} // no team, no password
	mustOpen := func(t *testing.T) store.Accounts {
		s := open(t)
		t.Cleanup(func() {
			if c, ok := s.(interface{ Close() error }); ok {
				c.Close()
			}
		})
		return s
	}
	want := func(t *testing.T, what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v\nwant %+v", what, got, want)
		}
	}
	withUsers := func(t *testing.T) store.Accounts {
		t.Helper()
		s := mustOpen(t)
		for _, u := range []store.User{bob, ada} {
			if err := s.CreateUser(t.Context(), u); err != nil {
				t.Fatalf("CreateUser(%s) error = %v", u.Login, err)
			}
		}
		return s
	}

	t.Run("users", func(t *testing.T) {
		ctx := t.Context()
		s := mustOpen(t)
		if got, err := s.Users(ctx); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("Users() with none = %v, %v; want an empty list", got, err)
		}
		s = withUsers(t)
		if err := s.CreateUser(ctx, store.User{ID: "u-other", Login: ada.Login}); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateUser(login taken) error = %v, want ErrExists", err)
		}
		if err := s.CreateUser(ctx, store.User{ID: ada.ID, Login: "new"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateUser(id taken) error = %v, want ErrExists", err)
		}
		got, err := s.User(ctx, ada.ID)
		if err != nil {
			t.Fatalf("User() error = %v", err)
		}
		want(t, "User()", got, ada)
		got, err = s.UserByLogin(ctx, "bob")
		if err != nil {
			t.Fatalf("UserByLogin() error = %v", err)
		}
		want(t, "UserByLogin()", got, bob)
		list, err := s.Users(ctx)
		if err != nil {
			t.Fatalf("Users() error = %v", err)
		}
		want(t, "Users() (by login)", list, []store.User{ada, bob})
		for _, id := range []string{"nobody", ""} {
			if _, err := s.User(ctx, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("User(%q) error = %v, want ErrNotFound", id, err)
			}
		}
		if _, err := s.UserByLogin(ctx, "ADA@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByLogin(other case) error = %v, want ErrNotFound (logins are compared exactly)", err)
		}

		edited := ada
		edited.Login, edited.Name, edited.Team, edited.PasswordHash = "ada", "Ada L.", "", ""
		edited.Created = created.Add(time.Hour) // ignored
		if err := s.UpdateUser(ctx, edited); err != nil {
			t.Fatalf("UpdateUser() error = %v", err)
		}
		edited.Created = created
		got, _ = s.User(ctx, ada.ID)
		want(t, "User() after UpdateUser", got, edited)
		if _, err := s.UserByLogin(ctx, ada.Login); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByLogin(old login) error = %v, want ErrNotFound", err)
		}
		taken := edited
		taken.Login = "bob"
		if err := s.UpdateUser(ctx, taken); !errors.Is(err, store.ErrExists) {
			t.Errorf("UpdateUser(another's login) error = %v, want ErrExists", err)
		}
		if err := s.UpdateUser(ctx, store.User{ID: "nobody", Login: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateUser(unknown) error = %v, want ErrNotFound", err)
		}
		if err := s.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatalf("DeleteUser() error = %v", err)
		}
		if err := s.DeleteUser(ctx, bob.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteUser(twice) error = %v, want ErrNotFound", err)
		}
		if _, err := s.User(ctx, bob.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("User(deleted) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("credentials", func(t *testing.T) {
		ctx := t.Context()
		s := withUsers(t)
		browser := store.Credential{Hash: []byte("0123456789abcdef0123456789abcdef"), UserID: ada.ID, Kind: store.CredentialBrowser,
			Created: created, Expires: created.Add(24 * time.Hour)}
		api := store.Credential{Hash: []byte("fedcba9876543210fedcba9876543210"), UserID: ada.ID, Kind: store.CredentialAPI,
			Name: "ci ✓", Created: created.Add(time.Second)} // never expires
		bobs := store.Credential{Hash: []byte("b0b"), UserID: bob.ID, Kind: store.CredentialBrowser, Created: created, Expires: created.Add(time.Hour)}
		for _, c := range []store.Credential{api, browser, bobs} {
			if err := s.AddCredential(ctx, c); err != nil {
				t.Fatalf("AddCredential(%s) error = %v", c.Kind, err)
			}
		}
		if err := s.AddCredential(ctx, browser); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddCredential(twice) error = %v, want ErrExists", err)
		}
		if err := s.AddCredential(ctx, store.Credential{Hash: []byte("x"), UserID: "nobody", Kind: store.CredentialAPI}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddCredential(unknown user) error = %v, want ErrNotFound", err)
		}
		got, err := s.Credential(ctx, browser.Hash, created.Add(time.Hour))
		if err != nil {
			t.Fatalf("Credential() error = %v", err)
		}
		want(t, "Credential()", got, browser)
		got.Hash[0] = 'X' // must not reach the store
		if _, err := s.Credential(ctx, browser.Hash, browser.Expires); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Credential(at its expiry) error = %v, want ErrNotFound", err)
		}
		if got, err := s.Credential(ctx, api.Hash, created.Add(100*365*24*time.Hour)); err != nil || !reflect.DeepEqual(got, api) {
			t.Errorf("Credential(never expires, a century on) = %+v, %v; want %+v", got, err, api)
		}
		if _, err := s.Credential(ctx, []byte("unknown"), created); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Credential(unknown) error = %v, want ErrNotFound", err)
		}
		list, err := s.Credentials(ctx, ada.ID)
		if err != nil {
			t.Fatalf("Credentials() error = %v", err)
		}
		want(t, "Credentials() (by creation)", list, []store.Credential{browser, api})
		if list, err := s.Credentials(ctx, "nobody"); err != nil || list == nil || len(list) != 0 {
			t.Errorf("Credentials(unknown user) = %v, %v; want an empty list", list, err)
		}

		n, err := s.PurgeCredentials(ctx, created.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("PurgeCredentials() = %d, %v; want 1 (bob's, expired)", n, err)
		}
		if list, _ := s.Credentials(ctx, bob.ID); len(list) != 0 {
			t.Errorf("Credentials(bob) after purge = %v, want none", list)
		}
		if err := s.DeleteCredential(ctx, browser.Hash); err != nil {
			t.Fatalf("DeleteCredential() error = %v", err)
		}
		if err := s.DeleteCredential(ctx, browser.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteCredential(twice) error = %v, want ErrNotFound", err)
		}
		if _, err := s.Credential(ctx, browser.Hash, created); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Credential(deleted) error = %v, want ErrNotFound", err)
		}
		if err := s.DeleteUser(ctx, ada.ID); err != nil {
			t.Fatalf("DeleteUser() error = %v", err)
		}
		if _, err := s.Credential(ctx, api.Hash, created); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Credential(of a deleted user) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("cancelled context is refused", func(t *testing.T) {
		s := withUsers(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.User(ctx, ada.ID); !errors.Is(err, context.Canceled) {
			t.Errorf("User(cancelled) error = %v, want context.Canceled", err)
		}
		if err := s.CreateUser(ctx, store.User{ID: "u-c", Login: "c"}); !errors.Is(err, context.Canceled) {
			t.Errorf("CreateUser(cancelled) error = %v, want context.Canceled", err)
		}
	})
}
