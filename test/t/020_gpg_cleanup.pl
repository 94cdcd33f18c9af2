# Proves that nothing of gpg outlives a backend: the backend's private GnuPG
# directory (0700, under base/pgsql_tmp) is removed when its session ends,
# when it is terminated with pg_terminate_backend, and, after a backend is
# killed outright, by the postmaster's temporary-file sweep; no gpg-agent,
# dirmngr or other gpg process is left running; the cluster works after all
# of it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $fixtures = 'test/fixtures';
my $alice = slurp_file("$fixtures/keys/alice.pub");
my $sig = slurp_file("$fixtures/sig/2.alice.line");
my $data = slurp_file("$fixtures/actions/2.txt");

my $node = PostgreSQL::Test::Cluster->new('gpg_cleanup');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-020-spool'
restart_after_crash = on
remove_temp_files_after_crash = on
});
$node->start;
my $datadir = $node->data_dir;

$node->safe_psql('postgres', qq{
CREATE EXTENSION mig;
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Alice', \$k\$$alice\$k\$);
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures)
VALUES (2, 'find ssh keys', 'agents.os=''linux''', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	'[{"module":"file","parameters":{"searches":{"s1":{"names":["id_rsa"]}}}},{"module":"netstat","parameters":{"connectedip":["10.0.0.1"]}}]',
	json_build_array(\$s\$$sig\$s\$));
});

# a query that always runs gpg (verifications of an action may come from
# the record)
my $verify_sql = qq{SELECT mig_verify_signature(\$d\$$data\$d\$, \$s\$$sig\$s\$, \$k\$$alice\$k\$) IS NOT NULL};

# processes of gpg started for this cluster: their command lines name a
# home under its data directory
sub gpg_processes
{
	my @found;
	opendir(my $proc, '/proc') or return ();
	foreach my $pid (grep { /^\d+$/ } readdir($proc))
	{
		open(my $fh, '<', "/proc/$pid/cmdline") or next;
		local $/;
		my $cmd = <$fh> // '';
		close($fh);
		my ($exe) = split /\0/, $cmd;
		$cmd =~ s/\0/ /g;
		push @found, "$pid: $cmd"
		  if defined $exe
		  && $exe =~ m{(^|/)(gpg2?|gpg-agent|dirmngr|keyboxd|scdaemon|gpgconf)$}
		  && index($cmd, $datadir) >= 0;
	}
	closedir($proc);
	return @found;
}

sub directory_gone
{
	my ($pid, $what) = @_;
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) = 0 FROM pg_ls_dir('base/pgsql_tmp', true, false) f"
			  . " WHERE f = 'pgsql_tmp.mig_gnupg.$pid'"),
		"GnuPG directory of backend $pid removed $what");
}

# 1. A session that used gpg has a private directory while it lives, and
# loses it when it ends.
my $s = $node->background_psql('postgres');
is($s->query_safe('SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2)'),
	'1', 'the action verifies');
is($s->query_safe($verify_sql), 't', 'the signature verifies');
my $dir = $s->query_safe('SELECT gnupg_directory FROM mig_pgp_stats()');
my $pid = $s->query_safe('SELECT pg_backend_pid()');
is($dir, "$datadir/base/pgsql_tmp/pgsql_tmp.mig_gnupg.$pid",
	'the directory is under the temporary-files area');
ok(-d $dir, 'the directory exists while the session lives');
my @homes = grep { -d } glob("$dir/*");
ok(@homes >= 2, 'it holds the backend\'s GnuPG homes');
foreach my $d ($dir, @homes)
{
	is((stat($d))[2] & 07777, 0700, "$d is 0700");
}
ok(-f "$homes[0]/gpg.conf", 'each home has its gpg.conf');
like(slurp_file("$homes[0]/gpg.conf"), qr/^no-autostart$/m, 'which forbids starting an agent');
is(join("\n", gpg_processes()), '', 'no gpg process runs between queries');
$s->quit;
directory_gone($pid, 'at session end');
ok(!-e $dir, 'nothing is left of it');

# 2. pg_terminate_backend
$s = $node->background_psql('postgres');
is($s->query_safe($verify_sql), 't', 'a second session verifies');
$pid = $s->query_safe('SELECT pg_backend_pid()');
ok(-d "$datadir/base/pgsql_tmp/pgsql_tmp.mig_gnupg.$pid", 'it has its directory');
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)"), 't',
	'the backend is terminated');
directory_gone($pid, 'after pg_terminate_backend');
$s->quit;

# 3. A backend killed with SIGKILL cannot clean up after itself: the
# postmaster restarts the cluster and its temporary-file sweep removes the
# directory.
$s = $node->background_psql('postgres', on_error_stop => 0);
is($s->query_safe($verify_sql), 't', 'a third session verifies');
$pid = $s->query_safe('SELECT pg_backend_pid()');
ok(-d "$datadir/base/pgsql_tmp/pgsql_tmp.mig_gnupg.$pid", 'it has its directory');
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
ok($node->poll_query_until('postgres', 'SELECT true'), 'the cluster restarts');
directory_gone($pid, 'by the sweep after a crash');
$s->quit;

# 4. The cluster works after all of it, and nothing of gpg runs.
is($node->safe_psql('postgres',
		'SELECT count(*) FILTER (WHERE valid) FROM mig_verify_action(2); ' . $verify_sql),
	"1\nt", 'verification works after the crash');
is(join("\n", gpg_processes()), '', 'no gpg-agent, dirmngr or gpg process is left');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_ls_dir('base/pgsql_tmp', true, false) f"
		  . " WHERE f LIKE 'pgsql_tmp.mig_gnupg.%'"),
	'no GnuPG directory is left once every other session has ended');

$node->stop;
done_testing();
