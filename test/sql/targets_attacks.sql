-- Targets: the roads a security probe found into a target stay closed.
-- An operator whose negator or commutator is someone's code (the planner
-- may put either in its place, as the superuser who asks); work that no
-- cancel stops; a target that runs long; one that asks who runs it.  Each
-- is refused (42501) or stopped (57014), and the planted code never runs.
-- Memory: targets_memory.sql.
CREATE EXTENSION mig;
\set VERBOSITY default
INSERT INTO agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status,
	mode, environment, tags) VALUES
	(1, 'web1.example.net', 'linux.web1', 'linux', '20260101+abc.prod', 1, now(), now(), 'online',
	 'daemon', '{"os": "linux"}', '{"operator": "IT"}'),
	(2, 'mac1.example.net', 'darwin.mac1', 'darwin', '20260101+abc.prod', 2, now(), now(), 'online',
	 'checkin', '{"os": "darwin"}', '{"operator": "security"}');
INSERT INTO actions (id, name, target, validfrom, expireafter, operations)
VALUES (1, 'probe', 'true', now(), now() + interval '1 day', '[{"module": "file"}]');

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

-- 1. Operators planted in mig's schema, which comes right after pg_catalog
-- on a target's path, by a role that may create objects there (as the
-- database's owner may in public).  Their functions are pg_catalog's; the
-- function of their negator (!~~~) and commutator (~~>) is the planter's:
-- it counts its runs in a sequence (nextval is not undone by the error
-- that follows) and says as whom it runs.
CREATE ROLE mig_planter;
CREATE SCHEMA planter AUTHORIZATION mig_planter;
SELECT format('GRANT USAGE, CREATE ON SCHEMA %I TO mig_planter', n.nspname)
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'mig' \gexec
SET ROLE mig_planter;
CREATE SEQUENCE planter.ran;
CREATE FUNCTION planter.evil(text, text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM nextval('planter.ran');
	RAISE NOTICE 'the planter''s code runs as %', current_user;
	RETURN true;
END $$;
SELECT set_config('search_path', quote_ident(n.nspname), false) IS NOT NULL AS in_mig_schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'mig';
CREATE OPERATOR !~~~ (leftarg = text, rightarg = text, function = planter.evil);
CREATE OPERATOR ~~~ (leftarg = text, rightarg = text, function = pg_catalog.texteq,
	negator = !~~~);
CREATE OPERATOR ~~> (leftarg = text, rightarg = text, function = planter.evil);
CREATE OPERATOR <~~ (leftarg = text, rightarg = text, function = pg_catalog.text_lt,
	commutator = ~~>);
CREATE COLLATION planted (locale = 'C');
-- and, in its own schema, for a superuser to link to pg_catalog's below
CREATE OPERATOR planter.!~~~~ (leftarg = text, rightarg = text, function = planter.evil);
CREATE OPERATOR planter.~~~> (leftarg = text, rightarg = text, function = planter.evil);
RESET search_path;
RESET ROLE;
-- the planner puts !~~~ for NOT ~~~, which then ran for each agent as the
-- superuser who asked (mig 1.1 did so), in an action's dry run too; it
-- may put ~~> for <~~, its arguments swapped
SELECT mig_target_agents('NOT (os ~~~ ''x'')');
SELECT mig_target_agents('os <~~ ''x''');
UPDATE actions SET target = 'NOT (os ~~~ ''x'')' WHERE id = 1;
SELECT * FROM mig_action_plan(1);
SELECT mig_action_targets(1);
-- a collation of its own, chosen by name as the operators are
SELECT mig_target_agents('name COLLATE planted = ''x''');
SELECT array(SELECT mig_target_agents('name COLLATE "C" LIKE ''web%''') ORDER BY 1);
-- named outright, as a sort's operator or a sub-select's
SELECT mig_target_agents('id IN (SELECT id FROM agents ORDER BY os USING OPERATOR(planter.~~~>))');
SELECT mig_target_agents('os OPERATOR(planter.~~~>) ANY (SELECT os FROM agents)');
-- an operator of pg_catalog's (a superuser made it, as an extension put
-- there might) whose negator or commutator is the planter's
CREATE OPERATOR pg_catalog.~~~~ (leftarg = text, rightarg = text,
	function = pg_catalog.texteq, negator = OPERATOR(planter.!~~~~));
CREATE OPERATOR pg_catalog.<~~~ (leftarg = text, rightarg = text,
	function = pg_catalog.text_lt, commutator = OPERATOR(planter.~~~>));
SELECT mig_target_agents('NOT (''a'' ~~~~ ''b'')');
SELECT mig_target_agents('NOT (os ~~~~ ''x'')');
SELECT mig_target_agents('''x'' <~~~ os');
DROP OPERATOR pg_catalog.~~~~ (text, text);
DROP OPERATOR pg_catalog.<~~~ (text, text);
-- the planter's code never ran
SELECT last_value, is_called FROM planter.ran;
-- pg_catalog's own operators and their negators still serve
SELECT array(SELECT mig_target_agents('NOT (os = ''linux'') AND NOT (name LIKE ''web%'')') ORDER BY 1);
-- and those whose commutator is a SQL function that calls them back
-- (interval + timestamptz is $2 + $1): its body is checked once
SELECT array(SELECT mig_target_agents('heartbeattime + interval ''1 day'' > now() AND (starttime, interval ''1 day'') OVERLAPS (now(), interval ''1 day'')') ORDER BY 1);

-- 2. Work that no cancel stops, refused: libxml2's (targets_xml.sql), text
-- search, containment of arrays and of jsonb (every element against every
-- other: minutes for arrays of 200,000)
SELECT mig_target_agents('(SELECT array_agg(g) FROM generate_series(1, 200000) g) && (SELECT array_agg(-g) FROM generate_series(1, 200000) g)');
SELECT mig_target_agents('ARRAY[os::text] <@ ARRAY[''linux'']');
SELECT mig_target_agents('tags::jsonb @> ''{"operator": "IT"}''');
SELECT mig_target_agents('tags::jsonb ?| ARRAY[''operator'']');
SELECT mig_target_agents('tags::jsonb - ARRAY[''operator''] <> ''{}''');
SELECT mig_target_agents('to_tsvector(name) @@ to_tsquery(''web'')');
SELECT mig_target_agents('''web''::tsquery IS NOT NULL');
-- what does the same in steps a cancel can stop still serves
SELECT array(SELECT mig_target_agents('tags->>''operator'' = ''IT'' AND os::text = ANY (ARRAY[''linux''])') ORDER BY 1);

-- 3. Time: a target that runs long stops within mig.target_timeout and a
-- second, with 57014
SET mig.target_timeout = '200ms';
SELECT pg_temp.outcome('(SELECT count(*) FROM (SELECT generate_series(1, 10000000000)) s) > 0', '1.2 s');
SELECT pg_temp.outcome('id IN (SELECT a.id FROM agents a, agents b, agents c, generate_series(1, 100000000) g WHERE a.os::text || b.os::text || c.os::text <> g::text)', '1.2 s');
-- three hundred md5() of a 10MB value, one after the other in one row:
-- no function of them checks for a cancel, mig checks between any two
-- (mig 1.1 ran them all, seconds past its timeout)
SELECT pg_temp.outcome('(SELECT length(' ||
	(SELECT string_agg('md5(v)', ' || ') FROM generate_series(1, 300)) ||
	') FROM (SELECT repeat(name::text, 600000) AS v FROM agents LIMIT 1) s) > 0', '1.2 s');
RESET mig.target_timeout;

-- 4. Who asks: refused, so that an investigator's dry run selects the
-- agents the scheduler will
SELECT mig_target_agents('current_user = ''mig_scheduler''');
SELECT mig_target_agents('session_user IS NOT NULL');
SELECT mig_target_agents('user IS NOT NULL');
SELECT mig_target_agents('current_role IS NOT NULL');
SELECT mig_target_agents('current_schema IS NOT NULL');
SELECT mig_target_agents('current_schemas(true) IS NOT NULL');
SELECT mig_target_agents('"current_user"() IS NOT NULL');
SELECT mig_target_agents('current_query() IS NOT NULL');
SELECT mig_target_agents('inet_client_addr() IS NULL');
SELECT mig_target_agents('id IN (SELECT id FROM agents WHERE session_user <> name)');
-- nor does the asker's session change what a target says: it is read and
-- run with the settings of its meaning fixed (TimeZone UTC, DateStyle ISO,
-- no transform_null_equals, standard_conforming_strings, ...)
SET TimeZone = 'Pacific/Kiritimati';
SET DateStyle = 'SQL, DMY';
SET transform_null_equals = on;
SET standard_conforming_strings = off;
SELECT array(SELECT mig_target_agents('heartbeattime::text LIKE ''____-__-__ __:__:__%+00''') ORDER BY 1) AS utc_iso;
SELECT array(SELECT mig_target_agents('destructiontime = NULL') ORDER BY 1) AS equals_null_is_null;
SELECT array(SELECT mig_target_agents(E'length(''a\\b'') = 3') ORDER BY 1) AS backslash_kept;
SHOW TimeZone;
RESET TimeZone;
RESET DateStyle;
RESET transform_null_equals;
RESET standard_conforming_strings;
-- the database and the time are no one's
SELECT array(SELECT mig_target_agents('current_database() IS NOT NULL AND current_catalog IS NOT NULL AND heartbeattime <= now()') ORDER BY 1);

-- the planter's objects, in its schema and in mig's, and its grant
DROP OWNED BY mig_planter;
DROP ROLE mig_planter;
DROP EXTENSION mig;
