# Without shared_preload_libraries: mig_worker_launch() starts the worker
# and returns its pid, a second one is refused, and the postmaster restarts
# the worker when it is terminated; a worker that finds another one running
# exits; without a free worker slot mig_worker_launch() fails with a hint.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my $node = PostgreSQL::Test::Cluster->new('launch');
$node->init;
my $base = $node->basedir;
my $spool = "$base/spool";
$node->append_conf('postgresql.conf', qq{
search_path = '"\$user", public, mig'
mig.spool_dir = '$spool'
mig.rescan_interval = '300ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mig');
spool_dirs($spool);

is($node->safe_psql('postgres', 'SELECT state, pid IS NULL FROM mig_worker_status'),
	'stopped|t', 'no worker before the launch');
my $pid = $node->safe_psql('postgres', 'SELECT mig_worker_launch()');
like($pid, qr/^\d+$/, 'mig_worker_launch returns a pid');
$node->poll_query_until('postgres', "SELECT pid = $pid AND state = 'idle' FROM mig_worker_status")
  or die "the launched worker is not running";
pass('the launched worker runs');

my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT mig_worker_launch()');
like($stderr, qr/ERROR:  the mig spool worker is already running/, 'a second worker is refused');

mkspool("$base/stage", 5, '--actions', 1);
load_heartbeats($node, 'postgres', "$base/stage/heartbeats.jsonl");
move_files("$base/stage", $spool, spool_files("$base/stage"));
$node->poll_query_until('postgres', 'SELECT count(*) = 5 FROM commands')
  or die "the launched worker did not sync";
pass('the launched worker syncs');

# terminated, it comes back
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
$node->poll_query_until('postgres',
	"SELECT pid IS NOT NULL AND pid <> $pid AND state = 'idle' FROM mig_worker_status")
  or die "the worker did not come back";
pass('the postmaster restarts a terminated worker');

# a second live worker: the postmaster restarts the terminated worker
# (MIG_WORKER_RESTART_SECS, 5 s, later) while one launched meanwhile runs;
# the restarted one finds it and exits, and the launched one goes on
my $pid2 = $node->safe_psql('postgres', 'SELECT pid FROM mig_worker_status');
my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid2)");
$node->poll_query_until('postgres', "SELECT state = 'stopped' FROM mig_worker_status")
  or die "the terminated worker did not give up its slot";
my $pid3 = $node->safe_psql('postgres', 'SELECT mig_worker_launch()');
$node->wait_for_log(
	qr/mig spool worker: another spool worker is running \(PID $pid3\); exiting/, $log_offset);
pass('a worker that finds another running exits');
is($node->safe_psql('postgres', 'SELECT pid FROM mig_worker_status'), $pid3,
	'the one running goes on');

# no room for a worker: max_worker_processes taken (the logical replication
# launcher takes the one there is)
$node->append_conf('postgresql.conf', "max_worker_processes = 1\n");
$node->restart;
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT mig_worker_launch()');
like($stderr, qr/ERROR:  could not register the mig spool worker\n.*HINT:  Raise max_worker_processes\./s,
	'no free worker slot: mig_worker_launch says so');

$node->stop;
done_testing();
