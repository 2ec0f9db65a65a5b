// Package collab is duet's real-time authority: CodeMirror change sets in UTF-16
// units, the documents that apply them, sessions and the hub that fans updates out.
// It imports no web framework.
package collab
