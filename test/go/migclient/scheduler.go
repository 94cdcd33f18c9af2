// mig-scheduler's flows, as its code runs them (mig-scheduler/*.go: its
// collector, processNewAction, flyAction, sendCommands, returnCommands,
// updateAction, landAction, invalidAction, the heartbeats, the periodic
// tasks, the duplicate agents and their kill orders): the database calls
// and the spool files in the scheduler's order.  With -writes spool the
// database calls that write are left out (agents then go through
// mig_agent_heartbeat) and the files are written all the same.
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

// ------------------------------------------------------------------------
// start: the scheduler's identity
// ------------------------------------------------------------------------

// schedulerStart: no key in the database at first start, so MIG makes one
// and stores it (InsertSchedulerInvestigator), then reads it back
func (c *client) schedulerStart() {
	key, err := c.sched.GetSchedulerPrivKey()
	if c.writesDB && errNoRows(err) {
		c.r.note("GetSchedulerPrivKey: no key yet, the scheduler stores its own")
		c.r.call(c.sched, "InsertSchedulerInvestigator", c.sched.InsertSchedulerInvestigator(c.schedInv))
		key, err = c.sched.GetSchedulerPrivKey()
	}
	if c.r.call(c.sched, "GetSchedulerPrivKey", err) == nil {
		c.r.check(string(key) == string(c.schedInv.PrivateKey), "the scheduler's private key reads back as stored",
			"%d bytes, stored %d", len(key), len(c.schedInv.PrivateKey))
	}
	inv, err := c.sched.GetSchedulerInvestigator()
	if c.r.call(c.sched, "GetSchedulerInvestigator", err) == nil {
		c.schedInv.ID = inv.ID
		c.invIDs[c.schedFpr] = inv.ID
		c.r.check(string(inv.PublicKey) == string(c.schedInv.PublicKey) && inv.PGPFingerprint == c.schedFpr,
			"the scheduler's public key and fingerprint read back as stored", "%q", inv.PGPFingerprint)
	}
	_, err = c.sched.InvestigatorByFingerprint(c.schedFpr)
	c.r.call(c.sched, "InvestigatorByFingerprint (scheduler)", err)
	keys, err := c.sched.ActiveInvestigatorsPubKeys()
	if c.r.call(c.sched, "ActiveInvestigatorsPubKeys", err) == nil {
		c.checkKeyring("scheduler", keys)
	}
}

// the keyring MIG builds: every key armored text
func (c *client) checkKeyring(who string, keys [][]byte) {
	bad := 0
	for _, k := range keys {
		if len(k) < 40 || string(k[:36]) != "-----BEGIN PGP PUBLIC KEY BLOCK-----" {
			bad++
		}
	}
	c.r.check(len(keys) > 0 && bad == 0, who+"'s keyring: every key armored", "%d keys, %d not armored", len(keys), bad)
}

// ------------------------------------------------------------------------
// heartbeats
// ------------------------------------------------------------------------

func newAgent(name string, pid int, version string, tags map[string]string) *Agent {
	return &Agent{
		Name: name + ".example.net", QueueLoc: "linux." + name, Mode: "daemon", Version: version,
		PID: pid, StartTime: time.Now().Add(-time.Hour), RefreshTS: time.Now().Add(-48 * time.Hour),
		Env: AgentEnv{Init: "systemd", Ident: "Debian GNU/Linux 12 (bookworm)", OS: "linux",
			Arch: "amd64", Addresses: []string{"10.0.0.1/16"}, PublicIP: "198.51.100.1"},
		Tags: tags,
	}
}

// schedulerHeartbeat: getHeartbeats' database part (agents_queues.go)
func (c *client) schedulerHeartbeat(hb *Agent, label string) {
	hb.HeartBeatTS = time.Now()
	if !c.writesDB {
		c.migHeartbeat(hb, label)
		return
	}
	agent, err := c.sched.AgentByQueueAndPID(hb.QueueLoc, hb.PID)
	if err != nil {
		if !errNoRows(err) {
			c.r.call(c.sched, "AgentByQueueAndPID ("+label+")", err)
			return
		}
		c.r.call(c.sched, "AgentByQueueAndPID ("+label+", a new agent)", nil)
		hb.DestructionTime = futureDate
		hb.Status = "online"
		hb.StartTime = time.Now()
		id := c.genID()
		if c.r.call(c.sched, "InsertAgent ("+label+")", c.sched.InsertAgent(*hb, id, nil)) == nil {
			hb.ID = id
		}
		return
	}
	c.r.call(c.sched, "AgentByQueueAndPID ("+label+")", nil)
	hb.ID = agent.ID
	hb.Status = "online"
	if !hb.RefreshTS.IsZero() && hb.RefreshTS.After(agent.RefreshTS.Add(15*time.Second)) {
		id := c.genID()
		if c.r.call(c.sched, "ReplaceRefreshedAgent ("+label+")", c.sched.ReplaceRefreshedAgent(*hb, id)) == nil {
			hb.ID = id
		}
		return
	}
	c.r.call(c.sched, "UpdateAgentHeartbeat ("+label+")", c.sched.UpdateAgentHeartbeat(*hb))
}

// migHeartbeat: -writes spool, an agent registered by mig's own function
func (c *client) migHeartbeat(hb *Agent, label string) {
	if hb.ID == 0 {
		hb.ID = c.genID()
	}
	if hb.Status == "" {
		hb.Status = "online"
	}
	j, err := json.Marshal(hb)
	if err == nil {
		var id float64
		err = c.hb.c.QueryRow(`SELECT mig_agent_heartbeat($1)`, j).Scan(&id)
		if err == nil && id != hb.ID {
			err = fmt.Errorf("mig_agent_heartbeat gave id %.0f for %.0f", id, hb.ID)
		}
	}
	c.r.call(c.hb, "mig_agent_heartbeat ("+label+")", err)
}

// ------------------------------------------------------------------------
// actions: new, processed, in flight, invalid, landed
// ------------------------------------------------------------------------

// setupAction: a runnable action from the database to action/new
func (c *client) setupAction(a Action) string {
	dest := c.spool.actionPath("action/new", a.ID)
	c.r.check(c.spool.writeJSON(dest, a) == nil, fmt.Sprintf("action/new/%.0f.json written", a.ID), "")
	return dest
}

// processNewAction: an action file from action/new made into commands
func (c *client) processNewAction(label, path string) []Command {
	var a Action
	if err := readJSON(path, &a); err != nil {
		c.r.check(false, "read "+path, "%v", err)
		return nil
	}
	a.StartTime = time.Now()
	if a.ID < 1 {
		a.ID = c.genID()
	}
	agents, err := c.sched.ActiveAgentsByTarget(a.Target)
	if c.r.call(c.sched, "ActiveAgentsByTarget ("+label+")", err) != nil {
		return nil
	}
	a.Counters.Sent = len(agents)
	if len(agents) == 0 {
		c.invalidAction(label, a, path)
	}
	a.Status = "preparing"
	t := c.track(label, a)
	if c.writesDB {
		inserted, err := c.sched.InsertOrUpdateAction(a)
		what := "InsertOrUpdateAction (" + label + ", updated)"
		if inserted {
			what = "InsertOrUpdateAction (" + label + ", inserted)"
		}
		if c.r.call(c.sched, what, err) == nil && inserted {
			// (MIG finds each signer by verifying the signature)
			for _, sig := range a.PGPSignatures {
				inv, err := c.sched.InvestigatorByFingerprint(c.signer[sig])
				if c.r.call(c.sched, "InvestigatorByFingerprint ("+label+")", err) == nil {
					c.r.call(c.sched, "InsertSignature ("+label+")", c.sched.InsertSignature(a.ID, inv.ID, sig))
				}
			}
		}
	}
	t.signers = nil
	for _, sig := range a.PGPSignatures {
		t.signers = append(t.signers, c.signer[sig])
	}
	empty := make([]Result, len(a.Operations))
	var cmds []Command
	for _, agent := range agents {
		cmds = append(cmds, Command{ID: c.genID(), Status: "sent", Action: a, Agent: agent,
			StartTime: time.Now().UTC(), Results: empty})
	}
	if len(cmds) == 0 {
		c.invalidAction(label, a, path)
		return nil
	}
	c.flyAction(label, a, path)
	return cmds
}

// invalidAction: action/invalid/<id>.json, the new file removed, then the row
func (c *client) invalidAction(label string, a Action, origin string) {
	dest := c.spool.actionPath("action/invalid", a.ID)
	c.r.check(c.spool.writeJSON(dest, a) == nil, fmt.Sprintf("action/invalid/%.0f.json written", a.ID), "")
	_ = os.Remove(origin)
	a.Status = "invalid"
	a.LastUpdateTime = time.Now().UTC()
	a.FinishTime = time.Now().UTC()
	a.Counters.Sent = 0
	if c.writesDB {
		c.r.call(c.sched, "UpdateAction ("+label+", invalidAction)", c.sched.UpdateAction(a))
	}
	if t := c.actions[a.ID]; t != nil {
		t.a.Status = a.Status
		if c.writesDB {
			t.a.StartTime, t.a.LastUpdateTime = a.StartTime, a.LastUpdateTime
		}
	}
}

// flyAction: action/inflight/<id>.json, the new file removed, then the
// status, which PostgreSQL refuses (MIG's "SET (status) = ($2)"): the row
// stays preparing, flyAction panics, and the collector's attempt to move
// the new file to action/invalid finds it gone
func (c *client) flyAction(label string, a Action, origin string) {
	dest := c.spool.actionPath("action/inflight", a.ID)
	c.r.check(c.spool.writeJSON(dest, a) == nil, fmt.Sprintf("action/inflight/%.0f.json written", a.ID), "")
	_ = os.Remove(origin)
	if c.writesDB {
		a.Status = "inflight"
		c.r.expect(c.sched, "UpdateActionStatus ("+label+", flyAction)", c.sched.UpdateActionStatus(a), rowAssignment)
		c.spool.invalidByClock(origin)
	}
}

// sendCommands: the batch's rows first (one multi-row INSERT), then one
// command/inflight file each.  lost: the insert's commit is lost (as in a
// failover), which the scheduler never learns: the files are written all
// the same
func (c *client) sendCommands(label string, cmds []Command, lost bool) {
	if len(cmds) == 0 {
		return
	}
	if c.writesDB {
		var tx *sql.Tx
		var err error
		if lost {
			tx, err = c.sched.c.Begin()
			if err != nil {
				c.r.check(false, "begin", "%v", err)
				return
			}
		}
		n, err := c.sched.InsertCommands(cmds, tx)
		if err == nil && n != int64(len(cmds)) {
			err = fmt.Errorf("%d commands inserted of %d", n, len(cmds))
		}
		c.r.call(c.sched, fmt.Sprintf("InsertCommands (%s, %d commands)", label, len(cmds)), err)
		if lost {
			_ = tx.Rollback()
			c.r.note("the commit of %s's InsertCommands is lost: its %d rows are not in commands", label, len(cmds))
		}
	}
	t := c.actions[cmds[0].Action.ID]
	for i := range cmds {
		cmd := cmds[i]
		dest := c.spool.commandPath("command/inflight", cmd)
		c.r.check(c.spool.writeJSON(dest, cmd) == nil, "command/inflight "+fmt.Sprintf("%.0f-%.0f.json", cmd.Action.ID, cmd.ID)+" written", "")
		c.commands[cmd.ID] = &cmd
		t.cmds = append(t.cmds, &cmd)
	}
}

// ------------------------------------------------------------------------
// commands returned
// ------------------------------------------------------------------------

// agentResult: an agent's message, command/returned/<opid>
func (c *client) agentResult(cmd *Command, status string, found bool) string {
	res := *cmd
	res.Status = status
	res.Results = nil
	for range cmd.Action.Operations {
		r := Result{FoundAnything: found, Success: status == "success",
			Statistics: map[string]interface{}{"filescount": 3, "totalhits": 1}}
		if found {
			r.Elements = map[string]interface{}{"s1": []interface{}{
				map[string]interface{}{"file": "/etc/passwd", "search": map[string]interface{}{"names": []string{"passwd"}}}}}
		}
		if status != "success" {
			r.Errors = []string{"module failed"}
		}
		res.Results = append(res.Results, r)
	}
	if res.Results == nil {
		res.Results = []Result{}
	}
	res.FinishTime = time.Now().UTC()
	dest := c.spool.agentResultPath(c.genID())
	c.r.check(c.spool.writeJSON(dest, res) == nil, "command/returned (agent's) written", "")
	return dest
}

// expireCommand: the collector's expiry, command/returned/<aid>-<cid>.json,
// then the inflight file removed
func (c *client) expireCommand(cmd *Command) string {
	exp := *cmd
	exp.Status = "expired"
	exp.FinishTime = time.Now().UTC()
	dest := c.spool.commandPath("command/returned", exp)
	c.r.check(c.spool.writeJSON(dest, exp) == nil, "command/returned (expired) written", "")
	_ = os.Remove(c.spool.commandPath("command/inflight", exp))
	return dest
}

// returnCommands: each returned file read, FinishCommand in a goroutine
// while the inflight and returned files are removed; then updateAction
func (c *client) returnCommands(paths []string) {
	var wg sync.WaitGroup
	var done []Command
	for _, p := range paths {
		var cmd Command
		if err := readJSON(p, &cmd); err != nil {
			c.r.check(false, "read "+p, "%v", err)
			continue
		}
		cmd.FinishTime = time.Now().UTC()
		if c.writesDB {
			wg.Add(1)
			go func(cmd Command) {
				defer wg.Done()
				c.r.call(c.sched, "FinishCommand ("+cmd.Status+")", c.sched.FinishCommand(cmd))
			}(cmd)
		} else {
			// the row the worker wrote from the file
			var f Command
			_ = readJSON(p, &f)
			cmd.FinishTime = f.FinishTime
		}
		_ = os.Remove(c.spool.commandPath("command/inflight", cmd))
		_ = os.Remove(p)
		if have := c.commands[cmd.ID]; have != nil {
			have.Status, have.FinishTime, have.Results = cmd.Status, cmd.FinishTime, cmd.Results
		}
		done = append(done, cmd)
	}
	wg.Wait()
	c.updateAction(done)
}

// updateAction: the actions of the finished commands; a landed one goes to
// action/done, a running one gets UpdateRunningAction, which PostgreSQL
// refuses: the rest of the batch is then not looked at
func (c *client) updateAction(cmds []Command) {
	metas := map[float64]Action{}
	for _, cmd := range cmds {
		a, ok := metas[cmd.Action.ID]
		if !ok {
			if c.writesDB {
				var err error
				a, err = c.sched.ActionMetaByID(cmd.Action.ID)
				if c.r.call(c.sched, "ActionMetaByID", err) != nil {
					continue
				}
			} else {
				t := c.actions[cmd.Action.ID]
				a = Action{ID: t.a.ID, Name: t.a.Name, ValidFrom: t.a.ValidFrom, ExpireAfter: t.a.ExpireAfter,
					StartTime: t.a.StartTime, FinishTime: t.a.FinishTime, LastUpdateTime: t.a.LastUpdateTime,
					Status: t.a.Status}
			}
		}
		a.LastUpdateTime = time.Now().UTC()
		metas[a.ID] = a
	}
	var ids []float64
	for id := range metas {
		ids = append(ids, id)
	}
	sort.Float64s(ids)
	for _, id := range ids {
		a := metas[id]
		var err error
		if c.writesDB {
			a.Counters, err = c.sched.GetActionCounters(a.ID)
			if c.r.call(c.sched, "GetActionCounters", err) != nil {
				return
			}
		} else {
			a.Counters = c.counters(c.actions[a.ID])
		}
		if a.Counters.Done == a.Counters.Sent {
			c.landAction(a)
			continue
		}
		if c.writesDB {
			c.r.expect(c.sched, "UpdateRunningAction", c.sched.UpdateRunningAction(a), rowAssignment)
			return
		}
	}
}

// the counters GetActionCounters gives, from what the commands are
func (c *client) counters(t *tracked) (ac ActionCounters) {
	for _, cmd := range t.cmds {
		ac.Sent++
		switch cmd.Status {
		case "sent":
			ac.InFlight++
		case "success":
			ac.Success++
			ac.Done++
		case "expired":
			ac.Expired++
			ac.Done++
		case "failed":
			ac.Failed++
			ac.Done++
		}
	}
	return
}

// landAction: action/done/<id>.json from the action's metadata alone, the
// inflight file removed, then the row (FinishAction: completed)
func (c *client) landAction(a Action) {
	a.Status = "done"
	a.FinishTime = time.Now().UTC()
	dest := c.spool.actionPath("action/done", a.ID)
	c.r.check(c.spool.writeJSON(dest, a) == nil, fmt.Sprintf("action/done/%.0f.json written", a.ID), "")
	origin := c.spool.actionPath("action/inflight", a.ID)
	_ = os.Remove(origin)
	t := c.actions[a.ID]
	if c.writesDB {
		c.r.call(c.sched, "FinishAction ("+t.label+")", c.sched.FinishAction(a))
		t.a.Status = "completed"
	} else {
		t.a.Status = "done"
	}
	t.a.FinishTime, t.a.LastUpdateTime = a.FinishTime, a.LastUpdateTime
	_ = os.Rename(origin, dest)
}

// ------------------------------------------------------------------------
// duplicate agents and kill orders
// ------------------------------------------------------------------------

// detectMultiAgents and killDupAgents: the kill order files, by queue
func (c *client) detectMultiAgents() map[string]string {
	queues, err := c.sched.ListMultiAgentsQueues(time.Now().Add(-c.o.hbFreq))
	kills := map[string]string{}
	if c.r.call(c.sched, "ListMultiAgentsQueues", err) != nil {
		return kills
	}
	sort.Strings(queues)
	for _, q := range queues {
		agents, err := c.sched.ActiveAgentsByQueue(q, time.Now().Add(-c.o.hbFreq))
		if c.r.call(c.sched, "ActiveAgentsByQueue ("+q+")", err) != nil || len(agents) < 2 {
			continue
		}
		destroyed, leftAlone := 0, 0
		for _, a := range agents {
			if a.Status == "destroyed" {
				leftAlone++ // destroyed less than three heartbeats ago
			}
		}
		if len(agents)-destroyed-leftAlone > 1 {
			oldest := agents[0]
			for _, a := range agents {
				if a.Status == "online" && a.StartTime.Before(oldest.StartTime) {
					oldest = a
				}
			}
			kills[q] = c.issueKillAction(oldest)
		}
	}
	return kills
}

// issueKillAction: an agentdestroy action signed with the scheduler's key,
// written to action/new, then the agent marked destroyed
func (c *client) issueKillAction(agent Agent) string {
	now := time.Now()
	// (Go keeps nanoseconds, PostgreSQL microseconds: a validity in the
	// last half microsecond of a second would be stored in the next
	// second, where its signature no longer holds)
	if now.Nanosecond() >= 999999000 {
		now = now.Add(-time.Millisecond)
	}
	a := Action{
		ID:            c.genID(),
		Name:          fmt.Sprintf("Kill agent %s", agent.Name),
		Target:        fmt.Sprintf("queueloc='%s'", agent.QueueLoc),
		ValidFrom:     now.Add(-60 * time.Second).UTC(),
		ExpireAfter:   now.Add(30 * time.Minute).UTC(),
		SyntaxVersion: 2,
	}
	a.Operations = []Operation{{Module: "agentdestroy", Parameters: struct {
		PID     int    `json:"pid"`
		Version string `json:"version"`
	}{agent.PID, agent.Version}}}
	// MIG signs the action as read back from a file
	var back Action
	j, _ := json.Marshal(a)
	_ = json.Unmarshal(j, &back)
	str, err := back.String()
	if err == nil {
		var sig string
		if sig, err = c.gpg.Sign(c.schedFpr, str); err == nil {
			a.PGPSignatures = []string{sig}
			c.signer[sig] = c.schedFpr
		}
	}
	if !c.r.check(err == nil, "the kill order for "+agent.Name+" signed", "%v", err) {
		return ""
	}
	dest := c.spool.actionPath("action/new", a.ID)
	c.r.check(c.spool.writeJSON(dest, a) == nil, "action/new (kill order) written", "")
	if c.writesDB {
		c.r.call(c.sched, "MarkAgentDestroyed ("+agent.Name+")", c.sched.MarkAgentDestroyed(agent))
	} else {
		hb := *c.agentByName(agent.Name)
		hb.Status, hb.DestructionTime, hb.HeartBeatTS = "destroyed", time.Now(), time.Now()
		c.migHeartbeat(&hb, "destroyed "+agent.Name)
	}
	return dest
}

func (c *client) agentByName(name string) *Agent {
	for _, a := range c.agents {
		if a.Name == name {
			return a
		}
	}
	return &Agent{Name: name}
}

// ------------------------------------------------------------------------
// periodic
// ------------------------------------------------------------------------

// periodic: liveness, the statistics (computed concurrently, as MIG does),
// the disappeared endpoints
func (c *client) periodic() {
	c.r.call(c.sched, "MarkOfflineAgents", c.sched.MarkOfflineAgents(time.Now().Add(-20*time.Minute)))
	c.r.call(c.sched, "MarkIdleAgents", c.sched.MarkIdleAgents(time.Now().Add(-5*c.o.hbFreq)))
	var s AgentsStats
	var wg sync.WaitGroup
	run := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.r.call(c.sched, what, f())
		}()
	}
	now := time.Now()
	run("SumOnlineAgentsByVersion", func() (err error) {
		s.OnlineAgentsByVersion, err = c.sched.SumOnlineAgentsByVersion()
		return
	})
	run("SumIdleAgentsByVersion", func() (err error) {
		s.IdleAgentsByVersion, err = c.sched.SumIdleAgentsByVersion()
		return
	})
	run("CountOnlineEndpoints", func() (err error) {
		s.OnlineEndpoints, err = c.sched.CountOnlineEndpoints()
		return
	})
	run("CountIdleEndpoints", func() (err error) {
		s.IdleEndpoints, err = c.sched.CountIdleEndpoints()
		return
	})
	run("CountNewEndpoints", func() (err error) {
		s.NewEndpoints, err = c.sched.CountNewEndpoints(now.Add(-24*time.Hour), now.Add(-7*24*time.Hour))
		return
	})
	run("CountDoubleAgents", func() (err error) {
		s.MultiAgentsEndpoints, err = c.sched.CountDoubleAgents()
		return
	})
	run("CountDisappearedEndpoints", func() (err error) {
		s.DisappearedEndpoints, err = c.sched.CountDisappearedEndpoints(now.Add(-7 * 24 * time.Hour))
		return
	})
	run("CountFlappingEndpoints", func() (err error) {
		s.FlappingEndpoints, err = c.sched.CountFlappingEndpoints()
		return
	})
	wg.Wait()
	for _, v := range s.OnlineAgentsByVersion {
		s.OnlineAgents += v.Count
	}
	for _, v := range s.IdleAgentsByVersion {
		s.IdleAgents += v.Count
	}
	if c.writesDB {
		c.r.call(c.sched, "StoreAgentsStats", c.sched.StoreAgentsStats(s))
	}
	c.r.note("statistics: %.0f online agents on %.0f endpoints, %.0f idle, %.0f with several agents",
		s.OnlineAgents, s.OnlineEndpoints, s.IdleAgents, s.MultiAgentsEndpoints)
	_, err := c.sched.GetDisappearedEndpoints(time.Now().Add(-26 * time.Hour))
	c.r.call(c.sched, "GetDisappearedEndpoints", err)
}
