package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Message is the body of one SQS message: a pack of ops of one batch, all
// with the batch's stamp. The splitter packs several ops to a message (by
// count and by bytes) because SQS bills per request, not per message: a
// message of ten ops costs one send, one receive and one delete, as one of
// a single op does.
//
// Its JSON form is
//
//	{"batch":"<batch id>","stamp":"<stamp>","ops":[{"name":"a","op":"1+1","index":0},...]}
//
// where an op is any JSON value (a pipeline whose splitter applies the
// json op rules: batch.JSONRules), a string for memo's own evaluator.
//
// Messages queued before packs existed hold one op, in the form
// {"name":...,"op":...,"batch":...,"index":...,"stamp":...}: DecodeMessage
// reads them as a pack of one.
//
// The JSON tags give encoding/json the same form, for tools that show a
// message (memo dlq list --json); the body on the queue is Encode's.
type Message struct {
	Batch string `json:"batch"`
	// Stamp orders the batch's upload among all uploads (see Stamp). It
	// is empty only in messages queued before stamps existed.
	Stamp Stamp       `json:"stamp,omitempty"`
	Ops   []MessageOp `json:"ops"`
}

// MessageOp is one op of a message. A string op (memo's expressions, and
// any string under the json op rules) is Op itself; any other JSON value
// is its JSON text in Op, with Raw set. JSONOp makes either from an op's
// JSON text, so that one value has one form.
type MessageOp struct {
	Name string
	Op   string
	// Raw says Op is the JSON text of a value that is not a string (an
	// object, array, number, true, false or null).
	Raw bool
	// Index is the op's zero-based position in its batch file.
	Index int
}

// wireOp is an op as a body holds it.
type wireOp struct {
	Name  string  `json:"name"`
	Op    opValue `json:"op"`
	Index int     `json:"index"`
}

// opValue is the "op" of a body, decoded as compute reads thousands of
// them: a string as a string (one copy, the common expression without an
// escape undone in place), any other value as its JSON text.
type opValue struct {
	text string
	raw  bool
	set  bool // the body has the field
}

func (v *opValue) UnmarshalJSON(b []byte) error {
	v.set = true
	if b[0] != '"' {
		v.text, v.raw = string(b), true
		return nil
	}
	v.raw = false
	if s := b[1 : len(b)-1]; bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		v.text = string(s)
		return nil
	}
	return json.Unmarshal(b, &v.text)
}

func (v opValue) MarshalJSON() ([]byte, error) {
	if v.raw {
		return []byte(v.text), nil
	}
	return json.Marshal(v.text)
}

func (v opValue) op(name string, index int) MessageOp {
	return MessageOp{Name: name, Op: v.text, Raw: v.raw, Index: index}
}

// JSONOp is the op named name, whose value is the JSON text op, at index:
// a string is decoded, any other value is kept as it is (Raw). op must be
// one valid JSON value (batch's JSONRules make sure of it).
func JSONOp(name, op string, index int) (MessageOp, error) {
	m := MessageOp{Name: name, Op: op, Raw: true, Index: index}
	if err := m.setOp(json.RawMessage(op)); err != nil {
		return MessageOp{}, err
	}
	return m, nil
}

// setOp sets Op and Raw from the op's JSON text raw.
func (m *MessageOp) setOp(raw json.RawMessage) error {
	if len(raw) == 0 {
		m.Op, m.Raw = "", false
		return nil
	}
	if raw[0] != '"' {
		if !json.Valid(raw) {
			return fmt.Errorf("%w: op %q is not a JSON value", ErrBadMessage, raw)
		}
		m.Op, m.Raw = string(raw), true
		return nil
	}
	m.Raw = false
	if err := json.Unmarshal(raw, &m.Op); err != nil {
		return fmt.Errorf("%w: op %s: %v", ErrBadMessage, raw, err)
	}
	return nil
}

// rawValue reports whether s is what a Raw op holds: one JSON value other
// than a string, without whitespace around it (as a body gives it back).
func rawValue(s string) bool {
	first, last := s[0], s[len(s)-1]
	return first != '"' && !jsonSpace(first) && !jsonSpace(last) && json.Valid([]byte(s))
}

func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// JSON returns the op's value as JSON.
func (m MessageOp) JSON() json.RawMessage {
	if m.Raw {
		return json.RawMessage(m.Op)
	}
	b, _ := json.Marshal(m.Op)
	return b
}

// MarshalJSON encodes the op as a body holds it, for tools that show a
// message (memo dlq list --json).
func (m MessageOp) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireOp{Name: m.Name, Op: opValue{text: m.Op, raw: m.Raw}, Index: m.Index})
}

// UnmarshalJSON decodes an op as a body holds it (DecodeMessage's rules).
func (m *MessageOp) UnmarshalJSON(b []byte) error {
	var w wireOp
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*m = w.Op.op(w.Name, w.Index)
	return nil
}

// ErrBadMessage marks a message body that cannot be decoded into a Message,
// or a Message that cannot be encoded.
var ErrBadMessage = errors.New("undecodable message")

// Encode returns the message body. SQS refuses bodies with characters
// outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
// (SendMessageBatch, Amazon SQS API Reference): control characters and
// U+FFFE and U+FFFF are escaped (encoding/json leaves the last two raw),
// and invalid UTF-8 becomes U+FFFD, as encoding/json does. Size says how
// long the body is without encoding it.
func (m Message) Encode() (string, error) {
	if err := m.check(); err != nil {
		return "", err
	}
	b := make([]byte, 0, m.Size())
	b = append(b, `{"batch":`...)
	b = appendString(b, m.Batch)
	if m.Stamp != "" {
		b = append(b, `,"stamp":`...)
		b = appendString(b, m.Stamp)
	}
	b = append(b, `,"ops":[`...)
	for i, op := range m.Ops {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, op.Name)
		b = append(b, `,"op":`...)
		if op.Raw {
			b = appendRaw(b, op.Op)
		} else {
			b = appendString(b, op.Op)
		}
		b = append(b, `,"index":`...)
		b = strconv.AppendInt(b, int64(op.Index), 10)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return string(b), nil
}

func (m Message) check() error {
	switch {
	case m.Batch == "":
		return fmt.Errorf("%w: missing batch", ErrBadMessage)
	case len(m.Ops) == 0:
		return fmt.Errorf("%w: no ops", ErrBadMessage)
	}
	for i, op := range m.Ops {
		switch {
		case op.Name == "":
			return fmt.Errorf("%w: op %d: missing name", ErrBadMessage, i)
		case op.Op == "":
			return fmt.Errorf("%w: op %d: missing op", ErrBadMessage, i)
		case op.Raw && !rawValue(op.Op):
			// A string is never Raw (JSONOp): one value, one form.
			return fmt.Errorf("%w: op %d: %q is not the JSON text of a value other than a string", ErrBadMessage, i, op.Op)
		}
	}
	return nil
}

// Size is the length in bytes of the body Encode returns.
func (m Message) Size() int {
	n := len(`{"batch":`) + stringLen(m.Batch) + len(`,"ops":[]}`)
	if m.Stamp != "" {
		n += len(`,"stamp":`) + stringLen(m.Stamp)
	}
	for _, op := range m.Ops {
		n += OpSize(op)
	}
	if len(m.Ops) > 0 {
		n-- // no comma before the first op
	}
	return n
}

// OpSize is the number of bytes op adds to the body of a message that
// already holds an op (its separating comma included).
func OpSize(op MessageOp) int {
	n := len(`,{"name":,"op":,"index":}`) + stringLen(op.Name) + intLen(op.Index)
	if op.Raw {
		return n + rawLen(op.Op)
	}
	return n + stringLen(op.Op)
}

func intLen(i int) int {
	n := 1
	if i < 0 {
		n++
	}
	for i >= 10 || i <= -10 {
		i /= 10
		n++
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string that SQS accepts (Encode).
// stringLen must count what it writes.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if esc := runeEscape(r, size); esc != "" {
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// runeEscape is the escape of a non-ASCII rune that cannot go raw: an
// invalid byte (as encoding/json, U+FFFD) and the two noncharacters SQS
// refuses.
func runeEscape(r rune, size int) string {
	switch {
	case r == utf8.RuneError && size == 1:
		return `\ufffd`
	case r == 0xFFFE:
		return `\ufffe`
	case r == 0xFFFF:
		return `\uffff`
	}
	return ""
}

// appendRaw appends the JSON text s as SQS accepts it: what SQS refuses can
// only be inside a string of valid JSON, where appendString's escapes stand
// for it.
func appendRaw(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if esc := runeEscape(r, size); esc != "" {
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}

// rawLen is len(appendRaw(nil, s)) without writing it.
func rawLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if esc := runeEscape(r, size); esc != "" {
			n += len(esc) - size
		}
		i += size
	}
	return n
}

// stringLen is len(appendString(nil, s)) without writing it.
func stringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= 0x20 && c != '"' && c != '\\':
				n++
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if esc := runeEscape(r, size); esc != "" {
			n += len(esc)
		} else {
			n += size
		}
		i += size
	}
	return n
}

// wireMessage is what a body may hold: a pack, or today's one-op form.
type wireMessage struct {
	Batch string   `json:"batch"`
	Stamp Stamp    `json:"stamp"`
	Ops   []wireOp `json:"ops"`
	Name  *string  `json:"name"`
	Op    opValue  `json:"op"`
	Index *int     `json:"index"`
}

// DecodeMessage parses a message body strictly: unknown fields, a missing
// batch, no op, an op without a name or an op, both forms at once, or
// trailing data make it an ErrBadMessage. A body of the one-op form
// (queued before packs existed) is a pack of one.
func DecodeMessage(body string) (Message, error) {
	var w wireMessage
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if dec.More() {
		return Message{}, fmt.Errorf("%w: trailing data after the JSON object", ErrBadMessage)
	}
	m := Message{Batch: w.Batch, Stamp: w.Stamp}
	if w.Ops != nil {
		m.Ops = make([]MessageOp, len(w.Ops))
		for i, op := range w.Ops {
			m.Ops[i] = op.Op.op(op.Name, op.Index)
		}
	}
	one := w.Name != nil || w.Op.set || w.Index != nil
	switch {
	case one && w.Ops != nil:
		return Message{}, fmt.Errorf("%w: both ops and a single op's fields", ErrBadMessage)
	case one:
		op := w.Op.op("", 0)
		if w.Name != nil {
			op.Name = *w.Name
		}
		if w.Index != nil {
			op.Index = *w.Index
		}
		m.Ops = []MessageOp{op}
	}
	if err := m.check(); err != nil {
		return Message{}, err
	}
	return m, nil
}
