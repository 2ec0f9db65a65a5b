package store

import (
	"errors"
	"strings"
)

// errNoPrincipal refuses a member without a principal: nobody could ever be found
// to be that member, and an empty key must not match "no principal" by accident.
var errNoPrincipal = errors.New("a member needs a principal")

// CheckMember returns an error when m cannot be stored as a member.
func CheckMember(m Member) error {
	if strings.TrimSpace(m.Principal) == "" {
		return errNoPrincipal
	}
	return nil
}
