#!/usr/bin/env perl
# The spool sync's benchmark; bench/ingest starts a cluster (bench/cluster.sh)
# and runs this as its owner.  Three measures, each against a baseline or a bound from
# the same run:
#
#  1. mig_spool_sync() over N command files (bench/mkspool: 2-3 kB each,
#     MIG-shaped results, and about 1 kB with --small) against COPY of the rows it writes (its actions,
#     commands and spool_files rows) into the same tables, with their keys,
#     foreign keys and counter triggers, in one transaction; ROUNDS rounds,
#     the order turning, each leaving the same rows (checked).
#  2. Arrival latency with the worker running: files renamed into the spool
#     at RATE per second for SECONDS seconds; latency is from the rename to
#     the row being visible to another session: the notification of the
#     worker's commit (LISTEN mig_spool, bench/arrivals.c), then a read.
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
	rounds => 5,
	sizes => 'large,small',
);
GetOptions(\%o, 'dir=s', 'port=i', 'bin=s', 'arrivals=s', 'only=s', 'files=i', 'actions=i', 'rate=i', 'seconds=i', 'early=i',
	'total=i', 'chunk=i', 'rounds=i', 'sizes=s', 'quick', 'help')
  or die "see bench/ingest --help\n";
if ($o{help})
{
	print <<'EOF';
bench/ingest [--quick] [--files N] [--actions A] [--rate R] [--seconds S]
             [--early K] [--total M] [--chunk C] [--rounds R]
  --files N     command files of the one-pass measure (100000)
  --actions A   actions they belong to (100)
  --rate R      files per second of the latency measure (100)
  --seconds S   its duration (60)
  --early K     files fed to the worker before the first memory reading (10000)
  --total M     files fed before the second (200000)
  --chunk C     files generated and fed at a time (10000)
  --rounds R    rounds of the pass against COPY (5)
  --sizes S     the files of the one-pass measure: large (2-3 kB, MIG's
                usual command), small (about 1 kB: bench/mkspool --small),
                or both, comma-separated (large,small)
  --quick       1000 files, 3 s, 500 and 1500 files, 2 rounds (also
                with BENCH_QUICK=1 in the environment)
  --only 1,3    run only these measures
EOF
	exit 0;
}
if ($o{quick} || $ENV{BENCH_QUICK})
{
	%o = (%o, files => 1000, actions => 10, seconds => 3, early => 500,
		total => 1500, chunk => 500, rounds => 2);
}
my $dir = $o{dir} or die "--dir, --port and --bin are required (bench/ingest sets them)\n";
my $port = $o{port} or die "--port is required\n";
my $bindir = $o{bin} or die "--bin is required\n";
my $arrivals = $o{arrivals} or die "--arrivals is required (bench/ingest builds it)\n";
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

sub commas
{
	my ($x) = @_;
	1 while $x =~ s/^(-?\d+)(\d{3})/$1,$2/;
	return $x;
}

sub median
{
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
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
# 1. one pass against COPY of the same rows into the same tables, for each
# size of file
my (%pass, @sizes);
@sizes = split /,/, $o{sizes};
for my $size (@sizes)
{
	die "--sizes: $size is neither large nor small\n" unless $size =~ /^(large|small)$/;
}
sub one_pass
{
	my ($size) = @_;
	my (@sync_t, @copy_t);
	say("== 1. one pass over $o{files} $size command files against COPY of the same rows, $o{rounds} round(s)");
	my $t = time();
	rmtree("$dir/sync");
	run($^X, $mkspool, "$dir/sync", $o{files}, '--actions', $o{actions},
		$size eq 'small' ? ('--small') : ());
	my $bytes = 0;
	my @cmdfiles = files_under("$dir/sync", 'command/done');
	$bytes += -s "$dir/sync/$_" foreach @cmdfiles;
	my $nfiles = @cmdfiles;
	say(sprintf("generated in %.1f s, %.2f kB a file on average", time() - $t,
			$bytes / $nfiles / 1024));
	load_heartbeats("$dir/sync/heartbeats.jsonl");

	# what a pass writes (the actions, with the counters its triggers keep,
	# the commands, the spool_files rows), its fingerprint (all but the time
	# of the sync), and the same rows in files for COPY
	my $tables = 'actions, commands, spool_files';
	my $fingerprint = q{SELECT md5(string_agg(r, E'\n' ORDER BY r)) FROM (
		SELECT 'a' || a::text AS r FROM actions a UNION ALL
		SELECT 'c' || c::text FROM commands c UNION ALL
		SELECT 's' || (s.path, s.spool, s.kind, s.dir, s.inode, s.size, s.mtime, s.outcome, s.error,
		               s.objectid)::text FROM spool_files s) x};
	my $reset = sub {
		psql('bench', "DELETE FROM commands; DELETE FROM spool_files; DELETE FROM actions;");
		psql('bench', "VACUUM ANALYZE $tables");
		psql('bench', 'CHECKPOINT');
	};
	$reset->();
	my (undef, $counts) = timed('bench', "SELECT * FROM mig_spool_sync('$dir/sync')");
	my $rows = psql('bench', 'SELECT count(*) FROM commands');
	die "the pass stored $rows commands, not $o{files}\n" unless $rows == $o{files};
	my $want = psql('bench', $fingerprint);
	psql('bench', "COPY $_ TO '$dir/$_.copy'") foreach qw(actions commands spool_files);
	$reset->();
	my $copy = "BEGIN; COPY actions FROM '$dir/actions.copy'; COPY commands FROM '$dir/commands.copy'; "
	  . "COPY spool_files FROM '$dir/spool_files.copy'; COMMIT";

	# the two take turns, the first another one at each round; each must
	# leave the same rows as the first pass
	for my $r (1 .. $o{rounds})
	{
		for my $which ($r % 2 ? ('pass', 'copy') : ('copy', 'pass'))
		{
			my $s;
			if ($which eq 'pass')
			{
				($s, my $c) = timed('bench', "SELECT * FROM mig_spool_sync('$dir/sync')");
				die "the pass: $c, not $counts\n" unless $c eq $counts;
				push @sync_t, $s;
			}
			else
			{
				($s) = timed('bench', $copy);
				push @copy_t, $s;
			}
			my $got = psql('bench', $fingerprint);
			die "the $which left other rows than the first pass\n" unless $got eq $want;
			say(sprintf("  round %d: %s %.2f s", $r, $which eq 'pass' ? 'the pass' : 'COPY', $s));
			$reset->();
		}
	}
	unlink(map { "$dir/$_.copy" } qw(actions commands spool_files));
	rmtree("$dir/sync");
	my ($sync_s, $copy_s) = (median(@sync_t), median(@copy_t));
	say("pass (scanned|ingested|unchanged|deferred|failed): $counts");
	say(sprintf("pass %.2f s; COPY of the same rows into the same tables %.2f s; ratio %.2f (medians)",
			$sync_s, $copy_s, $sync_s / $copy_s));
	say(sprintf("  each round's ratio: %s", join(' ', map { sprintf('%.2f', $sync_t[$_] / $copy_t[$_]) }
				0 .. $#sync_t)));
	return { sync => $sync_s, copy => $copy_s, kb => $bytes / $nfiles / 1024 };
}
if ($part{1})
{
	$pass{$_} = one_pass($_) foreach @sizes;
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
	# the observer (bench/arrivals.c): LISTEN mig_spool, the ids each
	# notification made visible, with the time it came
	my $observer = fork();
	if ($observer == 0)
	{
		open(STDOUT, '>', "$dir/seen.txt") or die;
		exec($arrivals, "host=$dir port=$port user=$user dbname=bench", $lo, $hi,
			$o{seconds} + 120, "$dir/observer.ready");
		die "exec: $!";
	}
	my $ready_by = time() + 30;
	sleep(0.01) until -e "$dir/observer.ready" || time() > $ready_by;
	die "the observer did not start\n" unless -e "$dir/observer.ready";
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
my @rows;
if ($part{1})
{
	my $per = sub { 1e6 * $_[0] / $o{files} };
	for my $size (@sizes)
	{
		my $p = $pass{$size};
		my ($sync_s, $copy_s) = ($p->{sync}, $p->{copy});
		say(sprintf("one pass, %d files of %.1f kB: %.2f s (%.0f files/s), %.0f us a file", $o{files},
				$p->{kb}, $sync_s, $o{files} / $sync_s, $per->($sync_s)));
		say(sprintf("  COPY of the same rows into the same tables: %.2f s, %.0f us a row; ratio %.2f",
				$copy_s, $per->($copy_s), $sync_s / $copy_s));
		push @rows,
		  sprintf("| one `mig_spool_sync()` pass over %s command files of %.1f kB (%s actions, %s agents), median of %d, alternated with the baseline | %.2f s (%s files/s) | |",
			commas($o{files}), $p->{kb}, commas($o{actions}), commas($agents), $o{rounds},
			$sync_s, commas(sprintf('%.0f', $o{files} / $sync_s))),
		  sprintf("| `COPY` of the same rows (the pass's actions, commands and `spool_files` rows, in one transaction) into the same tables, their keys, foreign keys and counter triggers | %.2f s | |",
			$copy_s),
		  sprintf("| ratio, files of %.1f kB | %.2fx | at most 1.5x: %s |", $p->{kb}, $sync_s / $copy_s,
			$sync_s / $copy_s <= 1.5 ? 'met' : 'missed'),
		  sprintf("| per file: the pass; `COPY` per row; the difference (reading, checking and parsing the file) | %s us; %s us; %s us | |",
			commas(sprintf('%.0f', $per->($sync_s))), commas(sprintf('%.0f', $per->($copy_s))),
			commas(sprintf('%.0f', $per->($sync_s) - $per->($copy_s))));
	}
}
if ($part{2})
{
	say(sprintf("arrival latency, %d files at %d/s: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			$n, $o{rate}, $p50, $p99, $max));
	push @rows,
	  sprintf("| arrival latency with the worker running, %s files at %d/s: p50 | %.1f ms | at most 50 ms: %s |",
		commas($n), $o{rate}, $p50, $p50 <= 50 ? 'met' : 'missed'),
	  sprintf("| arrival latency: p99 (max) | %.1f ms (%.1f) | at most 5 ms: %s |",
		$p99, $max, $p99 <= 5 ? 'met' : 'missed');
}
if ($part{3})
{
	for my $m ([ $o{early}, $early ], [ $fed, $late ])
	{
		say(sprintf("worker memory after %d files: RSS %.1f MB, of which anonymous %.1f MB, shared %.1f MB",
				$m->[0], $m->[1]{VmRSS}, $m->[1]{RssAnon}, $m->[1]{RssShmem}));
	}
	my $growth = $late->{RssAnon} - $early->{RssAnon};
	say(sprintf("  growth: RSS %+.1f MB, anonymous (the worker's own memory) %+.1f MB",
			$late->{VmRSS} - $early->{VmRSS}, $growth));
	push @rows,
	  sprintf("| the worker's own memory (RssAnon) after %s / %s files | %.1f / %.1f MB: %+.1f MB | at most +10 MB: %s |",
		commas($o{early}), commas($fed), $early->{RssAnon}, $late->{RssAnon}, $growth,
		$growth <= 10 ? 'met' : 'missed'),
	  sprintf("| worker RSS less shared memory (VmRSS - RssShmem) | %.1f / %.1f MB | |",
		$early->{VmRSS} - $early->{RssShmem}, $late->{VmRSS} - $late->{RssShmem}),
	  sprintf("| worker VmRSS, shared buffers included | %.1f / %.1f MB | |",
		$early->{VmRSS}, $late->{VmRSS});
}
say('');
say('== figures');
say('| measure | value | target |');
say('| --- | ---: | --- |');
say($_) foreach @rows;
