// Package questions is duet's question library: what a question may hold and how
// large it may be, its Markdown rendered to safe HTML, the JSON file questions are
// imported from and exported to, and the examples duet ships. docs/questions.md
// describes the file and the tests.
package questions

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"duet/store"
)

// The bounds of a question. They keep a question's page, its JSON and the pad it
// starts light: a question at every bound is about 175 KB.
const (
	MaxTitle       = 120    // characters
	MaxPrompt      = 20_000 // bytes of Markdown
	MaxStarterCode = 20_000 // bytes
	MaxRubric      = 10_000 // bytes of Markdown
	MaxTests       = 30
	MaxTestName    = 100   // characters
	MaxTestCode    = 4_000 // bytes
	// MaxSessionQuestions is how many questions one interview may be given: each
	// is a copy kept with the session, so an hour of them stays small.
	MaxSessionQuestions = 10
)

// MaxBody is the largest request body that may carry one question (its JSON or its
// form, escaped), and MaxImportBody the largest file of questions imported at once,
// holding at most MaxImport questions.
const (
	MaxBody       = 512 << 10
	MaxImportBody = 4 << 20
	MaxImport     = 200
)

// Errors of the library. Handlers map them to HTTP once.
var (
	ErrNotFound = errors.New("question not found")
	// ErrReadOnly is a change to an example: examples ship with duet.
	ErrReadOnly = errors.New("examples cannot be changed")
	// ErrTooManyQuestions is a session given MaxSessionQuestions already.
	ErrTooManyQuestions = errors.New("the session has as many questions as it may")
)

// The library's values are the store's records: a question, one of its tests, and
// the copy of a question given to a session. The names here let the layers above
// (handlers) speak of questions without reaching into the store.
type (
	Question        = store.Question
	Test            = store.QuestionTest
	SessionQuestion = store.SessionQuestion
)

// Invalid is a question (or file) that breaks a rule; Message says which, for a
// person, naming the field.
type Invalid struct {
	Field   string // "title", "tests[2].code", "questions[4].prompt"
	Message string
}

func (e *Invalid) Error() string { return e.Message }

func invalid(field, format string, args ...any) *Invalid {
	return &Invalid{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Draft is what a person writes of a question: everything but its id and times.
type Draft struct {
	Title       string
	Language    string
	Prompt      string
	StarterCode string
	Rubric      string
	Tests       []store.QuestionTest
}

// DraftOf is the draft of a stored question.
func DraftOf(q store.Question) Draft {
	return Draft{Title: q.Title, Language: q.Language, Prompt: q.Prompt, StarterCode: q.StarterCode,
		Rubric: q.Rubric, Tests: slices.Clone(q.Tests)}
}

// Normalize returns d as it is kept: the title and test names trimmed, line breaks
// as "\n" (as the editor keeps them), tests never nil.
func (d Draft) Normalize() Draft {
	lf := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") }
	out := Draft{
		Title: strings.TrimSpace(d.Title), Language: strings.TrimSpace(d.Language),
		Prompt: lf(d.Prompt), StarterCode: lf(d.StarterCode), Rubric: lf(d.Rubric),
		Tests: make([]store.QuestionTest, len(d.Tests)),
	}
	for i, t := range d.Tests {
		out.Tests[i] = store.QuestionTest{Name: strings.TrimSpace(t.Name), Code: lf(t.Code), Hidden: t.Hidden}
	}
	return out
}

// Validate checks a normalised draft against the rules of docs/questions.md;
// languages are the ones duet runs.
func (d Draft) Validate(languages []string) error {
	if err := line("title", d.Title, MaxTitle); err != nil {
		return err
	}
	if !slices.Contains(languages, d.Language) {
		return invalid("language", "The language must be one of: %s.", strings.Join(languages, ", "))
	}
	for _, f := range []struct {
		field, value string
		max          int
	}{{"prompt", d.Prompt, MaxPrompt}, {"starterCode", d.StarterCode, MaxStarterCode}, {"rubric", d.Rubric, MaxRubric}} {
		if err := text(f.field, f.value, f.max); err != nil {
			return err
		}
	}
	if len(d.Tests) > MaxTests {
		return invalid("tests", "A question has at most %d tests (this one has %d).", MaxTests, len(d.Tests))
	}
	seen := map[string]bool{}
	for i, t := range d.Tests {
		field := fmt.Sprintf("tests[%d]", i)
		if err := line(field+".name", t.Name, MaxTestName); err != nil {
			return err
		}
		if seen[t.Name] {
			return invalid(field+".name", "Two tests are named %q: each test needs a name of its own.", t.Name)
		}
		seen[t.Name] = true
		if err := text(field+".code", t.Code, MaxTestCode); err != nil {
			return err
		}
		if strings.TrimSpace(t.Code) == "" {
			return invalid(field+".code", "Test %q has no code: write what checks the answer.", t.Name)
		}
	}
	return nil
}

// line checks a one-line field: 1 to max characters, none of them a control.
func line(field, s string, max int) error {
	if err := text(field, s, len(s)); err != nil {
		return err
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return invalid(field, "The %s is missing.", name(field))
	case n > max:
		return invalid(field, "The %s is %d characters long; at most %d.", name(field), n, max)
	case strings.ContainsFunc(s, unicode.IsControl):
		return invalid(field, "The %s must be one line, without control characters.", name(field))
	}
	return nil
}

// text checks a field of text: at most max bytes of UTF-8, without NUL.
func text(field, s string, max int) error {
	switch {
	case len(s) > max:
		return invalid(field, "The %s is %s bytes long; at most %s.", name(field), thousands(len(s)), thousands(max))
	case !utf8.ValidString(s):
		return invalid(field, "The %s is not valid UTF-8 text.", name(field))
	case strings.ContainsRune(s, 0):
		return invalid(field, "The %s contains a NUL character.", name(field))
	}
	return nil
}

// name is how a message names a field: "title", "starter code", "name of test 3".
func name(field string) string {
	prefix, rest, ok := strings.Cut(field, "].")
	if ok {
		if i := strings.LastIndex(prefix, "["); i >= 0 {
			if n, err := strconv.Atoi(prefix[i+1:]); err == nil {
				return fmt.Sprintf("%s of test %d", name(rest), n+1)
			}
		}
	}
	switch field {
	case "starterCode":
		return "starter code"
	}
	return field
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ValidID reports whether id can name a question: a canonical UUID, or an example's id.
func ValidID(id string) bool {
	if IsExample(id) {
		return true
	}
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// examplePrefix starts the ids of the examples, which are not UUIDs: they name
// questions that ship with duet and are the same on every installation.
const examplePrefix = "example-"

// IsExample reports whether id names one of the examples duet ships.
func IsExample(id string) bool { return strings.HasPrefix(id, examplePrefix) }

// Hidden counts the hidden tests of q.
func Hidden(tests []store.QuestionTest) int {
	n := 0
	for _, t := range tests {
		if t.Hidden {
			n++
		}
	}
	return n
}

// Visible returns the tests of q that everyone may see.
func Visible(tests []store.QuestionTest) []store.QuestionTest {
	out := []store.QuestionTest{}
	for _, t := range tests {
		if !t.Hidden {
			out = append(out, t)
		}
	}
	return out
}
