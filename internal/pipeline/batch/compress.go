package batch

// Compressed batches: a compressed stream (gzip, zstd) around one of the
// layouts, read as it streams in, with a bound on what it may decompress
// to. A compressed stream cannot be entered in the middle, so a chunk task
// decompresses from the start and discards up to its run (bounded, like
// the plan pass, by MaxDecompressedBytes); make bench measures what that
// costs. Each codec is one entry of codecs; the format table pairs it with
// every layout.

import (
	"errors"
	"fmt"
	"io"
)

// MaxDecompressedBytes is the most a compressed batch may decompress to.
// A file that holds more is rejected whole when the bound is reached,
// whatever its compressed size: a decompression bomb costs the splitter
// the time to inflate this much, and no memory (the stream is scanned as
// it inflates). It is also what bounds a chunk task's skip to its run.
const MaxDecompressedBytes int64 = 1 << 30

// maxDecompressed is MaxDecompressedBytes; tests lower it.
var maxDecompressed = MaxDecompressedBytes

// errTooBig: the decompressed stream reached its bound.
var errTooBig = errors.New("decompressed size over the bound")

// codec is a compression a layout may be wrapped in.
type codec struct {
	name   string // for messages: "gzip"
	suffix string // after the layout's suffix: ".gz"
	// is reports whether a file starting with head (up to 4 bytes) is a
	// stream of this codec.
	is func(head []byte) bool
	// open starts decoding r. It returns io.EOF for an empty r, and another
	// error when r does not start as a stream of this codec does.
	open func(r io.Reader) (io.ReadCloser, error)
	// reason says what a decoder's error other than io.EOF means.
	reason func(error) string
	// writer compresses what is written to it onto w (Write).
	writer func(w io.Writer) (io.WriteCloser, error)
}

// codecs are the compressions memo reads, in the order the format table
// lists them.
var codecs = [...]*codec{&gzipCodec, &zstdCodec}

// SniffCompression names the compression a file starting with head (its
// first 4 bytes, or all of a shorter file) is in, with the suffix a key of
// it needs (".gz"); ok=false when it starts as none of them does.
func SniffCompression(head []byte) (name, suffix string, ok bool) {
	for _, c := range codecs {
		if c.is(head) {
			return c.name, c.suffix, true
		}
	}
	return "", "", false
}

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
	zr       io.Reader
	n, limit int64
	over     bool
	zerr     error // the decoder's error other than io.EOF
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

// decompressed decodes r with c, discards its first skip bytes, and hands
// the rest to read; it turns what went wrong with the compressed stream
// into a *SyntaxError (offsets in decompressed bytes) and leaves a failing
// read of r an error of its own.
func decompressed(r io.Reader, c *codec, limit, skip int64, read func(io.Reader) error) error {
	src := &source{r: r}
	zr, err := c.open(src)
	var se *SyntaxError
	switch {
	case err == nil:
	case src.err != nil:
		return fmt.Errorf("batch: read: %w", src.err)
	case errors.As(err, &se):
		return err
	case err == io.EOF:
		return &SyntaxError{Offset: 0, Reason: "empty file (not even a " + c.name + " header)"}
	default:
		return &SyntaxError{Offset: 0, Reason: "not a " + c.name + " stream (" + err.Error() + ")"}
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
		return &SyntaxError{Offset: z.n, Reason: c.reason(z.zerr)}
	}
	return err
}

// head remembers the first bytes read through it.
type head struct {
	r io.Reader
	b [4]byte
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
// out broken and starts as a compressed stream does, says so: memo goes by
// the key's suffix (S3's Content-Encoding is not consulted), and a
// compressed stream under a plain suffix is a broken file whose reason
// names the fix.
func sniffed(r io.Reader, read func(io.Reader) error) error {
	h := &head{r: r}
	err := read(h)
	var se *SyntaxError
	if errors.As(err, &se) {
		// The layout may have stopped at the first byte: read the rest of
		// the head (the file is rejected either way).
		if h.n < len(h.b) {
			m, _ := io.ReadFull(r, h.b[h.n:])
			h.n += m
		}
		if name, suffix, ok := SniffCompression(h.b[:h.n]); ok {
			return &SyntaxError{Offset: 0, Reason: "the file is " + name + "-compressed but its key has no " + suffix + " suffix; memo reads " + SuffixList()}
		}
	}
	return err
}
