// The state of a replay: the daemons' connections, the spool, what MIG
// wrote (or, -writes spool, would have written), and the fixtures.
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// an action MIG wrote, as it last wrote it
type tracked struct {
	label   string
	a       Action // the full action: name, target, operations, signatures, times, status
	signers []string
	cmds    []*Command
	filled  bool // the worker is to write it: the scheduler never did
}

type client struct {
	o              options
	r              *report
	sched, api, hb *DB
	spool          *Spool
	gpg            *GPG
	writesDB       bool
	idmu           sync.Mutex
	lastID         float64
	schedFpr       string
	schedInv       Investigator
	fx             fixtures
	signer         map[string]string // signature -> fingerprint of its key
	agents         map[string]*Agent // by short name
	actions        map[float64]*tracked
	commands       map[float64]*Command
	loaderName     string
	loaderID       float64
	manifestID     float64
	invIDs         map[string]float64 // investigators by fingerprint
}

type fixtures struct {
	ivanPub, judyPub []byte
	ivanFpr, judyFpr string
	a1, a3           Action
	a1Ivan, a1Judy   string
	a3Ivan           string
}

// genID: MIG's GenID, seconds since MIG's inception << 16, then one more
// each time
func (c *client) genID() float64 {
	c.idmu.Lock()
	defer c.idmu.Unlock()
	if c.lastID < 1 {
		c.lastID = float64((int64(time.Since(time.Unix(1367258400, 0)).Seconds()) + 1) << 16)
	} else {
		c.lastID++
	}
	return c.lastID
}

func (c *client) fixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(c.o.fixtures, name))
}

func (c *client) fixtureSig(name string) (string, error) {
	b, err := c.fixture(name)
	if err != nil {
		return "", err
	}
	return deArmor(string(b))
}

// an investigator's action (test/fixtures/authz/aN.json) as MIG's console
// sends it: syntax version 2, and a validity with nanoseconds (the signed
// string keeps the seconds: the same signature holds)
func (c *client) fixtureAction(name string) (a Action, err error) {
	b, err := c.fixture(name)
	if err != nil {
		return
	}
	if err = json.Unmarshal(b, &a); err != nil {
		return
	}
	a.SyntaxVersion = 2
	a.ValidFrom = a.ValidFrom.Add(123456789 * time.Nanosecond)
	a.ExpireAfter = a.ExpireAfter.Add(987654321 * time.Nanosecond)
	return
}

func (c *client) loadFixtures() (err error) {
	c.signer = map[string]string{}
	c.agents = map[string]*Agent{}
	c.actions = map[float64]*tracked{}
	c.commands = map[float64]*Command{}
	c.invIDs = map[string]float64{}
	fx := &c.fx
	if fx.ivanPub, err = c.fixture("ivan.pub"); err != nil {
		return
	}
	if fx.judyPub, err = c.fixture("judy.pub"); err != nil {
		return
	}
	if fx.ivanFpr, err = c.gpg.Fingerprint(fx.ivanPub); err != nil {
		return
	}
	if fx.judyFpr, err = c.gpg.Fingerprint(fx.judyPub); err != nil {
		return
	}
	if fx.a1, err = c.fixtureAction("a1.json"); err != nil {
		return
	}
	if fx.a3, err = c.fixtureAction("a3.json"); err != nil {
		return
	}
	if fx.a1Ivan, err = c.fixtureSig("a1.ivan.asc"); err != nil {
		return
	}
	if fx.a1Judy, err = c.fixtureSig("a1.judy.asc"); err != nil {
		return
	}
	if fx.a3Ivan, err = c.fixtureSig("a3.ivan.asc"); err != nil {
		return
	}
	c.signer[fx.a1Ivan], c.signer[fx.a1Judy], c.signer[fx.a3Ivan] = fx.ivanFpr, fx.judyFpr, fx.ivanFpr
	var pub, sec []byte
	if c.schedFpr, pub, sec, err = c.gpg.SecretKey(); err != nil {
		return
	}
	c.schedInv = Investigator{Name: "migscheduler", PGPFingerprint: c.schedFpr, PublicKey: pub, PrivateKey: sec}
	return nil
}

func (c *client) track(label string, a Action) *tracked {
	t := c.actions[a.ID]
	if t == nil {
		t = &tracked{label: label}
		c.actions[a.ID] = t
	}
	t.a = a
	return t
}

// the tracked actions in id order
func (c *client) trackedActions() []*tracked {
	var ts []*tracked
	for _, t := range c.actions {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].a.ID < ts[j].a.ID })
	return ts
}

// waitFor polls cond until it holds or -fill-wait passes
func (c *client) waitFor(what string, cond func() (bool, error)) bool {
	deadline := time.Now().Add(c.o.fillWait)
	start := time.Now()
	for {
		ok, err := cond()
		if ok {
			c.r.note("%s after %s", what, time.Since(start).Round(10*time.Millisecond))
			return true
		}
		if time.Now().After(deadline) {
			c.r.check(false, what, "not within %s (last error: %v)", c.o.fillWait, err)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sameTimes compares a row's times with Go's values as lib/pq sends them
// (PostgreSQL keeps microseconds): equal to the microsecond, or not
func (c *client) sameTimes(what, table string, id float64, cols []string, vals []time.Time) {
	var sel []string
	args := []interface{}{id}
	for i, col := range cols {
		args = append(args, vals[i])
		sel = append(sel, fmt.Sprintf("(%s = $%d)::text || ' ' || %s::text || ' ' || $%d::timestamptz::text",
			col, i+2, col, i+2))
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE id = $1", strings.Join(sel, ", "), table)
	got := make([]string, len(cols))
	dest := make([]interface{}, len(cols))
	for i := range got {
		dest[i] = &got[i]
	}
	if err := c.api.c.QueryRow(q, args...).Scan(dest...); err != nil {
		c.r.check(false, what, "%v", err)
		return
	}
	for i, g := range got {
		f := strings.SplitN(g, " ", 2)
		c.r.check(f[0] == "true", fmt.Sprintf("%s: %s as MIG writes it", what, cols[i]),
			"stored, then MIG's: %s", f[1])
	}
}

func errNoRows(err error) bool { return err == sql.ErrNoRows }

func jsonEqual(a, b interface{}) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
