// Package batch reads memo's batch files: a table of formats (JSON, JSON
// Lines, CSV, each optionally gzip- or zstd-compressed), streaming
// decoders with the per-op rules and limits they share, for a whole file
// and for a run of its ops.
//
// # Formats
//
// A key ending in .json holds one object with an "ops" array:
//
//	{"ops": [{"name": "1_plus_1", "op": "1+1"}, {"name": "2_by_2", "op": "2*2"}]}
//
// A key ending in .jsonl holds one op object per line:
//
//	{"name": "1_plus_1", "op": "1+1"}
//	{"name": "2_by_2", "op": "2*2"}
//
// A key ending in .csv holds a header row naming the columns name and op
// (in either order), then one record per op (RFC 4180, encoding/csv):
//
//	name,op
//	1_plus_1,1+1
//	"2, by 2","2*2"
//
// Each of them gzip-compressed is .json.gz, .jsonl.gz or .csv.gz, and
// zstd-compressed .json.zst, .jsonl.zst or .csv.zst. The
// formats are one table (formats.go): a suffix, a plan scan (the whole
// file, ScanFile) and a chunk scan (one run of ops, ScanChunk). Every list
// of suffixes (Suffixes: the S3 notifications of Terraform and of the twin,
// the messages that name the formats) comes from it. The per-op rules that
// do not depend on the format are rules.go's, applied alike to every format.
//
// # CSV
//
// The header names exactly the columns name and op, case-sensitively; any
// other column, or one named twice, rejects the file (for now). Quoted
// fields may hold commas, doubled quotes and newlines; CRLF and LF line
// ends are both read; a leading byte order mark is skipped; empty lines
// are skipped and take no index. An op's index is its record's ordinal
// after the header, Item.Line the line its record starts on, and a
// rejection starts with that line ("line 7: duplicate of op 3"). A record
// with a number of fields other than the header's is that op's rejection;
// a bare or unclosed quote rejects the file with its line and byte offset.
// encoding/csv holds a whole record, so a record over MaxCSVRecordBytes
// rejects the file; below that, a field over its limit is the op's
// rejection, as in JSON. A file of only the header is a valid empty batch.
// A plan carries the header (Run.Header) for the chunk tasks, whose runs
// start at record boundaries (csv.Reader.InputOffset), never inside a
// quoted newline.
//
// # Compressed batches
//
// A gzip or zstd stream is read as it decompresses (concatenated gzip
// members, or zstd frames, are one stream, as gzip -d and zstd -d read
// them; zstd's skippable frames are skipped). Offsets (Item.Start,
// SyntaxError.Offset) count decompressed bytes. A stream cannot be entered
// in the middle, so a chunk task reads the object from its first byte,
// decompresses and discards up to its run, then reads the run: a batch of
// k chunks decompresses about k/2 times its size in all, each task at most
// the whole (make bench: aws_chunk_seconds_jsonl_gz_1m and _zst_1m). A
// file that decompresses to more than MaxDecompressedBytes is rejected
// when the bound is reached, so a bomb costs the time to decompress the
// bound and no memory. A zstd frame whose window is over
// MaxZstdWindowBytes (8 MiB: zstd --long, --ultra) is rejected before it
// is decoded: the window is the memory a zstd stream takes. A truncated or
// corrupt stream rejects the file; a read that fails is a read error
// (retried). The suffix decides: S3's Content-Encoding is not consulted,
// and a compressed stream under a plain suffix is rejected with a reason
// that says to add .gz or .zst (memo submit and memo local refuse it
// before uploading, with SniffCompression).
//
// # Plan and runs
//
// The splitter reads a batch once whole and then in runs. Its plan pass
// calls [Scan], which hands every op, in order, to a callback, valid or
// rejected with a reason (duplicates included), with the op's byte range
// (Item.Start, Item.End); from those the splitter cuts the ops into chunks
// and stores a plan. A broken file enqueues nothing because nothing is
// enqueued until the plan pass has read the whole file: Scan may have
// passed ops to its callback before it reaches the problem, and the plan
// is dropped then. Each chunk task then reads only its chunk's bytes and
// calls [ScanChunk] on them (with the header [ScanFile] found, for CSV; a
// compressed batch is inflated up to its run): the same per-op rules but
// the duplicate rule, whose verdicts the plan carries. [Check] says whether a whole file is
// structurally sound without decoding an op; only tests and make bench use
// it. Each holds one 64 KiB buffer and bounded scratch space whatever the
// size of the file, of the ops, or of any value in it; Scan adds a
// fingerprint and an index per accepted name to find duplicates (its bytes
// per name: make bench, docs/performance.md).
//
// # Structural errors
//
// A *[SyntaxError] with the byte offset of the problem rejects the whole
// file: an empty file, bytes that are not JSON (encoding/json's grammar and
// nesting limit of 10000; invalid UTF-8 inside strings is not a structural
// error), a truncated file, trailing data after the top-level value; for
// .json a top-level value that is not an object, no "ops" key, an "ops"
// value that is not an array, or a second "ops" key; for .jsonl a line
// that is not exactly one JSON value (a value may not span lines), or no
// op at all.
//
// # Per-op rules
//
// Anything else wrong with one op rejects that op only, with a reason and
// its zero-based index (Item.Index, the ordinal of the op among the file's
// ops), and the rest of the batch proceeds. The first failed check, in this
// order, gives the reason:
//
//   - the entry (or line) is not an object: `not a JSON object (found an array)`;
//   - in document order, the first field other than "name" and "op"
//     (`unknown field "nme"`), a field given twice (`duplicate field "op"`),
//     or a name or op that is not a string (`field "name" is a number, not a string`);
//   - a missing field: `missing field "name"`, then `missing field "op"`;
//   - the name ([ValidateName]): 1..255 bytes of valid UTF-8 with no control
//     character (C0, DEL, C1);
//   - the op ([ValidateOp]): 1..1024 bytes of valid UTF-8 with no backslash
//     and parentheses nested at most 64 deep;
//   - a name already held by an earlier accepted op of the batch:
//     `duplicate of op 3`. The first accepted op keeps the name; an op
//     rejected for another reason does not claim its name.
//
// The rules apply to the decoded text of each field, and the limits are
// enforced while the raw bytes are read, before anything else sees them: a
// 1 MB op is counted and dropped as it streams by, never held.
//
// These are [ExpressionRules], memo's own, the default of the package's
// functions. Under [JSONRules] (a [Rules] value's Scan, ScanFile and
// ScanChunk; a user's function's pipeline) the op may be any JSON value:
// Item.Op.Op is its JSON text as the file holds it (escapes and whitespace
// kept), of at most [MaxJSONOpBytes], with arrays and objects nested at
// most [MaxJSONOpDepth] deep, of valid UTF-8 with no unpaired surrogate
// escape; a CSV cell is carried as a JSON string, whatever it holds. The
// value is checked as it is skipped, its bytes copied up to the bound:
// never a tree, never more than the bound held.
//
// # Decisions
//
//   - A leading UTF-8 byte order mark is skipped (offsets still count it).
//   - Keys are matched exactly, after JSON unescaping: "Ops" and "NAME" are
//     other keys (encoding/json would fold their case).
//   - Unknown top-level keys of the .json form are ignored; their values
//     must still be valid JSON.
//   - Inside an op, an unknown field, a missing field, a field given twice,
//     a non-string field (null included), or an entry that is not an object
//     is a per-op rejection, not a structural error.
//   - Invalid UTF-8 in a name or op is a rejection. encoding/json would
//     silently turn it into U+FFFD, so the scanner looks at the raw bytes; a
//     \u escape of an unpaired UTF-16 surrogate (such as \ud800) counts as
//     invalid UTF-8 too.
//   - JSON escapes are decoded normally (\n, \u00e9, \"), and the rules
//     apply to the result: an op whose decoded text holds a backslash (the
//     escape \\) is rejected.
//   - In .jsonl, a line of only whitespace (space, tab, CR) is skipped and
//     takes no index; CRLF line ends are accepted; every other line must be
//     one JSON value; a value that is not an object is a rejected op.
//   - A .json file with "ops": [] is a valid empty batch; a .jsonl file with
//     no op is structurally broken (it cannot say "empty" on purpose).
//   - A name may hold any other character, '/' and spaces included.
//   - Parentheses are counted over the whole op text, quoted strings of the
//     expression included, so the bound holds whatever the evaluator does.
//   - FormatOf matches the suffix case-sensitively, as S3's suffix filter
//     does; no suffix ends with another (S3 refuses overlapping filters).
package batch
