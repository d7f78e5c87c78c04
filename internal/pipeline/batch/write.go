package batch

// Writing a batch file: the ops of a batch in any format of the table, as
// the readers read them back. Tests, the twin's checks and make bench use
// it to carry the same ops in every format.

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
)

// Write writes ops to w as a batch file of format f: .json as one object,
// .jsonl one object a line, CSV with the header name,op and CRLF record
// ends (RFC 4180), each compressed for the compressed formats.
func Write(w io.Writer, f Format, ops []Op) error {
	i, ok := entry(f)
	if !ok {
		return fmt.Errorf("batch: unknown format %v", f)
	}
	var z io.WriteCloser
	if c := formats[i].codec; c != nil {
		var err error
		if z, err = c.writer(w); err != nil {
			return err
		}
		w = z
	}
	bw := bufio.NewWriter(w)
	var err error
	switch formats[i].layout {
	case &jsonLayout:
		err = writeJSON(bw, ops)
	case &jsonlLayout:
		e := json.NewEncoder(bw)
		for _, op := range ops {
			if err = e.Encode(op); err != nil {
				break
			}
		}
	case &csvLayout:
		c := csv.NewWriter(bw)
		c.UseCRLF = true
		c.Write([]string{"name", "op"})
		for _, op := range ops {
			c.Write([]string{op.Name, op.Op})
		}
		c.Flush()
		err = c.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if z != nil && err == nil {
		err = z.Close()
	}
	return err
}

func writeJSON(w *bufio.Writer, ops []Op) error {
	w.WriteString(`{"ops": [`)
	for i, op := range ops {
		if i > 0 {
			w.WriteString(",\n ")
		}
		b, err := json.Marshal(op)
		if err != nil {
			return err
		}
		w.Write(b)
	}
	_, err := w.WriteString("]}\n")
	return err
}
