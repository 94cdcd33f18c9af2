// MIG's scheduler's spool, as it writes it: every file written whole in a
// directory of its own (MIG's [directories] tmp, on the spool's file
// system), named by a fresh id, mode 0640, then renamed into place; the
// names MIG gives (action/new/ and action/inflight/ are spelt with a
// trailing slash in MIG, hence the double slash); removals whose errors
// are ignored.  And the parts of MIG's scheduler that only move files.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type Spool struct {
	Root, Tmp string
	newID     func() float64
	written   int // files renamed into place
}

func (s *Spool) dir(which string) string {
	switch which {
	case "action/new", "action/inflight":
		return s.Root + "/" + which + "/"
	default:
		return s.Root + "/" + which
	}
}

// MakeDirs: MIG's initDirectories
func (s *Spool) MakeDirs() error {
	for _, d := range []string{"action/new", "action/inflight", "action/done", "action/invalid",
		"command/inflight", "command/returned"} {
		if err := os.MkdirAll(filepath.Join(s.Root, d), 0750); err != nil {
			return err
		}
	}
	return os.MkdirAll(s.Tmp, 0750)
}

// safeWrite: written in tmp, renamed into place
func (s *Spool) safeWrite(dest string, data []byte) error {
	tmp := fmt.Sprintf("%s/%.0f", s.Tmp, s.newID())
	if err := os.WriteFile(tmp, data, 0640); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	s.written++
	return nil
}

func (s *Spool) writeJSON(dest string, v interface{}) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.safeWrite(dest, data)
}

func (s *Spool) actionPath(which string, id float64) string {
	return fmt.Sprintf("%s/%.0f.json", s.dir(which), id)
}

func (s *Spool) commandPath(which string, cmd Command) string {
	return fmt.Sprintf("%s/%.0f-%.0f.json", s.dir(which), cmd.Action.ID, cmd.ID)
}

// an agent's result: command/returned/<opid>, no extension
func (s *Spool) agentResultPath(opid float64) string {
	return fmt.Sprintf("%s/%.0f", s.dir("command/returned"), opid)
}

// an action that failed in processNewAction: its new file moved to
// action/invalid/<unix-ns>.json (nothing happens when it is gone already)
func (s *Spool) invalidByClock(newPath string) {
	_ = os.Rename(newPath, fmt.Sprintf("%s/%d.json", s.dir("action/invalid"), time.Now().UTC().UnixNano()))
}

func readJSON(path string, v interface{}) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
