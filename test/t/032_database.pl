# mig.database missing at start: the worker says so once and waits (no
# restart loop), and once the database and the extension exist it syncs;
# given another mig.database on SIGHUP, it restarts there.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my $node = PostgreSQL::Test::Cluster->new('database');
$node->init;
my $base = $node->basedir;
my $spool = "$base/spool";
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.database = 'migdb'
mig.spool_dir = '$spool'
mig.rescan_interval = '300ms'
});
$node->start;
$node->wait_for_log(qr/database "migdb" does not exist; waiting for it/);
# to watch the worker from another database
$node->safe_psql('postgres', 'CREATE EXTENSION mig');

# the same process waits for longer than the postmaster's restart delay
$node->poll_query_until('postgres', q{
	SELECT state = 'waiting for database' AND now() - started_at > interval '6 seconds'
	  FROM mig_worker_status})
  or die "the worker does not wait for its database";
pass('the worker waits for its database without restarting');
my $log = slurp_file($node->logfile);
is(scalar(() = $log =~ /FATAL:  database "migdb" does not exist/g), 1,
	'one failed connection');
is(scalar(() = $log =~ /waiting for it/g), 1, 'one line while waiting');

$node->safe_psql('postgres', 'CREATE DATABASE migdb');
$node->safe_psql('migdb', 'CREATE EXTENSION mig');
spool_dirs($spool);
mkspool("$base/stage", 3, '--actions', 1);
load_heartbeats($node, 'migdb', "$base/stage/heartbeats.jsonl");
move_files("$base/stage", $spool, spool_files("$base/stage"));
$node->poll_query_until('migdb', 'SELECT count(*) = 3 FROM commands')
  or die "the worker did not sync once the database existed";
pass('once the database exists, the worker syncs into it');

# a new mig.database: the worker restarts there
$node->safe_psql('postgres', "ALTER SYSTEM SET mig.database = 'postgres'");
$node->reload;
$node->poll_query_until('postgres',
	"SELECT database = 'postgres' AND state = 'idle' FROM mig_worker_status")
  or die "the worker did not move to the new database";
mkspool("$base/stage", 2, '--actions', 1, '--first-id', 7000);
load_heartbeats($node, 'postgres', "$base/stage/heartbeats.jsonl");
move_files("$base/stage", $spool, spool_files("$base/stage"));
$node->poll_query_until('postgres', 'SELECT count(*) = 2 FROM commands')
  or die "the worker did not sync into the new database";
pass('after SIGHUP the worker syncs into the new mig.database');

$node->stop;
done_testing();
