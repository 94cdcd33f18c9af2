// The SQL MIG's scheduler and API send, one function per call of MIG's
// database package: the same statements, the same Go types for the
// parameters (so lib/pq encodes them as MIG's does: a float64 id as its
// digits, a []byte as bytea hex or as the bytes, by the type the server
// infers) and the same Go types to scan into (string, float64, time.Time,
// uint16, []byte then json.Unmarshal: a SQL NULL where MIG cannot hold
// one fails the call, as it fails MIG).  Written from the statements MIG
// sends (its database package's SQL text); no code of MIG's.
package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DB is one daemon's connection pool, as the role it connects as
type DB struct {
	c    *sql.DB
	role string
}

// Go's zero time, MIG's dates for "not yet" and "not finished"
var (
	zeroTime   time.Time
	date0      = time.Date(0011, time.January, 11, 11, 11, 11, 11, time.UTC) // 0011 is octal: the year 9
	futureDate = time.Date(9998, time.January, 11, 11, 11, 11, 11, time.UTC)
)

func unmarshalAll(pairs ...interface{}) error {
	for i := 0; i < len(pairs); i += 2 {
		if err := json.Unmarshal(pairs[i].([]byte), pairs[i+1]); err != nil {
			return fmt.Errorf("json: %v", err)
		}
	}
	return nil
}

// ------------------------------------------------------------------------
// investigators
// ------------------------------------------------------------------------

func (db *DB) GetSchedulerPrivKey() (key []byte, err error) {
	err = db.c.QueryRow(`SELECT privatekey FROM investigators
		WHERE name ='migscheduler' AND status='active' ORDER BY id ASC LIMIT 1`).Scan(&key)
	return
}

func (db *DB) InsertSchedulerInvestigator(inv Investigator) error {
	_, err := db.c.Exec(`INSERT INTO investigators
		(name, pgpfingerprint, publickey, privatekey, status, createdat, lastmodified)
		VALUES ($1, $2, $3, $4, 'active', $5, $6)`,
		inv.Name, inv.PGPFingerprint, inv.PublicKey, inv.PrivateKey,
		time.Now().UTC(), time.Now().UTC())
	return err
}

func (db *DB) GetSchedulerInvestigator() (inv Investigator, err error) {
	err = db.c.QueryRow(`SELECT id, name, pgpfingerprint, publickey, status, createdat, lastmodified
		FROM investigators WHERE name ='migscheduler' AND status='active' ORDER BY id ASC LIMIT 1`).Scan(
		&inv.ID, &inv.Name, &inv.PGPFingerprint, &inv.PublicKey, &inv.Status, &inv.CreatedAt,
		&inv.LastModified)
	return
}

func (db *DB) InvestigatorByFingerprint(fp string) (inv Investigator, err error) {
	err = db.c.QueryRow(`SELECT investigators.id, investigators.name, investigators.pgpfingerprint,
		investigators.publickey, investigators.status, investigators.createdat,
		investigators.lastmodified, investigators.permissions
		FROM investigators WHERE pgpfingerprint IS NOT NULL AND LOWER(pgpfingerprint)=LOWER($1)`,
		fp).Scan(&inv.ID, &inv.Name, &inv.PGPFingerprint, &inv.PublicKey, &inv.Status,
		&inv.CreatedAt, &inv.LastModified, &inv.Permissions)
	return
}

func (db *DB) ActiveInvestigatorsPubKeys() (keys [][]byte, err error) {
	rows, err := db.c.Query(`SELECT publickey FROM investigators
		WHERE status='active' AND publickey IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var key []byte
		if err = rows.Scan(&key); err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, rows.Err()
}

// InsertInvestigator: the armored key goes as a []byte through
// NULLIF($3, E'\\x'::bytea), a parameter the server infers as bytea
func (db *DB) InsertInvestigator(inv Investigator) (id int, err error) {
	err = db.c.QueryRow(`INSERT INTO investigators
		(name, pgpfingerprint, publickey, status, createdat, lastmodified, permissions)
		VALUES ($1, NULLIF($2, ''), NULLIF($3, E'\\x'::bytea), 'active', $4, $5, $6)
		RETURNING id`, inv.Name, inv.PGPFingerprint, inv.PublicKey,
		time.Now().UTC(), time.Now().UTC(), inv.Permissions).Scan(&id)
	return
}

func (db *DB) InvestigatorByID(iid float64) (inv Investigator, err error) {
	err = db.c.QueryRow(`SELECT id, name, COALESCE(pgpfingerprint, ''), COALESCE(publickey, ''),
		status, createdat, lastmodified, permissions,
		CASE WHEN apikey IS NOT NULL THEN 'set' ELSE '' END
		FROM investigators WHERE id=$1`, iid).Scan(&inv.ID, &inv.Name, &inv.PGPFingerprint,
		&inv.PublicKey, &inv.Status, &inv.CreatedAt, &inv.LastModified, &inv.Permissions,
		&inv.APIKey)
	return
}

// UpdateInvestigatorStatus: MIG's single-column row assignment, which
// PostgreSQL 10 and later refuse whatever the schema
func (db *DB) UpdateInvestigatorStatus(inv Investigator) error {
	_, err := db.c.Exec(`UPDATE investigators SET (status) = ($1) WHERE id=$2`, inv.Status, inv.ID)
	return err
}

func (db *DB) UpdateInvestigatorPerms(inv Investigator, mask, adminMask int64) error {
	var cnt int
	err := db.c.QueryRow(`SELECT COUNT(*) FROM investigators WHERE (permissions & $1) != 0 AND id != $2`,
		adminMask, inv.ID).Scan(&cnt)
	if err != nil {
		return err
	}
	_, err = db.c.Exec(`UPDATE investigators SET (permissions) = ($1) WHERE id=$2`, mask, inv.ID)
	return err
}

func (db *DB) UpdateInvestigatorAPIKey(inv Investigator, key, salt []byte) error {
	var err error
	if key == nil {
		_, err = db.c.Exec(`UPDATE investigators SET apikey=NULL, apisalt=NULL WHERE id=$1`, inv.ID)
	} else {
		_, err = db.c.Exec(`UPDATE investigators SET apikey=$1, apisalt=$2 WHERE id=$3`, key, salt, inv.ID)
	}
	return err
}

type apiKeyHelper struct {
	ID   int
	Key  []byte
	Salt []byte
}

func (db *DB) InvestigatorAPIKeyAuthHelpers() (ret []apiKeyHelper, err error) {
	rows, err := db.c.Query(`SELECT id, apikey, apisalt FROM investigators
		WHERE apikey IS NOT NULL AND apisalt IS NOT NULL AND status='active'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h apiKeyHelper
		if err = rows.Scan(&h.ID, &h.Key, &h.Salt); err != nil {
			return nil, err
		}
		ret = append(ret, h)
	}
	return ret, rows.Err()
}

func (db *DB) InvestigatorByActionID(aid float64) (invs []Investigator, err error) {
	rows, err := db.c.Query(`SELECT investigators.id, investigators.name, investigators.pgpfingerprint,
		investigators.status, investigators.createdat, investigators.lastmodified,
		investigators.permissions
		FROM investigators, signatures
		WHERE signatures.actionid=$1 AND signatures.investigatorid=investigators.id`, aid)
	if err != nil {
		return nil, err
	}
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

// ------------------------------------------------------------------------
// agents
// ------------------------------------------------------------------------

func (db *DB) AgentByQueueAndPID(queueloc string, pid int) (agent Agent, err error) {
	err = db.c.QueryRow(`SELECT id, name, queueloc, mode, version, pid, starttime, heartbeattime,
		refreshtime, status FROM agents WHERE queueloc=$1 AND pid=$2 AND status!=$3`,
		queueloc, pid, "offline").Scan(&agent.ID, &agent.Name, &agent.QueueLoc, &agent.Mode,
		&agent.Version, &agent.PID, &agent.StartTime, &agent.HeartBeatTS, &agent.RefreshTS,
		&agent.Status)
	return
}

func (db *DB) AgentByID(id float64) (agent Agent, err error) {
	var jTags, jEnv []byte
	err = db.c.QueryRow(`SELECT id, name, queueloc, mode, version, pid, starttime, heartbeattime,
		refreshtime, status, tags, environment FROM agents WHERE id=$1`, id).Scan(&agent.ID,
		&agent.Name, &agent.QueueLoc, &agent.Mode, &agent.Version, &agent.PID, &agent.StartTime,
		&agent.HeartBeatTS, &agent.RefreshTS, &agent.Status, &jTags, &jEnv)
	if err != nil {
		return
	}
	err = unmarshalAll(jTags, &agent.Tags, jEnv, &agent.Env)
	return
}

type execer interface {
	Exec(query string, args ...interface{}) (sql.Result, error)
}

// InsertAgent makes the agent's id (GenID) and reads its loader by queue
func (db *DB) InsertAgent(agt Agent, id float64, tx *sql.Tx) error {
	jEnv, err := json.Marshal(agt.Env)
	if err != nil {
		return err
	}
	jTags, err := json.Marshal(agt.Tags)
	if err != nil {
		return err
	}
	var e execer = db.c
	if tx != nil {
		e = tx
	}
	_, err = e.Exec(`INSERT INTO agents
		(id, name, queueloc, mode, version, pid, starttime, destructiontime,
		heartbeattime, refreshtime, status, environment, tags, loadername)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
		(SELECT loadername FROM loaders WHERE queueloc = $14 LIMIT 1))`,
		id, agt.Name, agt.QueueLoc, agt.Mode, agt.Version, agt.PID,
		agt.StartTime, agt.DestructionTime, agt.HeartBeatTS, agt.RefreshTS,
		agt.Status, jEnv, jTags, agt.QueueLoc)
	return err
}

func (db *DB) UpdateAgentHeartbeat(agt Agent) error {
	_, err := db.c.Exec(`UPDATE agents SET status=$1, heartbeattime=$2,
		loadername=(SELECT loadername FROM loaders WHERE queueloc = $3 LIMIT 1)
		WHERE id=$4`, "online", agt.HeartBeatTS, agt.QueueLoc, agt.ID)
	return err
}

// ReplaceRefreshedAgent: the old row offline and a new one, in one transaction
func (db *DB) ReplaceRefreshedAgent(agt Agent, newid float64) error {
	tx, err := db.c.Begin()
	if err != nil {
		return err
	}
	if _, err = tx.Exec(`UPDATE agents SET status=$1 WHERE id=$2`, "offline", agt.ID); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err = db.InsertAgent(agt, newid, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (db *DB) ListMultiAgentsQueues(pointInTime time.Time) (queues []string, err error) {
	rows, err := db.c.Query(`SELECT queueloc FROM agents WHERE heartbeattime > $1 AND mode != 'checkin'
		GROUP BY queueloc HAVING COUNT(queueloc) > 1`, pointInTime)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var q string
		if err = rows.Scan(&q); err != nil {
			return nil, err
		}
		queues = append(queues, q)
	}
	return queues, rows.Err()
}

func (db *DB) ActiveAgentsByQueue(queueloc string, pointInTime time.Time) (agents []Agent, err error) {
	rows, err := db.c.Query(`SELECT id, name, queueloc, mode, version, pid, starttime, heartbeattime,
		refreshtime, status FROM agents
		WHERE agents.heartbeattime > $1 AND agents.queueloc=$2 AND agents.status!=$3`,
		pointInTime, queueloc, "offline")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Agent
		if err = rows.Scan(&a.ID, &a.Name, &a.QueueLoc, &a.Mode, &a.Version, &a.PID, &a.StartTime,
			&a.HeartBeatTS, &a.RefreshTS, &a.Status); err != nil {
			return nil, err
		}
		agents = append(agents, a)
	}
	return agents, rows.Err()
}

// ActiveAgentsByTarget runs the target as migreadonly, in a transaction
func (db *DB) ActiveAgentsByTarget(target string) (agents []Agent, err error) {
	var dbuser string
	if err = db.c.QueryRow("SELECT CURRENT_USER").Scan(&dbuser); err != nil {
		return
	}
	txn, err := db.c.Begin()
	if err != nil {
		return
	}
	if _, err = txn.Exec(`SET ROLE migreadonly`); err != nil {
		_ = txn.Rollback()
		return
	}
	rows, err := txn.Query(fmt.Sprintf(`SELECT DISTINCT ON (queueloc) id, name, queueloc,
		version, pid, starttime, destructiontime, heartbeattime, refreshtime, status,
		mode, environment, tags, loadername
		FROM agents WHERE agents.status IN ('%s', '%s') AND (%s)
		ORDER BY agents.queueloc ASC`, "online", "idle", target))
	if err != nil {
		_ = txn.Rollback()
		return
	}
	for rows.Next() {
		var (
			a           Agent
			jEnv, jTags []byte
			loaderName  sql.NullString
		)
		if err = rows.Scan(&a.ID, &a.Name, &a.QueueLoc, &a.Version, &a.PID, &a.StartTime,
			&a.DestructionTime, &a.HeartBeatTS, &a.RefreshTS, &a.Status, &a.Mode, &jEnv, &jTags,
			&loaderName); err != nil {
			rows.Close()
			_ = txn.Rollback()
			return
		}
		if err = unmarshalAll(jTags, &a.Tags, jEnv, &a.Env); err != nil {
			rows.Close()
			_ = txn.Rollback()
			return
		}
		if loaderName.Valid {
			a.LoaderName = loaderName.String
		}
		agents = append(agents, a)
	}
	rows.Close()
	if _, err = txn.Exec(`SET ROLE ` + dbuser); err != nil {
		_ = txn.Rollback()
		return
	}
	err = txn.Commit()
	return
}

func (db *DB) MarkAgentDestroyed(agent Agent) error {
	_, err := db.c.Exec(`UPDATE agents SET destructiontime=$1, status=$2 WHERE id=$3`,
		time.Now(), "destroyed", agent.ID)
	return err
}

func (db *DB) MarkOfflineAgents(pointInTime time.Time) error {
	_, err := db.c.Exec(`UPDATE agents SET status=$1 WHERE heartbeattime<$2 AND status=$3`,
		"offline", pointInTime, "idle")
	return err
}

func (db *DB) MarkIdleAgents(pointInTime time.Time) error {
	_, err := db.c.Exec(`UPDATE agents SET status=$1 WHERE heartbeattime<$2 AND status=$3`,
		"idle", pointInTime, "online")
	return err
}

func (db *DB) sumByVersion(query string, args ...interface{}) (sums []AgentsVersionsSum, err error) {
	rows, err := db.c.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s AgentsVersionsSum
		if err = rows.Scan(&s.Count, &s.Version); err != nil {
			return nil, err
		}
		sums = append(sums, s)
	}
	return sums, rows.Err()
}

func (db *DB) SumOnlineAgentsByVersion() ([]AgentsVersionsSum, error) {
	return db.sumByVersion(`SELECT COUNT(*), version FROM agents
		WHERE agents.status=$1 GROUP BY version`, "online")
}

func (db *DB) SumIdleAgentsByVersion() ([]AgentsVersionsSum, error) {
	return db.sumByVersion(`SELECT COUNT(*), version FROM agents
		WHERE agents.status=$1 AND agents.queueloc NOT IN (
			SELECT distinct(queueloc) FROM agents WHERE agents.status=$2)
		GROUP BY version`, "idle", "online")
}

func (db *DB) count(query string, args ...interface{}) (sum float64, err error) {
	err = db.c.QueryRow(query, args...).Scan(&sum)
	return
}

func (db *DB) CountOnlineEndpoints() (float64, error) {
	return db.count(`SELECT COUNT(DISTINCT(queueloc)) FROM agents WHERE status=$1`, "online")
}

func (db *DB) CountIdleEndpoints() (float64, error) {
	return db.count(`SELECT COUNT(*) FROM (
		SELECT queueloc FROM agents WHERE status=$1 AND queueloc NOT IN (
			SELECT queueloc FROM agents WHERE status=$2 GROUP BY queueloc
		) GROUP BY queueloc ) AS idleendpoints`, "idle", "online")
}

func (db *DB) CountNewEndpoints(recent, old time.Time) (float64, error) {
	return db.count(`SELECT COUNT(*) FROM (
		SELECT queueloc FROM agents WHERE queueloc NOT IN (
			SELECT queueloc FROM agents WHERE heartbeattime > $2 AND heartbeattime < $1
			GROUP BY queueloc
		) AND starttime > $1 GROUP BY queueloc )AS newendpoints`, recent, old)
}

func (db *DB) CountDoubleAgents() (float64, error) {
	return db.count(`SELECT COUNT(*) FROM (
		SELECT queueloc FROM agents WHERE queueloc IN (
			SELECT queueloc FROM agents WHERE status=$1 GROUP BY queueloc HAVING count(queueloc) > 1
		) GROUP BY queueloc ) AS doubleagents`, "online")
}

func (db *DB) CountDisappearedEndpoints(pointInTime time.Time) (float64, error) {
	return db.count(`SELECT COUNT(*) FROM (
		SELECT queueloc FROM agents WHERE queueloc NOT IN (
			SELECT queueloc FROM agents WHERE status=$1 OR status=$2 GROUP BY queueloc
		) AND heartbeattime > $3 GROUP BY queueloc) AS disappeared`, "idle", "online", pointInTime)
}

func (db *DB) CountFlappingEndpoints() (float64, error) {
	return db.count(`SELECT COUNT(*) FROM (
		SELECT queueloc FROM agents WHERE status=$1 OR status=$2
		GROUP BY queueloc HAVING count(queueloc) > 1 ) AS flapping`, "online", "idle")
}

func (db *DB) GetDisappearedEndpoints(oldest time.Time) (queues []string, err error) {
	rows, err := db.c.Query(`SELECT queueloc FROM agents WHERE status='offline' AND heartbeattime > $1
		AND queueloc NOT IN ( SELECT queueloc FROM agents WHERE status='idle' or status='online'
		GROUP BY queueloc ) GROUP BY queueloc`, oldest)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var q string
		if err = rows.Scan(&q); err != nil {
			return nil, err
		}
		queues = append(queues, q)
	}
	return queues, rows.Err()
}

func (db *DB) StoreAgentsStats(s AgentsStats) error {
	jOnl, err := json.Marshal(s.OnlineAgentsByVersion)
	if err != nil {
		return err
	}
	jIdl, err := json.Marshal(s.IdleAgentsByVersion)
	if err != nil {
		return err
	}
	_, err = db.c.Exec(`INSERT INTO agents_stats
		(timestamp, online_agents, online_agents_by_version, online_endpoints, idle_agents,
		idle_agents_by_version, idle_endpoints, new_endpoints, multi_agents_endpoints,
		disappeared_endpoints, flapping_endpoints)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, time.Now().UTC(),
		s.OnlineAgents, jOnl, s.OnlineEndpoints, s.IdleAgents, jIdl, s.IdleEndpoints,
		s.NewEndpoints, s.MultiAgentsEndpoints, s.DisappearedEndpoints, s.FlappingEndpoints)
	return err
}

func (db *DB) GetAgentsStats(limit int) (stats []AgentsStats, err error) {
	rows, err := db.c.Query(`SELECT timestamp, online_agents, online_agents_by_version,
		online_endpoints, idle_agents, idle_agents_by_version, idle_endpoints, new_endpoints,
		multi_agents_endpoints, disappeared_endpoints, flapping_endpoints
		FROM agents_stats ORDER BY timestamp DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s AgentsStats
		var jOnl, jIdl []byte
		if err = rows.Scan(&s.Timestamp, &s.OnlineAgents, &jOnl, &s.OnlineEndpoints, &s.IdleAgents,
			&jIdl, &s.IdleEndpoints, &s.NewEndpoints, &s.MultiAgentsEndpoints,
			&s.DisappearedEndpoints, &s.FlappingEndpoints); err != nil {
			return nil, err
		}
		if err = unmarshalAll(jOnl, &s.OnlineAgentsByVersion, jIdl, &s.IdleAgentsByVersion); err != nil {
			return nil, err
		}
		stats = append(stats, s)
	}
	return stats, rows.Err()
}

// ------------------------------------------------------------------------
// actions
// ------------------------------------------------------------------------

const actionColumns = `id, name, target, description, threat, operations, validfrom, expireafter,
	starttime, finishtime, lastupdatetime, status, pgpsignatures, syntaxversion`

type scanner interface {
	Scan(dest ...interface{}) error
}

// a full action as MIG reads one: no NULL anywhere
func scanAction(row scanner) (a Action, err error) {
	var jDesc, jThreat, jOps, jSig []byte
	if err = row.Scan(&a.ID, &a.Name, &a.Target, &jDesc, &jThreat, &jOps, &a.ValidFrom,
		&a.ExpireAfter, &a.StartTime, &a.FinishTime, &a.LastUpdateTime, &a.Status, &jSig,
		&a.SyntaxVersion); err != nil {
		return
	}
	err = unmarshalAll(jDesc, &a.Description, jThreat, &a.Threat, jOps, &a.Operations,
		jSig, &a.PGPSignatures)
	return
}

func (db *DB) LastActions(limit int) (actions []Action, err error) {
	rows, err := db.c.Query(`SELECT `+actionColumns+` FROM actions ORDER BY starttime DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		actions = append(actions, a)
	}
	return actions, rows.Err()
}

func (db *DB) ActionByID(id float64) (Action, error) {
	return scanAction(db.c.QueryRow(`SELECT `+actionColumns+` FROM actions WHERE id=$1`, id))
}

func (db *DB) ActionMetaByID(id float64) (a Action, err error) {
	err = db.c.QueryRow(`SELECT id, name, validfrom, expireafter, starttime, finishtime, lastupdatetime,
		status FROM actions WHERE id=$1`, id).Scan(&a.ID, &a.Name, &a.ValidFrom, &a.ExpireAfter,
		&a.StartTime, &a.FinishTime, &a.LastUpdateTime, &a.Status)
	return
}

func (db *DB) InsertAction(a Action) error {
	jDesc, err := json.Marshal(a.Description)
	if err != nil {
		return err
	}
	jThreat, err := json.Marshal(a.Threat)
	if err != nil {
		return err
	}
	jOps, err := json.Marshal(a.Operations)
	if err != nil {
		return err
	}
	jSig, err := json.Marshal(a.PGPSignatures)
	if err != nil {
		return err
	}
	_, err = db.c.Exec(`INSERT INTO actions
		(id, name, target, description, threat, operations, validfrom, expireafter, starttime,
		finishtime, lastupdatetime, status, pgpsignatures, syntaxversion)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		a.ID, a.Name, a.Target, jDesc, jThreat, jOps, a.ValidFrom, a.ExpireAfter, a.StartTime,
		a.FinishTime, a.LastUpdateTime, a.Status, jSig, a.SyntaxVersion)
	return err
}

func (db *DB) UpdateAction(a Action) error {
	_, err := db.c.Exec(`UPDATE actions SET (starttime, lastupdatetime, status) = ($2, $3, $4)
		WHERE id=$1`, a.ID, a.StartTime, a.LastUpdateTime, a.Status)
	return err
}

// InsertOrUpdateAction: inserted is true when the row was new
func (db *DB) InsertOrUpdateAction(a Action) (inserted bool, err error) {
	var id float64
	err = db.c.QueryRow(`SELECT id FROM actions WHERE id=$1`, a.ID).Scan(&id)
	if err != nil && err != sql.ErrNoRows {
		return false, err
	}
	if err == sql.ErrNoRows {
		return true, db.InsertAction(a)
	}
	return false, db.UpdateAction(a)
}

// UpdateActionStatus and UpdateRunningAction: single-column row
// assignments, refused by PostgreSQL 10 and later whatever the schema
func (db *DB) UpdateActionStatus(a Action) error {
	_, err := db.c.Exec(`UPDATE actions SET (status) = ($2) WHERE id=$1`, a.ID, a.Status)
	return err
}

func (db *DB) UpdateRunningAction(a Action) error {
	_, err := db.c.Exec(`UPDATE actions SET (lastupdatetime) = ($2) WHERE id=$1`, a.ID, a.LastUpdateTime)
	return err
}

func (db *DB) FinishAction(a Action) error {
	a.Status = "completed"
	_, err := db.c.Exec(`UPDATE actions SET (finishtime, lastupdatetime, status) = ($1, $2, $3)
		WHERE id=$4`, a.FinishTime, a.LastUpdateTime, a.Status, a.ID)
	return err
}

func (db *DB) InsertSignature(aid, iid float64, sig string) error {
	_, err := db.c.Exec(`INSERT INTO signatures(actionid, investigatorid, pgpsignature)
		VALUES($1, $2, $3)`, aid, iid, sig)
	return err
}

func (db *DB) GetActionCounters(aid float64) (c ActionCounters, err error) {
	rows, err := db.c.Query(`SELECT DISTINCT(status), COUNT(id) FROM commands
		WHERE actionid = $1 GROUP BY status`, aid)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var count int
		var status string
		if err = rows.Scan(&status, &count); err != nil {
			return c, err
		}
		switch status {
		case "sent":
			c.InFlight = count
			c.Sent += count
		case "success":
			c.Success = count
			c.Done += count
			c.Sent += count
		case "cancelled":
			c.Cancelled = count
			c.Done += count
			c.Sent += count
		case "expired":
			c.Expired = count
			c.Done += count
			c.Sent += count
		case "failed":
			c.Failed = count
			c.Done += count
			c.Sent += count
		case "timeout":
			c.TimeOut = count
			c.Done += count
			c.Sent += count
		}
	}
	return c, rows.Err()
}

func (db *DB) SetupRunnableActions() (actions []Action, err error) {
	rows, err := db.c.Query(`UPDATE actions SET status='scheduled'
		WHERE status='pending' AND validfrom < NOW() AND expireafter > NOW()
		RETURNING id, name, target, description, threat, operations, validfrom, expireafter,
		status, pgpsignatures, syntaxversion`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a Action
		var jDesc, jThreat, jOps, jSig []byte
		if err = rows.Scan(&a.ID, &a.Name, &a.Target, &jDesc, &jThreat, &jOps, &a.ValidFrom,
			&a.ExpireAfter, &a.Status, &jSig, &a.SyntaxVersion); err != nil {
			return nil, err
		}
		if err = unmarshalAll(jDesc, &a.Description, jThreat, &a.Threat, jOps, &a.Operations,
			jSig, &a.PGPSignatures); err != nil {
			return nil, err
		}
		actions = append(actions, a)
	}
	return actions, rows.Err()
}

// ------------------------------------------------------------------------
// commands
// ------------------------------------------------------------------------

// InsertCommands: one multi-row statement for a batch, prepared; the
// finish time is MIG's 9998-01-11 11:11:11 (whatever the command says)
func (db *DB) InsertCommands(cmds []Command, tx *sql.Tx) (int64, error) {
	q := "INSERT INTO commands (id, actionid, agentid, status, starttime, finishtime, results) VALUES "
	vals := []interface{}{}
	step := 0
	for i, cmd := range cmds {
		jRes, err := json.Marshal(cmd.Results)
		if err != nil {
			return int64(i), err
		}
		if i > 0 {
			q += ", "
		}
		q += fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d, $%d)",
			i+1+step, i+2+step, i+3+step, i+4+step, i+5+step, i+6+step, i+7+step)
		vals = append(vals, cmd.ID, cmd.Action.ID, cmd.Agent.ID, cmd.Status, cmd.StartTime, futureDate, jRes)
		step += 6
	}
	var stmt *sql.Stmt
	var err error
	if tx != nil {
		stmt, err = tx.Prepare(q)
	} else {
		stmt, err = db.c.Prepare(q)
	}
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	res, err := stmt.Exec(vals...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// FinishCommand: exactly one row, unless the command is already a
// success or its agent is no longer at its queue and pid
func (db *DB) FinishCommand(cmd Command) error {
	jRes, err := json.Marshal(cmd.Results)
	if err != nil {
		return err
	}
	jRes = bytes.Replace(jRes, []byte("\\u0000"), []byte("NULL"), -1)
	res, err := db.c.Exec(`UPDATE commands SET status=$1, results=$2, finishtime=$3
		WHERE id=$4 AND status!=$5 AND agentid IN (
			SELECT id FROM agents
			WHERE agents.queueloc=$6 AND agents.pid=$7 AND status IN ('online','idle')
		)`, cmd.Status, jRes, cmd.FinishTime, cmd.ID, "success", cmd.Agent.QueueLoc, cmd.Agent.PID)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("Failed to finish command status correctly, %d rows affected", n)
	}
	return nil
}

const commandActionColumns = `commands.id, commands.status, commands.results, commands.starttime,
	commands.finishtime, actions.id, actions.name, actions.target, actions.description,
	actions.threat, actions.operations, actions.validfrom, actions.expireafter,
	actions.pgpsignatures, actions.syntaxversion`

func scanCommandAction(row scanner, agentDest ...interface{}) (cmd Command, err error) {
	var jRes, jDesc, jThreat, jOps, jSig []byte
	dest := []interface{}{&cmd.ID, &cmd.Status, &jRes, &cmd.StartTime, &cmd.FinishTime,
		&cmd.Action.ID, &cmd.Action.Name, &cmd.Action.Target, &jDesc, &jThreat, &jOps,
		&cmd.Action.ValidFrom, &cmd.Action.ExpireAfter, &jSig, &cmd.Action.SyntaxVersion}
	if err = row.Scan(append(dest, agentDest...)...); err != nil {
		return
	}
	err = unmarshalAll(jRes, &cmd.Results, jDesc, &cmd.Action.Description, jThreat,
		&cmd.Action.Threat, jOps, &cmd.Action.Operations, jSig, &cmd.Action.PGPSignatures)
	return
}

func (db *DB) CommandByID(id float64) (cmd Command, err error) {
	var agt Agent
	cmd, err = scanCommandAction(db.c.QueryRow(`SELECT `+commandActionColumns+`,
		agents.id, agents.name, agents.queueloc, agents.mode, agents.version
		FROM commands, actions, agents
		WHERE commands.id=$1 AND commands.actionid = actions.id AND commands.agentid = agents.id`, id),
		&agt.ID, &agt.Name, &agt.QueueLoc, &agt.Mode, &agt.Version)
	cmd.Agent = agt
	return
}

func (db *DB) CommandsByActionID(aid float64) (cmds []Command, err error) {
	rows, err := db.c.Query(`SELECT `+commandActionColumns+`, agents.id, agents.name, agents.version
		FROM commands, actions, agents
		WHERE commands.actionid=actions.id AND commands.agentid=agents.id AND actions.id=$1`, aid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var agt Agent
		cmd, err := scanCommandAction(rows, &agt.ID, &agt.Name, &agt.Version)
		if err != nil {
			return nil, err
		}
		cmd.Agent = agt
		cmds = append(cmds, cmd)
	}
	return cmds, rows.Err()
}

// ------------------------------------------------------------------------
// loaders and manifests (mig-api)
// ------------------------------------------------------------------------

func (db *DB) LoaderAdd(le LoaderEntry, hashkey, salt []byte) (id float64, err error) {
	var eval sql.NullString
	if le.ExpectEnv != "" {
		eval = sql.NullString{String: le.ExpectEnv, Valid: true}
	}
	err = db.c.QueryRow(`INSERT INTO loaders
		(loadername, keyprefix, loaderkey, salt, lastseen, enabled, expectenv)
		VALUES ($1, $2, $3, $4, now(), FALSE, $5) RETURNING id`,
		le.Name, le.Prefix, hashkey, salt, eval).Scan(&id)
	return
}

func (db *DB) GetLoaderFromID(lid float64) (le LoaderEntry, err error) {
	var name, expectenv sql.NullString
	err = db.c.QueryRow(`SELECT id, loadername, keyprefix, name, lastseen, enabled, expectenv
		FROM loaders WHERE id=$1`, lid).Scan(&le.ID, &le.Name, &le.Prefix, &name, &le.LastSeen,
		&le.Enabled, &expectenv)
	le.AgentName, le.ExpectEnv = name.String, expectenv.String
	return
}

func (db *DB) LoaderUpdateStatus(lid float64, status bool) error {
	_, err := db.c.Exec(`UPDATE loaders SET enabled=$1 WHERE id=$2`, status, lid)
	return err
}

func (db *DB) LoaderUpdateExpect(lid float64, eval string) error {
	eset := sql.NullString{String: eval, Valid: eval != ""}
	_, err := db.c.Exec(`UPDATE loaders SET expectenv=$1 WHERE id=$2`, eset, lid)
	return err
}

func (db *DB) LoaderUpdateKey(lid float64, hashkey, salt []byte) error {
	_, err := db.c.Exec(`UPDATE loaders SET loaderkey=$1, salt=$2 WHERE id=$3`, hashkey, salt, lid)
	return err
}

func (db *DB) GetLoaderAuthDetails(prefix string) (id float64, salt, hash []byte, err error) {
	err = db.c.QueryRow(`SELECT id, salt, loaderkey FROM loaders WHERE keyprefix=$1 AND enabled=TRUE`,
		prefix).Scan(&id, &salt, &hash)
	return
}

// GetLoaderEntryID: the key sent as a string, which lib/pq encodes as
// bytea hex (the server infers bytea)
func (db *DB) GetLoaderEntryID(key string) (id float64, err error) {
	err = db.c.QueryRow(`SELECT id FROM loaders WHERE loaderkey=$1 AND enabled=TRUE`, key).Scan(&id)
	return
}

func (db *DB) GetLoaderName(lid float64) (name string, err error) {
	err = db.c.QueryRow(`SELECT loadername FROM loaders WHERE id=$1 AND enabled=TRUE`, lid).Scan(&name)
	return
}

func (db *DB) UpdateLoaderEntry(lid float64, agt Agent) error {
	jEnv, err := json.Marshal(agt.Env)
	if err != nil {
		return err
	}
	jTags, err := json.Marshal(agt.Tags)
	if err != nil {
		return err
	}
	_, err = db.c.Exec(`UPDATE loaders SET name=$1, env=$2, tags=$3, queueloc=NULLIF($4, ''),
		lastseen=now() WHERE id=$5`, agt.Name, jEnv, jTags, agt.QueueLoc, lid)
	return err
}

// CompareLoaderExpectEnv runs the loader's expected environment as
// migreadonly
func (db *DB) CompareLoaderExpectEnv(lid float64) error {
	var expectenv sql.NullString
	var result bool
	txn, err := db.c.Begin()
	if err != nil {
		return err
	}
	defer txn.Rollback()
	if _, err = txn.Exec("SET LOCAL ROLE migreadonly"); err != nil {
		return err
	}
	if err = txn.QueryRow(`SELECT expectenv FROM loaders WHERE id=$1`, lid).Scan(&expectenv); err != nil {
		return err
	}
	if expectenv.Valid && expectenv.String != "" {
		if err = txn.QueryRow(fmt.Sprintf("SELECT TRUE FROM loaders WHERE id=$1 AND %v",
			expectenv.String), lid).Scan(&result); err != nil {
			return err
		}
	}
	return txn.Commit()
}

func (db *DB) ManifestAdd(m Manifest) error {
	_, err := db.c.Exec(`INSERT INTO manifests VALUES (DEFAULT, $1, $2, now(), 'staged', $3)`,
		m.Name, m.Content, m.Target)
	return err
}

func (db *DB) ManifestAddSignature(mid float64, sig string, invid float64) error {
	_, err := db.c.Exec(`INSERT INTO manifestsig (manifestid, pgpsignature, investigatorid)
		SELECT $1, $2, $3 WHERE EXISTS (SELECT id FROM manifests WHERE id=$4 AND status!='disabled')`,
		mid, sig, invid, mid)
	return err
}

func (db *DB) ManifestUpdateStatus(mid float64, required int) (status string, err error) {
	var cnt int
	if err = db.c.QueryRow(`SELECT COUNT(*) FROM manifestsig WHERE manifestid=$1`, mid).Scan(&cnt); err != nil {
		return
	}
	status = "staged"
	if cnt >= required {
		status = "active"
	}
	_, err = db.c.Exec(`UPDATE manifests SET status=$1 WHERE id=$2 AND status!='disabled'`, status, mid)
	return
}

func (db *DB) ManifestClearSignatures(mid float64) error {
	_, err := db.c.Exec(`DELETE FROM manifestsig WHERE manifestid=$1`, mid)
	return err
}

func (db *DB) ManifestDisable(mid float64) error {
	_, err := db.c.Exec(`UPDATE manifests SET status='disabled' WHERE id=$1`, mid)
	return err
}

func (db *DB) GetManifestFromID(mid float64) (m Manifest, err error) {
	err = db.c.QueryRow(`SELECT id, name, content, timestamp, status, target FROM manifests
		WHERE id=$1`, mid).Scan(&m.ID, &m.Name, &m.Content, &m.Timestamp, &m.Status, &m.Target)
	if err != nil {
		return
	}
	rows, err := db.c.Query(`SELECT pgpsignature FROM manifestsig WHERE manifestid=$1`, mid)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err = rows.Scan(&s); err != nil {
			return
		}
		m.Signatures = append(m.Signatures, s)
	}
	err = rows.Err()
	return
}

// ManifestIDFromLoaderID runs each active manifest's target on the loader
func (db *DB) ManifestIDFromLoaderID(lid float64) (float64, error) {
	rows, err := db.c.Query(`SELECT id, target FROM manifests WHERE status='active' ORDER BY timestamp DESC`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id float64
		var mtarg string
		if err = rows.Scan(&id, &mtarg); err != nil {
			return 0, err
		}
		tr, err := db.c.Query(fmt.Sprintf("SELECT 1 FROM loaders WHERE id=$1 AND %v", mtarg), lid)
		if err != nil {
			return 0, err
		}
		found := tr.Next()
		tr.Close()
		if found {
			return id, nil
		}
	}
	if err = rows.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("No matching manifest was found for loader entry")
}

func (db *DB) AllLoadersFromManifestID(mid float64) (ret []LoaderEntry, err error) {
	var mtarg string
	if err = db.c.QueryRow(`SELECT target FROM manifests WHERE (status='active' OR status='staged')
		AND id=$1`, mid).Scan(&mtarg); err != nil {
		return
	}
	rows, err := db.c.Query(fmt.Sprintf(`SELECT id, loadername, name, lastseen, enabled
		FROM loaders WHERE enabled=TRUE AND %v`, mtarg))
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var le LoaderEntry
		var agtname sql.NullString
		if err = rows.Scan(&le.ID, &le.Name, &agtname, &le.LastSeen, &le.Enabled); err != nil {
			return
		}
		le.AgentName = agtname.String
		ret = append(ret, le)
	}
	err = rows.Err()
	return
}
