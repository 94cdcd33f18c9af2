// What the program says, one line per call and per check, for
// test/t/070_mig_client.pl:
//
//	ok ROLE CALL                   a call of MIG's that succeeded
//	FAIL ROLE CALL: ERROR          one that failed
//	expected ROLE CALL: ERROR      one that fails on MIG's own schema too
//	                               (PostgreSQL 10 and later refuse
//	                               "SET (col) = ($1)"; a duplicate key
//	                               MIG's API reports by its name)
//	check ok WHAT | check FAIL WHAT: DETAIL
//	note TEXT
//	summary calls=N failed=N expected=N checks=N checkfailed=N files=N
package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

type report struct {
	mu                                     sync.Mutex
	out                                    io.Writer
	calls, failed, expected, checks, cfail int
}

func (r *report) printf(format string, args ...interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, format+"\n", args...)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// call reports a call of MIG's and gives its error back
func (r *report) call(db *DB, what string, err error) error {
	r.mu.Lock()
	r.calls++
	if err != nil {
		r.failed++
	}
	r.mu.Unlock()
	if err != nil {
		r.printf("FAIL %s %s: %s", db.role, what, oneLine(err))
	} else {
		r.printf("ok %s %s", db.role, what)
	}
	return err
}

// expect reports a call that fails on MIG's own schema too, with an error
// that contains want; anything else is a failure
func (r *report) expect(db *DB, what string, err error, want string) {
	r.mu.Lock()
	r.calls++
	ok := err != nil && strings.Contains(err.Error(), want)
	if ok {
		r.expected++
	} else {
		r.failed++
	}
	r.mu.Unlock()
	switch {
	case ok:
		r.printf("expected %s %s: %s", db.role, what, oneLine(err))
	case err == nil:
		r.printf("FAIL %s %s: succeeded, where MIG's own schema gives %q", db.role, what, want)
	default:
		r.printf("FAIL %s %s: %s (MIG's own schema gives %q)", db.role, what, oneLine(err), want)
	}
}

// the error PostgreSQL 10 and later give MIG's "SET (col) = ($n)"
const rowAssignment = "source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression"

func (r *report) check(ok bool, what string, format string, args ...interface{}) bool {
	r.mu.Lock()
	r.checks++
	if !ok {
		r.cfail++
	}
	r.mu.Unlock()
	if ok {
		r.printf("check ok %s", what)
	} else {
		r.printf("check FAIL %s: %s", what, fmt.Sprintf(format, args...))
	}
	return ok
}

func (r *report) note(format string, args ...interface{}) {
	r.printf("note "+format, args...)
}

func (r *report) summary(files int) bool {
	r.printf("summary calls=%d failed=%d expected=%d checks=%d checkfailed=%d files=%d",
		r.calls, r.failed, r.expected, r.checks, r.cfail, files)
	return r.failed == 0 && r.cfail == 0
}
