-- Targets: a table function (XMLTABLE, the only one PostgreSQL 15 has) is
-- refused.  A server built without libxml refuses XMLTABLE itself, while
-- parsing, before mig sees it: expected/targets_xml_1.out.
CREATE EXTENSION mig;
SELECT mig_target_agents('id IN (SELECT x FROM XMLTABLE(''/a'' PASSING ''<a>1</a>'' COLUMNS x int PATH ''.''))');
DROP EXTENSION mig;
