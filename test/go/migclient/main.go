// migclient: MIG's released scheduler and API, as the SQL they send and the
// spool files the scheduler writes, against a database with mig
// (test/t/070_mig_client.pl runs it; doc/roles.md, "MIG's scheduler and API").
//
// It connects as MIG's roles (migscheduler, migapi: doc/roles.md's recipes) over
// TCP, as MIG does (postgres://user:password@host:port/db?sslmode=disable),
// with Debian's lib/pq (golang-github-lib-pq-dev), and replays the
// daemons' flows: identity and investigators, loaders and manifests,
// heartbeats, duplicate agents and their kill orders, actions posted,
// scheduled, sent as commands, returned, landed, the periodic statistics,
// the API's reads and searches.  Each step sends the statement MIG sends,
// with its parameters' Go types, and writes or removes the spool files
// MIG's scheduler writes or removes, in the same order relative to its
// database calls.  No code of MIG's is used: MIG's statements and file
// formats are restated here.
//
//	-writes db      MIG as released: it writes the database and the spool
//	                (run beside a worker with mig.scheduler_writes = on)
//	-writes spool   the spool alone: the worker writes actions and
//	                commands (mig.scheduler_writes = off); agents come
//	                from mig_agent_heartbeat (-hb-user); then MIG's reads
//	                must find every column they scan filled in
//
// Output: report.go.  Exit status 0 when no call and no check failed.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"time"

	_ "github.com/lib/pq"
)

type options struct {
	host, dbname                string
	port                        int
	schedUser, schedPassword    string
	apiUser, apiPassword        string
	hbUser, hbPassword          string
	spool, tmp, fixtures, gnupg string
	writes                      string
	fillWait, collector, hbFreq time.Duration
}

func open(o options, user, password, role string) (*DB, error) {
	// as MIG's database.Open builds it (nothing escaped)
	u := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=%s", user, password, o.host, o.port,
		o.dbname, "disable")
	c, err := sql.Open("postgres", u)
	if err != nil {
		return nil, err
	}
	c.SetMaxOpenConns(10)
	if _, err = c.Exec("SELECT 1"); err != nil {
		return nil, fmt.Errorf("%s: %v", user, err)
	}
	return &DB{c: c, role: role}, nil
}

func main() {
	var o options
	flag.StringVar(&o.host, "host", "127.0.0.1", "database host (TCP, as MIG)")
	flag.IntVar(&o.port, "port", 5432, "database port")
	flag.StringVar(&o.dbname, "dbname", "mig", "database")
	flag.StringVar(&o.schedUser, "sched-user", "migscheduler", "mig-scheduler's role")
	flag.StringVar(&o.schedPassword, "sched-password", "", "its password")
	flag.StringVar(&o.apiUser, "api-user", "migapi", "mig-api's role")
	flag.StringVar(&o.apiPassword, "api-password", "", "its password")
	flag.StringVar(&o.hbUser, "hb-user", "", "-writes spool: the role that sends heartbeats to mig_agent_heartbeat")
	flag.StringVar(&o.hbPassword, "hb-password", "", "its password")
	flag.StringVar(&o.spool, "spool", "", "MIG's spool ([directories] spool)")
	flag.StringVar(&o.tmp, "tmp", "", "MIG's tmp directory ([directories] tmp), on the spool's file system")
	flag.StringVar(&o.fixtures, "fixtures", "test/fixtures/authz", "investigators' keys and signed actions")
	flag.StringVar(&o.gnupg, "gnupghome", "", "a GnuPG home holding the scheduler's key pair")
	flag.StringVar(&o.writes, "writes", "db", "db: MIG as released; spool: the spool alone")
	flag.DurationVar(&o.fillWait, "fill-wait", 60*time.Second, "longest wait for the worker")
	flag.DurationVar(&o.collector, "collector", 1100*time.Millisecond, "how long a file waits for MIG's collector")
	flag.DurationVar(&o.hbFreq, "heartbeatfreq", 5*time.Minute, "MIG's [agent] heartbeatfreq")
	flag.Parse()
	if o.spool == "" || o.tmp == "" || o.gnupg == "" || (o.writes != "db" && o.writes != "spool") ||
		(o.writes == "spool" && o.hbUser == "") {
		flag.Usage()
		os.Exit(2)
	}

	r := &report{out: os.Stdout}
	c := &client{o: o, r: r, writesDB: o.writes == "db", gpg: &GPG{Home: o.gnupg}}
	c.spool = &Spool{Root: o.spool, Tmp: o.tmp, newID: c.genID}
	var err error
	if c.sched, err = open(o, o.schedUser, o.schedPassword, "scheduler"); err == nil {
		c.api, err = open(o, o.apiUser, o.apiPassword, "api")
	}
	if err == nil && o.hbUser != "" {
		c.hb, err = open(o, o.hbUser, o.hbPassword, "heartbeats")
	}
	if err == nil {
		err = c.spool.MakeDirs()
	}
	if err == nil {
		err = c.loadFixtures()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "migclient: %v\n", err)
		os.Exit(2)
	}
	if c.writesDB {
		c.runReleased()
	} else {
		c.runSpoolOnly()
	}
	if !r.summary(c.spool.written) {
		os.Exit(1)
	}
}
