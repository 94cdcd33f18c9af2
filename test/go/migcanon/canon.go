package main

// The reference: what MIG's Go code signs for an action.  The structs have
// the shape (field names, types, json tags) of MIG's mig.Action and
// mig.Operation, limited to the fields the signed string is made of, and
// String() is MIG's Action.String() (syntax version 2).

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

type operation struct {
	Module         string      `json:"module"`
	Parameters     interface{} `json:"parameters"`
	IsCompressed   bool        `json:"is_compressed,omitempty"`
	WantCompressed bool        `json:"want_compressed,omitempty"`
}

type action struct {
	Name        string      `json:"name"`
	Target      string      `json:"target"`
	ValidFrom   time.Time   `json:"validfrom"`
	ExpireAfter time.Time   `json:"expireafter"`
	Operations  []operation `json:"operations"`
}

// the format string of MIG's Action.String(); ExpireAfter's %s of an int64
// is what puts "%!s(int64=...)" into every signed string
func (a action) String() (string, error) {
	args, err := json.Marshal(a.Operations)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("name=%s;target=%s;validfrom=%d;expireafter=%s;operations=%s;",
		a.Name, a.Target, a.ValidFrom.UTC().Unix(), a.ExpireAfter.UTC().Unix(), args), nil
}

func canonLines(in io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<20), 64<<20)
	out := bufio.NewWriter(w)
	for sc.Scan() {
		field := strings.SplitN(sc.Text(), "\t", 2)[0]
		raw, err := hex.DecodeString(field)
		if err != nil {
			return fmt.Errorf("bad input line: %v", err)
		}
		var a action
		s := ""
		if err = json.Unmarshal(raw, &a); err == nil {
			s, err = a.String()
		}
		if err != nil {
			fmt.Fprintln(out, "error", strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Fprintln(out, "ok", hex.EncodeToString([]byte(s)))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return out.Flush()
}
