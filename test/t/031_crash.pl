# Crash safety: kill -9 of the worker in the middle of a batch, then of the
# whole server in the middle of another; once restarted, every file is in
# the tables exactly once, the counters match, and the rows committed before
# each crash were not written again (same xmin).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my ($node, $spool) = mig_node('crash', rescan => '300ms', batch => 20, extension => 1,
	conf => "restart_after_crash = on\n");
my $base = $node->basedir;
my $stage = "$base/stage";
spool_dirs($spool);

# every row takes a little while, so that a kill lands inside a batch
$node->safe_psql('postgres', q{
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep(0.002);
	RETURN NEW;
END $$;
CREATE TRIGGER slow BEFORE INSERT ON commands FOR EACH ROW EXECUTE FUNCTION slow();
});

my $commands = 0;
my $files = 0;

sub committed
{
	my %rows = map { split /\|/ }
	  split /\n/, $node->safe_psql('postgres', 'SELECT id, xmin FROM commands');
	return \%rows;
}

sub crash_and_check
{
	my ($what, $first_id, $kill) = @_;

	mkspool($stage, 1000, '--actions', 4, '--first-id', $first_id);
	load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
	my $before_pile = $commands;
	$commands += 1000;
	$files += move_files($stage, $spool, spool_files($stage));

	# some of the pile is in, not all of it
	$node->poll_query_until('postgres',
		"SELECT count(*) >= $before_pile + 100 FROM commands")
	  or die "the worker does not ingest the pile";
	my $before = committed();
	$kill->();

	$node->poll_query_until('postgres', "SELECT count(*) = $commands FROM commands")
	  or die "not every command was ingested after killing $what";
	$node->poll_query_until('postgres',
		"SELECT count(*) = $files FROM spool_files WHERE outcome IN ('ingested', 'unchanged')")
	  or die "not every file is recorded after killing $what";
	is($node->safe_psql('postgres', 'SELECT count(*) - count(DISTINCT id) FROM commands'),
		'0', "no command twice after killing $what");
	my $after = committed();
	my $rewritten = grep { ($after->{$_} // '') ne $before->{$_} } keys %$before;
	is($rewritten, 0, "rows committed before killing $what were not written again");
	cmp_ok(scalar(keys %$before), '<', $commands, "the kill came before the end ($what)");
	is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM actions a
		 WHERE sentctr <> (SELECT count(*) FROM commands c WHERE c.actionid = a.id)
			OR returnedctr <> (SELECT count(*) FROM commands c WHERE c.actionid = a.id
						   AND c.status NOT IN ('prepared', 'sent'))}),
		'0', "counters match the commands after killing $what");
	return;
}

# the worker alone: the postmaster reinitializes and restarts it
crash_and_check('the worker', 1000000, sub {
	my $pid = $node->safe_psql('postgres', 'SELECT pid FROM mig_worker_status');
	kill 'KILL', $pid or die "could not kill $pid";
});

# the whole server
crash_and_check('the server', 5000000, sub {
	my $postmaster = $node->{_pid};
	$node->kill9;
	# start again once the old server's processes have noticed and left
	foreach (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
	{
		last unless kill(0, $postmaster);
		usleep(100_000);
	}
	foreach (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
	{
		return if $node->start(fail_ok => 1);
		usleep(100_000);
	}
	die "the server did not start again";
});

$node->stop;
done_testing();
