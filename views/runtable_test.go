package views

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestReplayRunTables renders a replayed run whose output mixes text and result
// tables: text stays in order in its own blocks, each table shows its columns, its
// cells (NULL, numbers, blobs, hostile text escaped) and its row count, and a table
// that cannot be read is said to be so.
func TestReplayRunTables(t *testing.T) {
	t.Parallel()
	run := &ReplayRunOutput{ReplayRun: ReplayRun{Who: "Ada", Title: "select", Status: "ok", Label: "ok"}, Chunks: []ReplayChunk{
		{Stream: "system", Text: "2 rows inserted.\n"},
		{Stream: "table", Text: `{"c":["id","name","salary","photo"],"r":[[1,"<b>Ada</b>",1.5e3,{"x":"00ff"}],[2,null,-3]],"n":100000}`},
		{Stream: "table", Text: `{"c":["n"],"r":[],"n":0}`},
		{Stream: "stderr", Text: "Error: no such table: nope\n"},
		{Stream: "table", Text: `{"c":["id"],`},
	}}
	var buf bytes.Buffer
	if err := ReplayRunPanel(run, false).Render(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	doc.Find(".run-out").Each(func(_ int, s *goquery.Selection) { outs = append(outs, s.Text()) })
	wantOuts := []string{"2 rows inserted.\n", "Error: no such table: nope\n(a result table that could not be read)\n"}
	if !slices.Equal(outs, wantOuts) {
		t.Errorf("text blocks = %q, want %q", outs, wantOuts)
	}
	tables := doc.Find(".run-table")
	if tables.Length() != 2 {
		t.Fatalf("%d tables, want 2:\n%s", tables.Length(), buf.String())
	}
	first := tables.First()
	var head []string
	first.Find("th").Each(func(_ int, s *goquery.Selection) { head = append(head, s.Text()) })
	if want := []string{"id", "name", "salary", "photo"}; !slices.Equal(head, want) {
		t.Errorf("columns = %q, want %q", head, want)
	}
	var cells []string
	first.Find("tbody td").Each(func(_ int, s *goquery.Selection) {
		cls, _ := s.Attr("class")
		cells = append(cells, s.Text()+"|"+cls)
	})
	wantCells := []string{"1|cell-num", "<b>Ada</b>|", "1.5e3|cell-num", "x'00ff'|cell-blob", "2|cell-num", "NULL|cell-null", "-3|cell-num", "NULL|cell-null"}
	if !slices.Equal(cells, wantCells) {
		t.Errorf("cells = %q, want %q", cells, wantCells)
	}
	if got, want := first.Find(".run-table-count").Text(), "Showing the first 2 of 100,000 rows."; got != want {
		t.Errorf("first table's count = %q, want %q", got, want)
	}
	if got, want := tables.Eq(1).Find(".run-table-count").Text(), "No rows."; got != want {
		t.Errorf("empty table's count = %q, want %q", got, want)
	}
	if strings.Contains(buf.String(), "<b>Ada") {
		t.Errorf("a cell's markup was not escaped")
	}
}

func TestRowCount(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		shown, total int
		want         string
	}{
		{0, 0, "No rows."},
		{1, 1, "1 row."},
		{3, 3, "3 rows."},
		{1000, 100000, "Showing the first 1,000 of 100,000 rows."},
	} {
		if got := rowCount(tt.shown, tt.total); got != tt.want {
			t.Errorf("rowCount(%d, %d) = %q, want %q", tt.shown, tt.total, got, tt.want)
		}
	}
}

// TestExampleTables: the tables the output panel lists are the ones the example
// database (assets/runner/seed.sql) creates, with the same columns in order.
func TestExampleTables(t *testing.T) {
	t.Parallel()
	seed, err := os.ReadFile(filepath.Join("..", "assets", "runner", "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	create := regexp.MustCompile(`(?s)CREATE TABLE (\w+) \((.*?)\n\);`)
	column := regexp.MustCompile(`(?m)^\s+(\w+)\s+[A-Z]+`)
	var got []ExampleTable
	for _, m := range create.FindAllStringSubmatch(string(seed), -1) {
		tbl := ExampleTable{Name: m[1]}
		for _, c := range column.FindAllStringSubmatch(m[2], -1) {
			if c[1] != "PRIMARY" {
				tbl.Columns = append(tbl.Columns, c[1])
			}
		}
		got = append(got, tbl)
	}
	if !slices.EqualFunc(got, ExampleTables, func(a, b ExampleTable) bool { return a.Name == b.Name && slices.Equal(a.Columns, b.Columns) }) {
		t.Errorf("seed.sql creates %v, the panel lists %v", got, ExampleTables)
	}
}
