package views

import (
	"bytes"
	"encoding/json"
)

// A run's output on the replay: text streams as the runner printed them, and result
// tables (SQL), which a "table" output carries as the JSON of assets/runner/table.ts:
// {"c": column names, "r": rows of cells, "n": rows in all}. A cell is a number, a
// string, null (SQL NULL) or {"x": hex} (a blob).

// ResultTable is a result table, display-ready.
type ResultTable struct {
	Columns []string
	Rows    [][]TableCell
	Count   string // "3 rows.", "Showing the first 1,000 of 100,000 rows."
}

// TableCell is one cell: its text and the class that styles it ("" for text).
type TableCell struct {
	Text  string
	Class string // "cell-num", "cell-null" or "cell-blob"
}

// outputPart is a stretch of a run's output: text chunks, or one table.
type outputPart struct {
	Chunks []ReplayChunk
	Table  *ResultTable
}

// outputParts groups a run's chunks for display: consecutive text chunks together,
// each table apart. A "table" chunk that is not a table is shown as a runner's note.
func outputParts(chunks []ReplayChunk) []outputPart {
	var parts []outputPart
	for _, c := range chunks {
		if c.Stream == "table" {
			if t, ok := parseTable(c.Text); ok {
				parts = append(parts, outputPart{Table: &t})
				continue
			}
			c = ReplayChunk{Stream: "system", Text: "(a result table that could not be read)\n"}
		}
		if n := len(parts); n > 0 && parts[n-1].Table == nil {
			parts[n-1].Chunks = append(parts[n-1].Chunks, c)
		} else {
			parts = append(parts, outputPart{Chunks: []ReplayChunk{c}})
		}
	}
	return parts
}

// parseTable reads a table output's JSON; ok is false for anything else.
func parseTable(text string) (t ResultTable, ok bool) {
	var w struct {
		C []string
		R [][]json.RawMessage
		N *int
	}
	if err := json.Unmarshal([]byte(text), &w); err != nil || w.C == nil || w.R == nil || w.N == nil {
		return ResultTable{}, false
	}
	t.Columns = w.C
	for _, raw := range w.R {
		row := make([]TableCell, len(w.C))
		for i := range row {
			row[i] = TableCell{Text: "NULL", Class: "cell-null"}
			if i < len(raw) {
				if row[i], ok = tableCell(raw[i]); !ok {
					return ResultTable{}, false
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	t.Count = rowCount(len(t.Rows), max(*w.N, len(t.Rows)))
	return t, true
}

// tableCell reads one cell. Numbers keep the text JavaScript gave them.
func tableCell(raw json.RawMessage) (TableCell, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	var blob struct{ X *string }
	switch {
	case string(raw) == "null":
		return TableCell{Text: "NULL", Class: "cell-null"}, true
	case json.Unmarshal(raw, &s) == nil:
		return TableCell{Text: s}, true
	case len(raw) > 0 && raw[0] == '{':
		if json.Unmarshal(raw, &blob) != nil || blob.X == nil {
			return TableCell{}, false
		}
		return TableCell{Text: "x'" + *blob.X + "'", Class: "cell-blob"}, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return TableCell{}, false
	}
	return TableCell{Text: n.String(), Class: "cell-num"}, true
}

// rowCount says how many rows a table has, and how many are shown, as the runner does.
func rowCount(shown, total int) string {
	switch {
	case total == 0:
		return "No rows."
	case shown < total:
		return "Showing the first " + thousands(shown) + " of " + thousands(total) + " rows."
	case total == 1:
		return "1 row."
	}
	return thousands(total) + " rows."
}
