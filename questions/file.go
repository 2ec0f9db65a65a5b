package questions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"duet/store"
)

// FileFormat names the format of a questions file, in its "duet" field, so that a
// file of another format (or another version of this one) is recognised as such.
const FileFormat = "questions/v1"

// File is a file of questions, as exported and imported (docs/questions.md). It holds
// what people write, and no times: exporting the same library twice gives the same
// bytes, so a team can keep its questions in git and read the diffs.
type File struct {
	Duet      string         `json:"duet"`
	Questions []FileQuestion `json:"questions"`
}

// FileQuestion is one question of a File, and the body of the API's question
// requests and answers (which add their own fields).
type FileQuestion struct {
	ID          string     `json:"id,omitempty"`
	Title       string     `json:"title"`
	Language    string     `json:"language"`
	Prompt      string     `json:"prompt"`
	StarterCode string     `json:"starterCode"`
	Rubric      string     `json:"rubric"`
	Tests       []FileTest `json:"tests"`
}

// FileTest is one test of a FileQuestion.
type FileTest struct {
	Name   string `json:"name"`
	Code   string `json:"code"`
	Hidden bool   `json:"hidden"`
}

// Draft is what q says.
func (q FileQuestion) Draft() Draft {
	d := Draft{Title: q.Title, Language: q.Language, Prompt: q.Prompt, StarterCode: q.StarterCode, Rubric: q.Rubric,
		Tests: make([]store.QuestionTest, len(q.Tests))}
	for i, t := range q.Tests {
		d.Tests[i] = store.QuestionTest(t)
	}
	return d
}

// FileQuestionOf is q as a file holds it.
func FileQuestionOf(q store.Question) FileQuestion {
	out := FileQuestion{ID: q.ID, Title: q.Title, Language: q.Language, Prompt: q.Prompt, StarterCode: q.StarterCode,
		Rubric: q.Rubric, Tests: make([]FileTest, len(q.Tests))}
	for i, t := range q.Tests {
		out.Tests[i] = FileTest(t)
	}
	return out
}

// Encode writes the file of qs, in the order given, indented for people to read and
// diff, ending with a newline.
func Encode(qs []store.Question) []byte {
	f := File{Duet: FileFormat, Questions: make([]FileQuestion, len(qs))}
	for i, q := range qs {
		f.Questions[i] = FileQuestionOf(q)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" in code stays readable
	enc.SetIndent("", "  ")
	enc.Encode(f) // cannot fail: strings, booleans and slices only
	return buf.Bytes()
}

// Decode reads a file of questions: one JSON object of this format, with no unknown
// field. Each question is normalised and validated, and its id (optional) must be
// a UUID that no other question of the file has; an invalid question is reported
// with its place in the file.
func Decode(b []byte, languages []string) ([]FileQuestion, error) {
	return decode(b, languages, false)
}

// decode is Decode; examples allows the ids of examples, for duet's own file of them.
func decode(b []byte, languages []string, examples bool) ([]FileQuestion, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, invalid("", "The file is not a questions file of duet: %v.", describeJSON(err))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, invalid("", "The file must hold exactly one JSON object.")
	}
	if f.Duet != FileFormat {
		return nil, invalid("duet", `The file's "duet" field is %q; duet reads files of format %q.`, f.Duet, FileFormat)
	}
	if len(f.Questions) > MaxImport {
		return nil, invalid("questions", "The file has %d questions; at most %d are imported at once.", len(f.Questions), MaxImport)
	}
	ids := map[string]int{}
	out := make([]FileQuestion, len(f.Questions))
	for i, q := range f.Questions {
		where := fmt.Sprintf("questions[%d]", i)
		d := q.Draft().Normalize()
		if err := d.Validate(languages); err != nil {
			var bad *Invalid
			errors.As(err, &bad)
			return nil, invalid(where+"."+bad.Field, "Question %d (%q): %s", i+1, d.Title, bad.Message)
		}
		if q.ID != "" {
			if !ValidID(q.ID) || IsExample(q.ID) != examples {
				return nil, invalid(where+".id", "Question %d (%q): its id must be a UUID (or be left out).", i+1, d.Title)
			}
			if j, dup := ids[q.ID]; dup {
				return nil, invalid(where+".id", "Questions %d and %d have the same id.", j+1, i+1)
			}
			ids[q.ID] = i
		}
		out[i] = FileQuestionOf(store.Question{ID: q.ID, Title: d.Title, Language: d.Language, Prompt: d.Prompt,
			StarterCode: d.StarterCode, Rubric: d.Rubric, Tests: d.Tests})
	}
	return out, nil
}

// describeJSON says what is wrong with JSON without the decoder's Go type names.
func describeJSON(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "it is not a JSON object"
		}
		return fmt.Sprintf("field %q has the wrong type", typeErr.Field)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
