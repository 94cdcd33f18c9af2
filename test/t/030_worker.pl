# The preloaded spool worker: it waits for its spool with one log line,
# ingests a file renamed into place through inotify alone (no rescan is due),
# NOTIFYs mig_spool, reports in mig_worker_status (files_per_sec back to 0
# after 10 idle seconds), carries on past a bad
# file, reports an error that ends a batch whole (its SQLSTATE, detail, hint
# and context) and carries on past it too, follows mig.spool_dir on SIGHUP, waits again when the spool is
# removed and resumes when it is recreated, does not block DROP EXTENSION and
# resumes after CREATE EXTENSION, refuses a second worker, and stops
# promptly with pg_ctl while busy (files left to do at the stop).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use File::Path qw(rmtree);
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my ($node, $spool) = mig_node('worker', rescan => '1h', batch => 50, extension => 1,
	conf => "log_error_verbosity = verbose\n");
my $base = $node->basedir;
my $stage = "$base/stage";

# no spool yet: one clear log line, no restart loop
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for spool' FROM mig_worker_status")
  or die "the worker does not wait for its spool";
my $worker_pid = $node->safe_psql('postgres', 'SELECT pid FROM mig_worker_status');
is( $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'mig spool worker'"),
	$worker_pid,
	'mig_worker_status shows the running worker');

spool_dirs($spool);
$node->poll_query_until('postgres', "SELECT state = 'idle' FROM mig_worker_status")
  or die "the worker does not find its spool";

# files in a staging spool, their agents registered
mkspool($stage, 20, '--actions', 2);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN mig_spool');

# one rename: the rescan is an hour away, so only inotify can bring it
move_files($stage, $spool, spool_files($stage, 'action/done'));
my ($first) = spool_files($stage, 'command/done');
move_files($stage, $spool, $first);
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM commands')
  or die "the command renamed into place was not ingested";
pass('a file renamed into the spool is ingested through inotify');
like($listener->query_safe('SELECT 1'),
	qr/Asynchronous notification "mig_spool" with payload "\{"ingested": \d+/,
	'the batch is announced on mig_spool');

# the rest
move_files($stage, $spool, spool_files($stage, 'command/done'));
$node->poll_query_until('postgres', 'SELECT count(*) = 20 FROM commands')
  or die "the other commands were not ingested";
is( $node->safe_psql('postgres', q{
	SELECT count(*) FROM actions a
	 WHERE sentctr <> (SELECT count(*) FROM commands c WHERE c.actionid = a.id)
		OR returnedctr <> (SELECT count(*) FROM commands c WHERE c.actionid = a.id
					   AND c.status NOT IN ('prepared', 'sent'))}),
	'0', 'counters match the commands');
$node->poll_query_until('postgres', q{
	SELECT state = 'idle' AND backlog = 0 AND deferred = 0 AND failed = 0
	   AND files_total = 22 AND last_pass IS NOT NULL
	  FROM mig_worker_status})
  or die "mig_worker_status does not show the work done";
pass('mig_worker_status shows the work done');

# files_per_sec: the files of the last 10 seconds, over 10; 0 once idle that
# long (nothing arrives meanwhile).  A file's batch began (synced_at)
# before its pass was counted, so that every file synced in the last 8
# whole seconds is in the worker's window, whatever second its clock reads
is( $node->safe_psql('postgres', q{
	SELECT round(w.files_per_sec * 10) BETWEEN
	       (SELECT count(*) FROM spool_files WHERE outcome = 'ingested'
	           AND synced_at >= date_trunc('second', clock_timestamp()) - interval '8 s')
	       AND w.files_total
	  FROM mig_worker_status w}),
	't', 'files_per_sec counts the files just ingested');
my $idle_since = time();
sleep(1) while time() < $idle_since + 10.5;
is($node->safe_psql('postgres', 'SELECT files_per_sec FROM mig_worker_status'),
	'0', 'files_per_sec is 0 after 10 seconds without a file');

# a bad file fails alone; the next good one is still taken
open(my $fh, '>', "$spool/command/done/.bad") or die;
print $fh "{\"id\": 7, \"status\": ";
close($fh);
rename("$spool/command/done/.bad", "$spool/command/done/bad.json") or die;
mkspool($stage, 1, '--actions', 1, '--first-id', 5000);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
move_files($stage, $spool, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 21 FROM commands')
  or die "a good file after a bad one was not ingested";
is( $node->safe_psql('postgres',
		"SELECT outcome || ': ' || error FROM spool_files WHERE path LIKE '%/bad.json'"),
	'failed: truncated JSON: the text ends before its strings, objects and arrays are closed',
	'the bad file has its failed row');
$node->poll_query_until('postgres', 'SELECT failed = 1 FROM mig_worker_status')
  or die "the failure is not counted";
pass('mig_worker_status counts the failed file');

# an error that ends a batch (a trigger refusing a file's row in
# spool_files) is caught, reported whole in the log as a WARNING with its
# SQLSTATE, detail, hint, context and location, and kept as last_error; the
# worker goes on, and takes the file once the trigger is gone
my $error_offset = -s $node->logfile;
$node->safe_psql('postgres', q{
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.path LIKE '%/refused.json' THEN
		RAISE EXCEPTION 'mig-test: the row of % is refused', NEW.path
		  USING ERRCODE = 'check_violation', DETAIL = 'A test trigger refuses it.',
				HINT = 'Drop the trigger.';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON spool_files FOR EACH ROW EXECUTE FUNCTION refuse();
});
open($fh, '>', "$spool/command/done/.refused") or die;
print $fh "{\"id\": 8, \"status\": ";
close($fh);
rename("$spool/command/done/.refused", "$spool/command/done/refused.json") or die;
my $refused = qr{mig-test: the row of \Q$spool\E/command/done/refused\.json is refused};
$node->wait_for_log(qr/WARNING:  23514: mig spool worker: $refused/, $error_offset);
my $error_log = slurp_file($node->logfile, $error_offset);
like($error_log, qr/WARNING:  23514: mig spool worker: $refused/,
	'a caught error is logged as a WARNING with its SQLSTATE');
like($error_log, qr/DETAIL:  A test trigger refuses it\./, 'with its detail');
like($error_log, qr/HINT:  Drop the trigger\./, 'with its hint');
like($error_log, qr/CONTEXT:  PL\/pgSQL function (?:\w+\.)?refuse\(\) line \d+ at RAISE/,
	'with its context');
like($error_log,
	qr/\tmig spool worker: (?:syncing named files of|full pass over) spool "\Q$spool\E"/,
	'and what the worker was doing');
like($error_log, qr/LOCATION:  exec_stmt_raise, pl_exec\.c/, 'with where it was raised');
$node->poll_query_until('postgres',
	"SELECT last_error ~ '^mig-test: the row of .*/refused\\.json is refused\$' FROM mig_worker_status")
  or die "the error is not the worker's last_error";
pass('the message is the last_error of mig_worker_status');
$node->safe_psql('postgres', 'DROP TRIGGER refuse ON spool_files; DROP FUNCTION refuse()');
$node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM spool_files WHERE path LIKE '%/refused.json' AND outcome = 'failed'})
  or die "the refused file was not taken after the trigger went";
pass('the worker goes on and takes the file once the cause is gone');

# SIGHUP: a new mig.spool_dir takes effect
my $spool2 = "$base/spool2";
spool_dirs($spool2);
mkspool($stage, 1, '--actions', 1, '--first-id', 6000);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
$node->safe_psql('postgres', "ALTER SYSTEM SET mig.spool_dir = '$spool2'");
$node->reload;
$node->poll_query_until('postgres',
	"SELECT spool_dir = '$spool2' AND state = 'idle' FROM mig_worker_status")
  or die "the worker did not move to the new spool";
move_files($stage, $spool2, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 22 FROM commands')
  or die "a file in the new spool was not ingested";
pass('after SIGHUP the worker syncs the new mig.spool_dir');

# the spool removed: wait; recreated: resume (the rescan is still an hour away)
my $log_offset = -s $node->logfile;
rmtree($spool2);
$node->poll_query_until('postgres',
	"SELECT state = 'waiting for spool' FROM mig_worker_status")
  or die "the worker did not notice its spool going";
spool_dirs($spool2);
mkspool($stage, 1, '--actions', 1, '--first-id', 7000, '--heartbeats', "$base/hb-7000");
load_heartbeats($node, 'postgres', "$base/hb-7000");
move_files($stage, $spool2, spool_files($stage));
$node->poll_query_until('postgres', 'SELECT count(*) = 23 FROM commands')
  or die "a file in the recreated spool was not ingested";
pass('the worker resumes when its spool is recreated');
my $log = slurp_file($node->logfile, $log_offset);
my $waits = () = $log =~ /spool directory "\Q$spool2\E" does not exist; waiting for it/g;
is($waits, 1, 'one log line while the spool is missing');

# DROP EXTENSION while it works through a pile of files: each row slowed
# down (as in 031_crash.pl), or the worker may be done with the pile before
# the DROP, and an idle worker does not see the extension dropped and
# created again until its next pass
$node->safe_psql('postgres', q{
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_sleep(0.002);
	RETURN NEW;
END $$;
CREATE TRIGGER slow BEFORE INSERT ON commands FOR EACH ROW EXECUTE FUNCTION slow();
});
mkspool($stage, 600, '--actions', 3, '--first-id', 100000, '--heartbeats', "$base/hb-pile");
load_heartbeats($node, 'postgres', "$base/hb-pile");
move_files($stage, $spool2, spool_files($stage));
$node->poll_query_until('postgres', "SELECT count(*) > 0 FROM commands WHERE id >= 100000")
  or die "the pile is not being ingested";
$node->safe_psql('postgres', 'DROP EXTENSION mig');
pass('DROP EXTENSION completes while the worker works');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'mig'"),
	'0', 'the extension is gone');
$node->safe_psql('postgres', 'CREATE EXTENSION mig');
load_heartbeats($node, 'postgres', "$base/hb-7000");
load_heartbeats($node, 'postgres', "$base/hb-pile");
$node->poll_query_until('postgres', "SELECT state = 'idle' FROM mig_worker_status")
  or die "the worker did not come back after CREATE EXTENSION";
$node->poll_query_until('postgres', 'SELECT count(*) = 601 FROM commands')
  or die "the worker did not resync everything after CREATE EXTENSION";
pass('after CREATE EXTENSION the worker syncs the spool again');

# one worker per cluster
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT mig_worker_launch()');
like($stderr, qr/the mig spool worker is already running/, 'a second worker is refused');

# pg_ctl stop while the worker is busy: the agents known and each row
# slowed down again, the worker is in the middle of the pile when the stop
# comes
$node->safe_psql('postgres',
	'CREATE TRIGGER slow BEFORE INSERT ON commands FOR EACH ROW EXECUTE FUNCTION slow()');
mkspool($stage, 1500, '--actions', 3, '--first-id', 300000, '--heartbeats', "$base/hb-stop");
load_heartbeats($node, 'postgres', "$base/hb-stop");
move_files($stage, $spool2, spool_files($stage));
# (polled: a batch commits many rows at once, and between two queries a
# loaded machine may see the next one commit too)
ok( $node->poll_query_until('postgres', q{
	SELECT (SELECT count(*) BETWEEN 1 AND 1499 FROM commands WHERE id >= 300000)
	   AND (SELECT backlog > 0 FROM mig_worker_status)}),
	'the worker is busy at the stop, with files left to do');
$listener->quit;
my $t0 = time();
$node->stop('fast');
my $elapsed = time() - $t0;
note(sprintf('pg_ctl stop took %.2f s', $elapsed));
ok($elapsed < 20, 'pg_ctl stop is prompt while the worker works');

done_testing();
