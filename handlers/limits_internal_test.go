package handlers

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// newTestTable is an address table on a clock the test moves.
func newTestTable(l AddressLimits) (*addressTable, *time.Time) {
	t := newAddressTable(l)
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	t.now = func() time.Time { return now }
	return t, &now
}

func addr(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }

// TestAddressTableIsBounded floods the table with ten times as many addresses as it
// may hold: it never holds more, the addresses with a connection open are never
// forgotten (their counts would be lost), and once every place is held by an open
// connection, new addresses are refused rather than remembered.
func TestAddressTableIsBounded(t *testing.T) {
	t.Parallel()
	tab, _ := newTestTable(AddressLimits{SessionsPerMinute: 1, Sockets: 1, Addresses: 100})
	var held []func()
	for i := range 10 {
		release, no := tab.admit(addr(i), openSocket)
		if no != nil {
			t.Fatalf("admit(%s, socket) refused: %s", addr(i), no.message)
		}
		held = append(held, release)
	}
	for i := 10; i < 1000; i++ {
		if _, no := tab.admit(addr(i), createSession); no != nil {
			t.Fatalf("admit(%s) of a new address refused while idle ones can be forgotten: %s", addr(i), no.message)
		}
		if n := tab.size(); n > 100 {
			t.Fatalf("after %d addresses the table holds %d, want at most 100", i+1, n)
		}
	}
	// The ten with an open socket are still counted: a second socket is refused.
	for i := range 10 {
		if _, no := tab.admit(addr(i), openSocket); no == nil || no.code != "too_many_connections" {
			t.Errorf("admit(%s, second socket) = %v, want too_many_connections", addr(i), no)
		}
	}
	// An address forgotten early gets its budget back, as any new address would.
	if _, no := tab.admit(addr(500), createSession); no != nil {
		t.Errorf("admit(%s) after it was forgotten: %s", addr(500), no.message)
	}

	full, _ := newTestTable(AddressLimits{Sockets: 1, Addresses: 3})
	for i := range 3 {
		if _, no := full.admit(addr(i), openSocket); no != nil {
			t.Fatal(no.message)
		}
	}
	if _, no := full.admit(addr(3), openSocket); no == nil || no.code != "rate_limited" || no.retry != forgetAfter {
		t.Errorf("admit of a fourth address to a table held full = %+v, want rate_limited, retry in a minute", no)
	}
	for _, release := range held {
		release()
	}
}

// TestAddressTableForgets: an address with nothing open is forgotten a minute after
// it was last seen, one with something open only a minute after it closed it.
func TestAddressTableForgets(t *testing.T) {
	t.Parallel()
	tab, now := newTestTable(AddressLimits{SessionsPerMinute: 2, EventStreams: 1})
	tab.admit("10.0.0.1", createSession)
	release, _ := tab.admit("10.0.0.2", openStream)
	*now = now.Add(forgetAfter - time.Second)
	tab.admit("10.0.0.3", createSession)
	if n := tab.size(); n != 3 {
		t.Fatalf("size() = %d before a minute has passed, want 3", n)
	}
	*now = now.Add(2 * time.Second)
	tab.admit("10.0.0.3", createSession) // any request sweeps
	if n := tab.size(); n != 2 {
		t.Fatalf("size() = %d a minute on, want 2 (10.0.0.1 forgotten, the open stream kept)", n)
	}
	release()
	release() // twice is once
	*now = now.Add(forgetAfter)
	tab.admit("10.0.0.4", createSession)
	if n := tab.size(); n != 1 {
		t.Errorf("size() = %d a minute after everything closed, want 1", n)
	}
	if _, no := tab.admit("10.0.0.2", openStream); no != nil {
		t.Errorf("after its stream closed, 10.0.0.2 may not open one: %s", no.message)
	}
}

// TestBucket: a burst of a minute's worth, then one token every 60/n seconds, and a
// Retry-After that says when the next one comes.
func TestBucket(t *testing.T) {
	t.Parallel()
	tab, now := newTestTable(AddressLimits{SessionsPerMinute: 3})
	for i := range 3 {
		if _, no := tab.admit("10.0.0.1", createSession); no != nil {
			t.Fatalf("session #%d refused: %s", i+1, no.message)
		}
	}
	_, no := tab.admit("10.0.0.1", createSession)
	if no == nil || no.code != "rate_limited" || no.retry <= 0 || no.retry > 20*time.Second {
		t.Fatalf("session #4 = %+v, want rate_limited with a retry within 20 s", no)
	}
	*now = now.Add(no.retry)
	if _, no := tab.admit("10.0.0.1", createSession); no != nil {
		t.Errorf("refused after waiting the Retry-After: %s", no.message)
	}
	if _, no := tab.admit("10.0.0.1", createSession); no == nil {
		t.Errorf("a second session after one token came back was allowed")
	}
	if _, no := tab.admit("10.0.0.2", createSession); no != nil {
		t.Errorf("another address was refused: %s", no.message)
	}
}

func TestAddressKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ ip, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		if got := addressKey(tt.ip); got != tt.want {
			t.Errorf("addressKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// BenchmarkAddressTable measures what an address costs the table, in heap bytes,
// when a flood of addresses fills it to its bound.
func BenchmarkAddressTable(b *testing.B) {
	const n = defaultAddresses
	var before, after runtime.MemStats
	for range b.N {
		runtime.GC()
		runtime.ReadMemStats(&before)
		tab, _ := newTestTable(AddressLimits{SessionsPerMinute: 60, SocketOpensPerMinute: 600, Sockets: 500, EventStreams: 500})
		for i := range 2 * n {
			tab.admit(addr(i), createSession)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if tab.size() != n {
			b.Fatalf("size() = %d, want %d", tab.size(), n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/address")
		runtime.KeepAlive(tab)
	}
}
