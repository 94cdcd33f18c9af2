# Without shared_preload_libraries: mig_worker_launch() starts the worker
# and returns its pid, a second one is refused, and the postmaster restarts
# the worker when it is terminated.
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

$node->stop;
done_testing();
