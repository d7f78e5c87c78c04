package batch

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// benchOps is the size of the generated benchmark batch.
const benchOps = 100_000

// genOp is the i-th op of a generated batch: a short name and a plain
// arithmetic expression, like real batches.
func genOp(i int) Op {
	return Op{
		Name: fmt.Sprintf("op_%07d", i),
		Op:   fmt.Sprintf("%d + %d * (%d - 2) / 4", i, i%97, i%13),
	}
}

var benchFiles = sync.OnceValues(func() (jsonFile, jsonlFile []byte) {
	var j, l bytes.Buffer
	j.WriteString(`{"ops": [`)
	for i := range benchOps {
		b, err := json.Marshal(genOp(i))
		if err != nil {
			panic(err)
		}
		if i > 0 {
			j.WriteString(",\n")
		}
		j.Write(b)
		l.Write(b)
		l.WriteByte('\n')
	}
	j.WriteString("]}\n")
	return j.Bytes(), l.Bytes()
})

func benchFile(f Format) []byte {
	j, l := benchFiles()
	if f == JSONL {
		return l
	}
	return j
}

func reportOps(b *testing.B, perIter int) {
	b.ReportMetric(float64(perIter)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchScan(b *testing.B, f Format) {
	data := benchFile(f)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := Scan(bytes.NewReader(data), f, func(it Item) error {
			if it.Reject != "" {
				return fmt.Errorf("op %d rejected: %s", it.Index, it.Reject)
			}
			n++
			return nil
		})
		if err != nil || n != benchOps {
			b.Fatalf("Scan: %v after %d ops", err, n)
		}
	}
	reportOps(b, benchOps)
}

func benchCheck(b *testing.B, f Format) {
	data := benchFile(f)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(bytes.NewReader(data), f); err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, benchOps)
}

// benchCheckScan is the splitter's whole cost: both passes.
func benchCheckScan(b *testing.B, f Format) {
	data := benchFile(f)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		checkScan(b, data, f)
	}
	reportOps(b, benchOps)
}

func checkScan(b testing.TB, data []byte, f Format) {
	if err := Check(bytes.NewReader(data), f); err != nil {
		b.Fatal(err)
	}
	if err := Scan(bytes.NewReader(data), f, func(Item) error { return nil }); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkScanJSON(b *testing.B)       { benchScan(b, JSON) }
func BenchmarkScanJSONL(b *testing.B)      { benchScan(b, JSONL) }
func BenchmarkCheckJSON(b *testing.B)      { benchCheck(b, JSON) }
func BenchmarkCheckJSONL(b *testing.B)     { benchCheck(b, JSONL) }
func BenchmarkCheckScanJSON(b *testing.B)  { benchCheckScan(b, JSON) }
func BenchmarkCheckScanJSONL(b *testing.B) { benchCheckScan(b, JSONL) }

// bareOp is what the bare baseline decodes each op into.
type bareOp struct {
	Name string `json:"name"`
	Op   string `json:"op"`
}

// bareDecodeJSON is the baseline of issue 6: a streaming encoding/json
// decode of the .json form, Token for the structure and Decode per element,
// with no validation.
func bareDecodeJSON(r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	n := 0
	if _, err := dec.Token(); err != nil { // {
		return n, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return n, err
		}
		if key != "ops" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return n, err
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // [
			return n, err
		}
		for dec.More() {
			var op bareOp
			if err := dec.Decode(&op); err != nil {
				return n, err
			}
			n++
		}
		if _, err := dec.Token(); err != nil { // ]
			return n, err
		}
	}
	_, err := dec.Token() // }
	return n, err
}

// bareDecodeJSONL is the same baseline for the .jsonl form.
func bareDecodeJSONL(r io.Reader) (int, error) {
	dec := json.NewDecoder(r)
	n := 0
	for {
		var op bareOp
		err := dec.Decode(&op)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func benchBare(b *testing.B, f Format) {
	data := benchFile(f)
	decode := bareDecodeJSON
	if f == JSONL {
		decode = bareDecodeJSONL
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := decode(bytes.NewReader(data))
		if err != nil || n != benchOps {
			b.Fatalf("bare decode: %v after %d ops", err, n)
		}
	}
	reportOps(b, benchOps)
}

func BenchmarkBareDecodeJSON(b *testing.B)  { benchBare(b, JSON) }
func BenchmarkBareDecodeJSONL(b *testing.B) { benchBare(b, JSONL) }

// BenchmarkScanJSONL1M streams a generated 1M-op .jsonl batch (never held
// in memory) through Scan and reports the peak live heap it needed, sampled
// after a collection every 100k ops, and what the duplicate set costs per
// op.
func BenchmarkScanJSONL1M(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		base := liveHeap()
		b.StartTimer()
		err := Scan(newGenReader(n, JSONL, genOp), JSONL, func(it Item) error {
			if it.Reject != "" {
				return fmt.Errorf("op %d rejected: %s", it.Index, it.Reject)
			}
			if it.Index%100_000 == 99_999 {
				b.StopTimer()
				if h := liveHeap(); h > base && h-base > peak {
					peak = h - base
				}
				b.StartTimer()
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, n)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peak)/n, "heap-B/op")
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchOf is the 100k-op benchmark batch in any format (batch.Write).
var benchOf = sync.OnceValue(func() map[Format][]byte {
	ops := make([]Op, benchOps)
	for i := range ops {
		ops[i] = genOp(i)
	}
	files := map[Format][]byte{}
	for _, f := range Formats() {
		var b bytes.Buffer
		if err := Write(&b, f, ops); err != nil {
			panic(err)
		}
		files[f] = b.Bytes()
	}
	return files
})

func benchScanOf(b *testing.B, f Format) {
	data := benchOf()[f]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := Scan(bytes.NewReader(data), f, func(it Item) error {
			if it.Reject != "" {
				return fmt.Errorf("op %d rejected: %s", it.Index, it.Reject)
			}
			n++
			return nil
		})
		if err != nil || n != benchOps {
			b.Fatalf("Scan: %v after %d ops", err, n)
		}
	}
	reportOps(b, benchOps)
}

func BenchmarkScanCSV(b *testing.B)       { benchScanOf(b, CSV) }
func BenchmarkScanJSONLGzip(b *testing.B) { benchScanOf(b, JSONLGzip) }
func BenchmarkScanCSVGzip(b *testing.B)   { benchScanOf(b, CSVGzip) }
func BenchmarkScanJSONLZstd(b *testing.B) { benchScanOf(b, JSONLZstd) }
func BenchmarkScanCSVZstd(b *testing.B)   { benchScanOf(b, CSVZstd) }

// BenchmarkBareDecodeCSV is CSV's baseline: encoding/csv alone reading the
// same file's records, no rules.
func BenchmarkBareDecodeCSV(b *testing.B) {
	data := benchOf()[CSV]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		bareCSV(b, bytes.NewReader(data))
	}
	reportOps(b, benchOps)
}

// bareCSV reads the benchmark's records with encoding/csv alone.
func bareCSV(b *testing.B, in io.Reader) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	n := -1 // the header
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != benchOps {
		b.Fatalf("%d records", n)
	}
}

// BenchmarkBareGzipCSV is .csv.gz's baseline: compress/gzip in front of
// encoding/csv alone.
func BenchmarkBareGzipCSV(b *testing.B) {
	data := benchOf()[CSVGzip]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		bareCSV(b, z)
	}
	reportOps(b, benchOps)
}

// bareZstd is klauspost's zstd decoder with its defaults (up to 4
// goroutines decoding ahead, where memo's decodes on the calling one).
func bareZstd(b *testing.B, data []byte) *zstd.Decoder {
	z, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	return z
}

// BenchmarkBareZstdJSONL is .jsonl.zst's baseline: the zstd decoder with
// its defaults in front of the JSON Lines reader.
func BenchmarkBareZstdJSONL(b *testing.B) {
	data := benchOf()[JSONLZstd]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		z := bareZstd(b, data)
		n := 0
		if err := Scan(z, JSONL, func(Item) error { n++; return nil }); err != nil || n != benchOps {
			b.Fatalf("%v after %d ops", err, n)
		}
		z.Close()
	}
	reportOps(b, benchOps)
}

// BenchmarkBareZstdCSV is .csv.zst's baseline: the zstd decoder with its
// defaults in front of encoding/csv alone.
func BenchmarkBareZstdCSV(b *testing.B) {
	data := benchOf()[CSVZstd]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		z := bareZstd(b, data)
		bareCSV(b, z)
		z.Close()
	}
	reportOps(b, benchOps)
}

// BenchmarkDecompressJSONLZstd is decompressing alone: what a chunk task of
// a .zst batch spends skipping to its run, per op skipped (memo's decoder:
// one goroutine, the window bound).
func BenchmarkDecompressJSONLZstd(b *testing.B) {
	data := benchOf()[JSONLZstd]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		z, err := openZstd(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, z); err != nil {
			b.Fatal(err)
		}
		z.Close()
	}
	reportOps(b, benchOps)
}

// BenchmarkBareGzipJSONL is the compressed baseline: compress/gzip in front
// of the JSON Lines reader, without memo's bound and error classification.
func BenchmarkBareGzipJSONL(b *testing.B) {
	data := benchOf()[JSONLGzip]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := Scan(z, JSONL, func(Item) error { n++; return nil }); err != nil || n != benchOps {
			b.Fatalf("%v after %d ops", err, n)
		}
	}
	reportOps(b, benchOps)
}

// BenchmarkInflateJSONLGzip is inflating alone: what a chunk task of a
// compressed batch spends skipping to its run, per op skipped.
func BenchmarkInflateJSONLGzip(b *testing.B) {
	data := benchOf()[JSONLGzip]
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, z); err != nil {
			b.Fatal(err)
		}
	}
	reportOps(b, benchOps)
}
