-- Targets: mig.target_memory.  While a target is analyzed, planned and
-- run, the backend may grow by that much at most (the kernel's RLIMIT_DATA
-- on Linux); past it the target stops with 54000, whether it grows row by
-- row, by one large value, or while the planner folds its constants.
-- Sorts and hashes spill to disk first: work_mem is lowered to an eighth
-- of the limit for a target.  (Under valgrind, which emulates RLIMIT_DATA
-- for brk alone, the limit does not hold: test/valgrind.sh leaves this
-- test out.)
CREATE EXTENSION mig;
\set VERBOSITY default
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status) VALUES
	(1, 'web1.example.net', 'linux.web1', 'linux', '20260101+abc.prod', 1, now(), now(), 'online'),
	(2, 'mac1.example.net', 'darwin.mac1', 'darwin', '20260101+abc.prod', 2, now(), now(), 'online');

-- What became of a target, and whether it stopped within a bound: its
-- error's SQLSTATE and message, or how many agents it selected.
CREATE FUNCTION pg_temp.outcome(target text, within interval) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	n bigint;
	r text;
BEGIN
	BEGIN
		SELECT count(*) INTO n FROM mig_target_agents(target);
		r := n || ' agents';
	EXCEPTION
		WHEN query_canceled THEN r := SQLSTATE || ' ' || SQLERRM;
		WHEN OTHERS THEN r := SQLSTATE || ' ' || SQLERRM;
	END;
	RETURN r || CASE WHEN clock_timestamp() - t0 < within THEN ', within ' || within
				ELSE ', after ' || (clock_timestamp() - t0) END;
END $$;

SET mig.target_memory = '32MB';
-- an aggregate over a stream that would take gigabytes
SELECT pg_temp.outcome('(SELECT cardinality(array_agg(g)) FROM (SELECT generate_series(1, 1000000000) AS g) s) > 0', '2 s');
-- an array built by a sub-select, row after row
SELECT pg_temp.outcome('id IN (SELECT a.id FROM agents a WHERE length(ARRAY(SELECT generate_series(1, 500000000))::text) > 0)', '2 s');
-- one value of a gigabyte, which the planner would make while it folds
-- the constants, before anything runs
SELECT pg_temp.outcome('length(repeat(''x'', 1000000000)) > 0', '2 s');
-- the same, from a column: at run time
SELECT pg_temp.outcome('length(repeat(name, 60000000)) > 0', '2 s');
-- the full message
SELECT mig_target_agents('length(repeat(''x'', 1000000000)) > 0');

-- targets within the limit run, again and again, after those that stopped
SELECT pg_temp.outcome('(SELECT cardinality(array_agg(g)) FROM generate_series(1, 100000) g) > 0', '2 s');
SELECT pg_temp.outcome('length(repeat(''x'', 1000000)) > 0', '2 s');

-- a sort of half a million rows spills to disk (work_mem is at most 2MB
-- here), where with the session's work_mem it would have held them in
-- memory, past the limit; the session's settings are its own again after
SET mig.target_memory = '16MB';
SET work_mem = '1GB';
SELECT pg_temp.outcome('(SELECT count(*) FROM (SELECT g FROM generate_series(1, 500000) g ORDER BY g DESC OFFSET 0) s) > 0', '5 s');
SHOW work_mem;
SHOW jit;
RESET work_mem;

-- 0: no limit
SET mig.target_memory = 0;
SELECT pg_temp.outcome('length(repeat(''x'', 100000000)) > 0', '5 s');
RESET mig.target_memory;
SHOW mig.target_memory;
DROP EXTENSION mig;
