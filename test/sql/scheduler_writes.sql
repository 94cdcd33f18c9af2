-- mig.scheduler_writes: MIG's released scheduler writes the database as
-- well as the spool.  The sync then never touches a row the scheduler
-- wrote (whatever its files say: metadata-only done/ files, statuses the
-- row has not reached yet, returned commands FinishCommand has still to
-- write), leaves a missing row to the scheduler for mig.fill_delay, and
-- fills in what is still missing after it, as MIG would have written it.
CREATE EXTENSION mig;
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT current_setting('data_directory') || '/mig_scheduler_spool' AS spool \gset
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
-- MIG's action and command, as its scheduler writes them (Go's
-- json.Marshal of mig.Action and mig.Command)
CREATE FUNCTION act(id bigint, status text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object(
		'id', id, 'name', 'check sshd ' || id, 'target', 'status=''online''',
		'description', '{"author": "Alice"}'::jsonb, 'threat', '{"family": "test"}'::jsonb,
		'validfrom', '2026-01-02T03:04:05Z', 'expireafter', '2036-01-02T04:04:05Z',
		'operations', '[{"module": "file", "parameters": {"searches": {"s1": {"names": ["sshd"]}}}}]'::jsonb,
		'pgpsignatures', '["wsBcBAABCAAQBQJnAAAA=Xy1Z"]'::jsonb,
		'starttime', '2026-01-02T03:05:00.123456789Z', 'finishtime', '0001-01-01T00:00:00Z',
		'lastupdatetime', '0001-01-01T00:00:00Z', 'status', status, 'syntaxversion', 2,
		'counters', '{}'::jsonb)
$$;
CREATE FUNCTION cmd(id bigint, action_id bigint, status text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object(
		'id', id, 'action', act(action_id, 'preparing'), 'status', status,
		'agent', jsonb_build_object('id', 7, 'name', 'host7', 'queueloc', 'linux.host7', 'mode', 'daemon'),
		'results', '[{"foundanything": false, "success": false}]'::jsonb,
		'starttime', '2026-01-02T03:05:01Z',
		'finishtime', CASE WHEN status = 'sent' THEN '0001-01-01T00:00:00Z'
						   ELSE '2026-01-02T03:06:00Z' END)
$$;
CREATE VIEW files AS
	SELECT substr(path, length(current_setting('mig_test.spool')) + 2) AS file, outcome, error
	  FROM spool_files ORDER BY 1;
CALL sh('rm -rf * && mkdir -p action/new action/inflight action/done action/invalid '
		'command/inflight command/returned');

-- (the worker follows postgresql.conf; a superuser's session may set them
-- for its mig_spool_sync)
SET mig.scheduler_writes = on;
SET mig.fill_delay = '1h';
SELECT scheduler_writes, filled FROM mig_worker_status;

-- what MIG's scheduler wrote: an agent, action 1 (preparing: on PostgreSQL
-- 10 and later its inflight update fails), its command (sent, finish time
-- 9998-01-11); and its files: action/inflight, the command in inflight,
-- the agent's result in returned (FinishCommand has not run yet), the
-- action landed in done/ from its metadata alone
INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, destructiontime,
					heartbeattime, refreshtime, status, environment, tags)
VALUES (7, 'host7', 'linux.host7', 'daemon', '20260101', 7, '2026-01-01', '9998-01-11 11:11:11+00',
		now(), '2026-01-01', 'online', '{"os": "linux"}', 'null');
INSERT INTO actions (id, name, target, description, threat, operations, validfrom, expireafter,
					 starttime, finishtime, lastupdatetime, status, pgpsignatures, syntaxversion)
SELECT (a->>'id')::numeric, a->>'name', a->>'target', a->'description', a->'threat', a->'operations',
	   (a->>'validfrom')::timestamptz, (a->>'expireafter')::timestamptz,
	   (a->>'starttime')::timestamptz, '9998-01-11 11:11:11+00', '0001-01-01', 'preparing',
	   a->'pgpsignatures', 2
  FROM act(1, 'preparing') AS a;
INSERT INTO commands VALUES (10, 1, 7, 'sent', '[{"foundanything": false, "success": false}]',
							 '2026-01-02T03:05:01Z', '9998-01-11 11:11:11+00');
CREATE TEMP TABLE before AS
	SELECT (SELECT row_to_json(a)::text FROM actions a WHERE id = 1) AS action,
		   (SELECT row_to_json(c)::text FROM commands c WHERE id = 10) AS command;
CALL put('action/inflight/1.json', jsonb_set(act(1, 'preparing'), '{counters}', '{"sent": 1}')::text);
CALL put('command/inflight/1-10.json', cmd(10, 1, 'sent')::text);
CALL put('command/returned/28137088679946', cmd(10, 1, 'success')::text);
CALL put('action/done/1.json', jsonb_build_object('id', 1, 'name', 'check sshd 1', 'target', '',
  'description', '{}'::jsonb, 'threat', '{}'::jsonb, 'validfrom', '2026-01-02T03:04:05Z',
  'expireafter', '2036-01-02T04:04:05Z', 'operations', NULL, 'pgpsignatures', NULL, 'status', 'done',
  'starttime', '2026-01-02T03:05:00.123456789Z', 'finishtime', '2026-01-02T03:07:00Z',
  'lastupdatetime', '2026-01-02T03:07:00Z')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT * FROM files;
-- the scheduler's rows are as it wrote them, to the byte
SELECT (SELECT row_to_json(a)::text FROM actions a WHERE id = 1) = b.action AS action_kept,
	   (SELECT row_to_json(c)::text FROM commands c WHERE id = 10) = b.command AS command_kept
  FROM before b;
-- so its own calls still find what they look for: FinishCommand (status
-- not success yet) and FinishAction
UPDATE commands SET status = 'success', finishtime = '2026-01-02T03:06:30Z'
 WHERE id = 10 AND status <> 'success';
UPDATE actions SET (finishtime, lastupdatetime, status) = ('2026-01-02T03:07:00Z', '2026-01-02T03:07:00Z', 'completed')
 WHERE id = 1;
SELECT id, status, sentctr, returnedctr, donectr FROM actions;

-- rows the scheduler has not written (it was down): a kill action in new/
-- (no status, zero times) and a command of action 1 in inflight; left to
-- the scheduler while younger than mig.fill_delay
CALL put('action/new/2.json', (act(2, NULL) - 'status')::text);
CALL put('command/inflight/1-11.json', cmd(11, 1, 'sent')::text);
-- and action 3 landed in done/ from its metadata alone: nothing to make
-- a row of
CALL put('action/done/3.json', jsonb_build_object('id', 3, 'name', 'gone', 'target', '',
  'validfrom', '2026-01-02T03:04:05Z', 'expireafter', '2036-01-02T04:04:05Z',
  'operations', NULL, 'pgpsignatures', NULL, 'status', 'done')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT * FROM files WHERE outcome = 'deferred';
-- past mig.fill_delay, they are filled in, as MIG writes rows (Go's zero
-- times, not NULL); the metadata alone still waits
SET mig.fill_delay = 0;
SELECT * FROM mig_spool_sync(:'spool');
SELECT * FROM files WHERE file IN ('action/new/2.json', 'command/inflight/1-11.json', 'action/done/3.json');
SELECT id, name, target, status, starttime, finishtime, lastupdatetime, syntaxversion
  FROM actions ORDER BY id;
SELECT id, actionid, status, starttime, finishtime FROM commands ORDER BY id;
SELECT id, sentctr, returnedctr FROM actions ORDER BY id;
-- a row the scheduler writes meanwhile is its own: the next file changes nothing
UPDATE commands SET status = 'success', finishtime = '2026-01-02T03:08:00Z' WHERE id = 11;
CALL put('command/returned/28137088679947', cmd(11, 1, 'failed')::text);
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status, finishtime FROM commands WHERE id = 11;

-- the settings are the superuser's
CREATE ROLE mig_scheduler_nobody;
SET ROLE mig_scheduler_nobody;
SET mig.scheduler_writes = off;
SET mig.fill_delay = '1s';
RESET ROLE;
DROP ROLE mig_scheduler_nobody;

-- back to the spool as the only writer: the files are written again, and
-- a final status stays
RESET mig.scheduler_writes;
RESET mig.fill_delay;
SELECT scheduler_writes FROM mig_worker_status;
SELECT * FROM mig_spool_sync(:'spool');
SELECT id, status FROM commands WHERE id = 11;
CALL sh('rm -rf action command');
DROP VIEW files;
DROP FUNCTION cmd(bigint, bigint, text);
DROP FUNCTION act(bigint, text);
DROP PROCEDURE put(text, text);
DROP PROCEDURE sh(text);
DROP EXTENSION mig;
