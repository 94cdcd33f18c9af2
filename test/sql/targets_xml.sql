-- Targets: nothing of XML, which libxml2 parses and evaluates without
-- checking for a cancel (an xpath() over a document of 1,500 elements ran
-- 42 s past a timeout of 5 s, and neither pg_cancel_backend nor
-- pg_terminate_backend stopped it).  Each form is refused as written,
-- before PostgreSQL analyzes the target (which would parse XML literals),
-- so a server built without libxml gives the same errors
-- (expected/targets_xml_1.out, kept for such servers, is the same).
CREATE EXTENSION mig;
\set VERBOSITY default
-- the probe's
SELECT mig_target_agents('array_length(xpath(''//a[. = //a]'', (''<r>'' || (SELECT string_agg(''<a>'' || g || ''</a>'', '''') FROM generate_series(1, 1500) g) || ''</r>'')::xml), 1) > 0');
-- functions that take or give XML, by name
SELECT mig_target_agents('xpath_exists(''/a'', ''<a/>'')');
SELECT mig_target_agents('xmlexists(''/a'' PASSING BY REF ''<a/>'')');
SELECT mig_target_agents('xml_is_well_formed(name)');
SELECT mig_target_agents('(SELECT xmlagg(name::text::pg_catalog.xml) FROM agents) IS NOT NULL');
SELECT mig_target_agents('xmlcomment(name) IS NOT NULL');
-- the type, and XML's expressions
SELECT mig_target_agents('''<a/>''::xml IS NOT NULL');
SELECT mig_target_agents('CAST(name AS pg_catalog.xml) IS NOT NULL');
SELECT mig_target_agents('XMLPARSE(DOCUMENT ''<a/>'') IS NOT NULL');
SELECT mig_target_agents('XMLELEMENT(NAME a, name) IS NOT NULL');
SELECT mig_target_agents('XMLFOREST(name, os) IS NOT NULL');
SELECT mig_target_agents('''<a/>'' IS DOCUMENT');
SELECT mig_target_agents('XMLSERIALIZE(CONTENT ''<a/>'' AS text) <> ''''');
-- a table function (XMLTABLE, the only one PostgreSQL 15 has)
SELECT mig_target_agents('id IN (SELECT x FROM XMLTABLE(''/a'' PASSING ''<a>1</a>'' COLUMNS x int PATH ''.''))');
DROP EXTENSION mig;
