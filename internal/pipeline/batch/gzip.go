package batch

// Compressed batches: a gzip stream around one of the layouts, read as it
// streams in, with a bound on what it may decompress to. A gzip stream
// cannot be entered in the middle, so a chunk task decompresses from the
// start and discards up to its run (bounded, like the plan pass, by
// MaxDecompressedBytes); make bench measures what that costs.

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// MaxDecompressedBytes is the most a compressed batch may decompress to.
// A file that holds more is rejected whole when the bound is reached,
// whatever its compressed size: a decompression bomb costs the splitter
// the time to inflate this much, and no memory (the stream is scanned as
// it inflates).
const MaxDecompressedBytes int64 = 1 << 30

// maxDecompressed is MaxDecompressedBytes; tests lower it.
var maxDecompressed = MaxDecompressedBytes

// errTooBig: the decompressed stream reached its bound.
var errTooBig = errors.New("decompressed size over the bound")

// source is the compressed object as read: it keeps the read error that is
// not the end of the object, so that a failing read (retryable) is told
// apart from a corrupt stream (a broken file).
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// inflated is the decompressed stream, bounded to limit bytes.
type inflated struct {
	zr       *gzip.Reader
	n, limit int64
	over     bool
	zerr     error // gzip's error other than io.EOF
}

func (z *inflated) Read(p []byte) (int, error) {
	if z.over {
		return 0, errTooBig
	}
	if room := z.limit - z.n; int64(len(p)) > room+1 {
		p = p[:room+1]
	}
	m, err := z.zr.Read(p)
	z.n += int64(m)
	if z.n > z.limit {
		z.over = true
		return m - int(z.n-z.limit), errTooBig
	}
	if err != nil && err != io.EOF {
		z.zerr = err
	}
	return m, err
}

// gunzipped decompresses r, discards its first skip bytes, and hands the
// rest to read; it turns what went wrong with the gzip stream into a
// *SyntaxError (offsets in decompressed bytes) and leaves a failing read of
// r an error of its own.
func gunzipped(r io.Reader, limit, skip int64, read func(io.Reader) error) error {
	src := &source{r: r}
	zr, err := gzip.NewReader(src)
	switch {
	case err == nil:
	case src.err != nil:
		return fmt.Errorf("batch: read: %w", src.err)
	case err == io.EOF:
		return &SyntaxError{Offset: 0, Reason: "empty file (not even a gzip header)"}
	default:
		return &SyntaxError{Offset: 0, Reason: "not a gzip stream (" + err.Error() + ")"}
	}
	defer zr.Close()
	z := &inflated{zr: zr, limit: limit}
	if skip > 0 {
		if _, err = io.CopyN(io.Discard, z, skip); err == io.EOF {
			err = &SyntaxError{Offset: z.n, Reason: fmt.Sprintf("the file decompresses to %d bytes, before the run at byte %d", z.n, skip)}
		}
	}
	if err == nil {
		err = read(z)
	}
	switch {
	case err == nil:
		return nil
	case z.over:
		return &SyntaxError{Offset: z.limit, Reason: fmt.Sprintf("the file decompresses to more than %d bytes, the most memo reads of a compressed batch; split it into several files", z.limit)}
	case src.err != nil:
		return err
	case z.zerr != nil:
		return &SyntaxError{Offset: z.n, Reason: gzipReason(z.zerr)}
	}
	return err
}

func gzipReason(err error) string {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the gzip stream ends early (a truncated file)"
	case errors.Is(err, gzip.ErrChecksum):
		return "the gzip checksum does not match (a corrupt file)"
	case errors.Is(err, gzip.ErrHeader):
		return "bytes after the gzip stream that are not gzip (gzip: invalid header)"
	case errors.As(err, &corrupt):
		return fmt.Sprintf("corrupt gzip data at compressed byte %d", int64(corrupt))
	}
	return "gzip: " + err.Error()
}

// head remembers the first bytes read through it.
type head struct {
	r io.Reader
	b [2]byte
	n int
}

func (h *head) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.n < len(h.b) && n > 0 && n <= len(p) {
		h.n += copy(h.b[h.n:], p[:n])
	}
	return n, err
}

// sniffed reads an uncompressed layout with read and, when the file turns
// out broken and starts as a gzip stream does, says so: memo goes by the
// key's suffix (S3's Content-Encoding is not consulted), and a gzip stream
// under a plain suffix is a broken file whose reason names the fix.
func sniffed(r io.Reader, read func(io.Reader) error) error {
	h := &head{r: r}
	err := read(h)
	var se *SyntaxError
	if h.n == 2 && h.b == [2]byte{0x1f, 0x8b} && errors.As(err, &se) {
		return &SyntaxError{Offset: 0, Reason: "the file is gzip-compressed but its key has no .gz suffix; memo reads " + SuffixList()}
	}
	return err
}
