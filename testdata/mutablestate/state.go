// Package mutablestate is what TestMutablePackageVars holds the checker to: each var
// named bad* must be reported, each named ok* must not. missed* shows a known limit:
// a pointer's methods may change what it points to (Read) or not (MatchString), and
// types cannot tell which, so calls through package-level pointers pass.
package mutablestate

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
)

var (
	okSentinel = errors.New("a sentinel")
	okTable    = []string{"a", "b"}
	okRegexp   = regexp.MustCompile(`^a+$`)
	okTemplate = template.Must(template.New("t").Parse("{{.}}"))
)

var missedReader = strings.NewReader("x")

var (
	badAssigned    int
	badIncremented int
	badElement     = []int{1, 2}
	badField       struct{ n int }
	badAddress     int
	badBuffer      bytes.Buffer
	badMap         = map[string]int{}
	badChan        = make(chan int)
	badMutex       sync.Mutex
	badCounter     atomic.Int64
	badHolder      struct{ mu sync.Mutex }
	badOnce        = sync.OnceValue(func() int { return 1 })
	badInInit      string
	badThroughPtr  = &struct{ n int }{}
)

func init() { badInInit = "set in init" }

func use() (int, bool, string, int) {
	badAssigned = 1
	badIncremented++
	badElement[0] = 3
	badField.n = 4
	p := &badAddress
	badBuffer.WriteString("x")
	badThroughPtr.n = 5
	n, _ := missedReader.Read(nil)
	return *p + n + len(okTable), okRegexp.MatchString("a"), okSentinel.Error() + okTemplate.Name(), badOnce()
}

var _ = use
