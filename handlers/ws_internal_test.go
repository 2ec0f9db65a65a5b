package handlers

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestSmallBuffersKeepPipelinedBytes sends a message in the same write as the
// upgrade request, so that net/http has it buffered when the connection is
// hijacked: the smaller reader must start with it. Messages longer than the
// buffers must pass whole both ways.
func TestSmallBuffersKeepPipelinedBytes(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(smallBuffers{w}, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		for {
			typ, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if err := conn.Write(ctx, typ, b); err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	first := []byte("sent before the answer")
	long := bytes.Repeat([]byte("0123456789abcdef"), 3*socketWriteBuffer/16)
	req := "GET / HTTP/1.1\r\nHost: duet\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write(append([]byte(req), maskedFrame(first)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v, %v", res, err)
	}
	if got := readFrame(t, br); !bytes.Equal(got, first) {
		t.Errorf("echo of the pipelined message = %q, want %q", got, first)
	}
	if _, err := c.Write(maskedFrame(long)); err != nil {
		t.Fatal(err)
	}
	if got := readFrame(t, br); !bytes.Equal(got, long) {
		t.Errorf("echo of a %d-byte message came back as %d bytes, or changed", len(long), len(got))
	}
}

// maskedFrame is a final text frame as a client sends it (mask key 0: the payload
// is as written).
func maskedFrame(p []byte) []byte {
	f := []byte{0x81}
	switch {
	case len(p) < 126:
		f = append(f, 0x80|byte(len(p)))
	default:
		f = append(f, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	f = append(f, 0, 0, 0, 0)
	return append(f, p...)
}

// readFrame reads one unmasked frame of a server, of up to 64 KiB.
func readFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return p
}
