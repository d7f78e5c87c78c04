package splitmem

import (
	"bytes"
	"io"
	"testing"
)

func TestGeneratorStreamsTheLines(t *testing.T) {
	var want []byte
	for i := range 1000 {
		want = Line(want, i)
	}
	// A small buffer makes the generator split lines across reads.
	got, err := io.ReadAll(io.LimitReader(struct{ io.Reader }{NewGenerator(1000)}, 1<<20))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("generated %d bytes (%v), want %d", len(got), err, len(want))
	}
	buf := make([]byte, 7)
	var small []byte
	g := NewGenerator(1000)
	for {
		n, err := g.Read(buf)
		small = append(small, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	if !bytes.Equal(small, want) {
		t.Fatal("7-byte reads give another stream")
	}
}

func TestMeasureSplitsEveryOp(t *testing.T) {
	m, err := Measure(2000)
	if err != nil {
		t.Fatal(err)
	}
	if m.Enqueued != 2000 || m.PeakRSS == 0 || m.PeakLiveHeap == 0 {
		t.Fatalf("%+v", m)
	}
}
