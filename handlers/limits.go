package handlers

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// AddressLimits are what one client address may do at duet's HTTP edge. A zero
// field disables its limit. The address is the socket's peer, or what a trusted
// proxy says in X-Forwarded-For (Config.TrustedProxies); IPv6 addresses count by
// their /64, the block one subscriber usually gets, so that an attacker cannot step
// around the limits by changing the last 64 bits.
type AddressLimits struct {
	SessionsPerMinute    int // sessions created (POST /sessions and the start form), as a burst and per minute
	SocketOpensPerMinute int // WebSocket connections opened, as a burst and per minute
	Sockets              int // WebSocket connections open at once
	EventStreams         int // event streams (/s/{id}/events) open at once
	// Addresses is how many addresses are remembered at once (default 50,000, about
	// 13 MB). Past it, the address seen least recently with nothing open is
	// forgotten early: it gets its full budget back, as a new address would.
	Addresses int
}

func (l AddressLimits) any() bool {
	return l.SessionsPerMinute > 0 || l.SocketOpensPerMinute > 0 || l.Sockets > 0 || l.EventStreams > 0
}

// defaultAddresses is AddressLimits.Addresses when it is zero.
const defaultAddresses = 50_000

// forgetAfter is how long an address with nothing open is remembered after it was
// last seen: a minute refills every per-minute budget, so forgetting it then
// changes nothing.
const forgetAfter = time.Minute

// concurrencyRetry is the Retry-After of a refusal for too many open connections:
// there is no telling when one will close.
const concurrencyRetry = 10 * time.Second

// addressTable counts what each client address is doing. Its memory is bounded: an
// address with nothing open is forgotten a minute after it was last seen, and the
// table never holds more than limits.Addresses addresses.
type addressTable struct {
	limits AddressLimits
	now    func() time.Time

	mu    sync.Mutex
	byKey map[string]*visitor // guarded by mu
	idle  list.List           // of *visitor with nothing open, most recently seen first; guarded by mu
}

// visitor is one address's budgets and open connections.
type visitor struct {
	key              string
	sessions, opens  bucket
	sockets, streams int           // open now
	seen             time.Time     // last request
	idleAt           *list.Element // its place in idle, nil while it has something open
}

// bucket is a token bucket that holds a minute's worth of tokens and refills
// continuously; the zero value is full.
type bucket struct {
	used float64   // tokens spent, as of at
	at   time.Time // zero: never used
}

// take spends a token of a bucket of perMinute tokens, or says how long until one
// is back.
func (b *bucket) take(perMinute int, now time.Time) (bool, time.Duration) {
	rate := float64(perMinute) / 60 // tokens per second
	if !b.at.IsZero() {
		b.used = max(0, b.used-now.Sub(b.at).Seconds()*rate)
	}
	b.at = now
	if b.used+1 > float64(perMinute) {
		wait := (b.used + 1 - float64(perMinute)) / rate
		return false, time.Duration(math.Ceil(wait * float64(time.Second)))
	}
	b.used++
	return true, 0
}

func newAddressTable(l AddressLimits) *addressTable {
	if l.Addresses <= 0 {
		l.Addresses = defaultAddresses
	}
	return &addressTable{limits: l, now: time.Now, byKey: map[string]*visitor{}}
}

// refusal is a request an address may not make now.
type refusal struct {
	code, message string
	retry         time.Duration
}

// What a request asks of its address's budgets.
type demand int

const (
	createSession demand = iota // a token of SessionsPerMinute
	openSocket                  // a place among Sockets and a token of SocketOpensPerMinute
	openStream                  // a place among EventStreams
)

// admit decides whether the address may do what d asks. When it may, release must
// be called once the request is over (it gives back the place of a connection).
func (t *addressTable) admit(key string, d demand) (release func(), _ *refusal) {
	l := t.limits
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forget(now)
	v := t.byKey[key]
	if v == nil {
		if len(t.byKey) >= l.Addresses && !t.evictOne() {
			return nil, &refusal{code: "rate_limited", retry: forgetAfter,
				message: "The server is busy with too many clients at once. Try again in a minute."}
		}
		v = &visitor{key: key}
		t.byKey[key] = v
		v.idleAt = t.idle.PushFront(v)
	}
	v.seen = now
	if v.idleAt != nil {
		t.idle.MoveToFront(v.idleAt)
	}
	switch d {
	case createSession:
		if l.SessionsPerMinute > 0 {
			if ok, wait := v.sessions.take(l.SessionsPerMinute, now); !ok {
				return nil, &refusal{code: "rate_limited", retry: wait, message: fmt.Sprintf(
					"Too many sessions were started from your address (%d a minute at most). Try again in %s.", l.SessionsPerMinute, seconds(wait))}
			}
		}
		return func() {}, nil
	case openSocket:
		if l.Sockets > 0 && v.sockets >= l.Sockets {
			return nil, &refusal{code: "too_many_connections", retry: concurrencyRetry, message: fmt.Sprintf(
				"Your address has %d live connections open, the most allowed. Close some pads and try again.", v.sockets)}
		}
		if l.SocketOpensPerMinute > 0 {
			if ok, wait := v.opens.take(l.SocketOpensPerMinute, now); !ok {
				return nil, &refusal{code: "rate_limited", retry: wait, message: fmt.Sprintf(
					"Too many connections were opened from your address (%d a minute at most). Try again in %s.", l.SocketOpensPerMinute, seconds(wait))}
			}
		}
		t.hold(v, &v.sockets)
		return t.releaser(v, &v.sockets), nil
	default: // openStream
		if l.EventStreams > 0 && v.streams >= l.EventStreams {
			return nil, &refusal{code: "too_many_connections", retry: concurrencyRetry, message: fmt.Sprintf(
				"Your address has %d pads following live updates, the most allowed. Close some pads and try again.", v.streams)}
		}
		t.hold(v, &v.streams)
		return t.releaser(v, &v.streams), nil
	}
}

// hold counts one more open connection; a visitor with one is never forgotten.
func (t *addressTable) hold(v *visitor, count *int) {
	*count++
	if v.idleAt != nil {
		t.idle.Remove(v.idleAt)
		v.idleAt = nil
	}
}

// releaser returns the function that gives the connection's place back, once.
func (t *addressTable) releaser(v *visitor, count *int) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			*count--
			if v.sockets == 0 && v.streams == 0 {
				v.seen = t.now()
				v.idleAt = t.idle.PushFront(v)
			}
		})
	}
}

// forget drops the idle visitors not seen for forgetAfter (the oldest are at the
// back of idle, so this costs what it removes).
func (t *addressTable) forget(now time.Time) {
	for e := t.idle.Back(); e != nil; e = t.idle.Back() {
		v := e.Value.(*visitor)
		if now.Sub(v.seen) < forgetAfter {
			return
		}
		t.remove(v)
	}
}

// evictOne forgets the idle visitor seen least recently, to make room. It reports
// false when every visitor has a connection open.
func (t *addressTable) evictOne() bool {
	e := t.idle.Back()
	if e == nil {
		return false
	}
	t.remove(e.Value.(*visitor))
	return true
}

func (t *addressTable) remove(v *visitor) {
	t.idle.Remove(v.idleAt)
	v.idleAt = nil
	delete(t.byKey, v.key)
}

// size is how many addresses the table remembers.
func (t *addressTable) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}

// addressKey is the key an address counts under: the address itself for IPv4 (and
// IPv4-mapped IPv6), its /64 for IPv6.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// seconds writes d as whole seconds, rounded up ("1 s" at least).
func seconds(d time.Duration) string {
	return strconv.Itoa(retryAfter(d)) + " s"
}

func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// perAddress is the middleware that makes a route's requests ask d of their address's
// budgets, and refuses them with 429 and Retry-After when the address has spent
// them. The place of an open connection is given back when the handler returns (the
// event-stream handler returns when the stream ends), unless the handler took it
// over with keepPlace (the WebSocket handler, whose connection outlives it).
func (h *Handler) perAddress(d demand) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if h.addresses == nil {
			return next
		}
		return func(c echo.Context) error {
			release, no := h.addresses.admit(addressKey(c.RealIP()), d)
			if no != nil {
				c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter(no.retry)))
				return &httpError{status: http.StatusTooManyRequests, code: no.code, message: no.message}
			}
			c.Set(placeKey, release)
			defer func() {
				if c.Get(placeKey) != nil { // not taken over by keepPlace
					release()
				}
			}()
			return next(c)
		}
	}
}

// placeKey holds, while a request runs, the function that gives back the place
// perAddress took for it.
const placeKey = "duet.place"

// keepPlace takes over the place perAddress holds for the request: the handler
// returns without giving it back, and calls the function returned once the
// connection has ended. Without perAddress (no limits) there is nothing to give back.
func keepPlace(c echo.Context) (release func()) {
	release, _ = c.Get(placeKey).(func())
	if release == nil {
		return func() {}
	}
	c.Set(placeKey, nil)
	return release
}
