package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is the OpenID Connect issuer interviewers sign in through.
type OIDCConfig struct {
	Issuer       string // https://accounts.example.com: its discovery document is read once, at start
	ClientID     string
	ClientSecret string
	RedirectURL  string // duet's /login/oidc/callback as registered at the issuer
	EmailDomain  string // only verified emails @EmailDomain may sign in; "" for any
	// HTTPClient talks to the issuer (http.DefaultClient when nil).
	HTTPClient *http.Client
}

// OIDC signs interviewers in through an OpenID Connect issuer with the
// authorization code flow: state against cross-site requests, a nonce bound into
// the ID token against replay, PKCE (S256) against a stolen code. The ID token's
// signature, issuer, audience and expiry are checked by go-oidc; its email must be
// verified (and of the allowed domain). The account is the email's, made on the
// first sign-in, without a password.
type OIDC struct {
	accounts *Service
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	domain   string
	client   *http.Client
}

// NewOIDC reads the issuer's discovery document and returns the sign-in.
func NewOIDC(ctx context.Context, s *Service, c OIDCConfig) (*OIDC, error) {
	client := c.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer %s: %w", c.Issuer, err)
	}
	return &OIDC{
		accounts: s,
		oauth: oauth2.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
		},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID, Now: s.opts.Now}),
		domain:   strings.ToLower(strings.TrimPrefix(c.EmailDomain, "@")),
		client:   client,
	}, nil
}

// Start returns the issuer's authorization URL and the flow's secrets
// ("state.nonce.verifier"), which only the browser's cookie keeps.
func (o *OIDC) Start() (string, string, error) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	u := o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return u, state + "." + nonce + "." + verifier, nil
}

// Finish checks the callback's query against the flow and returns the account.
// Every way it can fail that is not the server's own is ErrOIDCRefused.
func (o *OIDC) Finish(ctx context.Context, flow string, q url.Values) (User, error) {
	parts := strings.Split(flow, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return User{}, fmt.Errorf("%w: no sign-in under way", ErrOIDCRefused)
	}
	state, nonce, verifier := parts[0], parts[1], parts[2]
	if e := q.Get("error"); e != "" {
		return User{}, fmt.Errorf("%w: the issuer said %s", ErrOIDCRefused, e)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return User{}, fmt.Errorf("%w: wrong state", ErrOIDCRefused)
	}
	code := q.Get("code")
	if code == "" {
		return User{}, fmt.Errorf("%w: no code", ErrOIDCRefused)
	}
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return User{}, fmt.Errorf("%w: exchange the code: %v", ErrOIDCRefused, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return User{}, fmt.Errorf("%w: no ID token", ErrOIDCRefused)
	}
	id, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return User{}, fmt.Errorf("%w: %v", ErrOIDCRefused, err)
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(nonce)) != 1 {
		return User{}, fmt.Errorf("%w: wrong nonce", ErrOIDCRefused)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := id.Claims(&claims); err != nil {
		return User{}, fmt.Errorf("%w: claims: %v", ErrOIDCRefused, err)
	}
	email := NormalizeLogin(claims.Email)
	if email == "" || !claims.EmailVerified {
		return User{}, fmt.Errorf("%w: no verified email", ErrOIDCRefused)
	}
	if o.domain != "" && !strings.HasSuffix(email, "@"+o.domain) {
		return User{}, fmt.Errorf("%w: %s is not of %s", ErrOIDCRefused, email, o.domain)
	}
	u, err := o.accounts.user(ctx, email)
	if errors.Is(err, ErrUnknownUser) {
		name := strings.TrimSpace(claims.Name)
		if checkText("name", name, true) != nil {
			name = ""
		}
		u, err = o.accounts.AddUser(ctx, NewUser{Login: email, Name: name})
		if errors.Is(err, ErrLoginTaken) { // made by a sign-in at the same moment
			u, err = o.accounts.user(ctx, email)
		}
	}
	return u, err
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
