# The worker when the extension's owner is not a superuser, when the
# inotify queue overflows, and when a watch cannot be added.  The owner (the role that ran CREATE EXTENSION)
# lost SUPERUSER since: the worker still connects as the bootstrap
# superuser, and its units run as the owner, whose rights they have (a
# trigger on actions sees the owner as current_user).  The queue: while the
# worker waits for a lock in the middle of a batch, more events arrive than
# the kernel queues (fs.inotify.max_queued_events), and files are renamed
# into the spool after that, whose events are lost: once the lock goes, the
# overflow makes the worker read the whole spool, and those files are
# ingested though the rescan is an hour away.  And a watch that cannot be
# added: a warning, and a full pass once it can.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;

my ($node, $spool) = mig_node('owner', rescan => '1h', batch => 50, dirs => 1);
my $base = $node->basedir;
my $stage = "$base/stage";
my $superuser = $node->safe_psql('postgres', 'SELECT current_user');

# the owner: a superuser when it created the extension, not any more
$node->safe_psql('postgres', q{
CREATE ROLE migadmin LOGIN SUPERUSER;
SET ROLE migadmin;
CREATE EXTENSION mig;
RESET ROLE;
ALTER ROLE migadmin NOSUPERUSER;
CREATE TABLE public.seen (who name, what text);
GRANT INSERT ON public.seen TO migadmin;
CREATE FUNCTION public.seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.seen VALUES (current_user, TG_TABLE_NAME || ' ' || NEW.id);
	RETURN NEW;
END $$;
CREATE TRIGGER seen BEFORE INSERT ON mig.actions FOR EACH ROW EXECUTE FUNCTION public.seen();
});
is($node->safe_psql('postgres', q{
	SELECT r.rolname || ' ' || r.rolsuper FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner
	 WHERE e.extname = 'mig'}), 'migadmin false', 'the owner is not a superuser');
$node->poll_query_until('postgres', "SELECT state = 'idle' FROM mig_worker_status")
  or die "the worker does not start";

mkspool($stage, 4, '--actions', 2);
load_heartbeats($node, 'postgres', "$stage/heartbeats.jsonl");
move_files($stage, $spool, spool_files($stage, 'action/done'));
$node->poll_query_until('postgres', 'SELECT count(*) = 2 FROM actions')
  or die "the actions were not ingested";
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT who, ',') FROM public.seen}),
	'migadmin', 'the worker\'s units run as the owner');
is($node->safe_psql('postgres',
		"SELECT usename FROM pg_stat_activity WHERE backend_type = 'mig spool worker'"),
	$superuser, 'connected as the bootstrap superuser');

# the queue: the worker waits for a lock in a batch ...
my $last_full = $node->safe_psql('postgres', 'SELECT last_full_pass FROM mig_worker_status');
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE mig.spool_files IN ACCESS EXCLUSIVE MODE');
my @commands = spool_files($stage, 'command/done');
move_files($stage, $spool, shift @commands);
$node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	 WHERE NOT l.granted AND a.backend_type = 'mig spool worker'})
  or die "the worker does not wait for the lock";

# ... more events than the queue holds (a file made and removed: two), ...
open(my $mq, '<', '/proc/sys/fs/inotify/max_queued_events') or die;
my $max = <$mq>;
close $mq;
chomp $max;
my $dir = "$spool/command/done";
for my $i (1 .. int($max / 2) + 100)
{
	open(my $fh, '>', "$dir/.noise$i") or die;
	close $fh;
	unlink("$dir/.noise$i") or die;
}
# ... then files whose events the kernel drops
move_files($stage, $spool, @commands);
$locker->query_safe('COMMIT');
$locker->quit;

$node->poll_query_until('postgres', 'SELECT count(*) = 4 FROM commands')
  or die "the files renamed after the overflow were not ingested";
pass('after an overflow of the inotify queue the worker reads the whole spool');
is($node->safe_psql('postgres', "SELECT last_full_pass > '$last_full' FROM mig_worker_status"),
	't', 'in a full pass');

# a watch that cannot be added (the kernel's limit of watches, made by a
# test build's fault injection): started so, the worker warns, once, reads
# the spool at its start and tries the watches again; a file arriving
# meanwhile is ingested once they can be added, by the full pass that
# follows (the rescan is an hour away, and no watch saw it)
{
	my ($ret, $out, $err) = $node->psql('postgres', 'SHOW mig.fault_injection');
	is($ret, 0, 'this build has fault injection (make MIG_FAULTS=1, as test/run builds)')
	  or BAIL_OUT("mig built without MIG_FAULTS=1: $err");
}
$node->append_conf('postgresql.conf', "mig.fault_injection = 'spool_watch_error'\n");
my $log_offset = -s $node->logfile;
$node->restart;
$node->wait_for_log(
	qr/WARNING:  mig spool worker: could not watch spool directory "\Q$spool\E": No space left on device/,
	$log_offset);
$node->poll_query_until('postgres', q{
	SELECT state = 'idle' AND last_full_pass IS NOT NULL FROM mig_worker_status})
  or die "the worker does not read the spool at its start";
$last_full = $node->safe_psql('postgres', 'SELECT last_full_pass FROM mig_worker_status');
mkspool($stage, 1, '--actions', 1, '--first-id', 5000, '--heartbeats', "$base/hb-5000");
load_heartbeats($node, 'postgres', "$base/hb-5000");
move_files($stage, $spool, spool_files($stage));
$node->safe_psql('postgres', "ALTER SYSTEM SET mig.fault_injection = ''");
$node->reload;
$node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM commands WHERE id BETWEEN 5000 AND 5999')
  or die "the file that arrived while the spool was not watched was not ingested";
is($node->safe_psql('postgres', "SELECT last_full_pass > '$last_full' FROM mig_worker_status"),
	't', 'once the watches are added, a full pass reads what arrived unwatched');
my $warnings = () = slurp_file($node->logfile, $log_offset) =~ /could not watch spool directory/g;
is($warnings, 1, 'one warning while the watches could not be added');

$node->stop;
done_testing();
