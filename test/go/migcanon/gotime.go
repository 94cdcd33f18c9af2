package main

// The reference for mig's RFC 3339 parser (src/gotime.c): a time as MIG's
// Go code reads it from JSON, time.Time's UnmarshalJSON of the raw string
// token, the input between two double quotes.

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// each line: the hex of a time's bytes (what stands between the quotes);
// printed: "ok UNIX NANOSECONDS" (Unix() is the floor) or "refused"
func timeLines(in io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<20), 64<<20)
	out := bufio.NewWriter(w)
	for sc.Scan() {
		field := strings.SplitN(sc.Text(), "\t", 2)[0]
		raw, err := hex.DecodeString(field)
		if err != nil {
			return fmt.Errorf("bad input line: %v", err)
		}
		var t time.Time
		if err := t.UnmarshalJSON([]byte(`"` + string(raw) + `"`)); err != nil {
			fmt.Fprintln(out, "refused")
			continue
		}
		fmt.Fprintln(out, "ok", t.Unix(), t.Nanosecond())
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return out.Flush()
}
