// Package ot is duet's operational-transformation engine: CodeMirror change sets
// counted in UTF-16 units, the text they apply to, the sequential rebase, and the
// Document that accepts pushes. It is pure (no I/O, no locks, no clock) and imports
// only the standard library, so that it can be tested, fuzzed and benchmarked alone
// and used by any client written in Go.
package ot
