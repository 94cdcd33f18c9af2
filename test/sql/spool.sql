-- mig_spool_sync(): one pass over a spool this test builds from MIG-shaped
-- JSON.  Both file formats, every directory, statuses that never move
-- backward, counters, deferral, every kind of bad file, and a second pass
-- that reads nothing again.
CREATE EXTENSION mig;
SET timezone = 'UTC';
SET datestyle = 'ISO';

-- a private spool, in the temporary instance's data directory (nothing
-- another run uses), and helpers to write into it (the server runs as the
-- tester, so COPY writes the files)
SELECT current_setting('data_directory') || '/mig_spool' AS spool \gset
SET mig_test.spool = :'spool';
CREATE PROCEDURE sh(cmd text) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('COPY (SELECT 1 WHERE false) TO PROGRAM %L',
				   format('mkdir -p %1$s && cd %1$s && %2$s', current_setting('mig_test.spool'), cmd));
END $$;
CREATE PROCEDURE put(rel text, body text) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('COPY (SELECT %L) TO %L (FORMAT csv, QUOTE %L, DELIMITER %L)', body,
				   current_setting('mig_test.spool') || '/' || rel, E'\x01', E'\x02');
END $$;
-- MIG's action and command JSON (Go's mig.Action and mig.Command)
CREATE FUNCTION act(id bigint, status text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'id', id, 'name', 'check sshd ' || id, 'target', 'status=''online''',
		'description', '{"author": "Alice", "revision": 2}'::jsonb,
		'threat', '{"level": "alert", "family": "test"}'::jsonb,
		'validfrom', '2026-01-02T03:04:05.5+01:00', 'expireafter', '2026-01-02T04:04:05Z',
		'operations', '[{"module": "file", "parameters": {"searches": {"s1": {"names": ["sshd"]}}}}]'::jsonb,
		'pgpsignatures', '["wsBcBAABCAAQBQJnAAAA=Xy1Z"]'::jsonb,
		'starttime', '2026-01-02T02:04:06Z', 'finishtime', '0001-01-01T00:00:00Z',
		'status', status, 'syntaxversion', 2))
$$;
CREATE FUNCTION cmd(id bigint, action_id bigint, status text, agent_id bigint DEFAULT 7)
RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'id', id, 'action', act(action_id, 'preparing'),
		'agent', jsonb_build_object('id', agent_id, 'name', 'host' || agent_id,
									'queueloc', 'linux.host' || agent_id, 'mode', 'daemon'),
		'status', status,
		'results', CASE WHEN status IN ('success', 'failed', 'timeout')
						THEN '[{"foundanything": true, "success": true, "elements": {"s1": [{"file": "/usr/sbin/sshd"}]}}]'::jsonb
						ELSE '[{"foundanything": false, "success": false}]'::jsonb END,
		'starttime', '2026-01-02T02:05:00Z',
		'finishtime', CASE WHEN status IN ('sent', 'prepared') OR status IS NULL
						   THEN '0001-01-01T00:00:00Z' ELSE '2026-01-02T02:06:00.123456789Z' END))
$$;
CREATE VIEW files AS
	SELECT substr(path, length(current_setting('mig_test.spool')) + 2) AS file,
		   outcome, objectid, error
	  FROM spool_files ORDER BY 1;
CREATE VIEW action_rows AS
	SELECT id, status, sentctr AS sent, returnedctr AS ret, donectr AS done,
		   cancelledctr AS canc, failedctr AS fail, timeoutctr AS tout
	  FROM actions ORDER BY id;

CALL sh(format('rm -rf %1$s && mkdir -p %1$s', :'spool'));
CALL sh('mkdir -p action/new action/inflight action/done action/invalid '
		  'command/ready command/inflight command/returned command/done');

-- two agents: one by id (MIG's agent object), one by queue location only
SELECT mig_agent_heartbeat('{"id": 7, "name": "host7", "queueloc": "linux.host7", "os": "linux",
  "version": "1", "pid": 11, "starttime": "2026-01-01T00:00:00Z", "heartbeatts": "2026-01-02T00:00:00Z"}');
SELECT mig_agent_heartbeat('{"id": 8, "name": "old8", "queueloc": "linux.old8.q", "environment": {"os": "linux"},
  "version": "1", "pid": 12, "starttime": "2026-01-01T00:00:00Z", "heartbeatts": "2026-01-02T00:00:00Z"}');

-- every directory; actions bare and wrapped, commands in both formats
CALL put('action/new/waiting.json', (act(1) - 'id')::text);				-- no id yet
CALL put('action/new/2.json', act(2)::text);
CALL put('action/inflight/3.json', jsonb_build_object('action', act(3, 'preparing'),
  'status', 'inflight', 'counters', '{"sent": 5, "done": 1}'::jsonb)::text);
CALL put('action/done/4.json', act(4, 'inflight')::text);				-- renamed, not rewritten
CALL put('action/invalid/5.json', jsonb_build_object('action', act(5), 'status', 'invalid')::text);
CALL put('command/ready/3-10.json', (cmd(10, 3, NULL))::text);
CALL put('command/inflight/3-11.json', cmd(11, 3, 'sent')::text);
CALL put('command/done/3-11.json', cmd(11, 3, 'success')::text);		-- the same command, later
CALL put('command/returned/6-12.json', (cmd(12, 6, 'timeout') - 'agent' ||
  '{"agentname": "old8", "agentqueueloc": "linux.old8.q"}')::text);	-- action 6 only embedded
CALL put('command/done/3-13.json', cmd(13, 3, 'failed', 99)::text);		-- agent 99 unknown
CALL put('command/done/3-14.json', cmd(14, 3, 'exploded')::text);		-- not MIG's: final
CALL put('command/done/3-15.json', cmd(15, 3, 'cancelled')::text);
CALL put('action/done/7.json', jsonb_build_object('action', act(7, 'inflight'),	-- old MIG
  'status', 'completed', 'finishtime', '2026-01-02T05:00:00Z', 'commandids', '[]'::jsonb,
  'counters', '{"sent": 0, "returned": 0}'::jsonb)::text);
CALL put('command/returned/1234567890', cmd(17, 3, 'timeout')::text);	-- named by its GenID
CALL put('command/returned/1234567890.fail', 'ignored: the scheduler could not read it');
CALL put('command/inflight/not-a-spool-file.txt', 'ignored');
CALL put('command/inflight/.3-16.json', 'ignored: hidden, a temporary file');

SELECT * FROM mig_spool_sync(:'spool');
SELECT * FROM files;
SELECT * FROM action_rows;
SELECT id, actionid, agentid, status, results IS NOT NULL AS has_results, starttime, finishtime
  FROM commands ORDER BY id;
-- the old wrapped form: the wrapper's status and times win
SELECT id, status, starttime, finishtime FROM actions WHERE id = 7;
-- what the action files held, verbatim where MIG writes JSON
SELECT id, name, target, description, validfrom, expireafter, starttime, finishtime,
	   operations, pgpsignatures, syntaxversion
  FROM actions WHERE id = 3;

-- a second pass reads nothing again; the deferred files are looked at anew
SELECT * FROM mig_spool_sync(:'spool');

-- the agent arrives: the next pass takes its command
SELECT mig_agent_heartbeat('{"id": 99, "name": "host99", "queueloc": "linux.host99",
  "heartbeatts": "2026-01-02T00:00:00Z"}');
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome FROM files WHERE file LIKE 'command/done/3-13%';
SELECT * FROM action_rows WHERE id = 3;

-- statuses never move backward: a later "sent" copy changes nothing, a
-- status MIG does not know is final, and an action back in new/ stays done
CALL put('command/inflight/3-11.json', cmd(11, 3, 'sent')::text || '  ');
CALL put('command/inflight/3-14.json', cmd(14, 3, 'sent')::text);
CALL put('action/new/4.json', act(4)::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome FROM files
 WHERE file IN ('command/inflight/3-11.json', 'command/inflight/3-14.json', 'action/new/4.json');
SELECT id, status FROM commands WHERE id IN (11, 14) ORDER BY id;
SELECT id, status FROM actions WHERE id = 4;
-- but a command moves on: ready -> done
CALL put('command/done/3-10.json', cmd(10, 3, 'success')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status FROM commands WHERE id = 10;
SELECT * FROM action_rows WHERE id = 3;

-- an action's signed fields never change once stored.  MIG's scheduler
-- lands an action in done/ from its metadata alone (no target, operations
-- or signatures): the row keeps them and takes the status and times
CALL put('action/done/2.json', jsonb_build_object('id', 2, 'name', 'check sshd 2', 'target', '',
  'validfrom', '2026-01-02T03:04:05.5+01:00', 'expireafter', '2026-01-02T04:04:05Z',
  'operations', NULL, 'pgpsignatures', NULL, 'status', 'done',
  'starttime', '2026-01-02T02:04:06Z', 'finishtime', '2026-01-02T05:00:00Z')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status, target, operations IS NOT NULL AS has_operations, pgpsignatures, finishtime
  FROM actions WHERE id = 2;
-- an empty array is a value (no operations, no signatures), not an absence
CALL put('action/new/61.json', jsonb_set(jsonb_set(act(61, 'pending'), '{operations}', '[]'),
  '{pgpsignatures}', '[]')::text);
SELECT * FROM mig_spool_sync(:'spool');
CALL put('action/done/61.json', jsonb_build_object('id', 61, 'name', 'check sshd 61', 'target', '',
  'validfrom', '2026-01-02T03:04:05.5+01:00', 'expireafter', '2026-01-02T04:04:05Z',
  'operations', NULL, 'pgpsignatures', NULL, 'status', 'done')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status, operations, pgpsignatures FROM actions WHERE id = 61;
CALL put('action/done/61.json', jsonb_set(act(61, 'done'), '{operations}', '[{"module": "file"}]')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome FROM files WHERE file LIKE 'action/%/61.json' ORDER BY 1;
SELECT id, operations FROM actions WHERE id = 61;
CALL sh('rm action/new/61.json action/done/61.json');
-- a file whose signed fields differ is refused, and the row kept
CALL put('action/done/2.json', jsonb_set(act(2, 'done'), '{target}', '"true"')::text);
CALL put('action/inflight/3.json', jsonb_set(act(3, 'inflight'), '{pgpsignatures}', '["other"]')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome, error FROM files WHERE file IN ('action/done/2.json', 'action/inflight/3.json');
SELECT id, target, pgpsignatures FROM actions WHERE id IN (2, 3) ORDER BY id;
CALL put('action/inflight/3.json', jsonb_build_object('action', act(3, 'preparing'),
  'status', 'inflight', 'counters', '{"sent": 5, "done": 1}'::jsonb)::text);
-- the same fields written otherwise (whitespace, key order) are the same
CALL put('action/done/2.json', replace(act(2, 'done')::text, ', ', ',  '));
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome FROM files WHERE file = 'action/done/2.json';
-- a final status is final: invalid stays invalid, completed stays
-- completed (done is its newer name: one rank), whatever a later file says
CALL put('action/done/5.json', act(5, 'done')::text);
CALL put('action/done/7.json', act(7, 'done')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status FROM actions WHERE id IN (5, 7) ORDER BY id;
-- MIG's statuses before the end, in the order its code sets them: pending,
-- scheduled (SetupRunnableActions), preparing, inflight
CALL put('action/new/60.json', act(60, 'scheduled')::text);
SELECT * FROM mig_spool_sync(:'spool');
CALL put('action/new/60.json', act(60, 'pending')::text || ' ');
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status FROM actions WHERE id = 60;
CALL put('action/new/60.json', act(60, 'preparing')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status FROM actions WHERE id = 60;
CALL sh('rm action/new/60.json');

-- files that went away: their rows go, nothing fails
CALL sh('rm command/inflight/3-11.json command/inflight/3-14.json');
SELECT * FROM mig_spool_sync(:'spool');
SELECT count(*) AS rows_left FROM files WHERE file LIKE 'command/inflight/3-1_.json';
-- many at once, more than a batch holds
SET mig.batch_size = 4;
DO $$
BEGIN
	FOR i IN 50..79 LOOP
		CALL put('command/inflight/3-' || i || '.json', cmd(i, 3, 'sent')::text);
	END LOOP;
END $$;
SELECT * FROM mig_spool_sync(:'spool');
CALL sh('rm command/inflight/3-[5-7]?.json');
SELECT * FROM mig_spool_sync(:'spool');
SELECT count(*) AS rows_left FROM files WHERE file ~ '^command/inflight/3-[5-7].\.json$';
SELECT count(*) AS commands_kept FROM commands WHERE id BETWEEN 50 AND 79;
RESET mig.batch_size;

-- bad files: one failed row each, and the good file among them is ingested
SET mig.max_file_size = '4kB';
CALL sh('ln -s /etc/passwd command/done/bad-symlink.json');
CALL sh('mkfifo command/done/bad-fifo.json');
CALL sh('mkdir command/done/bad-directory.json');
CALL put('command/done/bad-unreadable.json', cmd(20, 3, 'success')::text);
CALL sh('chmod 000 command/done/bad-unreadable.json');
CALL put('command/done/bad-too-big.json', jsonb_set(cmd(21, 3, 'success'), '{results}',
  jsonb_build_array(repeat('x', 5000)))::text);
CALL sh('printf ''{"id": "caf\351"}'' > command/done/bad-utf8.json');
CALL sh('printf ''{"id": 22}\000'' > command/done/bad-nul.json');
CALL sh(': > command/done/bad-empty.json');
CALL put('command/done/bad-truncated.json', left(cmd(23, 3, 'success')::text, 100));
CALL put('command/done/bad-not-json.json', 'id=24 status=success');
CALL put('command/done/bad-not-object.json', '[' || cmd(25, 3, 'success')::text || ']');
CALL put('command/done/bad-missing-action.json', (cmd(26, 3, 'success') - 'action')::text);
CALL put('command/done/bad-missing-status.json', (cmd(27, 3, 'success') - 'status')::text);
CALL put('command/done/bad-status-type.json', jsonb_set(cmd(28, 3, 'success'), '{status}', '5')::text);
CALL put('command/done/bad-id-type.json', jsonb_set(cmd(29, 3, 'success'), '{id}', '"29"')::text);
CALL put('command/done/bad-id-negative.json', jsonb_set(cmd(30, 3, 'success'), '{id}', '-30')::text);
CALL put('command/done/bad-id-fraction.json', jsonb_set(cmd(31, 3, 'success'), '{id}', '31.5')::text);
CALL put('command/done/bad-timestamp.json', jsonb_set(cmd(32, 3, 'success'), '{finishtime}', '"yesterday"')::text);
CALL put('command/done/bad-results.json', jsonb_set(cmd(33, 3, 'success'), '{results}', '{"not": "an array"}')::text);
CALL put('command/done/bad-no-agent.json', (cmd(34, 3, 'success') - 'agent')::text);
CALL put('command/done/bad-nested.json', jsonb_set(cmd(43, 3, 'success'), '{results}',
  (repeat('[', 300) || repeat(']', 300))::jsonb)::text);
CALL put('command/done/bad-nul-escape.json', replace(cmd(44, 3, 'success')::text,
  '"results": [', '"results": ["a\u0000b", '));
CALL put('command/done/bad-duplicate-key.json', '{"id": 35, ' || substr(cmd(35, 3, 'success')::text, 2));
CALL put('action/done/bad-action-name.json', jsonb_set(act(36), '{name}', 'null')::text);
CALL put('action/done/bad-action-validfrom.json', jsonb_set(act(37), '{validfrom}', '"2026-02-30T00:00:00Z"')::text);
CALL put('action/done/bad-action-no-id.json', (act(38) - 'id')::text);
CALL put('action/done/bad-action-signatures.json', jsonb_set(act(39), '{pgpsignatures}', '[1]')::text);
CALL put('action/done/bad-action-long-name.json', jsonb_set(act(40), '{name}', to_jsonb(repeat('n', 2049)))::text);
CALL put('command/done/3-16.json', cmd(16, 3, 'success')::text);		-- a good one
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome, error FROM files WHERE outcome = 'failed';
SELECT id, status FROM commands WHERE id = 16;

-- a bad file is not read again until it changes, and is counted failed by
-- every pass that finds it still there, as spool_files says; fixed, it is
-- ingested
SELECT * FROM mig_spool_sync(:'spool');
SELECT count(*) AS failed_rows FROM files WHERE outcome = 'failed';
CALL put('command/done/bad-truncated.json', cmd(23, 3, 'success')::text);
CALL sh('chmod 644 command/done/bad-unreadable.json');
SELECT * FROM mig_spool_sync(:'spool');
SELECT count(*) AS failed_rows FROM files WHERE outcome = 'failed';
SELECT file, outcome FROM files WHERE file IN ('command/done/bad-truncated.json',
										   'command/done/bad-unreadable.json');
RESET mig.max_file_size;

-- a directory that is a symbolic link is never entered, wherever it points:
-- one failed row for it (and a WARNING, its SQLSTATE shown: the message
-- names the spool), nothing read behind it, the rows of its files kept
CALL sh('mv command/returned command/returned.real && ln -s returned.real command/returned');
CALL put('command/returned.real/6-45.json', cmd(45, 6, 'timeout')::text);
CALL put('command/returned.real/secret.json', 'password=hunter2');
\set VERBOSITY sqlstate
SELECT * FROM mig_spool_sync(:'spool');
\set VERBOSITY default
SELECT file, outcome, error FROM files WHERE file LIKE 'command/returned%';
SELECT count(*) AS leaked FROM spool_files WHERE error LIKE '%hunter2%';
SELECT count(*) AS taken FROM commands WHERE id = 45;
-- a directory again: its row goes, and what is in it is read
CALL sh('rm command/returned command/returned.real/secret.json && '
		'mv command/returned.real command/returned');
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome FROM files WHERE file LIKE 'command/returned%';
CALL sh('rm command/returned/6-45.json');	-- as it was for what follows

-- the database refusing one file (here a trigger) fails that file only
CREATE FUNCTION refuse_41() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 41 THEN
		RAISE EXCEPTION 'command 41 is refused';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER refuse_41 BEFORE INSERT OR UPDATE ON commands
	FOR EACH ROW EXECUTE FUNCTION refuse_41();
CALL put('command/done/3-41.json', cmd(41, 3, 'success')::text);
CALL put('command/done/3-42.json', cmd(42, 3, 'success')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome, error FROM files WHERE file IN ('command/done/3-41.json', 'command/done/3-42.json');
-- it was not the file's fault: every pass tries it again
DROP TRIGGER refuse_41 ON commands;
SELECT * FROM mig_spool_sync(:'spool');
SELECT file, outcome FROM files WHERE file = 'command/done/3-41.json';
SELECT * FROM action_rows WHERE id = 3;

-- the counters are what commands holds, for every action
SELECT a.id
  FROM actions a LEFT JOIN commands c ON c.actionid = a.id
 GROUP BY a.id, a.sentctr, a.returnedctr, a.donectr, a.cancelledctr, a.failedctr, a.timeoutctr
HAVING (a.sentctr, a.returnedctr, a.donectr, a.cancelledctr, a.failedctr, a.timeoutctr) IS DISTINCT FROM
	   (count(c.id),
		count(c.id) FILTER (WHERE c.status NOT IN ('prepared', 'sent')),
		count(c.id) FILTER (WHERE c.status IN ('done', 'success')),
		count(c.id) FILTER (WHERE c.status = 'cancelled'),
		count(c.id) FILTER (WHERE c.status = 'failed'),
		count(c.id) FILTER (WHERE c.status = 'timeout'));

-- mig.spool_dir when no argument is given
SET mig.spool_dir = :'spool';
SELECT scanned > 0 AS scanned, ingested FROM mig_spool_sync();
RESET mig.spool_dir;

-- bad arguments
SELECT * FROM mig_spool_sync('relative/spool');
SELECT * FROM mig_spool_sync('/nonexistent/mig-spool');
SELECT * FROM mig_spool_sync('/etc/passwd');

-- reading the spool is reading server files
CREATE ROLE mig_spool_reader;
GRANT USAGE ON SCHEMA mig TO mig_spool_reader;
GRANT EXECUTE ON FUNCTION mig_spool_sync(text) TO mig_spool_reader;
SET ROLE mig_spool_reader;
SELECT * FROM mig_spool_sync(:'spool');
RESET ROLE;
-- with pg_read_server_files, it still needs the tables it writes
GRANT pg_read_server_files TO mig_spool_reader;
SET ROLE mig_spool_reader;
SELECT * FROM mig_spool_sync(:'spool');
RESET ROLE;
GRANT SELECT, INSERT, UPDATE, DELETE ON spool_files TO mig_spool_reader;
GRANT SELECT, INSERT, UPDATE ON actions, commands TO mig_spool_reader;
GRANT SELECT ON agents TO mig_spool_reader;
SET ROLE mig_spool_reader;
SELECT ingested FROM mig_spool_sync(:'spool');
RESET ROLE;
DROP OWNED BY mig_spool_reader;
REVOKE USAGE ON SCHEMA mig FROM mig_spool_reader;
DROP ROLE mig_spool_reader;

-- called with a search_path that does not hold mig's schema
DROP EXTENSION mig CASCADE;
CREATE EXTENSION mig;
SET search_path = pg_catalog, pg_temp;
SELECT mig.mig_agent_heartbeat('{"id": 7, "name": "host7", "queueloc": "linux.host7",
  "heartbeatts": "2026-01-02T00:00:00Z"}');
SELECT mig.mig_agent_heartbeat('{"id": 8, "name": "old8", "queueloc": "linux.old8.q",
  "heartbeatts": "2026-01-02T00:00:00Z"}');
SELECT mig.mig_agent_heartbeat('{"id": 99, "name": "host99", "queueloc": "linux.host99",
  "heartbeatts": "2026-01-02T00:00:00Z"}');
SELECT * FROM mig.mig_spool_sync(:'spool');
SELECT count(*) AS commands FROM mig.commands;
-- The pass's plans are made once and kept, for the table sizes of that
-- moment: here while spool_files is known to be empty, as in a spool's
-- first pass into a new database, which grows the table a batch at a time.
-- Its look-ups stay index scans however large the table has grown since.
DELETE FROM mig.spool_files;
VACUUM ANALYZE mig.spool_files;
SELECT scanned, unchanged FROM mig.mig_spool_sync(:'spool');
INSERT INTO mig.spool_files (path, spool, kind, dir, outcome)
	SELECT '/elsewhere/command/done/' || g || '.json', '/elsewhere', 'command', 'done',
		   'ingested'
	  FROM pg_catalog.generate_series(1, 20000) AS g;
CALL public.sh('find command -type f -exec touch -d 2026-03-04T05:06:07 {} +');
BEGIN;
SELECT seq_scan AS seq0, idx_scan AS idx0 FROM pg_catalog.pg_stat_xact_user_tables
 WHERE relid = 'mig.spool_files'::regclass \gset
SELECT scanned, unchanged FROM mig.mig_spool_sync(:'spool');
SELECT seq_scan OPERATOR(pg_catalog.-) :seq0 AS seq_scans,
	   idx_scan OPERATOR(pg_catalog.>) :idx0 AS index_scans
  FROM pg_catalog.pg_stat_xact_user_tables WHERE relid = 'mig.spool_files'::regclass;
COMMIT;
SELECT pg_catalog.count(*) AS files_touched FROM mig.spool_files
 WHERE mtime = '2026-03-04 05:06:07+00';
RESET search_path;
DROP EXTENSION mig;

CALL sh(format('chmod -R u+rwx %1$s; rm -rf %1$s', :'spool'));
DROP PROCEDURE sh(text);
DROP PROCEDURE put(text, text);
DROP FUNCTION act(bigint, text);
DROP FUNCTION cmd(bigint, bigint, text, bigint);
DROP FUNCTION refuse_41();
