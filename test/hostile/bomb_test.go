package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/memohq/memo/internal/dev/inmem"
	"github.com/memohq/memo/internal/pipeline/batch"
	"github.com/memohq/memo/internal/pipeline/naming"
	"github.com/memohq/memo/internal/pipeline/record"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// countingObjects counts the bytes the splitter reads of the objects.
type countingObjects struct {
	*inmem.Objects
	read atomic.Int64
}

func (c *countingObjects) Open(ctx context.Context, ref splitter.Ref) (io.ReadCloser, error) {
	rc, err := c.Objects.Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{readFunc(func(p []byte) (int, error) {
		n, err := rc.Read(p)
		c.read.Add(int64(n))
		return n, err
	}), rc}, nil
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// A .jsonl.gz file of one op and then 10 GiB of spaces (160 gzip members
// of 64 MiB each, 10 MB in all) is rejected by the splitter at the bound on
// decompressed size, with nothing enqueued and the splitter's memory flat:
// what it allocates does not grow with what the file inflates to. Its work
// is bounded by the bound, not by the file: it reads about a tenth of the
// compressed bytes (1 GiB of the 10 inflated), which takes seconds on a
// quiet core (the time is logged, not asserted: this machine's load varies
// tenfold).
func TestTenGigabyteBombIsRefused(t *testing.T) {
	var member bytes.Buffer
	z, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	spaces := []byte(strings.Repeat(" ", 1<<20))
	for range 64 {
		z.Write(spaces)
	}
	z.Close()
	var file bytes.Buffer
	z = gzip.NewWriter(&file)
	z.Write([]byte("{\"name\":\"bomb\",\"op\":\"1\"}\n"))
	z.Close()
	for range 160 {
		file.Write(member.Bytes())
	}
	refuseBomb(t, "bomb10g.jsonl.gz", file.Bytes())
}

// The same with zstd: one op and then 10 GiB of spaces in one frame of
// RLE blocks (RFC 8878 3.1.1.2: a block of one byte repeated, 128 KiB at
// most, 4 bytes each), 320 KiB in all, with a 1 MiB window.
func TestTenGigabyteZstdBombIsRefused(t *testing.T) {
	op := "{\"name\":\"bomb\",\"op\":\"1\"}\n"
	file := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 10 << 3} // magic, no checksum, window 2^20
	block := func(h uint32, body ...byte) []byte {
		return append([]byte{byte(h), byte(h >> 8), byte(h >> 16)}, body...)
	}
	file = append(file, block(uint32(len(op))<<3)...) // a raw block
	file = append(file, op...)
	const rle = 128 << 10
	for i := range (10 << 30) / rle {
		h := uint32(rle)<<3 | 1<<1 // an RLE block
		if i == (10<<30)/rle-1 {
			h |= 1 // the last
		}
		file = append(file, block(h, ' ')...)
	}
	refuseBomb(t, "bomb10g.jsonl.zst", file)
}

// refuseBomb splits file under name and checks that it is rejected at the
// bound, with nothing enqueued, having read a part of it, in flat memory.
func refuseBomb(t *testing.T, name string, file []byte) {
	t.Helper()
	const bucket = "memo-hostile-batches-1"
	key := naming.BatchPrefix + name
	objs, q := &countingObjects{Objects: inmem.NewObjects()}, &inmem.Queue{}
	objs.Set(bucket, key, file)
	svc := splitter.New(objs, q, splitter.Config{})
	var rec events.S3EventRecord
	rec.EventName = "ObjectCreated:Put"
	rec.S3.Bucket.Name = bucket
	rec.S3.Object.Key = key
	rec.S3.Object.ETag = "etag"

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := svc.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte file (10 GiB inflated) refused in %v after reading %d bytes of it; allocated %d KiB in all",
		len(file), took.Round(time.Millisecond), objs.read.Load(), alloc>>10)

	body, ok := objs.Object(bucket, naming.ReportKey(key))
	if !ok {
		t.Fatal("no report")
	}
	rep, err := record.DecodeReport(body)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != record.ReportRejected || rep.Offset == nil || *rep.Offset != batch.MaxDecompressedBytes {
		t.Fatalf("report %+v", rep)
	}
	if n := len(q.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
	if read := objs.read.Load(); read > int64(len(file))/8 {
		t.Errorf("read %d of the %d compressed bytes: the bound did not stop the read", read, len(file))
	}
	if alloc > 16<<20 {
		t.Errorf("allocated %d MiB while inflating: memory is not flat", alloc>>20)
	}
}
