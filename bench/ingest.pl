#!/usr/bin/env perl
# The spool sync's benchmark; bench/ingest starts a cluster (bench/cluster.sh)
# and runs this as its owner.  Three measures, each against a baseline or a bound from
# the same run:
#
#  1. mig_spool_sync() over N command files (bench/mkspool: 2-3 kB each,
#     MIG-shaped results) against COPY of the same rows into tables shaped
#     like commands: with its keys, indexes and foreign keys, and without
#     the foreign keys.
#  2. Arrival latency with the worker running: files renamed into the spool
#     at RATE per second for SECONDS seconds; latency is from the rename to
#     the row being visible to another session (which polls every 2 ms).
#  3. The worker's memory after EARLY files and after TOTAL files fed
#     through it in chunks (each chunk removed once ingested, as MIG's
#     scheduler cleans its spool).
use strict;
use warnings;
use Getopt::Long;
use File::Path qw(make_path rmtree);
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my %o = (
	files => 100000,
	actions => 100,
	rate => 100,
	seconds => 60,
	early => 10000,
	total => 200000,
	chunk => 10000,
);
GetOptions(\%o, 'dir=s', 'port=i', 'bin=s', 'only=s', 'files=i', 'actions=i', 'rate=i', 'seconds=i', 'early=i',
	'total=i', 'chunk=i', 'quick', 'help')
  or die "see bench/ingest --help\n";
if ($o{help})
{
	print <<'EOF';
bench/ingest [--quick] [--files N] [--actions A] [--rate R] [--seconds S]
             [--early K] [--total M] [--chunk C]
  --files N     command files of the one-pass measure (100000)
  --actions A   actions they belong to (100)
  --rate R      files per second of the latency measure (100)
  --seconds S   its duration (60)
  --early K     files fed to the worker before the first memory reading (10000)
  --total M     files fed before the second (200000)
  --chunk C     files generated and fed at a time (10000)
  --quick       10000 files, 10 s, 5000 and 30000 files
  --only 1,3    run only these measures
EOF
	exit 0;
}
if ($o{quick})
{
	%o = (%o, files => 10000, actions => 10, seconds => 10, early => 5000,
		total => 30000, chunk => 5000);
}
my $dir = $o{dir} or die "--dir, --port and --bin are required (bench/ingest sets them)\n";
my $port = $o{port} or die "--port is required\n";
my $bindir = $o{bin} or die "--bin is required\n";
my $mkspool = 'bench/mkspool';
my $user = 'postgres';
my $agents = int($o{files} / $o{actions});
my %part = map { $_ => 1 } split /,/, ($o{only} // '1,2,3');

sub say { print @_, "\n"; }

sub run
{
	system(@_) == 0 or die "failed: @_\n";
}

sub psql
{
	my ($db, $sql) = @_;
	open(my $fh, '-|', "$bindir/psql", '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
		'-h', $dir, '-p', $port, '-U', $user, '-d', $db, '-c', $sql)
	  or die "psql: $!";
	my $out = do { local $/; <$fh> } // '';
	close($fh) or die "psql failed on: $sql\n";
	$out =~ s/\s+$//;
	return $out;
}

# seconds a statement takes, measured by the server
sub timed
{
	my ($db, $sql) = @_;
	my $script = "$dir/timed.sql";
	open(my $fh, '>', $script) or die;
	print $fh "SELECT clock_timestamp() AS t0 \\gset\n$sql;\n"
	  . "SELECT extract(epoch FROM clock_timestamp() - :'t0');\n";
	close($fh);
	open(my $out, '-|', "$bindir/psql", '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
		'-h', $dir, '-p', $port, '-U', $user, '-d', $db, '-f', $script)
	  or die;
	my @lines = <$out>;
	close($out) or die "psql failed on: $sql\n";
	chomp @lines;
	return ($lines[-1], @lines[0 .. $#lines - 1]);
}

sub wait_for
{
	my ($db, $sql, $what) = @_;
	my $deadline = time() + 600;
	while (time() < $deadline)
	{
		my $v = eval { psql($db, $sql) } // '';
		return if $v eq 't';
		sleep(0.2);
	}
	die "timed out waiting for $what\n";
}

sub spool_dirs
{
	my ($spool) = @_;
	make_path(map { "$spool/$_" }
		  qw(action/new action/inflight action/done action/invalid
		  command/ready command/inflight command/returned command/done));
}

sub files_under
{
	my ($root, $sub) = @_;
	opendir(my $dh, "$root/$sub") or return ();
	my @f = map { "$sub/$_" } sort grep { /\.json$/ && !/^\./ } readdir($dh);
	closedir($dh);
	return @f;
}

sub load_heartbeats
{
	my ($file) = @_;
	return psql('bench', "CREATE TEMP TABLE hb (j text); "
		  . "COPY hb FROM '$file' (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'); "
		  . "SELECT count(mig_agent_heartbeat(j::json)) FROM hb");
}

sub mem
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or die "/proc/$pid/status: $!";
	my %m;
	while (<$fh>)
	{
		$m{$1} = $2 / 1024 if /^(VmRSS|RssAnon|RssFile|RssShmem):\s+(\d+) kB/;
	}
	close($fh);
	return \%m;
}

sub pct
{
	my ($sorted, $p) = @_;
	my $i = int($p / 100 * $#$sorted + 0.5);
	return $sorted->[$i];
}

# ---------------------------------------------------------------------------
my $cpus = `nproc`;
chomp $cpus;
my $pgversion = `$bindir/postgres --version`;
chomp $pgversion;

# ---------------------------------------------------------------------------
# 1. one pass against COPY
my ($sync_s, $copy_fk_s, $copy_bare_s, $bytes, $nfiles);
if ($part{1})
{
	say("== 1. one pass over $o{files} command files against COPY");
	my $t = time();
	run($^X, $mkspool, "$dir/sync", $o{files}, '--actions', $o{actions});
	$bytes = 0;
	my @cmdfiles = files_under("$dir/sync", 'command/done');
	$bytes += -s "$dir/sync/$_" foreach @cmdfiles;
	say(sprintf("generated in %.1f s, %.2f kB a file on average", time() - $t,
			$bytes / @cmdfiles / 1024));
	load_heartbeats("$dir/sync/heartbeats.jsonl");
	psql('bench', 'CHECKPOINT');
	($sync_s, my $counts) = timed('bench', "SELECT * FROM mig_spool_sync('$dir/sync')");
	my $rows = psql('bench', 'SELECT count(*) FROM commands');
	die "the pass stored $rows commands, not $o{files}\n" unless $rows == $o{files};
	psql('bench', "COPY (SELECT * FROM commands) TO '$dir/commands.copy'");
	psql('bench', q{
	CREATE TABLE copy_fk (LIKE commands INCLUDING ALL);
	ALTER TABLE copy_fk ADD FOREIGN KEY (actionid) REFERENCES actions (id),
						ADD FOREIGN KEY (agentid) REFERENCES agents (id);
	CREATE TABLE copy_bare (LIKE commands INCLUDING ALL);
	CHECKPOINT;});
	($copy_fk_s) = timed('bench', "COPY copy_fk FROM '$dir/commands.copy'");
	psql('bench', 'CHECKPOINT');
	($copy_bare_s) = timed('bench', "COPY copy_bare FROM '$dir/commands.copy'");
	psql('bench', 'DROP TABLE copy_fk, copy_bare');
	unlink("$dir/commands.copy");
	rmtree("$dir/sync");
	say("pass (scanned|ingested|unchanged|deferred|failed): $counts");
	say(sprintf("pass %.2f s; COPY with foreign keys %.2f s (ratio %.2f); without %.2f s (ratio %.2f)",
			$sync_s, $copy_fk_s, $sync_s / $copy_fk_s, $copy_bare_s, $sync_s / $copy_bare_s));

	$nfiles = @cmdfiles;
}
else
{
	# the agents the other measures use
	run($^X, $mkspool, "$dir/agents", $agents, '--actions', 1, '--agents', $agents);
	load_heartbeats("$dir/agents/heartbeats.jsonl");
	rmtree("$dir/agents");
}

# ---------------------------------------------------------------------------
# 2. arrival latency
my $n = $o{rate} * $o{seconds};
my ($p50, $p99, $max);
if ($part{2})
{
	say("== 2. arrival latency: $n files at $o{rate}/s");
	spool_dirs("$dir/spool");
	my $first = 50_000_000;
	run($^X, $mkspool, "$dir/stage", $n, '--actions', 1, '--agents', $agents, '--first-id', $first,
		'--agent-first', 901_000_000);
	wait_for('bench', "SELECT state = 'idle' FROM mig_worker_status", 'the worker');
	for my $f (files_under("$dir/stage", 'action/done'))
	{
		rename("$dir/stage/$f", "$dir/spool/$f") or die;
	}
	wait_for('bench', "SELECT count(*) = 1 FROM actions WHERE id = $first", 'the action');
	my ($lo, $hi) = ($first + 1, $first + $n);
	open(my $obs, '>', "$dir/observer.sql") or die;
	print $obs <<~"EOF";
	CREATE TEMP TABLE seen (id bigint PRIMARY KEY, at double precision);
	DO \$\$
	DECLARE
		mark bigint := $lo - 1;
		total int := 0;
		t double precision;
		r record;
		deadline timestamptz := clock_timestamp() + interval '@{[ $o{seconds} + 120 ]} seconds';
	BEGIN
		WHILE total < $n AND clock_timestamp() < deadline LOOP
			t := extract(epoch FROM clock_timestamp());
			FOR r IN SELECT c.id::bigint AS id FROM commands c WHERE c.id > mark AND c.id <= $hi LOOP
				INSERT INTO seen VALUES (r.id, t) ON CONFLICT DO NOTHING;
				IF FOUND THEN
					total := total + 1;
				END IF;
			END LOOP;
			WHILE EXISTS (SELECT 1 FROM seen WHERE id = mark + 1) LOOP
				mark := mark + 1;
			END LOOP;
			PERFORM pg_sleep(0.002);
		END LOOP;
	END
	\$\$;
	COPY seen TO STDOUT;
	EOF
	close($obs);
	my $observer = fork();
	if ($observer == 0)
	{
		open(STDOUT, '>', "$dir/seen.txt") or die;
		exec("$bindir/psql", '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $dir, '-p', $port,
			'-U', $user, '-d', 'bench', '-f', "$dir/observer.sql");
		die "exec: $!";
	}
	my @files = files_under("$dir/stage", 'command/done');
	my %renamed;
	my $t0 = time() + 0.5;
	for my $k (0 .. $#files)
	{
		my $wait = $t0 + $k / $o{rate} - time();
		sleep($wait) if $wait > 0;
		rename("$dir/stage/$files[$k]", "$dir/spool/$files[$k]") or die;
		$files[$k] =~ /-(\d+)\.json$/;
		$renamed{$1} = time();
	}
	waitpid($observer, 0);
	die "the observer failed\n" if $?;
	my @lat;
	open(my $seen, '<', "$dir/seen.txt") or die;
	while (<$seen>)
	{
		my ($id, $at) = split;
		push @lat, ($at - $renamed{$id}) * 1000 if defined $renamed{$id};
	}
	close($seen);
	die "only " . scalar(@lat) . " of $n rows seen\n" unless @lat == $n;
	@lat = sort { $a <=> $b } @lat;
	($p50, $p99, $max) = (pct(\@lat, 50), pct(\@lat, 99), $lat[-1]);
	say(sprintf("latency p50 %.1f ms, p99 %.1f ms, max %.1f ms", $p50, $p99, $max));
	unlink(map { "$dir/spool/$_" } @files);

}

# ---------------------------------------------------------------------------
# 3. the worker's memory
my ($early, $late);
my $fed = 0;
if ($part{3})
{
	say("== 3. worker memory after $o{early} and after $o{total} files");
	my $pid = psql('bench', 'SELECT pid FROM mig_worker_status');
	my $base = 100_000_000;
	my $chunks = int($o{total} / $o{chunk});
	for my $c (0 .. $chunks - 1)
	{
		my $cfirst = $base + $c * 1_000_000;
		my $cdir = "$dir/chunk";
		rmtree($cdir);
		run($^X, $mkspool, $cdir, $o{chunk}, '--actions', int($o{chunk} / $agents) || 1,
			'--agents', $agents, '--first-id', $cfirst, '--agent-first', 901_000_000);
		my @chunk = (files_under($cdir, 'action/done'), files_under($cdir, 'command/done'));
		rename("$cdir/$_", "$dir/spool/$_") or die foreach @chunk;
		$fed += $o{chunk};
		wait_for('bench',
			"SELECT count(*) = $fed FROM commands WHERE id >= $base", "chunk $c");
		unlink(map { "$dir/spool/$_" } @chunk);
		wait_for('bench', "SELECT state = 'idle' AND backlog = 0 FROM mig_worker_status",
			'the worker to settle');
		# idle, the worker returns freed memory to the system within a second
		sleep(1.5);
		$early = mem($pid) if !$early && $fed >= $o{early};
		printf("  %d files fed, worker RSS %.1f MB (anonymous %.1f MB)\n", $fed,
			mem($pid)->{VmRSS}, mem($pid)->{RssAnon});
	}
	$late = mem($pid);
	die "the worker restarted during the run\n"
	  unless psql('bench', 'SELECT pid FROM mig_worker_status') eq $pid;

}

# ---------------------------------------------------------------------------
say('');
say("== mig bench/ingest, $pgversion, $cpus CPUs");
if ($part{1})
{
	say(sprintf("one pass, %d files of %.1f kB: %.2f s (%.0f files/s)", $o{files},
			$bytes / $nfiles / 1024, $sync_s, $o{files} / $sync_s));
	say(sprintf("  COPY of the same rows, commands' keys, indexes and foreign keys: %.2f s, ratio %.2f",
			$copy_fk_s, $sync_s / $copy_fk_s));
	say(sprintf("  COPY of the same rows, without the foreign keys: %.2f s, ratio %.2f",
			$copy_bare_s, $sync_s / $copy_bare_s));
}
say(sprintf("arrival latency, %d files at %d/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		$n, $o{rate}, $p50, $p99, $max)) if $part{2};
exit 0 unless $part{3};
say(sprintf("worker memory after %d files: RSS %.1f MB, of which anonymous %.1f MB, shared %.1f MB",
		$o{early}, $early->{VmRSS}, $early->{RssAnon}, $early->{RssShmem}));
say(sprintf("worker memory after %d files: RSS %.1f MB, of which anonymous %.1f MB, shared %.1f MB",
		$fed, $late->{VmRSS}, $late->{RssAnon}, $late->{RssShmem}));
say(sprintf("  growth: RSS %+.1f MB, anonymous (the worker's own memory) %+.1f MB",
		$late->{VmRSS} - $early->{VmRSS}, $late->{RssAnon} - $early->{RssAnon}));
