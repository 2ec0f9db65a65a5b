package accounts

import (
	"sync"
	"time"
)

// throttle counts failed logins per key (a login, an address) and refuses a key
// after limit failures within window, until window has passed since the first of
// them. Its table is bounded: when full, a key whose window is over goes first,
// else the key closest to the end of its window, so flooding it with new keys
// frees the oldest locks first, not the newest.
type throttle struct {
	limit  int
	window time.Duration
	max    int

	mu   sync.Mutex
	keys map[string]*failures // guarded by mu
}

type failures struct {
	first time.Time // start of the window
	n     int
}

func newThrottle(limit int, window time.Duration, max int) *throttle {
	return &throttle{limit: limit, window: window, max: max, keys: map[string]*failures{}}
}

// wait returns how long key must wait before it may try again (0: it may now).
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.keys[key]
	if !ok {
		return 0
	}
	end := f.first.Add(t.window)
	if !now.Before(end) {
		delete(t.keys, key)
		return 0
	}
	if f.n < t.limit {
		return 0
	}
	return end.Sub(now)
}

// fail records a failed attempt of key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.keys[key]
	if ok && !now.Before(f.first.Add(t.window)) {
		ok = false
	}
	if !ok {
		if _, there := t.keys[key]; !there && len(t.keys) >= t.max {
			t.evictLocked(now)
		}
		f = &failures{first: now}
		t.keys[key] = f
	}
	f.n++
}

// forget clears key, after a success.
func (t *throttle) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// evictLocked frees one entry at least: every one whose window is over, or else the
// one whose window ends first.
func (t *throttle) evictLocked(now time.Time) {
	var oldest string
	var oldestFirst time.Time
	for k, f := range t.keys {
		if !now.Before(f.first.Add(t.window)) {
			delete(t.keys, k)
			continue
		}
		if oldest == "" || f.first.Before(oldestFirst) {
			oldest, oldestFirst = k, f.first
		}
	}
	if len(t.keys) >= t.max {
		delete(t.keys, oldest)
	}
}

func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}
