package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Null, List and Map build values.
func Null() Value                  { return Value{Kind: KindNull} }
func List(vs ...Value) Value       { return Value{Kind: KindList, List: vs} }
func Map(m map[string]Value) Value { return Value{Kind: KindMap, Map: m} }

// DynamoDB's limits on what one attribute value may hold ("Supported data
// types and naming rules in Amazon DynamoDB", Developer Guide): numbers
// have at most 38 significant digits and a magnitude in [1e-130, 1e126)
// (its largest, 9.99...9e125 with 38 nines, rounds to the float64 1e126);
// documents nest at most 32 levels.
const (
	MaxNumber   = 1e126
	MinNumber   = 1e-130
	MaxDepth    = 32
	maxExactInt = 1 << 53
)

// ParseJSON decodes one JSON value into a Value. Numbers become float64:
// an integer beyond ±2^53, which a float64 cannot hold exactly, is an
// error rather than a silent rounding (return it as a string).
func ParseJSON(b []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return Value{}, fmt.Errorf("not a JSON value: %w", err)
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return Value{}, errors.New("not a JSON value: trailing data")
	}
	return fromAny(raw, 1)
}

func fromAny(raw any, depth int) (Value, error) {
	if depth > MaxDepth {
		return Value{}, fmt.Errorf("nested deeper than DynamoDB's %d levels", MaxDepth)
	}
	switch x := raw.(type) {
	case nil:
		return Null(), nil
	case bool:
		return Bool(x), nil
	case string:
		return String(x), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return Value{}, fmt.Errorf("number %s: %w", x, err)
		}
		if i, ierr := strconv.ParseInt(string(x), 10, 64); !strings.ContainsAny(string(x), ".eE") && (ierr != nil || i > maxExactInt || i < -maxExactInt) {
			return Value{}, fmt.Errorf("integer %s is beyond ±2^53 and would lose digits as a float64: return it as a string", x)
		}
		return Number(f), nil
	case []any:
		l := make([]Value, len(x))
		for i, e := range x {
			v, err := fromAny(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			l[i] = v
		}
		return List(l...), nil
	case map[string]any:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			v, err := fromAny(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			m[k] = v
		}
		return Map(m), nil
	}
	return Value{}, fmt.Errorf("unexpected JSON value %T", raw)
}

// Check reports why DynamoDB cannot store v, or nil: a number that is not
// finite or outside DynamoDB's range, a string that is not UTF-8, or
// nesting deeper than MaxDepth.
func (v Value) Check() error { return v.check(1) }

func (v Value) check(depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("nested deeper than DynamoDB's %d levels", MaxDepth)
	}
	switch v.Kind {
	case KindNumber:
		a := math.Abs(v.Num)
		switch {
		case math.IsNaN(v.Num) || math.IsInf(v.Num, 0):
			return fmt.Errorf("%v is not a finite number", v.Num)
		case a >= MaxNumber:
			return fmt.Errorf("%s exceeds DynamoDB's number range (magnitude below 1e126)", FormatNumber(v.Num))
		case a != 0 && a < MinNumber:
			return fmt.Errorf("%s is nonzero and smaller in magnitude than DynamoDB's smallest number 1e-130", FormatNumber(v.Num))
		}
	case KindString:
		if !utf8.ValidString(v.Str) {
			return errors.New("a string is not valid UTF-8")
		}
	case KindList:
		for _, e := range v.List {
			if err := e.check(depth + 1); err != nil {
				return err
			}
		}
	case KindMap:
		for k, e := range v.Map {
			if !utf8.ValidString(k) {
				return errors.New("a key is not valid UTF-8")
			}
			if err := e.check(depth + 1); err != nil {
				return err
			}
		}
	case KindBool, KindNull:
	default:
		return fmt.Errorf("value of unknown kind %q", v.Kind)
	}
	return nil
}

// StoredSize is the value's size in a DynamoDB item, by the Developer
// Guide's "DynamoDB item sizes and formats": strings their UTF-8 bytes,
// numbers 1 byte per two significant digits plus 1, booleans and null 1,
// lists and maps 3 plus 1 per element plus their elements (and a map's
// keys). The attribute's own name is not included.
func (v Value) StoredSize() int {
	switch v.Kind {
	case KindNumber:
		return numberSize(v.Num)
	case KindString:
		return len(v.Str)
	case KindList:
		n := 3
		for _, e := range v.List {
			n += 1 + e.StoredSize()
		}
		return n
	case KindMap:
		n := 3
		for k, e := range v.Map {
			n += 1 + len(k) + e.StoredSize()
		}
		return n
	}
	return 1
}

func numberSize(f float64) int {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], math.Abs(f), 'e', -1, 64)
	digits := 0
	for _, c := range b {
		if c == 'e' {
			break
		}
		if c != '.' {
			digits++
		}
	}
	return (digits+1)/2 + 1
}

// appendJSON encodes a list or map (map keys sorted, as encoding/json does).
func (v Value) appendJSON(b []byte) ([]byte, error) {
	switch v.Kind {
	case KindList:
		b = append(b, '[')
		for i, e := range v.List {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = e.appendJSON(b); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case KindMap:
		keys := make([]string, 0, len(v.Map))
		for k := range v.Map {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			kb, _ := json.Marshal(k)
			b = append(append(b, kb...), ':')
			var err error
			if b, err = v.Map[k].appendJSON(b); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	e, err := v.MarshalJSON()
	return append(b, e...), err
}

// Equal reports whether v and w are the same value (an empty list or map
// equals a nil one). Values hold slices and maps, so == does not compile.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind || v.Num != w.Num || v.Bool != w.Bool || v.Str != w.Str ||
		len(v.List) != len(w.List) || len(v.Map) != len(w.Map) {
		return false
	}
	for i := range v.List {
		if !v.List[i].Equal(w.List[i]) {
			return false
		}
	}
	for k, x := range v.Map {
		y, ok := w.Map[k]
		if !ok || !x.Equal(y) {
			return false
		}
	}
	return true
}
