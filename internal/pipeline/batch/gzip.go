package batch

// gzip (RFC 1952), with the standard library's compress/gzip: concatenated
// members are one stream, as gzip -d reads them.

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

var gzipCodec = codec{
	name:   "gzip",
	suffix: ".gz",
	is:     func(h []byte) bool { return len(h) >= 2 && h[0] == 0x1f && h[1] == 0x8b },
	open: func(r io.Reader) (io.ReadCloser, error) {
		return gzip.NewReader(r)
	},
	reason: gzipReason,
	writer: func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil },
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
