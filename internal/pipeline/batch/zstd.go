package batch

// Zstandard (RFC 8878), with github.com/klauspost/compress/zstd: decoded
// as it streams in, one block at a time on the calling goroutine
// (concurrency 1), so a batch costs the splitter one frame's window of
// memory (RFC 8878 3.1.1.1.2: a decoder keeps Window_Size bytes of
// history; MaxZstdWindowBytes bounds it) and no goroutines. Concatenated frames are one stream, as
// zstd -d reads them; skippable frames are skipped.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// MaxZstdWindowBytes is the largest window a zstd frame may ask for, and
// so about the most memory decoding a batch takes: the 8 MiB RFC 8878
// (3.1.1.1.2) recommends decoders support and encoders stay within, and
// the limit of zstd in HTTP (RFC 9659). zstd levels 1 to 19 stay within
// it; --long and --ultra (20-22) ask for more and are refused with a
// reason, whatever the splitter's memory setting.
const MaxZstdWindowBytes = 8 << 20

var zstdCodec = codec{
	name:   "zstd",
	suffix: ".zst",
	is:     isZstd,
	open:   openZstd,
	reason: zstdReason,
	writer: func(w io.Writer) (io.WriteCloser, error) { return zstd.NewWriter(w) },
}

// isZstd: a zstd frame's magic number, or a skippable frame's (RFC 8878
// 3.1.2: 0x184D2A50 to 0x184D2A5F), little-endian.
func isZstd(h []byte) bool {
	if len(h) < 4 {
		return false
	}
	m := binary.LittleEndian.Uint32(h)
	return m == 0xFD2FB528 || m&0xFFFFFFF0 == 0x184D2A50
}

// openZstd reads the first frame's header before decoding (zstd's decoder
// reads lazily), so that an empty file or one of another kind is told at
// open, as gzip's header is, and a first frame whose window is over the
// bound is refused with its size.
func openZstd(r io.Reader) (io.ReadCloser, error) {
	buf := make([]byte, zstd.HeaderMaxSize)
	n, err := io.ReadFull(r, buf)
	buf = buf[:n]
	switch {
	case n == 0 && err == io.EOF:
		return nil, io.EOF
	case err != nil && err != io.ErrUnexpectedEOF:
		return nil, err
	case n < 4:
		return nil, errors.New("shorter than a zstd frame header")
	case !isZstd(buf):
		return nil, zstd.ErrMagicMismatch
	}
	var h zstd.Header
	if h.Decode(buf) == nil && !h.Skippable {
		window := h.WindowSize
		if h.SingleSegment {
			window = h.FrameContentSize // RFC 8878 3.1.1.1.2
		}
		if window > MaxZstdWindowBytes {
			return nil, &SyntaxError{Offset: 0, Reason: fmt.Sprintf("the zstd frame asks for a window of %d MiB, over the %d MiB memo decodes with; compress it without --long or --ultra", window>>20, MaxZstdWindowBytes>>20)}
		}
	}
	// WithDecoderMaxMemory bounds a single-segment frame's window (its
	// content size), WithDecoderMaxWindow any other's.
	d, err := zstd.NewReader(io.MultiReader(bytes.NewReader(buf), r),
		zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(MaxZstdWindowBytes), zstd.WithDecoderMaxMemory(MaxZstdWindowBytes))
	if err != nil {
		return nil, err
	}
	return d.IOReadCloser(), nil
}

func zstdReason(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the zstd stream ends early (a truncated file)"
	case errors.Is(err, zstd.ErrCRCMismatch):
		return "the zstd checksum does not match (a corrupt file)"
	case errors.Is(err, zstd.ErrMagicMismatch):
		return "bytes after a zstd frame that are not zstd (zstd: magic number mismatch)"
	case errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Sprintf("a zstd frame asks for a window over %d MiB, the most memo decodes with; compress it without --long or --ultra", MaxZstdWindowBytes>>20)
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		// The decoder says so of a later frame's window (the first one's is
		// checked at open) and of a block larger than its frame's window.
		return fmt.Sprintf("a zstd frame asks for a window over %d MiB (the most memo decodes with; compress it without --long or --ultra), or holds a block larger than its window (a corrupt file)", MaxZstdWindowBytes>>20)
	case errors.Is(err, zstd.ErrUnknownDictionary):
		return "the zstd stream needs a dictionary; memo reads streams compressed without one"
	}
	return "corrupt zstd data (zstd: " + err.Error() + ")"
}
