// MIG's API searches (GET /search): the statements its search code builds,
// in their shapes (joins, conditions joined by AND, GROUP BY, ORDER BY,
// LIMIT and OFFSET as parameters), prepared and run as MIG runs them.
package main

import (
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// a search's conditions: "?" in a condition becomes the next $n
type search struct {
	joins []string
	conds []string
	vals  []interface{}
}

func (s *search) join(j string) *search {
	for _, have := range s.joins {
		if have == j {
			return s
		}
	}
	s.joins = append(s.joins, j)
	return s
}

func (s *search) where(cond string, vals ...interface{}) *search {
	for _, v := range vals {
		s.vals = append(s.vals, v)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(s.vals)), 1)
	}
	s.conds = append(s.conds, cond)
	return s
}

// the statement: SELECT ... FROM table joins WHERE conds tail, with the
// tail's "?" (LIMIT, OFFSET) numbered after the conditions'
func (s *search) sql(head, tail string, tailVals ...interface{}) (string, []interface{}) {
	q := head + " " + strings.Join(s.joins, " ") + " WHERE " + strings.Join(s.conds, " AND ") + " " + tail
	vals := append([]interface{}{}, s.vals...)
	for _, v := range tailVals {
		vals = append(vals, v)
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", len(vals)), 1)
	}
	return q + ";", vals
}

func (db *DB) prepared(q string, vals []interface{}) (*sql.Stmt, *sql.Rows, error) {
	stmt, err := db.c.Prepare(q)
	if err != nil {
		return nil, nil, fmt.Errorf("Error while preparing search statement: '%v' in '%s'", err, q)
	}
	rows, err := stmt.Query(vals...)
	if err != nil {
		stmt.Close()
		return nil, nil, err
	}
	return stmt, rows, nil
}

const (
	joinCommandsOfAction = "INNER JOIN commands ON ( commands.actionid = actions.id)"
	joinAgentsOfCommand  = "INNER JOIN agents ON ( commands.agentid = agents.id )"
	joinSigners          = "INNER JOIN signatures ON ( actions.id = signatures.actionid ) " +
		"INNER JOIN investigators ON ( signatures.investigatorid = investigators.id )"
)

// SearchActions, then the counters and signers of each, as MIG's API does
func (db *DB) SearchActions(s *search, limit uint64) (actions []Action, err error) {
	q, vals := s.sql(`SELECT actions.id, actions.name, actions.target, actions.description,
		actions.threat, actions.operations, actions.validfrom, actions.expireafter,
		actions.starttime, actions.finishtime, actions.lastupdatetime, actions.status,
		actions.pgpsignatures, actions.syntaxversion FROM actions`,
		"GROUP BY actions.id ORDER BY actions.validfrom DESC LIMIT ? OFFSET ?", limit, uint64(0))
	stmt, rows, err := db.prepared(q, vals)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	defer rows.Close()
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		actions = append(actions, a)
	}
	if err = rows.Err(); err != nil {
		return nil, err
	}
	for i := range actions {
		if actions[i].Counters, err = db.GetActionCounters(actions[i].ID); err != nil {
			return nil, err
		}
		if _, err = db.InvestigatorByActionID(actions[i].ID); err != nil {
			return nil, err
		}
	}
	return actions, nil
}

// SearchCommands always joins the signers: a command of an action
// without a signature row is never found
func (db *DB) SearchCommands(s *search, limit uint64) (cmds []Command, err error) {
	s.join(joinSigners).join(joinAgentsOfCommand)
	joins := append([]string{"INNER JOIN actions ON ( commands.actionid = actions.id)"}, s.joins...)
	s.joins = joins
	q, vals := s.sql(`SELECT commands.id, commands.status, commands.results, commands.starttime,
		commands.finishtime, actions.id, actions.name, actions.target, actions.description,
		actions.threat, actions.operations, actions.validfrom, actions.expireafter,
		actions.pgpsignatures, actions.syntaxversion, agents.id, agents.name, agents.version,
		agents.tags, agents.environment FROM commands`,
		"GROUP BY commands.id, actions.id, agents.id ORDER BY commands.starttime DESC LIMIT ? OFFSET ?",
		limit, uint64(0))
	stmt, rows, err := db.prepared(q, vals)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	defer rows.Close()
	for rows.Next() {
		var jTags, jEnv []byte
		var agt Agent
		cmd, err := scanCommandAction(rows, &agt.ID, &agt.Name, &agt.Version, &jTags, &jEnv)
		if err != nil {
			return nil, err
		}
		if err = unmarshalAll(jTags, &agt.Tags, jEnv, &agt.Env); err != nil {
			return nil, err
		}
		cmd.Agent = agt
		cmds = append(cmds, cmd)
	}
	return cmds, rows.Err()
}

// the foundanything filter of SearchCommands
func foundAnything(s *search, status string, aid float64, found bool) *search {
	return s.where(`commands.status = ? AND commands.id IN ( SELECT commands.id FROM commands, actions,
		json_array_elements(commands.results) as r WHERE commands.actionid=actions.id
		AND actions.id >= ? AND actions.id <= ? AND r#>>'{foundanything}' = ?)`, status, aid, aid, found)
}

func (db *DB) SearchAgents(s *search, limit uint64) (agents []Agent, err error) {
	q, vals := s.sql(`SELECT agents.id, agents.name, agents.queueloc, agents.mode, agents.version,
		agents.pid, agents.starttime, agents.destructiontime, agents.heartbeattime, agents.status,
		agents.tags, agents.environment FROM agents`,
		"GROUP BY agents.id ORDER BY agents.heartbeattime DESC LIMIT ? OFFSET ?", limit, uint64(0))
	stmt, rows, err := db.prepared(q, vals)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	defer rows.Close()
	for rows.Next() {
		var a Agent
		var jTags, jEnv []byte
		if err = rows.Scan(&a.ID, &a.Name, &a.QueueLoc, &a.Mode, &a.Version, &a.PID, &a.StartTime,
			&a.DestructionTime, &a.HeartBeatTS, &a.Status, &jTags, &jEnv); err != nil {
			return nil, err
		}
		if err = unmarshalAll(jTags, &a.Tags, jEnv, &a.Env); err != nil {
			return nil, err
		}
		agents = append(agents, a)
	}
	return agents, rows.Err()
}

// the joins of an agents search over commands and actions (and signers)
func agentsOfActions(s *search, signers bool) *search {
	s.join("INNER JOIN commands ON ( commands.agentid = agents.id)")
	s.join("INNER JOIN actions ON ( commands.actionid = actions.id )")
	if signers {
		s.join(joinSigners)
	}
	return s
}

func (db *DB) SearchInvestigators(s *search, limit uint64) (invs []Investigator, err error) {
	q, vals := s.sql(`SELECT investigators.id, investigators.name,
		COALESCE(investigators.pgpfingerprint, ''), investigators.status, investigators.createdat,
		investigators.lastmodified, investigators.permissions FROM investigators`,
		"GROUP BY investigators.id ORDER BY investigators.id ASC LIMIT ? OFFSET ?", limit, uint64(0))
	stmt, rows, err := db.prepared(q, vals)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	defer rows.Close()
	for rows.Next() {
		var inv Investigator
		if err = rows.Scan(&inv.ID, &inv.Name, &inv.PGPFingerprint, &inv.Status, &inv.CreatedAt,
			&inv.LastModified, &inv.Permissions); err != nil {
			return nil, err
		}
		invs = append(invs, inv)
	}
	return invs, rows.Err()
}

// the joins of an investigators search over their actions (commands, agents)
func actionsOfInvestigators(s *search, commands, agents bool) *search {
	s.join("INNER JOIN signatures ON ( signatures.investigatorid = investigators.id )")
	s.join("INNER JOIN actions ON ( actions.id = signatures.actionid )")
	if commands || agents {
		s.join("INNER JOIN commands ON ( commands.actionid = actions.id)")
	}
	if agents {
		s.join(joinAgentsOfCommand)
	}
	return s
}

func (db *DB) SearchManifests(s *search) (ms []Manifest, err error) {
	q, vals := s.sql(`SELECT manifests.id, manifests.name, manifests.status, manifests.target,
		manifests.timestamp FROM manifests`, "ORDER BY timestamp DESC")
	stmt, rows, err := db.prepared(q, vals)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	defer rows.Close()
	for rows.Next() {
		var m Manifest
		if err = rows.Scan(&m.ID, &m.Name, &m.Status, &m.Target, &m.Timestamp); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

func (db *DB) SearchLoaders(s *search) (les []LoaderEntry, err error) {
	q, vals := s.sql(`SELECT loaders.id, loaders.loadername, loaders.name, loaders.lastseen,
		loaders.enabled FROM loaders`, "ORDER BY loadername")
	stmt, rows, err := db.prepared(q, vals)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	defer rows.Close()
	for rows.Next() {
		var le LoaderEntry
		var name sql.NullString
		if err = rows.Scan(&le.ID, &le.Name, &name, &le.LastSeen, &le.Enabled); err != nil {
			return nil, err
		}
		le.AgentName = name.String
		les = append(les, le)
	}
	return les, rows.Err()
}

// the window MIG's search gives by default: "after" and "before" an hour
// around now, as mig-console sends them
func searchWindow() (after, before time.Time) {
	now := time.Now().UTC()
	return now.Add(-time.Hour).Truncate(time.Second), now.Add(2 * time.Hour).Truncate(time.Second)
}
