# On a streaming hot standby the worker sleeps: it writes nothing, says so
# once, and its spool is left alone until promotion, when it syncs it.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
my $base = $primary->basedir;
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '$base/spool'
mig.rescan_interval = '300ms'
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION mig');
spool_dirs("$base/spool");
mkspool("$base/stage", 4, '--actions', 1);
load_heartbeats($primary, 'postgres', "$base/stage/heartbeats.jsonl");
move_files("$base/stage", "$base/spool", spool_files("$base/stage"));
$primary->poll_query_until('postgres', 'SELECT count(*) = 4 FROM commands')
  or die "the primary's worker did not sync";

# the standby's own spool holds a file the primary's has not
my $standby_spool = "$base/standby-spool";
spool_dirs($standby_spool);
mkspool("$base/stage2", 1, '--actions', 1, '--first-id', 9000);
load_heartbeats($primary, 'postgres', "$base/stage2/heartbeats.jsonl");
move_files("$base/stage2", $standby_spool, spool_files("$base/stage2"));

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->append_conf('postgresql.conf', qq{
mig.spool_dir = '$standby_spool'
});
$standby->start;
$standby->poll_query_until('postgres',
	"SELECT state = 'waiting for promotion' FROM mig_worker_status")
  or die "the standby's worker does not sleep";
pass("the standby's worker sleeps");

# rows come to the standby by replication only
mkspool("$base/stage3", 2, '--actions', 1, '--first-id', 8000);
load_heartbeats($primary, 'postgres', "$base/stage3/heartbeats.jsonl");
move_files("$base/stage3", "$base/spool", spool_files("$base/stage3"));
$primary->poll_query_until('postgres', 'SELECT count(*) = 6 FROM commands')
  or die "the primary's worker did not sync";
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM commands'), '6',
	'the standby has the primary\'s rows and nothing from its own spool');
is($standby->safe_psql('postgres', 'SELECT state FROM mig_worker_status'),
	'waiting for promotion', 'the worker is still asleep');
my $log = slurp_file($standby->logfile);
is(scalar(() = $log =~ /hot standby; sleeping until it is promoted/g), 1,
	'one log line on the standby');
unlike($log, qr/mig spool worker: .*(read-only|cannot execute)/, 'no write was tried');

# promoted, it syncs its spool
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT count(*) = 7 FROM commands')
  or die "the promoted standby's worker did not sync its spool";
pass('after promotion the worker syncs');

$standby->stop;
$primary->stop;
done_testing();
