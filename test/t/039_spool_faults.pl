# Failures of the file system no test can time or cause for real, made by
# the fault injection of test builds (mig.fault_injection, src/mig.h), in
# mig_spool_sync() over a spool of this test's own: a file replaced between
# its check and its open (by a symbolic link: not followed; by a FIFO: not
# read, and no wait for a writer), a file that grows between its open and
# its read (beyond mig.max_file_size: failed; within it: read whole), a
# read error (read again at the next pass), and directories that cannot be
# listed (a warning and a failed row each; the rows of their files are
# kept).  Each failed file is a failed row with its reason; the others are
# ingested.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use POSIX qw(mkfifo);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my ($node, $spool) = mig_node('faults', dirs => 1, start => 0);
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION mig');
my $base = $node->basedir;
my $stage = "$base/stage";
mkspool($stage, 8, '--actions', 1);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
move_files($stage, $spool, spool_files($stage, 'action/done'));
my @c = spool_files($stage, 'command/done');
is(scalar(@c), 8, 'eight command files to play with');
my $done = "$spool/command/done";

# a sync with faults armed, as the superuser; its warnings
sub sync_with
{
	my ($faults, $settings) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		LOAD 'mig';
		SET mig.fault_injection = '$faults';
		$settings
		SELECT ingested || ' ' || failed FROM mig_spool_sync('$spool');
	});
	return ($out, $err);
}

sub row
{
	my ($file) = @_;
	return $node->safe_psql('postgres',
		"SELECT outcome || coalesce(': ' || error, '') FROM spool_files WHERE path = '$spool/$file'");
}

# (mig is not preloaded here: no worker syncs the spool behind the test's
# back; the library is loaded by each session)
{
	my ($ret, $out, $err) = $node->psql('postgres', "LOAD 'mig'; SHOW mig.fault_injection");
	is($ret, 0, 'this build has fault injection (make MIG_FAULTS=1, as test/run builds)')
	  or BAIL_OUT("mig built without MIG_FAULTS=1: $err");
}

# replaced between the check and the open: by a symbolic link, by a FIFO;
# the third is not replaced
move_files($stage, $spool, @c[0 .. 2]);
(my $n0 = $c[0]) =~ s{.*/}{};
(my $n1 = $c[1]) =~ s{.*/}{};
symlink("$stage/heartbeats.jsonl", "$done/.swap.$n0") or die;
mkfifo("$done/.swap.$n1", 0600) or die;
my ($out, $err) = sync_with('spool_swap', '');
is($out, '2 2', 'the sync ingests the action and the file left alone, fails the two replaced');
is(row($c[0]), 'failed: the file is a symbolic link (not followed)', 'a link swapped in is not followed');
is(row($c[1]), 'failed: the file is a FIFO', 'a FIFO swapped in is not read');
is(row($c[2]), 'ingested', 'the other file is ingested');

# grown between the open and the read (by 8 kB of blanks)
move_files($stage, $spool, $c[3]);
($out, $err) = sync_with('spool_grow', "SET mig.max_file_size = '8kB';");
is(row($c[3]), 'failed: the file is more than mig.max_file_size (8 kB)',
	'a file grown beyond mig.max_file_size as it was read is failed');
move_files($stage, $spool, $c[4]);
($out, $err) = sync_with('spool_grow', "SET mig.max_file_size = '64kB';");
is($out, '2 2', 'grown within mig.max_file_size, both are ingested (the two replaced stay failed)');
is(row($c[3]) . ' ' . row($c[4]), 'ingested ingested', 'read whole, past the size they had when opened');

# a read error
move_files($stage, $spool, $c[5]);
($out, $err) = sync_with('spool_read_error', '');
is(row($c[5]), 'failed: could not read the file: Input/output error', 'a read error fails the file');

# directories that cannot be listed: a warning each, no row removed
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM spool_files');
move_files($stage, $spool, $c[6]);
unlink("$spool/$c[2]") or die;
($out, $err) = sync_with('spool_list_error', '');
like($err, qr/WARNING:  could not read spool directory "\Q$spool\E\/command\/done": Input\/output error/,
	'a directory that cannot be listed is warned about');
is($out, '0 8', 'nothing is read: each of the eight directories is a failed row');
is(row('command/done'), 'failed: could not read the directory: Input/output error',
	'which says why');
is($node->safe_psql('postgres', q{SELECT count(*) FROM spool_files WHERE path LIKE '%.json'}), $rows,
	'the rows of the files are kept, the removed file\'s too');
($out, $err) = sync_with('', '');
is($out, '2 2', 'listed again: the new file, and the one that could not be read, are ingested');
is(row($c[5]) . ' ' . row($c[6]), 'ingested ingested', 'those two');
is(row($c[2]) . row('command/done'), '', 'the removed file\'s row and the directory\'s go');

$node->stop;
done_testing();
