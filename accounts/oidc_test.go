package accounts_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"duet/accounts"
	"duet/accounts/oidctest"
	"duet/store"
)

const callback = "http://127.0.0.1:1/login/oidc/callback" // never fetched: the test reads the redirect

// oidcSignIn runs the authorization code flow against the issuer over HTTP up to
// the redirect back, lets bend change the callback's query or the flow, and
// finishes it.
func oidcSignIn(t *testing.T, o *accounts.OIDC, bend func(q url.Values, flow *string)) (accounts.User, error) {
	t.Helper()
	authURL, flow, err := o.Start()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if u.Query().Get(p) == "" {
			t.Fatalf("authorization URL %s lacks %s", authURL, p)
		}
	}
	if u.Query().Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization URL %s: want PKCE S256", authURL)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), callback) {
		t.Fatalf("issuer answered %d to %q, want a redirect to the callback", res.StatusCode, res.Header.Get("Location"))
	}
	q := back.Query()
	if bend != nil {
		bend(q, &flow)
	}
	return o.Finish(t.Context(), flow, q)
}

func newOIDC(t *testing.T, domain string) (*accounts.OIDC, *oidctest.Issuer, *accounts.Service) {
	t.Helper()
	is := oidctest.New(t, "duet", "s3cret")
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	svc := accounts.New(st, accounts.Options{Argon2: accounts.Argon2{Time: 1, Memory: 64, Threads: 1}})
	o, err := accounts.NewOIDC(t.Context(), svc, accounts.OIDCConfig{
		Issuer: is.URL, ClientID: "duet", ClientSecret: "s3cret", RedirectURL: callback, EmailDomain: domain,
	})
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return o, is, svc
}

func TestOIDC(t *testing.T) {
	t.Parallel()
	o, is, svc := newOIDC(t, "example.com")
	u, err := oidcSignIn(t, o, nil)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if u.Login != "ada@example.com" || u.Name != "Ada Lovelace" || u.PasswordHash != "" {
		t.Errorf("user = %+v, want ada@example.com, Ada Lovelace, no password", u)
	}
	again, err := oidcSignIn(t, o, nil)
	if err != nil || again.ID != u.ID {
		t.Errorf("second sign-in = %+v, %v; want the same account", again, err)
	}
	if users, _ := svc.Users(t.Context()); len(users) != 1 {
		t.Errorf("%d users after two sign-ins, want 1", len(users))
	}
	// An account made by OIDC has no password to guess.
	if _, _, err := svc.Login(t.Context(), "ada@example.com", "", "192.0.2.1"); !errors.Is(err, accounts.ErrBadLogin) {
		t.Errorf("password login of an OIDC account = %v, want ErrBadLogin", err)
	}
	_ = is
}

// TestOIDCRefused: each way an answer can be wrong signs nobody in.
func TestOIDCRefused(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		setup  func(is *oidctest.Issuer)
		bend   func(q url.Values, flow *string)
		domain string
	}{
		{name: "bad state", bend: func(q url.Values, _ *string) { q.Set("state", "forged") }},
		{name: "no state", bend: func(q url.Values, _ *string) { q.Del("state") }},
		{name: "another browser's flow", bend: func(_ url.Values, flow *string) { *flow = "a.b.c" }},
		{name: "no flow", bend: func(_ url.Values, flow *string) { *flow = "" }},
		{name: "wrong PKCE verifier", bend: func(_ url.Values, flow *string) {
			p := strings.Split(*flow, ".")
			*flow = p[0] + "." + p[1] + "." + strings.Repeat("x", 43)
		}},
		{name: "no code", bend: func(q url.Values, _ *string) { q.Del("code") }},
		{name: "code replayed", bend: func(q url.Values, _ *string) { q.Set("code", "not-issued") }},
		{name: "issuer error", bend: func(q url.Values, _ *string) { q.Set("error", "access_denied") }},
		{name: "bad nonce", setup: func(is *oidctest.Issuer) { is.Tamper(func(c map[string]any) { c["nonce"] = "another" }) }},
		{name: "no nonce", setup: func(is *oidctest.Issuer) { is.Tamper(func(c map[string]any) { delete(c, "nonce") }) }},
		{name: "wrong audience", setup: func(is *oidctest.Issuer) { is.Tamper(func(c map[string]any) { c["aud"] = "another-client" }) }},
		{name: "wrong issuer", setup: func(is *oidctest.Issuer) { is.Tamper(func(c map[string]any) { c["iss"] = "https://evil.example" }) }},
		{name: "expired token", setup: func(is *oidctest.Issuer) {
			is.Tamper(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		}},
		{name: "signed by another key", setup: func(is *oidctest.Issuer) { is.SignWithOtherKey(true) }},
		{name: "email not verified", setup: func(is *oidctest.Issuer) {
			is.SetPerson(oidctest.Person{Subject: "2", Email: "eve@example.com", EmailVerified: false})
		}},
		{name: "no email", setup: func(is *oidctest.Issuer) { is.SetPerson(oidctest.Person{Subject: "3", EmailVerified: true}) }},
		{name: "email of another domain", domain: "example.com", setup: func(is *oidctest.Issuer) {
			is.SetPerson(oidctest.Person{Subject: "4", Email: "eve@example.com.evil.example", EmailVerified: true})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, is, svc := newOIDC(t, tt.domain)
			if tt.setup != nil {
				tt.setup(is)
			}
			u, err := oidcSignIn(t, o, tt.bend)
			t.Logf("sign-in: %v", err)
			if !errors.Is(err, accounts.ErrOIDCRefused) {
				t.Errorf("sign-in = %+v, %v; want ErrOIDCRefused", u, err)
			}
			if users, _ := svc.Users(t.Context()); len(users) != 0 {
				t.Errorf("a refused sign-in made users: %+v", users)
			}
		})
	}
}
