package questions_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"duet/questions"
	"duet/store"
)

var languages = []string{"python", "javascript"}

func valid() questions.Draft {
	return questions.Draft{Title: "Two sum", Language: "python", Prompt: "Find *two*.", StarterCode: "def f():\n    pass\n",
		Rubric: "O(n)", Tests: []store.QuestionTest{{Name: "small", Code: "assert f() is None"}, {Name: "secret", Code: "pass", Hidden: true}}}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		edit      func(d *questions.Draft)
		wantField string // "" : valid
	}{
		{"valid", func(*questions.Draft) {}, ""},
		{"no tests at all", func(d *questions.Draft) { d.Tests = nil }, ""},
		{"title only blanks", func(d *questions.Draft) { d.Title = "   " }, "title"},
		{"title at the bound", func(d *questions.Draft) { d.Title = strings.Repeat("é", questions.MaxTitle) }, ""},
		{"title past the bound", func(d *questions.Draft) { d.Title = strings.Repeat("é", questions.MaxTitle+1) }, "title"},
		{"title on two lines", func(d *questions.Draft) { d.Title = "a\nb" }, "title"},
		{"unknown language", func(d *questions.Draft) { d.Language = "cobol" }, "language"},
		{"prompt at the bound", func(d *questions.Draft) { d.Prompt = strings.Repeat("x", questions.MaxPrompt) }, ""},
		{"prompt past the bound", func(d *questions.Draft) { d.Prompt = strings.Repeat("x", questions.MaxPrompt+1) }, "prompt"},
		{"starter code past the bound", func(d *questions.Draft) { d.StarterCode = strings.Repeat("x", questions.MaxStarterCode+1) }, "starterCode"},
		{"rubric past the bound", func(d *questions.Draft) { d.Rubric = strings.Repeat("x", questions.MaxRubric+1) }, "rubric"},
		{"NUL in the prompt", func(d *questions.Draft) { d.Prompt = "a\x00b" }, "prompt"},
		{"not UTF-8", func(d *questions.Draft) { d.StarterCode = "\xff" }, "starterCode"},
		{"too many tests", func(d *questions.Draft) {
			d.Tests = nil
			for i := range questions.MaxTests + 1 {
				d.Tests = append(d.Tests, store.QuestionTest{Name: strings.Repeat("t", i+1), Code: "pass"})
			}
		}, "tests"},
		{"two tests of one name", func(d *questions.Draft) { d.Tests[1].Name = d.Tests[0].Name }, "tests[1].name"},
		{"a test without a name", func(d *questions.Draft) { d.Tests[0].Name = " " }, "tests[0].name"},
		{"a test without code", func(d *questions.Draft) { d.Tests[1].Code = "\n  \n" }, "tests[1].code"},
		{"test code past the bound", func(d *questions.Draft) { d.Tests[0].Code = strings.Repeat("x", questions.MaxTestCode+1) }, "tests[0].code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.edit(&d)
			err := d.Normalize().Validate(languages)
			var bad *questions.Invalid
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Validate() error = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &bad) || bad.Field != tt.wantField || bad.Message == ""):
				t.Errorf("Validate() error = %#v, want an Invalid of field %q", err, tt.wantField)
			}
		})
	}
	d := questions.Draft{Title: "  t  ", Prompt: "a\r\nb\rc", Tests: []store.QuestionTest{{Name: " n ", Code: "x\r\n"}}}.Normalize()
	if d.Title != "t" || d.Prompt != "a\nb\nc" || d.Tests[0].Name != "n" || d.Tests[0].Code != "x\n" {
		t.Errorf("Normalize() = %+v", d)
	}
}

// TestMarkdownIsInert renders hostile Markdown: what comes out holds only the
// elements and attributes of the allow-list, no script, style, frame or handler,
// and links only to http, https and mailto.
func TestMarkdownIsInert(t *testing.T) {
	t.Parallel()
	md := questions.NewMarkdown()
	src := strings.Join([]string{
		"# Title", "<script>alert(1)</script>", "<iframe src=\"https://evil.example\"></iframe>",
		"[click](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>) [vb](vbscript:x)",
		"<a href=\"javascript:alert(1)\">raw link</a> <img src=x onerror=alert(1)> ![img](https://evil.example/x.png)",
		"<div style=\"position:fixed\" onclick=\"alert(1)\">div</div> <!-- a comment --> <style>body{}</style>",
		"<object data=x></object><embed src=x><form action=/s/x/end><button>go</button></form>",
		"<svg onload=alert(1)></svg> <math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
		"<javascript:alert(1)> https://ok.example/path", "",
		"```python", "print('<script>')", "```", "", "| a | b |", "|:--|--:|", "| 1 | 2 |", "", "- [x] done", "",
		"[fine](https://ok.example) [mail](mailto:a@ok.example) `code` **bold**",
	}, "\n\n") // one paragraph each, so inline HTML is not taken into a block of raw HTML
	src = strings.Replace(src, "| a | b |\n\n|:--|--:|\n\n| 1 | 2 |", "| a | b |\n|:--|--:|\n| 1 | 2 |", 1)
	src = strings.Replace(src, "```python\n\nprint('<script>')\n\n```", "```python\nprint('<script>')\n```", 1)
	out := md.Render(src)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader("<body>" + out + "</body>"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, e := range strings.Fields("p br hr strong em b i del s code pre kbd sub sup blockquote ul ol li h1 h2 h3 h4 h5 h6 table thead tbody tr th td a input") {
		allowed[e] = true
	}
	doc.Find("body *").Each(func(_ int, s *goquery.Selection) {
		tag := goquery.NodeName(s)
		if !allowed[tag] {
			t.Errorf("element <%s> came out: %s", tag, out)
		}
		for _, a := range s.Nodes[0].Attr {
			switch {
			case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "src", a.Key == "action":
				t.Errorf("attribute %s=%q on <%s> came out", a.Key, a.Val, tag)
			case a.Key == "href" && !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "mailto:"):
				t.Errorf("link to %q came out", a.Val)
			case tag == "input" && a.Key == "type" && a.Val != "checkbox":
				t.Errorf("input of type %q came out", a.Val)
			}
		}
	})
	for _, bad := range []string{"<script", `="javascript:`, "<!--", "<iframe", "<img"} {
		if strings.Contains(out, bad) {
			t.Errorf("output contains %q:\n%s", bad, out)
		}
	}
	// What Markdown is for survives.
	for sel, want := range map[string]string{"h1": "Title", `code.language-python`: "print('<script>')\n", "strong": "bold",
		`a[href="https://ok.example"]`: "fine", `td[align="right"]`: "2", `input[type=checkbox][checked][disabled]`: ""} {
		if s := doc.Find(sel); s.Length() != 1 || s.Text() != want {
			t.Errorf("%s: %d elements, text %q; want one with %q\n%s", sel, s.Length(), s.Text(), want, out)
		}
	}
}

// TestImportExportImport: a file imported, exported, and imported again into another
// library gives the same bytes; importing it again where it came from changes
// nothing but the update times.
func TestImportExportImport(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	file := []byte(`{"duet": "questions/v1", "questions": [
		{"id": "0b5a2f8e-0000-4000-8000-000000000002", "title": "Zig", "language": "javascript", "prompt": "p\r\n", "starterCode": "", "rubric": "r",
		 "tests": [{"name": "a", "code": "check(1, 1);", "hidden": true}]},
		{"title": "Ada ✓", "language": "python", "prompt": "**p** 😀", "starterCode": "x = 1\n", "rubric": "", "tests": []}]}`)
	first := mustLibrary(t)
	got, err := first.Import(ctx, file)
	if err != nil || got != (questions.Imported{Created: 2}) {
		t.Fatalf("Import() = %+v, %v; want 2 created", got, err)
	}
	exported := mustExport(t, first)
	second := mustLibrary(t)
	if got, err := second.Import(ctx, exported); err != nil || got != (questions.Imported{Created: 2}) {
		t.Fatalf("Import(exported) = %+v, %v; want 2 created", got, err)
	}
	if again := mustExport(t, second); !bytes.Equal(again, exported) {
		t.Errorf("export of the re-import differs:\n%s\nwant\n%s", again, exported)
	}
	if got, err := first.Import(ctx, exported); err != nil || got != (questions.Imported{Updated: 2}) {
		t.Fatalf("Import(exported) into its own library = %+v, %v; want 2 updated", got, err)
	}
	if again := mustExport(t, first); !bytes.Equal(again, exported) {
		t.Errorf("export after importing the same file differs:\n%s\nwant\n%s", again, exported)
	}
	list, _ := first.List(ctx, "")
	if n := len(list) - countExamples(list); n != 2 {
		t.Errorf("the library holds %d questions after two imports of one file, want 2", n)
	}

	// duet's own examples are a file in the exported form, byte for byte.
	examples, err := os.ReadFile("examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var qs []store.Question
	for _, q := range list {
		if questions.IsExample(q.ID) {
			qs = append(qs, q)
		}
	}
	if len(qs) != 6 {
		t.Errorf("%d examples, want 6 (two-sum, LRU cache and rate limiter, in Python and JavaScript)", len(qs))
	}
	if got := questions.Encode(qs); !bytes.Equal(got, examples) {
		t.Errorf("examples.json is not in the exported form: re-encoded it is\n%s", got)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	q := `{"title": "t", "language": "python", "prompt": "", "starterCode": "", "rubric": "", "tests": []}`
	withID := func(id string) string { return strings.Replace(q, `{`, `{"id": "`+id+`", `, 1) }
	many := strings.TrimSuffix(strings.Repeat(q+",", questions.MaxImport+1), ",")
	tests := []struct{ name, file, wantField string }{
		{"not JSON", `{`, ""},
		{"another format", `{"duet": "questions/v2", "questions": []}`, "duet"},
		{"an unknown field", `{"duet": "questions/v1", "questions": [], "extra": 1}`, ""},
		{"two objects", `{"duet": "questions/v1", "questions": []} {}`, ""},
		{"too many", `{"duet": "questions/v1", "questions": [` + many + `]}`, "questions"},
		{"an invalid question, named by its place", `{"duet": "questions/v1", "questions": [` + q + `,` + strings.Replace(q, "python", "cobol", 1) + `]}`, "questions[1].language"},
		{"an id not a UUID", `{"duet": "questions/v1", "questions": [` + withID("mine") + `]}`, "questions[0].id"},
		{"an example's id", `{"duet": "questions/v1", "questions": [` + withID("example-two-sum-python") + `]}`, "questions[0].id"},
		{"one id twice", `{"duet": "questions/v1", "questions": [` + withID("0b5a2f8e-0000-4000-8000-000000000002") + `,` + withID("0b5a2f8e-0000-4000-8000-000000000002") + `]}`, "questions[1].id"},
	}
	for _, tt := range tests {
		_, err := questions.Decode([]byte(tt.file), languages)
		var bad *questions.Invalid
		if !errors.As(err, &bad) || bad.Field != tt.wantField || bad.Message == "" {
			t.Errorf("%s: Decode() error = %#v, want an Invalid of field %q", tt.name, err, tt.wantField)
		}
	}
	lib := mustLibrary(t)
	if _, err := lib.Import(t.Context(), []byte(`{"duet": "questions/v1", "questions": [`+q+`,`+strings.Replace(q, `"t"`, `""`, 1)+`]}`)); err == nil {
		t.Error("Import() of a file with an invalid question succeeded")
	}
	if list, _ := lib.List(t.Context(), ""); len(list) != countExamples(list) {
		t.Errorf("a refused import stored %d questions, want none", len(list)-countExamples(list))
	}
}

func TestLibrary(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	lib := mustLibrary(t)
	const ex = "example-two-sum-python"
	if _, err := lib.Update(ctx, ex, valid()); !errors.Is(err, questions.ErrReadOnly) {
		t.Errorf("Update(example) error = %v, want ErrReadOnly", err)
	}
	if err := lib.Delete(ctx, ex); !errors.Is(err, questions.ErrReadOnly) {
		t.Errorf("Delete(example) error = %v, want ErrReadOnly", err)
	}
	for _, id := range []string{"example-nope", "nope", "0b5a2f8e-0000-4000-8000-00000000dead"} {
		if _, err := lib.Get(ctx, id); !errors.Is(err, questions.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", id, err)
		}
		if err := lib.Delete(ctx, id); !errors.Is(err, questions.ErrNotFound) {
			t.Errorf("Delete(%q) error = %v, want ErrNotFound", id, err)
		}
	}
	cp, err := lib.Duplicate(ctx, ex)
	if err != nil || cp.Title != "Two sum (copy)" || questions.IsExample(cp.ID) || len(cp.Tests) != 5 {
		t.Fatalf("Duplicate(example) = %+v, %v", cp, err)
	}
	d := questions.DraftOf(cp)
	d.Prompt = "Find the pair that sums to the target in a *sorted* list."
	if _, err := lib.Update(ctx, cp.ID, d); err != nil {
		t.Fatalf("Update(copy) error = %v", err)
	}
	found, _ := lib.List(ctx, "SORTED")
	if len(found) != 1 || found[0].ID != cp.ID {
		t.Errorf("List(SORTED) = %d questions, want the edited copy", len(found))
	}
	if found, _ := lib.List(ctx, "javascript"); len(found) != 3 {
		t.Errorf("List(javascript) = %d questions, want the 3 JavaScript examples", len(found))
	}
	if err := lib.Delete(ctx, cp.ID); err != nil {
		t.Errorf("Delete(copy) error = %v", err)
	}
}

func mustLibrary(t *testing.T) *questions.Library {
	t.Helper()
	lib, err := questions.NewLibrary(store.NewMemory(), languages)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func mustExport(t *testing.T, lib *questions.Library) []byte {
	t.Helper()
	b, err := lib.Export(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func countExamples(qs []store.Question) int {
	n := 0
	for _, q := range qs {
		if questions.IsExample(q.ID) {
			n++
		}
	}
	return n
}

// TestSessionQuestions: a session's questions come back in the order given, the
// last being OfSession's; an unknown session has none; past MaxSessionQuestions
// the library refuses and stores nothing.
func TestSessionQuestions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := store.NewMemory()
	lib, err := questions.NewLibrary(st, languages)
	if err != nil {
		t.Fatal(err)
	}
	const id = "3f2a1b9c-0000-4000-8000-000000000001"
	if err := st.CreateSession(ctx, store.Session{ID: id, Language: "python"}); err != nil {
		t.Fatal(err)
	}
	if got, err := lib.SessionQuestions(ctx, "3f2a1b9c-0000-4000-8000-000000000002"); err != nil || len(got) != 0 {
		t.Errorf("SessionQuestions(unknown) = %v, %v; want none", got, err)
	}
	two, err := lib.Get(ctx, "example-two-sum-python")
	if err != nil {
		t.Fatal(err)
	}
	lru, err := lib.Get(ctx, "example-lru-cache-python")
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.AddToSession(ctx, id, two, 0); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < questions.MaxSessionQuestions; i++ {
		if err := lib.AddToSession(ctx, id, lru, 10*i); err != nil {
			t.Fatalf("question %d: %v", i+1, err)
		}
	}
	if err := lib.AddToSession(ctx, id, two, 999); !errors.Is(err, questions.ErrTooManyQuestions) {
		t.Errorf("question %d: error = %v, want ErrTooManyQuestions", questions.MaxSessionQuestions+1, err)
	}
	got, err := lib.SessionQuestions(ctx, id)
	if err != nil || len(got) != questions.MaxSessionQuestions || got[0].ID != two.ID || got[1].Version != 10 || got[len(got)-1].ID != lru.ID {
		t.Fatalf("SessionQuestions = %d questions, %v", len(got), err)
	}
	last, ok, err := lib.OfSession(ctx, id)
	if err != nil || !ok || last.Version != 10*(questions.MaxSessionQuestions-1) {
		t.Errorf("OfSession = version %d, %v, %v; want the last one given", last.Version, ok, err)
	}
}
