// The two replays: MIG as released (database and spool) and the spool
// alone, and the waits for what the worker writes.
package main

import (
	"fmt"
	"sort"
	"time"
)

const (
	version     = "20260101-0.a1b2c3d4.prod"
	versionPrev = "20250101-0.0f1e2d3c.prod"
)

// the agents: two duplicate queues (their older agent is killed: one kill
// order processed, one never), one agent alone on its queue (its kill order
// finds no agent: invalid), one on the loader's queue, one refreshed, one
// registered through the API
func (c *client) makeAgents() {
	it := map[string]string{"operator": "IT"}
	c.agents["host1"] = newAgent("host1", 1111, version, it)
	c.agents["host2"] = newAgent("host2", 2222, versionPrev, map[string]string{"operator": "opsec"})
	c.agents["host3"] = newAgent("host3", 3333, version, it)
	c.agents["host4a"] = newAgent("host4", 4441, versionPrev, it)
	c.agents["host4b"] = newAgent("host4", 4442, version, it)
	c.agents["host4b"].StartTime = c.agents["host4a"].StartTime.Add(time.Minute)
	c.agents["host5"] = newAgent("host5", 5555, version, it)
	c.agents["host7a"] = newAgent("host7", 7771, versionPrev, it)
	c.agents["host7b"] = newAgent("host7", 7772, version, it)
	c.agents["host7b"].StartTime = c.agents["host7a"].StartTime.Add(time.Minute)
	c.agents["host8"] = newAgent("host8", 8888, version, it)
}

var schedulerAgents = []string{"host1", "host2", "host3", "host4a", "host4b", "host7a", "host7b", "host8"}

func (c *client) registerAgents() {
	for _, n := range schedulerAgents {
		c.schedulerHeartbeat(c.agents[n], n)
	}
	for _, n := range schedulerAgents {
		c.schedulerHeartbeat(c.agents[n], n+" again")
	}
	c.apiHeartbeat(c.agents["host5"], "host5")
	c.apiHeartbeat(c.agents["host5"], "host5 again")
	if c.writesDB {
		// host2's environment was refreshed: a new row replaces it
		c.agents["host2"].RefreshTS = time.Now()
		c.schedulerHeartbeat(c.agents["host2"], "host2 refreshed")
		// host3 is on the loader's queue: its row names the loader
		got, err := c.sched.ActiveAgentsByTarget(fmt.Sprintf("loadername='%s'", c.loaderName))
		c.r.call(c.sched, "ActiveAgentsByTarget (the loader's agents)", err)
		c.r.check(len(got) == 1 && got[0].ID == c.agents["host3"].ID, "the loader's agent", "%d found", len(got))
	}
}

// kills: the duplicate queues' kill orders (host4's processed, host7's
// never: the scheduler stopped after writing it) and host8's, which finds
// no agent left on its queue
func (c *client) kills() {
	kills := c.detectMultiAgents()
	c.r.check(len(kills) == 2 && kills["linux.host4"] != "" && kills["linux.host7"] != "",
		"kill orders for the two duplicate queues", "%v", kills)
	if p := kills["linux.host4"]; p != "" {
		c.sendCommands("kill 1", c.processNewAction("kill 1", p), false)
	}
	if p := kills["linux.host7"]; p != "" {
		var a Action
		if err := readJSON(p, &a); err == nil {
			t := c.track("kill 2 (never processed)", a)
			t.a.Status = "pending"
			t.filled = true
			t.signers = []string{c.schedFpr}
		}
	}
	if p := c.issueKillAction(*c.agents["host8"]); p != "" {
		c.r.check(c.processNewAction("kill 3", p) == nil, "kill 3 finds no agent", "")
	}
}

// the investigators' actions: a1 signed by Ivan, a1 signed by Ivan and
// Judy, a3 (no operation) signed by Ivan
func (c *client) investigatorsActions() []Action {
	return []Action{
		c.createAction("A", c.fx.a1, c.fx.a1Ivan),
		c.createAction("B", c.fx.a1, c.fx.a1Ivan, c.fx.a1Judy),
		c.createAction("C", c.fx.a3, c.fx.a3Ivan),
	}
}

// results: a first command of A alone (A is then still running), then all
// the others: one of A failed, one of C expired by the collector
func (c *client) results(a, c3 *tracked) {
	if !c.r.check(a != nil && len(a.cmds) > 1 && c3 != nil, "A has commands, C is there", "") {
		return
	}
	first := c.agentResult(a.cmds[0], "success", true)
	c.waitReturned([]*Command{a.cmds[0]}, "success")
	time.Sleep(c.o.collector)
	c.returnCommands([]string{first})

	var paths []string
	var cmds []*Command
	var statuses []string
	for _, t := range c.trackedActions() {
		for i, cmd := range t.cmds {
			if t == a && i == 0 {
				continue
			}
			status, p := "success", ""
			switch {
			case t == a && i == len(t.cmds)-1:
				status = "failed"
			case t == c3 && i == 0:
				status = "expired"
			}
			if status == "expired" {
				p = c.expireCommand(cmd)
			} else {
				p = c.agentResult(cmd, status, status == "success")
			}
			paths = append(paths, p)
			cmds = append(cmds, cmd)
			statuses = append(statuses, status)
		}
	}
	for i := range cmds {
		c.waitReturned(cmds[i:i+1], statuses[i])
	}
	time.Sleep(c.o.collector)
	c.returnCommands(paths)
}

// -writes spool: the worker has taken a returned file before the
// scheduler removes it (a file seen by nobody is no test)
func (c *client) waitReturned(cmds []*Command, status string) {
	if c.writesDB {
		return
	}
	c.waitFor(fmt.Sprintf("the worker took command %.0f's return", cmds[0].ID), func() (bool, error) {
		got, err := c.api.CommandByID(cmds[0].ID)
		return err == nil && got.Status == status, err
	})
}

// ------------------------------------------------------------------------
// MIG as released: it writes the database and the spool
// ------------------------------------------------------------------------

func (c *client) runReleased() {
	c.schedulerStart()
	c.apiInvestigators()
	c.makeAgents()
	c.apiLoadersAndManifests(c.agents["host3"])
	c.registerAgents()
	c.kills()
	c.investigatorsActions()
	runnable, err := c.sched.SetupRunnableActions()
	c.r.call(c.sched, "SetupRunnableActions", err)
	sort.Slice(runnable, func(i, j int) bool { return runnable[i].ID < runnable[j].ID })
	var labels []string
	var paths []string
	for _, a := range runnable {
		label := fmt.Sprintf("%.0f", a.ID)
		if t := c.actions[a.ID]; t != nil {
			label = t.label
		}
		labels = append(labels, label)
		paths = append(paths, c.setupAction(a))
	}
	c.r.check(fmt.Sprint(labels) == "[A B C]", "the three posted actions are runnable", "%v", labels)
	for i, p := range paths {
		c.sendCommands(labels[i], c.processNewAction(labels[i], p), labels[i] == "B")
	}
	ts := c.byLabel()
	c.waitLostCommands(ts["B"])
	c.results(ts["A"], ts["C"])
	c.periodic()
	c.r.check(len(c.detectMultiAgents()) == 0, "no second kill order: the destroyed agents are left alone", "")
	c.apiLoadersEnd()
	c.waitFilledAction(ts["kill 2 (never processed)"])
	c.apiReads()
	c.apiSearches(ts["A"], ts["B"])
}

func (c *client) byLabel() map[string]*tracked {
	m := map[string]*tracked{}
	for _, t := range c.actions {
		m[t.label] = t
	}
	return m
}

// the commands whose insert was lost: the worker fills them in from their
// files after mig.fill_delay, as MIG would have inserted them
func (c *client) waitLostCommands(t *tracked) {
	if t == nil || len(t.cmds) == 0 {
		c.r.check(false, "B has commands", "")
		return
	}
	c.waitFor(fmt.Sprintf("the worker filled in B's %d commands", len(t.cmds)), func() (bool, error) {
		for _, cmd := range t.cmds {
			if _, err := c.api.CommandByID(cmd.ID); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	for _, cmd := range t.cmds {
		got, err := c.api.CommandByID(cmd.ID)
		if c.r.call(c.api, "CommandByID (B, filled in)", err) != nil {
			continue
		}
		c.r.check(got.Status == "sent" && jsonEqual(got.Results, cmd.Results) && got.Agent.ID == cmd.Agent.ID,
			fmt.Sprintf("B's command %.0f filled in as MIG inserts it", cmd.ID), "status %q, results %v",
			got.Status, got.Results)
		c.sameTimes(fmt.Sprintf("B's command %.0f", cmd.ID), "commands", cmd.ID, []string{"starttime"},
			[]time.Time{cmd.StartTime})
		// MIG's InsertCommands writes 9998-01-11 11:11:11, its file Go's
		// zero time: either is "not finished" to MIG
		var which string
		err = c.api.c.QueryRow(`SELECT CASE WHEN finishtime = $2 THEN 'MIG''s 9998-01-11 11:11:11'
			WHEN finishtime = $3 THEN 'Go''s zero time' ELSE finishtime::text END FROM commands WHERE id = $1`,
			cmd.ID, futureDate, zeroTime).Scan(&which)
		c.r.check(err == nil && (which == "MIG's 9998-01-11 11:11:11" || which == "Go's zero time"),
			fmt.Sprintf("B's command %.0f not finished", cmd.ID), "finishtime %s %v", which, err)
		c.r.note("B's command %.0f filled in with finishtime %s", cmd.ID, which)
	}
}

// the kill order the scheduler never processed: filled in from action/new
func (c *client) waitFilledAction(t *tracked) {
	if t == nil {
		c.r.check(false, "the unprocessed kill order", "none")
		return
	}
	c.waitFor("the worker filled in the unprocessed kill order", func() (bool, error) {
		_, err := c.api.ActionByID(t.a.ID)
		return err == nil, err
	})
	c.sameTimes(t.label, "actions", t.a.ID,
		[]string{"validfrom", "expireafter", "starttime", "finishtime", "lastupdatetime"},
		[]time.Time{t.a.ValidFrom, t.a.ExpireAfter, t.a.StartTime, t.a.FinishTime, t.a.LastUpdateTime})
}

// ------------------------------------------------------------------------
// the spool alone: the worker writes actions and commands
// ------------------------------------------------------------------------

func (c *client) runSpoolOnly() {
	c.schedulerStart()
	for _, fpr := range []string{c.fx.ivanFpr, c.fx.judyFpr} {
		inv, err := c.api.InvestigatorByFingerprint(fpr)
		if c.r.call(c.api, "InvestigatorByFingerprint", err) == nil {
			c.invIDs[fpr] = inv.ID
		}
	}
	keys, err := c.api.ActiveInvestigatorsPubKeys()
	if c.r.call(c.api, "ActiveInvestigatorsPubKeys", err) == nil {
		c.checkKeyring("the API", keys)
	}
	c.makeAgents()
	c.registerAgents()
	c.kills()
	labels := []string{"A", "B", "C"}
	sigs := [][]string{{c.fx.a1Ivan}, {c.fx.a1Ivan, c.fx.a1Judy}, {c.fx.a3Ivan}}
	for i, fa := range []Action{c.fx.a1, c.fx.a1, c.fx.a3} {
		// as SetupRunnableActions gives it to setupAction
		a := fa
		a.ID = c.genID()
		a.Status = "scheduled"
		a.PGPSignatures = sigs[i]
		c.track(labels[i], a)
		c.sendCommands(labels[i], c.processNewAction(labels[i], c.setupAction(a)), false)
	}
	c.waitFor("the worker wrote every action and command", func() (bool, error) {
		for _, t := range c.trackedActions() {
			if _, err := c.api.ActionByID(t.a.ID); err != nil {
				return false, fmt.Errorf("%s: %v", t.label, err)
			}
			for _, cmd := range t.cmds {
				if _, err := c.api.CommandByID(cmd.ID); err != nil {
					return false, fmt.Errorf("%s's command: %v", t.label, err)
				}
			}
		}
		return true, nil
	})
	ts := c.byLabel()
	c.results(ts["A"], ts["C"])
	c.waitFor("the worker landed every action", func() (bool, error) {
		for _, t := range c.trackedActions() {
			a, err := c.api.ActionByID(t.a.ID)
			if err != nil {
				return false, err
			}
			if t.a.Status == "done" && a.Status != "done" && a.Status != "completed" {
				return false, fmt.Errorf("%s is %s", t.label, a.Status)
			}
		}
		return true, nil
	})
	c.waitFor("mig's periodic run wrote agents_stats", func() (bool, error) {
		s, err := c.api.GetAgentsStats(1)
		return err == nil && len(s) == 1, err
	})
	// what mig adds: the signatures verified, the valid ones recorded
	for _, t := range c.trackedActions() {
		var valid, n int
		err := c.sched.c.QueryRow(`SELECT count(*) FILTER (WHERE valid), count(*) FROM mig_verify_action($1)`,
			t.a.ID).Scan(&valid, &n)
		c.r.call(c.sched, "mig_verify_action ("+t.label+")", err)
		c.r.check(err != nil || (valid == n && n == len(t.signers)), t.label+": every signature valid",
			"%d of %d valid, %d signers", valid, n, len(t.signers))
	}
	c.periodic()
	c.apiReads()
	c.apiSearches(ts["A"], ts["B"])
	// every time the worker stored, as MIG would have written it
	for _, t := range c.trackedActions() {
		c.sameTimes(t.label, "actions", t.a.ID,
			[]string{"validfrom", "expireafter", "starttime", "finishtime", "lastupdatetime"},
			[]time.Time{t.a.ValidFrom, t.a.ExpireAfter, t.a.StartTime, t.a.FinishTime, t.a.LastUpdateTime})
		for _, cmd := range t.cmds {
			c.sameTimes(fmt.Sprintf("%s's command %.0f", t.label, cmd.ID), "commands", cmd.ID,
				[]string{"starttime", "finishtime"}, []time.Time{cmd.StartTime, cmd.FinishTime})
		}
	}
}
