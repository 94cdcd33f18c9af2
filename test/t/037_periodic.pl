# The worker runs the periodic tasks every mig.periodic_interval while it
# ingests: agents not heard from go idle, then offline, and come back with a
# heartbeat; the statistics are kept; retention purges old commands in
# batches, each its own transaction, and mig_worker_status says what the
# last run changed.  A kill -9 in the middle of a purge leaves nothing half
# deleted: every action's counters equal its commands, and the purge ends
# after the restart.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my ($node, $spool) = mig_node('periodic', rescan => '1h', batch => 50, dirs => 1,
	extension => 1, conf => qq{
mig.periodic_interval = '300ms'
mig.agent_heartbeat_freq = '1s'
mig.agent_timeout = '20s'
restart_after_crash = on
});
my $stage = $node->basedir . '/stage';

# agents heard from long ago, and one just now
$node->safe_psql('postgres', q{
INSERT INTO agents SELECT i, 'h' || i, 'q' || i, 'linux', 'v1', i, now() - interval '1 hour',
       NULL, now() - CASE WHEN i <= 5 THEN interval '10 seconds' ELSE interval '1 minute' END,
       'online'
  FROM generate_series(1, 10) i;
SELECT mig_agent_heartbeat('{"id": 11, "name": "h11", "queueloc": "q11"}');
});
$node->poll_query_until('postgres', q{
	SELECT array_agg(status ORDER BY id) = '{idle,idle,idle,idle,idle,offline,offline,offline,offline,offline,online}'
	  FROM agents})
  or die "the worker did not mark the agents";
pass('agents silent for 5 heartbeats go idle, past the timeout offline');
$node->safe_psql('postgres', q{SELECT mig_agent_heartbeat('{"id": 6, "name": "h6", "queueloc": "q6"}')});
is($node->safe_psql('postgres', 'SELECT status FROM agents WHERE id = 6'), 'online',
	'a heartbeat brings one back');
$node->poll_query_until('postgres', q{
	SELECT last_periodic IS NOT NULL AND last_periodic_took IS NOT NULL
	   AND last_periodic_changed->>'statistics' = '1'
	  FROM mig_worker_status})
  or die "mig_worker_status does not show the periodic runs";
pass('mig_worker_status shows the last periodic run');
ok($node->safe_psql('postgres', 'SELECT count(*) > 1 FROM agents_stats'),
	'each run keeps the statistics');

# while it ingests
mkspool($stage, 600, '--actions', 3, '--first-id', 1000000);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
move_files($stage, $spool, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 600 FROM commands')
  or die "the worker did not ingest while running the periodic tasks";
pass('the worker ingests while it runs the periodic tasks');

# old commands to purge, one small batch at a time, slowed down so that
# the kill lands in the middle
$node->safe_psql('postgres', q{
INSERT INTO actions (id, name, target, validfrom, expireafter, finishtime, status)
SELECT a, 'old', 't', now() - interval '4001 days', now() - interval '4000 days',
       now() - interval '4000 days', 'completed'
  FROM generate_series(1, 20) a;
INSERT INTO commands
SELECT 10000 + c, 1 + c % 20, 1 + c % 10, CASE WHEN c % 3 = 0 THEN 'failed' ELSE 'success' END,
       NULL, now() - interval '4001 days', now() - interval '4000 days'
  FROM generate_series(1, 4000) c;
CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(0.001); RETURN OLD; END $$;
CREATE TRIGGER slow_delete BEFORE DELETE ON commands FOR EACH ROW EXECUTE FUNCTION slow_delete();
ALTER SYSTEM SET mig.command_retention = '3650d';
ALTER SYSTEM SET mig.purge_batch = 200;
});
$node->reload;
$node->poll_query_until('postgres', q{
	SELECT count(*) < 4000 AND count(*) > 0 FROM commands WHERE id > 10000 AND id <= 14000})
  or die "the purge did not start";
# the worker started after the crash runs no periodic task until told to
# (a run under way goes on: the setting is read when a run starts)
$node->safe_psql('postgres', "ALTER SYSTEM SET mig.periodic_interval = 0");
$node->reload;
my $pid = $node->safe_psql('postgres', 'SELECT pid FROM mig_worker_status');
kill 'KILL', $pid;
$node->poll_query_until('postgres', "SELECT pid <> $pid AND state = 'idle' FROM mig_worker_status")
  or die "the server did not come back after the kill";
my $left = $node->safe_psql('postgres', 'SELECT count(*) FROM commands WHERE id > 10000 AND id <= 14000');
note("$left old commands left at the kill");
ok($left > 0 && $left < 4000, 'the kill landed in the middle of the purge');
is($left % 200, 0, 'the purge went in whole batches');
is( $node->safe_psql('postgres', q{
	SELECT count(*) FROM actions a,
	       LATERAL (SELECT count(*)::int AS sent,
	                       (count(*) FILTER (WHERE status NOT IN ('prepared', 'sent')))::int AS returned,
	                       (count(*) FILTER (WHERE status IN ('done', 'success')))::int AS done,
	                       (count(*) FILTER (WHERE status = 'failed'))::int AS failed
	                  FROM commands c WHERE c.actionid = a.id) n
	 WHERE (a.sentctr, a.returnedctr, a.donectr, a.failedctr) IS DISTINCT FROM
	       (n.sent, n.returned, n.done, n.failed)}),
	'0', 'after the kill every action\'s counters equal its commands');
$node->safe_psql('postgres', "ALTER SYSTEM RESET mig.periodic_interval");
$node->reload;
$node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM commands WHERE id > 10000 AND id <= 14000')
  or die "the purge did not finish after the restart";
pass('after the restart the purge ends');
is($node->safe_psql('postgres', 'SELECT count(*) FROM actions'), '23',
	'actions are never purged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM commands'), '600',
	'the commands of actions within the retention stay');
$node->poll_query_until('postgres', q{
	SELECT (last_periodic_changed->>'purge commands')::int = 0 FROM mig_worker_status})
  or die "the status does not show the purge";
pass('mig_worker_status shows each run');

$node->stop;
done_testing();
