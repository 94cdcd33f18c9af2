# The worker's role and what it reports.  By default it runs as the
# extension's owner; with mig.worker_role it connects as that role, which
# needs only the privileges doc/roles.md lists (a missing role is waited for,
# with one log line, like a missing database); whatever search_path the
# database and the role are given, its session runs under mig's own.  And
# mig_worker_status.failed equals what spool_files holds after a burst of
# bad files, and after they are gone.  The role is made by doc/roles.md's
# recipe, read from the manual (test/t/MigReadme.pm) and run verbatim.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;
use MigReadme;

my ($node, $spool) = mig_node('role', rescan => '1h', batch => 10, dirs => 1, extension => 1);
my $base = $node->basedir;
my $stage = "$base/stage";
$node->poll_query_until('postgres', "SELECT state = 'idle' FROM mig_worker_status")
  or die "the worker does not start";

sub worker_user
{
	return $node->safe_psql('postgres', q{
		SELECT usename FROM pg_stat_activity WHERE backend_type = 'mig spool worker'});
}

# default: connected as the bootstrap superuser, working as the owner
is(worker_user(), $node->safe_psql('postgres', 'SELECT current_user'),
	'by default the worker runs as the owner of the extension');

# a burst of bad files: failed equals spool_files, after the pass
mkspool($stage, 30, '--actions', 1);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
foreach my $i (1 .. 50)
{
	open(my $fh, '>', "$spool/command/done/.bad$i.json") or die;
	print $fh "not json $i";
	close $fh;
	rename("$spool/command/done/.bad$i.json", "$spool/command/done/bad$i.json") or die;
}
move_files($stage, $spool, spool_files($stage));
$node->poll_query_until('postgres', q{
	SELECT count(*) = 30 FROM commands})
  or die "the good files were not ingested";
$node->poll_query_until('postgres', q{
	SELECT w.state = 'idle' AND w.backlog = 0 AND w.failed = 50
	  FROM mig_worker_status w})
  or die "mig_worker_status does not count the burst";
is( $node->safe_psql('postgres', q{
	SELECT w.failed = (SELECT count(*) FROM spool_files WHERE outcome = 'failed')
	  FROM mig_worker_status w}),
	't', 'after a burst, failed equals spool_files');
unlink glob("$spool/command/done/bad*.json");
$node->poll_query_until('postgres', q{
	SELECT w.state = 'idle' AND w.failed = 0
	   AND NOT EXISTS (SELECT FROM spool_files WHERE outcome = 'failed')
	  FROM mig_worker_status w})
  or die "mig_worker_status does not follow the files going";
pass('once the bad files are gone, failed is 0 again');

# a least-privileged role: doc/roles.md's recipe, verbatim (it sets
# mig.worker_role and reloads), under hostile search_paths on the database
# and the role: an operator that would fail every statement it is part of
$node->safe_psql('postgres', q{
CREATE SCHEMA trap;
CREATE FUNCTION trap.numeric_eq(numeric, numeric) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trap: % ran it', current_user; END $$;
CREATE OPERATOR trap.= (leftarg = numeric, rightarg = numeric, function = trap.numeric_eq);
CREATE FUNCTION trap.textne(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trap: % ran it', current_user; END $$;
CREATE OPERATOR trap.<> (leftarg = text, rightarg = text, function = trap.textne);
GRANT USAGE ON SCHEMA trap TO PUBLIC;
ALTER DATABASE postgres SET search_path = trap, pg_catalog, public;
});
$node->safe_psql('postgres', readme_recipe('worker'));
$node->poll_query_until('postgres', q{
	SELECT usename = 'mig_worker' FROM pg_stat_activity WHERE backend_type = 'mig spool worker'})
  or die "the worker does not connect as mig.worker_role";
# the role's path too, for the worker's next session
$node->safe_psql('postgres', 'ALTER ROLE mig_worker SET search_path = trap, pg_catalog, public');
my $worker_pid = $node->safe_psql('postgres', q{
	SELECT pid FROM pg_stat_activity WHERE backend_type = 'mig spool worker'});
$node->safe_psql('postgres', "SELECT pg_terminate_backend($worker_pid)");
$node->poll_query_until('postgres', qq{
	SELECT usename = 'mig_worker' AND pid <> $worker_pid FROM pg_stat_activity
	 WHERE backend_type = 'mig spool worker'})
  or die "the worker does not connect again as mig.worker_role";
pass('with mig.worker_role set the worker connects as that role');
is($node->safe_psql('postgres', q{
	SELECT setting FROM pg_settings WHERE name = 'search_path'}),
	'trap, pg_catalog, public', 'the database gives sessions the hostile path');

mkspool($stage, 20, '--actions', 2, '--first-id', 5000000);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
move_files($stage, $spool, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 50 FROM mig.commands')
  or die "the worker as mig_worker does not ingest";
pass('as the least-privileged role, under hostile search_paths, the worker ingests');
is( $node->safe_psql('postgres', q{
	SELECT last_error IS NULL FROM mig.mig_worker_status}),
	't', 'and reports no error');
unlike(slurp_file($node->logfile), qr/trap: [a-z_]+ ran it/, 'no planted operator ran');

# a role that does not exist: one line, and the worker waits for it
my $offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER SYSTEM SET mig.worker_role = 'mig_nobody'");
$node->reload;
$node->poll_query_until('postgres', q{
	SELECT state = 'waiting for role' FROM mig.mig_worker_status})
  or die "the worker does not wait for its role";
pass('a missing role is waited for');
$node->safe_psql('postgres', q{
CREATE ROLE mig_nobody LOGIN;
GRANT mig_worker TO mig_nobody;
});
$node->poll_query_until('postgres', q{
	SELECT usename = 'mig_nobody' FROM pg_stat_activity WHERE backend_type = 'mig spool worker'})
  or die "the worker does not connect once the role exists";
pass('and connected as once it exists');
my $log = slurp_file($node->logfile, $offset);
is(scalar(() = $log =~ /role "mig_nobody" does not exist or cannot log in; waiting for it/g), 1,
	'one line while waiting');

$node->stop;
done_testing();
