-- mig_agent_heartbeat(): an agent from MIG's agent / heartbeat JSON.  The
-- agents row (the seed's columns and MIG's), how an agent without an id is
-- found or numbered, stale heartbeats, and bad input.
CREATE EXTENSION mig;
SET timezone = 'UTC';
SET datestyle = 'ISO';

CREATE VIEW agent_rows AS
	SELECT a.id, a.name, a.queueloc, a.os, a.version, a.pid, a.starttime,
		   a.destructiontime, a.heartbeattime, a.status,
		   a.mode, a.loadername, a.environment, a.tags, a.refreshtime, a.authorized
	  FROM agents a ORDER BY a.id;

-- Go's mig.Agent, as an agent sends it
SELECT mig_agent_heartbeat('{
  "id": 4611686018427387,
  "name": "web1.example.net",
  "queueloc": "linux.web1.example.net.a1b2c3",
  "mode": "daemon",
  "version": "20260101-0.a1b2c3d4.prod",
  "pid": 811,
  "loadername": "",
  "starttime": "2026-01-01T10:00:00.123456789+01:00",
  "destructiontime": "0001-01-01T00:00:00Z",
  "heartbeatts": "2026-01-02T00:00:00Z",
  "refreshts": "2026-01-01T12:00:00Z",
  "status": "online",
  "authorized": true,
  "environment": {"init": "systemd", "ident": "Debian GNU/Linux 12", "os": "linux",
				  "arch": "amd64", "isproxied": false, "addresses": ["10.0.0.5/16"]},
  "tags": {"operator": "IT", "weight": 0.1}
}');
SELECT * FROM agent_rows;

-- a later heartbeat updates it; an older one changes nothing
SELECT mig_agent_heartbeat('{"id": 4611686018427387, "name": "web1.example.net",
  "queueloc": "linux.web1.example.net.a1b2c3", "heartbeatts": "2026-01-02T00:05:00Z",
  "status": "idle", "environment": {"os": "linux"}}');
SELECT mig_agent_heartbeat('{"id": 4611686018427387, "name": "stale",
  "queueloc": "linux.web1.example.net.a1b2c3", "heartbeatts": "2026-01-01T00:00:00Z",
  "status": "offline"}');
SELECT id, name, os, status, heartbeattime, environment FROM agent_rows;

-- no id: the agent last heard from at that queue location, else a new one
SELECT mig_agent_heartbeat('{"name": "web1.example.net", "queueloc": "linux.web1.example.net.a1b2c3",
  "heartbeatts": "2026-01-02T00:10:00Z", "os": "linux"}') AS same_agent;
INSERT INTO agents VALUES (1, 'by hand', 'manual.q', 'linux', '1', 1,
  '2026-01-01 00:00:00+00', NULL, '2026-01-01 00:00:00+00', 'online');
SELECT mig_agent_heartbeat('{"name": "db1.example.net", "queueloc": "linux.db1.example.net.d4e5f6",
  "heartbeatts": "2026-01-02T00:00:00Z"}') AS new_agent;
SELECT mig_agent_heartbeat('{"name": "db1.example.net", "queueloc": "linux.db1.example.net.d4e5f6",
  "heartbeatts": "2026-01-02T00:01:00Z", "pid": 42}') AS again;
SELECT id, name, queueloc, os, version, pid, starttime, heartbeattime FROM agent_rows WHERE id < 100;

-- older agents: "os" at the top and "heartbeattime"
SELECT mig_agent_heartbeat('{"id": 77, "name": "old", "queueloc": "linux.old", "os": "darwin",
  "heartbeattime": "2026-01-02T00:00:00-05:00"}');
SELECT id, os, heartbeattime FROM agent_rows WHERE id = 77;

-- no heartbeat time: the time it arrives
BEGIN;
SELECT mig_agent_heartbeat('{"id": 78, "name": "now", "queueloc": "linux.now"}');
SELECT heartbeattime BETWEEN now() AND clock_timestamp() AS arrived_now FROM agents WHERE id = 78;
COMMIT;

-- a heartbeat that leaves out MIG's fields keeps what the row has: Go's
-- zero values for a new agent, the last ones said for a known one
SELECT mig_agent_heartbeat('{"id": 4611686018427387, "name": "web1.example.net",
  "queueloc": "linux.web1.example.net.a1b2c3", "heartbeatts": "2026-01-02T00:10:00Z"}');
SELECT id, mode, loadername, environment->>'arch' AS arch, tags, refreshtime, authorized
  FROM agent_rows WHERE id IN (4611686018427387, 78);

-- NULL in, NULL out
SELECT mig_agent_heartbeat(NULL);

-- bad input
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": ');
SELECT mig_agent_heartbeat('[1, 2]');
SELECT mig_agent_heartbeat('{"queueloc": "q"}');
SELECT mig_agent_heartbeat('{"name": "", "queueloc": "q"}');
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": "q", "pid": "12"}');
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": "q", "pid": 99999999999}');
SELECT mig_agent_heartbeat('{"id": -4, "name": "x", "queueloc": "q"}');
SELECT mig_agent_heartbeat('{"id": 1.5, "name": "x", "queueloc": "q"}');
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": "q", "heartbeatts": "yesterday"}');
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": "q", "environment": "linux"}');
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": "q", "authorized": "yes"}');
SELECT mig_agent_heartbeat('{"name": "x", "name": "y", "queueloc": "q"}');
-- the first name an object repeats, in the text's order, however many
-- members it has (their number once cost time quadratic in it)
SELECT mig_agent_heartbeat('{"b": 1, "environment": {"os": "linux", "os": "bsd"}, "b": 2,
  "name": "x", "queueloc": "q"}');
SELECT mig_agent_heartbeat(('{"name": "x", "queueloc": "q", ' ||
  (SELECT string_agg(format('"k%s": %s', i, i), ', ') FROM generate_series(1, 200000) i) ||
  ', "k7": 0, "k3": 0}')::json);
SELECT mig_agent_heartbeat('{"name": "x", "queueloc": "q", "pid": 1e400}');
SELECT mig_agent_heartbeat('{"name": "x\u0000y", "queueloc": "q"}');
SELECT mig_agent_heartbeat(json_build_object('name', repeat('x', 2049), 'queueloc', 'q'));

-- times to the microsecond as PostgreSQL rounds a fraction (as when MIG's
-- scheduler writes a Go time through lib/pq), except that a time never
-- rounds into the next second (what an action's signature holds)
CREATE TEMP TABLE times (n int, t text);
INSERT INTO times VALUES (1, '2026-01-02T03:04:05.123456789Z'), (2, '2026-01-02T03:04:05.0000005Z'),
  (3, '2026-01-02T03:04:05.0000015Z'), (4, '2026-01-02T03:04:05.9999994Z'),
  (5, '2026-01-02T03:04:05.9999995Z');
SELECT count(mig_agent_heartbeat(json_build_object('id', 90 + n, 'name', 'times',
         'queueloc', 'q' || n, 'starttime', t))) FROM times;
SELECT t, a.starttime AS mig, t::timestamptz AS postgresql
  FROM times JOIN agents a ON a.id = 90 + n ORDER BY n;

-- strings de-escaped as PostgreSQL's JSON parser de-escapes them (jsondoc.c
-- reads most documents with a scan of its own, held to that parser): the
-- name as mig stores it and as json gives it back, the environment verbatim
CREATE TEMP TABLE escaped (n int, s text);
INSERT INTO escaped VALUES (1, 'plain'), (2, 'q\" b\\ s\/ n\n r\r t\t b\b f\f'),
  (3, '\u0041\u00e9\u20ac\uD83D\uDE00\udbff\udfff'), (4, 'caf\u00E9 \u007f é 😀'),
  (5, '\u2028\u2029\u0001\u001F');
SELECT count(mig_agent_heartbeat(('{"id": ' || (100 + n) || ', "name": "' || s ||
         '", "queueloc": "e' || n || '", "environment": {"os": "' || s || '"}}')::json))
  FROM escaped;
SELECT n, octet_length(a.name) AS bytes, a.name = ('"' || s || '"')::json #>> '{}' AS as_json,
       a.environment->>'os' = a.name AS environment
  FROM escaped JOIN agents a ON a.id = 100 + n ORDER BY n;

DROP VIEW agent_rows;
DROP EXTENSION mig;
