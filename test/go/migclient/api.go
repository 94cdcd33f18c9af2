// mig-api's flows (mig-api/*.go): investigators and their API keys,
// loaders and manifests, agents' heartbeats posted to it, actions posted
// by investigators, and what investigators read back: actions, commands,
// agents, the dashboard, the searches.
package main

import (
	"fmt"
	"strings"
	"time"
)

// MIG's permission bits: PermAdmin... (the investigator manager's
// and the admin's masks matter here)
const (
	permAdminMask   int64 = 1<<17 | 1<<18
	permAllButAdmin int64 = 1<<17 - 1
)

// apiInvestigators: investigators created with their keys, one without a
// key, a key twice, the API key set, status and permissions changed
func (c *client) apiInvestigators() {
	for _, inv := range []Investigator{
		{Name: "Ivan", PGPFingerprint: c.fx.ivanFpr, PublicKey: c.fx.ivanPub, Permissions: permAllButAdmin},
		{Name: "Judy", PGPFingerprint: c.fx.judyFpr, PublicKey: c.fx.judyPub, Permissions: permAllButAdmin | permAdminMask},
		{Name: "Nokey", Permissions: 1},
	} {
		id, err := c.api.InsertInvestigator(inv)
		if c.r.call(c.api, "InsertInvestigator ("+inv.Name+")", err) != nil {
			continue
		}
		got, err := c.api.InvestigatorByID(float64(id))
		if c.r.call(c.api, "InvestigatorByID ("+inv.Name+")", err) != nil {
			continue
		}
		// the armored key, sent as bytea hex, is stored and read back as the key
		c.r.check(string(got.PublicKey) == string(inv.PublicKey) && got.PGPFingerprint == inv.PGPFingerprint,
			inv.Name+"'s key reads back as posted", "%d bytes for %d, fingerprint %q",
			len(got.PublicKey), len(inv.PublicKey), got.PGPFingerprint)
		if inv.PGPFingerprint != "" {
			c.invIDs[inv.PGPFingerprint] = float64(id)
		}
	}
	// the same key again: MIG tells it by the unique index's name
	_, err := c.api.InsertInvestigator(Investigator{Name: "Ivan again", PGPFingerprint: c.fx.ivanFpr,
		PublicKey: c.fx.ivanPub})
	c.r.expect(c.api, "InsertInvestigator (a key already there)", err,
		`duplicate key value violates unique constraint "investigators_pgpfingerprint_idx"`)

	ivan := Investigator{ID: c.invIDs[c.fx.ivanFpr], Name: "Ivan"}
	key, salt := []byte("0123456789abcdef0123456789abcdef"), []byte("saltsaltsaltsalt")
	c.r.call(c.api, "UpdateInvestigatorAPIKey (set)", c.api.UpdateInvestigatorAPIKey(ivan, key, salt))
	helpers, err := c.api.InvestigatorAPIKeyAuthHelpers()
	if c.r.call(c.api, "InvestigatorAPIKeyAuthHelpers", err) == nil {
		found := false
		for _, h := range helpers {
			found = found || (float64(h.ID) == ivan.ID && string(h.Key) == string(key) && string(h.Salt) == string(salt))
		}
		c.r.check(found, "Ivan's API key and salt read back as set", "%d helpers", len(helpers))
	}
	got, err := c.api.InvestigatorByID(ivan.ID)
	if c.r.call(c.api, "InvestigatorByID (Ivan)", err) == nil {
		c.r.check(got.APIKey == "set", "Ivan's API key is set", "%q", got.APIKey)
	}
	ivan.Status = "disabled"
	c.r.expect(c.api, "UpdateInvestigatorStatus", c.api.UpdateInvestigatorStatus(ivan), rowAssignment)
	c.r.expect(c.api, "UpdateInvestigatorPerms", c.api.UpdateInvestigatorPerms(ivan, permAllButAdmin, permAdminMask), rowAssignment)
	keys, err := c.api.ActiveInvestigatorsPubKeys()
	if c.r.call(c.api, "ActiveInvestigatorsPubKeys", err) == nil {
		c.checkKeyring("the API", keys)
	}
	_, err = c.api.InvestigatorByFingerprint(strings.ToLower(c.fx.ivanFpr))
	c.r.call(c.api, "InvestigatorByFingerprint (lower case)", err)
}

// apiLoadersAndManifests: a loader and its key, its agent's environment,
// a manifest signed and activated, the loader's manifest, then the key
// changed and the manifest disabled
func (c *client) apiLoadersAndManifests(host *Agent) {
	c.loaderName = "loader-" + host.Name
	prefix := "Kp9zQ2xw"
	hash, salt := []byte("loaderkey-hash-32-bytes-........"), []byte("loadersalt-16-by")
	id, err := c.api.LoaderAdd(LoaderEntry{Name: c.loaderName, Prefix: prefix}, hash, salt)
	if c.r.call(c.api, "LoaderAdd", err) != nil {
		return
	}
	c.loaderID = id
	_, err = c.api.GetLoaderFromID(id)
	c.r.call(c.api, "GetLoaderFromID", err)
	c.r.call(c.api, "LoaderUpdateStatus (enable)", c.api.LoaderUpdateStatus(id, true))
	c.r.call(c.api, "LoaderUpdateExpect", c.api.LoaderUpdateExpect(id, "env#>>'{os}'='linux'"))
	lid, s, h, err := c.api.GetLoaderAuthDetails(prefix)
	if c.r.call(c.api, "GetLoaderAuthDetails", err) == nil {
		c.r.check(lid == id && string(s) == string(salt) && string(h) == string(hash),
			"the loader's key and salt read back as stored", "id %.0f", lid)
	}
	c.r.call(c.api, "UpdateLoaderEntry", c.api.UpdateLoaderEntry(id, *host))
	c.r.call(c.api, "CompareLoaderExpectEnv", c.api.CompareLoaderExpectEnv(id))
	m := Manifest{Name: "manifest-" + host.Name, Content: "H4sIAAAAAAAA/8rNTNdNTE/NK2Gg", Target: "env#>>'{os}'='linux'"}
	c.r.call(c.api, "ManifestAdd", c.api.ManifestAdd(m))
	ms, err := c.api.SearchManifests((&search{}).where("manifests.name ILIKE ?", m.Name))
	if c.r.call(c.api, "SearchManifests (name)", err) != nil || len(ms) != 1 {
		c.r.check(false, "the manifest found by name", "%d found", len(ms))
		return
	}
	mid := ms[0].ID
	c.manifestID = mid
	_, err = c.api.GetManifestFromID(mid)
	c.r.call(c.api, "GetManifestFromID", err)
	c.r.call(c.api, "ManifestAddSignature", c.api.ManifestAddSignature(mid, c.fx.a1Ivan, c.invIDs[c.fx.ivanFpr]))
	status, err := c.api.ManifestUpdateStatus(mid, 1)
	if c.r.call(c.api, "ManifestUpdateStatus", err) == nil {
		c.r.check(status == "active", "the manifest is active", "%q", status)
	}
	got, err := c.api.ManifestIDFromLoaderID(id)
	if c.r.call(c.api, "ManifestIDFromLoaderID", err) == nil {
		c.r.check(got == mid, "the loader's manifest is found by its target", "%.0f", got)
	}
	name, err := c.api.GetLoaderName(id)
	if c.r.call(c.api, "GetLoaderName", err) == nil {
		c.r.check(name == c.loaderName, "the loader's name", "%q", name)
	}
	les, err := c.api.AllLoadersFromManifestID(mid)
	c.r.call(c.api, "AllLoadersFromManifestID", err)
	c.r.check(len(les) == 1 && les[0].AgentName == host.Name, "the manifest's loaders", "%v", les)
	after, _ := searchWindow()
	for _, s := range []struct {
		what string
		s    *search
	}{
		{"id", (&search{}).where("manifests.id >= ? AND manifests.id <= ?", mid, mid)},
		{"name and status", (&search{}).where("manifests.name ILIKE ?", "manifest-%").where("manifests.status ILIKE ?", "active")},
		{"after", (&search{}).where("manifests.timestamp >= ?", after)},
	} {
		ms, err := c.api.SearchManifests(s.s)
		c.r.call(c.api, "SearchManifests ("+s.what+")", err)
		c.r.check(err != nil || len(ms) == 1, "SearchManifests ("+s.what+") finds the manifest", "%d found", len(ms))
	}
	for _, s := range []struct {
		what string
		s    *search
	}{
		{"name", (&search{}).where("loaders.loadername ILIKE ?", c.loaderName)},
		{"id", (&search{}).where("loaders.id >= ? AND loaders.id <= ?", id, id)},
		{"agent name", (&search{}).where("loaders.name ILIKE ?", host.Name+"%")},
		{"last seen", (&search{}).where("loaders.lastseen >= ?", after)},
	} {
		les, err := c.api.SearchLoaders(s.s)
		c.r.call(c.api, "SearchLoaders ("+s.what+")", err)
		c.r.check(err != nil || len(les) == 1, "SearchLoaders ("+s.what+") finds the loader", "%d found", len(les))
	}
}

// apiLoadersEnd: the manifest's signatures cleared and the manifest
// disabled, the loader's key changed and looked up
func (c *client) apiLoadersEnd() {
	c.r.call(c.api, "ManifestClearSignatures", c.api.ManifestClearSignatures(c.manifestID))
	c.r.call(c.api, "ManifestDisable", c.api.ManifestDisable(c.manifestID))
	hash := []byte("another-loaderkey-hash-32-bytes.")
	c.r.call(c.api, "LoaderUpdateKey", c.api.LoaderUpdateKey(c.loaderID, hash, []byte("another-salt-16b")))
	id, err := c.api.GetLoaderEntryID(string(hash))
	if c.r.call(c.api, "GetLoaderEntryID", err) == nil {
		c.r.check(id == c.loaderID, "the loader is found by its new key", "%.0f", id)
	}
}

// apiHeartbeat: POST /heartbeat (mig-api/agents/persist_heartbeat_postgres.go)
func (c *client) apiHeartbeat(hb *Agent, label string) {
	if !c.writesDB {
		hb.HeartBeatTS = time.Now()
		c.migHeartbeat(hb, label)
		return
	}
	found, err := c.api.AgentByQueueAndPID(hb.QueueLoc, hb.PID)
	if err != nil {
		if !errNoRows(err) {
			c.r.call(c.api, "AgentByQueueAndPID ("+label+")", err)
			return
		}
		c.r.call(c.api, "AgentByQueueAndPID ("+label+", a new agent)", nil)
		hb.DestructionTime, hb.Status, hb.StartTime = futureDate, "online", time.Now()
		id := c.genID()
		if c.r.call(c.api, "InsertAgent ("+label+")", c.api.InsertAgent(*hb, id, nil)) == nil {
			hb.ID = id
		}
		return
	}
	c.r.call(c.api, "AgentByQueueAndPID ("+label+")", nil)
	hb.Status, hb.HeartBeatTS, hb.RefreshTS, hb.ID = "online", time.Now(), found.RefreshTS, found.ID
	c.r.call(c.api, "UpdateAgentHeartbeat ("+label+")", c.api.UpdateAgentHeartbeat(*hb))
}

// createAction: POST /action, an investigator's signed action: pending,
// MIG's start time (the year 9), finish time (9998), then its signatures
func (c *client) createAction(label string, a Action, sigs ...string) Action {
	a.ID = c.genID()
	a.StartTime, a.FinishTime, a.LastUpdateTime = date0, futureDate, date0
	a.Status = "pending"
	a.PGPSignatures = sigs
	t := c.track(label, a)
	for _, sig := range sigs {
		t.signers = append(t.signers, c.signer[sig])
	}
	if c.r.call(c.api, "InsertAction ("+label+")", c.api.InsertAction(a)) != nil {
		return a
	}
	for _, sig := range sigs {
		inv, err := c.api.InvestigatorByFingerprint(c.signer[sig])
		if c.r.call(c.api, "InvestigatorByFingerprint ("+label+")", err) == nil {
			c.r.call(c.api, "InsertSignature ("+label+")", c.api.InsertSignature(a.ID, inv.ID, sig))
		}
	}
	// GET /action, as the console does after posting
	c.getAction(label, a.ID)
	return a
}

// getAction: GET /action: the action, its counters, its investigators
func (c *client) getAction(label string, id float64) (a Action, ok bool) {
	a, err := c.api.ActionByID(id)
	if c.r.call(c.api, "ActionByID ("+label+")", err) != nil {
		return a, false
	}
	_, err = c.api.GetActionCounters(id)
	c.r.call(c.api, "GetActionCounters ("+label+")", err)
	_, err = c.api.InvestigatorByActionID(id)
	c.r.call(c.api, "InvestigatorByActionID ("+label+")", err)
	return a, true
}

// apiReads: what investigators read back, every action and command
// checked against what MIG wrote
func (c *client) apiReads() {
	stats, err := c.api.GetAgentsStats(1)
	if c.r.call(c.api, "GetAgentsStats", err) == nil {
		c.r.check(len(stats) == 1, "the dashboard's statistics", "%d rows", len(stats))
	}
	last, err := c.api.LastActions(10)
	if c.r.call(c.api, "LastActions", err) == nil {
		c.r.check(len(last) > 0, "the dashboard's last actions", "none")
	}
	for _, t := range c.trackedActions() {
		a, ok := c.getAction(t.label, t.a.ID)
		if !ok {
			continue
		}
		c.checkAction(t, a)
		cmds, err := c.api.CommandsByActionID(t.a.ID)
		if c.r.call(c.api, "CommandsByActionID ("+t.label+")", err) == nil {
			c.r.check(len(cmds) == len(t.cmds), t.label+": its commands", "%d read, %d sent", len(cmds), len(t.cmds))
		}
		for _, cmd := range t.cmds {
			got, err := c.api.CommandByID(cmd.ID)
			if c.r.call(c.api, "CommandByID ("+t.label+")", err) != nil {
				continue
			}
			c.r.check(got.Status == cmd.Status && got.Agent.ID == cmd.Agent.ID && got.Action.Target == t.a.Target,
				fmt.Sprintf("%s: command %.0f as MIG wrote it", t.label, cmd.ID), "status %q (MIG: %q), agent %.0f",
				got.Status, cmd.Status, got.Agent.ID)
		}
	}
	for _, name := range sortedKeys(c.agents) {
		a := c.agents[name]
		got, err := c.api.AgentByID(a.ID)
		if c.r.call(c.api, "AgentByID ("+name+")", err) == nil {
			c.r.check(got.QueueLoc == a.QueueLoc && got.Env.OS == "linux", name+" reads back", "%+v", got)
		}
	}
}

// checkAction: an action read back with its name, target, operations,
// signatures and MIG's status
func (c *client) checkAction(t *tracked, a Action) {
	c.r.check(a.Name == t.a.Name && a.Target == t.a.Target && jsonEqual(a.Operations, t.a.Operations) &&
		jsonEqual(a.PGPSignatures, t.a.PGPSignatures) && a.SyntaxVersion == 2,
		t.label+": its name, target, operations and signatures as signed",
		"name %q target %q, %d signatures, syntax version %d", a.Name, a.Target, len(a.PGPSignatures),
		a.SyntaxVersion)
	want := t.a.Status
	ok := a.Status == want
	if !c.writesDB && (want == "done" || want == "completed") {
		ok = a.Status == "done" || a.Status == "completed"
	}
	c.r.check(ok, t.label+": its status as MIG last wrote it", "%q, MIG wrote %q", a.Status, want)
}

// apiSearches: GET /search of each type with the filters MIG's console
// sends, each expected to find what MIG wrote
func (c *client) apiSearches(a, b *tracked) {
	if !c.r.check(a != nil && b != nil && len(a.cmds) > 0, "A and B have commands", "") {
		return
	}
	after, before := searchWindow()
	agent := a.cmds[0].Agent
	cmd := a.cmds[0]
	ivan := c.invIDs[c.fx.ivanFpr]
	type q struct {
		what string
		s    *search
		want int // at least
	}
	for _, s := range []q{
		{"id", (&search{}).where("actions.id >= ? AND actions.id <= ?", a.a.ID, a.a.ID), 1},
		{"name", (&search{}).where("actions.name ILIKE ?", a.a.Name+"%"), 2},
		{"window and name", (&search{}).where("actions.expireafter <= ?", before.Add(20*365*24*time.Hour)).
			where("actions.validfrom >= ?", after.Add(-365*24*time.Hour)).where("actions.name ILIKE ?", "%"), 0},
		{"investigator id", (&search{}).join(joinSigners).where("investigators.id >= ? AND investigators.id <= ?", ivan, ivan), 2},
		{"investigator name", (&search{}).join(joinSigners).where("investigators.name ILIKE ?", "Judy"), 1},
		{"agent name", (&search{}).join(joinCommandsOfAction).join(joinAgentsOfCommand).where("agents.name ILIKE ?", agent.Name), 2},
		{"agent id", (&search{}).join(joinCommandsOfAction).join(joinAgentsOfCommand).where("agents.id >= ? AND agents.id <= ?", agent.ID, agent.ID), 2},
		{"command id", (&search{}).join(joinCommandsOfAction).where("commands.id >= ? AND commands.id <= ?", cmd.ID, cmd.ID), 1},
		{"name and agent version", (&search{}).join(joinCommandsOfAction).join(joinAgentsOfCommand).
			where("actions.name ILIKE ?", "%").where("agents.version ILIKE ?", agent.Version), 2},
	} {
		got, err := c.api.SearchActions(s.s, 100)
		c.r.call(c.api, "SearchActions ("+s.what+")", err)
		c.r.check(err != nil || len(got) >= s.want, "SearchActions ("+s.what+") finds them", "%d found", len(got))
	}
	for _, s := range []q{
		{"action id", (&search{}).where("actions.id >= ? AND actions.id <= ?", a.a.ID, a.a.ID), len(a.cmds)},
		{"found anything", foundAnything(&search{}, "success", a.a.ID, true).where("actions.id >= ? AND actions.id <= ?", a.a.ID, a.a.ID), 1},
		{"status", (&search{}).where("commands.status ILIKE ?", "success").where("actions.id >= ? AND actions.id <= ?", b.a.ID, b.a.ID), len(b.cmds)},
		{"agent id", (&search{}).where("agents.id >= ? AND agents.id <= ?", agent.ID, agent.ID), 2},
		{"command id", (&search{}).where("commands.id >= ? AND commands.id <= ?", cmd.ID, cmd.ID), 1},
		{"action name", (&search{}).where("actions.name ILIKE ?", a.a.Name), len(a.cmds)},
		{"investigator", (&search{}).where("actions.id >= ? AND actions.id <= ?", b.a.ID, b.a.ID).
			where("investigators.name ILIKE ?", "%Judy%"), len(b.cmds)},
		{"window", (&search{}).where("commands.starttime <= ?", before).where("commands.starttime >= ?", after).
			where("actions.id >= ? AND actions.id <= ?", a.a.ID, a.a.ID), len(a.cmds)},
	} {
		got, err := c.api.SearchCommands(s.s, 100)
		c.r.call(c.api, "SearchCommands ("+s.what+")", err)
		c.r.check(err != nil || len(got) >= s.want, "SearchCommands ("+s.what+") finds them", "%d found, %d wanted", len(got), s.want)
	}
	for _, s := range []q{
		{"name", (&search{}).where("agents.name ILIKE ?", "%.example.net"), 5},
		{"name and status", (&search{}).where("agents.name ILIKE ?", "%.example.net").where("agents.status ILIKE ?", "online"), 5},
		{"action id", agentsOfActions(&search{}, false).where("actions.id >= ? AND actions.id <= ?", a.a.ID, a.a.ID), len(a.cmds)},
		{"command id", (&search{}).join("INNER JOIN commands ON ( commands.agentid = agents.id)").
			where("commands.id >= ? AND commands.id <= ?", cmd.ID, cmd.ID), 1},
		{"investigator", agentsOfActions(&search{}, true).where("agents.name ILIKE ?", "%").
			where("investigators.id >= ? AND investigators.id <= ?", ivan, ivan), 1},
		{"window", (&search{}).where("agents.heartbeattime <= ?", before).where("agents.heartbeattime >= ?", after).
			where("agents.name ILIKE ?", "%"), 5},
	} {
		got, err := c.api.SearchAgents(s.s, 100)
		c.r.call(c.api, "SearchAgents ("+s.what+")", err)
		c.r.check(err != nil || len(got) >= s.want, "SearchAgents ("+s.what+") finds them", "%d found, %d wanted", len(got), s.want)
	}
	for _, s := range []q{
		{"name", (&search{}).where("investigators.name ILIKE ?", "%"), 2},
		{"id and status", (&search{}).where("investigators.id >= ? AND investigators.id <= ?", ivan, ivan).
			where("investigators.status ILIKE ?", "active"), 1},
		{"action id", actionsOfInvestigators(&search{}, false, false).where("actions.id >= ? AND actions.id <= ?", b.a.ID, b.a.ID), 2},
		{"command id", actionsOfInvestigators(&search{}, true, false).where("commands.id >= ? AND commands.id <= ?", cmd.ID, cmd.ID), 1},
		{"agent id", actionsOfInvestigators(&search{}, true, true).where("agents.id >= ? AND agents.id <= ?", agent.ID, agent.ID), 1},
	} {
		got, err := c.api.SearchInvestigators(s.s, 100)
		c.r.call(c.api, "SearchInvestigators ("+s.what+")", err)
		c.r.check(err != nil || len(got) >= s.want, "SearchInvestigators ("+s.what+") finds them", "%d found, %d wanted", len(got), s.want)
	}
	// GET /search?type=agent&target=...: ActiveAgentsByTarget as migapi
	got, err := c.api.ActiveAgentsByTarget("tags->>'operator'='IT' AND name LIKE '%.example.net'")
	c.r.call(c.api, "ActiveAgentsByTarget (search by target)", err)
	c.r.check(err != nil || len(got) > 0, "ActiveAgentsByTarget finds agents by their tags", "none")
}

func sortedKeys(m map[string]*Agent) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}
