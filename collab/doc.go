// Package collab is duet's live hub: the sessions of one process, who is connected
// to each, and the fan-out of their edits, cursors, languages and runs over
// WebSocket. The change sets and the document authority are the engine's (collab/ot);
// what is kept is the store's. It imports no web framework.
package collab
