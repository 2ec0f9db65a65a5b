package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2 is the cost of argon2id, the memory-hard function passwords are hashed
// with. The hash records its own parameters, so raising them later leaves older
// hashes checkable.
type Argon2 struct {
	Time    uint32 // passes over the memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 is RFC 9106's second recommended choice (t=3, m=64 MiB) with two
// lanes, the cores of a small server (TestDefaultCost logs what a check costs).
// Service runs at most a few hashes at once, so a flood of logins cannot take the
// memory.
var DefaultArgon2 = Argon2{Time: 3, Memory: 64 * 1024, Threads: 2}

const (
	saltBytes      = 16
	keyBytes       = 32
	minPassword    = 10
	maxPassword    = 1024 // bytes; argon2 takes any length, a request body should not
	maxArgonMemory = 1 << 20
)

var (
	// ErrWeakPassword is a password shorter than minPassword characters or longer
	// than maxPassword bytes.
	ErrWeakPassword = fmt.Errorf("a password is %d to %d characters long", minPassword, maxPassword)
	errBadHash      = errors.New("not an argon2id hash")
)

// checkPassword refuses a password that is too short or too long.
func checkPassword(pw string) error {
	if len([]rune(pw)) < minPassword || len(pw) > maxPassword {
		return ErrWeakPassword
	}
	return nil
}

// hash returns the PHC string of argon2id over pw with a new random salt:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key> (unpadded base64).
func (a Argon2) hash(pw string) string {
	salt := make([]byte, saltBytes)
	rand.Read(salt) // never fails (crypto/rand panics instead)
	key := argon2.IDKey([]byte(pw), salt, a.Time, a.Memory, a.Threads, keyBytes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.Memory, a.Time, a.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verify tells whether pw matches the PHC string encoded, comparing in constant
// time. A malformed hash (or one with absurd parameters) matches nothing.
func verify(encoded, pw string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var a Argon2
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &a.Memory, &a.Time, &a.Threads); err != nil ||
		a.Time == 0 || a.Threads == 0 || a.Memory < 8*uint32(a.Threads) || a.Memory > maxArgonMemory {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, a.Time, a.Memory, a.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
