# The spool is walked by descriptor and watched as a whole: a symbolic link
# in place of one of its directories is never followed (nothing under it is
# read, nothing of it leaks into spool_files, and it is reported), a
# directory or a spool that is missing deletes no bookkeeping, and a spool
# moved away and recreated is watched again at once.  The rescan is an hour
# away throughout: only inotify and the worker's new watches explain what
# arrives.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my ($node, $spool) = mig_node('paths', rescan => '1h', extension => 1);
my $base = $node->basedir;
spool_dirs($spool);
$node->poll_query_until('postgres', "SELECT state = 'idle' FROM mig_worker_status")
  or die "the worker does not find its spool";

# MIG-shaped files from bench/mkspool, first ids apart, their agents known;
# returns the staging spool they are in
sub stage
{
	my ($first, $n, @opts) = @_;
	my $stage = "$base/stage-$first";
	mkspool($stage, $n, '--actions', 1, '--first-id', $first,
		'--heartbeats', "$base/hb-$first", @opts);
	load_heartbeats($node, 'postgres', "$base/hb-$first");
	return $stage;
}

sub query { return $node->safe_psql('postgres', $_[0]); }

# a first lot: one action and ten commands
my $stage = stage(1000, 10);
move_files($stage, $spool, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 10 FROM commands')
  or die "the first files were not ingested";
is(query('SELECT count(*) FROM spool_files'), '11', 'the first files are recorded');

# --------------------------------------------------------------------------
# (a) command/ready is a symbolic link to a directory the server's user owns
# and may read: a command file in it, and a file that is no JSON at all,
# whose first token the old code copied into spool_files.error.
# --------------------------------------------------------------------------
my $secret = "$base/secret";
make_path($secret);
chmod(0700, $secret) or die;
$stage = stage(2000, 1, '--dir', 'ready');
my ($secret_command) = spool_files($stage, 'command/ready');
(my $secret_name = $secret_command) =~ s{.*/}{};
rename("$stage/$secret_command", "$secret/$secret_name") or die;
open(my $fh, '>', "$secret/passwords.json") or die;
print $fh "hunter2-TOPSECRET is the root password\n";
close($fh);
my $log_offset = -s $node->logfile;
rmdir("$spool/command/ready") or die;
symlink($secret, "$spool/command/ready") or die;

$node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM spool_files
	 WHERE path = '$spool/command/ready' AND spool = '$spool' AND kind = 'command'
	   AND dir = 'ready' AND outcome = 'failed'
	   AND error = 'the directory is a symbolic link (not followed)'})
  or die "the symbolic link has no failed row";
pass('a symbolic link in place of command/ready gets a failed row saying so');
like(query('SELECT last_error FROM mig_worker_status'),
	qr{^spool directory "\Q$spool\E/command/ready" is a symbolic link \(not followed\)$},
	"the worker's last_error names the directory");
like(slurp_file($node->logfile, $log_offset),
	qr{WARNING:  spool directory "\Q$spool\E/command/ready" is a symbolic link \(not followed\)},
	'a WARNING in the log');

# the other directories are still taken, through inotify
$stage = stage(3000, 2);
move_files($stage, $spool, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 12 FROM commands')
  or die "a file in command/done was not ingested beside the link";
pass('the other directories still ingest');

# mig_spool_sync() sees the same: one failed, a warning, nothing read
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT scanned, failed FROM mig_spool_sync()');
is($stdout, '15|1', 'mig_spool_sync() counts the directory as one failed');
like($stderr,
	qr{WARNING:  spool directory "\Q$spool\E/command/ready" is a symbolic link \(not followed\)},
	'mig_spool_sync() warns');
is(query("SELECT count(*) FROM commands WHERE id = 2001"), '0',
	'the command behind the link is not ingested');
is(query("SELECT count(*) FROM actions WHERE id = 2000"), '0', 'nor its action');
is(query(q{SELECT count(*) FROM spool_files
	 WHERE error ~ '(hunter2|TOPSECRET|password)' OR path ~ '/command/ready/'}),
	'0', 'nothing of the files behind the link is in spool_files');
is(query(q{SELECT count(*) FROM spool_files WHERE outcome = 'failed'}), '1',
	'the directory is the only failure');
$node->poll_query_until('postgres', 'SELECT failed = 1 FROM mig_worker_status')
  or die "mig_worker_status does not count the directory";
pass('mig_worker_status counts the directory as failed');

# a directory again: the row goes, and the directory is read
unlink("$spool/command/ready") or die;
mkdir("$spool/command/ready") or die;
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM spool_files WHERE path = '$spool/command/ready'")
  or die "the directory's row stays once it is a directory again";
pass("the directory's row goes once it is a directory again");
$stage = stage(4000, 1, '--dir', 'ready');
move_files($stage, $spool, spool_files($stage, 'command/ready'));
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM commands WHERE id = 4001')
  or die "command/ready is not read once it is a directory again";
pass('and command/ready is read again');

# a kind that is a symbolic link: its four directories say why, and the
# rows of its files are kept
my $rows = query('SELECT count(*) FROM spool_files');
rename("$spool/action", "$base/action.real") or die;
symlink("$base/action.real", "$spool/action") or die;
$node->poll_query_until('postgres', qq{
	SELECT count(*) = 4 FROM spool_files
	 WHERE substr(path, length('$spool') + 2) IN ('action/new', 'action/inflight',
			'action/done', 'action/invalid')
	   AND kind = 'action' AND outcome = 'failed'
	   AND error = 'the directory "action" is a symbolic link (not followed)'})
  or die "the directories under a linked kind have no failed rows";
pass('the directories under a linked action/ have failed rows');
is(query(q{SELECT count(*) FROM spool_files WHERE path ~ '/action/[a-z]+/'}), '2',
	'the rows of the action files behind it are kept');
is(query('SELECT count(*) FROM spool_files'), $rows + 4, 'no row went');
unlink("$spool/action") or die;
rename("$base/action.real", "$spool/action") or die;
$node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM spool_files WHERE outcome = 'failed'})
  or die "the directories' rows stay once action/ is back";
pass('they go once action/ is a directory again');

# --------------------------------------------------------------------------
# (c) what cannot be opened deletes nothing: a kind moved away, then the
# whole spool
# --------------------------------------------------------------------------
# the end of the last full pass, once the worker is idle: none under way
sub last_full_pass
{
	$node->poll_query_until('postgres', "SELECT state = 'idle' FROM mig_worker_status")
	  or die "the worker is not idle";
	return query('SELECT last_full_pass FROM mig_worker_status');
}

sub full_pass_since
{
	my ($t) = @_;
	$node->poll_query_until('postgres',
		"SELECT last_full_pass > '$t' AND state = 'idle' FROM mig_worker_status")
	  or die "no full pass since $t";
	return;
}

$rows = query('SELECT count(*) FROM spool_files');
my $commands = query(q{SELECT count(*) FROM spool_files WHERE kind = 'command'});
my $t = last_full_pass();
rename("$spool/command", "$base/command.away") or die;
full_pass_since($t);
is(query('SELECT count(*) FROM spool_files'), $rows,
	"the worker's full pass without command/ keeps its rows");
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT scanned, failed FROM mig_spool_sync()');
is($stdout, '2|0', 'mig_spool_sync() reads what is there');
is(query(q{SELECT count(*) FROM spool_files WHERE kind = 'command'}), $commands,
	'and keeps the rows of command/ too');
$t = last_full_pass();
rename("$base/command.away", "$spool/command") or die;
full_pass_since($t);
is(query('SELECT count(*) FROM spool_files'), $rows, 'command/ back: the same rows');

# the spool moved away: waiting, and nothing deleted
$log_offset = -s $node->logfile;
rename($spool, "$base/spool.away") or die;
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for spool' FROM mig_worker_status")
  or die "the worker does not notice its spool moved away";
pass('a spool moved away: the worker waits for it');
($ret, $stdout, $stderr) =
  $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM mig_spool_sync()");
like($stderr, qr{ERROR:  58P01: could not open spool directory "\Q$spool\E"},
	'mig_spool_sync() on the missing spool raises 58P01');
is(query('SELECT count(*) FROM spool_files'), $rows, 'spool_files keeps its rows');
$node->wait_for_log(qr/spool directory "\Q$spool\E" does not exist; waiting for it/,
	$log_offset);
my $waits = () = slurp_file($node->logfile, $log_offset)
  =~ /spool directory "\Q$spool\E" does not exist; waiting for it/g;
is($waits, 1, 'one log line');

$t = query('SELECT last_full_pass FROM mig_worker_status');
rename("$base/spool.away", $spool) or die;
full_pass_since($t);
is(query('SELECT count(*) FROM spool_files'), $rows, 'back: the same rows');
$stage = stage(5000, 1);
move_files($stage, $spool, spool_files($stage, 'command/done'));
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM commands WHERE id = 5001')
  or die "the worker does not resume";
pass('the worker resumes');

# --------------------------------------------------------------------------
# (b) the spool renamed and recreated: the new one is watched
# --------------------------------------------------------------------------
# (the new spool is made beside it and renamed into place whole: the
# worker watches it in one go, and reads it in one full pass)
$t = last_full_pass();
spool_dirs("$spool.new");
rename($spool, "$spool.old") or die;
rename("$spool.new", $spool) or die;
full_pass_since($t);
$t = last_full_pass();
$stage = stage(6000, 1);
move_files($stage, $spool, spool_files($stage, 'command/done'));
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM commands WHERE id = 6001')
  or die "a file in the recreated spool was not ingested";
is(last_full_pass(), $t,
	'a file in a spool renamed and recreated is ingested through the new watches, not a pass');
$node->poll_query_until('postgres', q{
	SELECT (SELECT state FROM mig_worker_status) = 'idle'
	   AND (SELECT count(*) FROM spool_files) = 1})
  or die "the rows of the old spool's files stay";
pass("the new spool is the truth: the old one's rows are gone");
# and it is watched, not only passed over once
$stage = stage(7000, 1);
move_files($stage, $spool, spool_files($stage, 'command/done'));
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM commands WHERE id = 7001')
  or die "the recreated spool is not watched";
pass('the recreated spool is watched');

$node->stop('fast');
done_testing();
