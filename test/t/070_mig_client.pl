# MIG's own code runs on mig (doc/roles.md, "MIG's scheduler and API").  A Go
# program of ours, test/go/migclient (Debian's lib/pq, no code of MIG's),
# connects as MIG's roles migscheduler and migapi, made by doc/roles.md's recipes
# run verbatim, over TCP with md5 as MIG's vendored lib/pq must, sends every
# kind of SQL call MIG's scheduler and API send, in their order and with
# their parameters' Go types, and writes the spool files MIG's scheduler
# writes, in the same order relative to those calls; the spool worker runs
# beside it.  Three runs, each in a cluster of its own:
#
# - mig.scheduler_writes on (mig.fill_delay 2s), MIG as released: no call
#   fails but those that fail on MIG's own schema too (PostgreSQL 10 and
#   later refuse its "SET (col) = ($1)"; a duplicate key MIG reports by the
#   index's name); FinishCommand always finds its command; the worker
#   changes no row MIG wrote, so no status moves backwards and no action
#   loses its target or signatures, and every signature is valid
#   afterwards (an investigator's armored key MIG sent as bytea hex
#   included), and authorized as the ACLs say; what MIG never wrote (a kill
#   order left in action/new, commands whose insert was lost) is filled in,
#   not before mig.fill_delay, its times equal to the microsecond to what
#   MIG would have written; MIG's secrets appear in no log line.
# - the same replay with mig.scheduler_writes off: the worker writes what
#   the files say under MIG's feet, and MIG's FinishCommand finds agents'
#   results taken already (what the setting is for: the test would catch
#   it).
# - mig.scheduler_writes off, the program writing the spool alone (agents
#   through mig_agent_heartbeat): the worker writes actions and commands,
#   no status moves backwards, no signed field changes, every signature is
#   valid, and MIG's reads find every column they scan filled in, its times
#   equal to the microsecond to the files'.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use MigGo;
use MigReadme;

# no Go, no lib/pq, no test: failures, never a skip
my ($go) = grep { -x $_ } map { "$_/go" } split /:/, $ENV{PATH};
ok(defined $go, 'go is installed (tools/deps.sh installs golang-go)')
  or BAIL_OUT('the MIG client needs Go');
ok(-f '/usr/share/gocode/src/github.com/lib/pq/conn.go',
	"Debian's lib/pq is installed (tools/deps.sh installs golang-github-lib-pq-dev)")
  or BAIL_OUT('the MIG client needs lib/pq');

# build offline, in GOPATH mode against /usr/share/gocode, every Go cache
# and setting inside the test's tmp directory (cgo as Go's own standard
# library is built: nothing of it to build again)
my $tmp = PostgreSQL::Test::Utils::tempdir;
go_offline_env($tmp, '/usr/share/gocode');
my $bin = "$tmp/migclient";
command_ok([ $go, 'build', '-o', $bin, sort glob(dirname(__FILE__) . '/../go/migclient/*.go') ],
	'build test/go/migclient');

# the scheduler's key pair, which MIG makes at its first start (a short
# path: gpg-agent's socket lives in the home)
my $gnupg = PostgreSQL::Test::Utils::tempdir_short;
chmod 0700, $gnupg;
# its gpg-agent goes with the test, however the test ends
END { local $?; system('gpgconf', '--homedir', $gnupg, '--kill', 'all') if defined $gnupg; }
my @gpg = ('gpg', '--homedir', $gnupg, '--batch', '--quiet', '--pinentry-mode', 'loopback',
	'--passphrase', '');
command_ok([ @gpg, '--quick-gen-key', 'migscheduler <migscheduler@example.net>', 'ed25519', 'sign',
	'never' ], "the scheduler's key pair");
my ($schedpub, $schedsec);
IPC::Run::run([ @gpg, '--armor', '--export' ], '>', \$schedpub) or die 'gpg --export';
IPC::Run::run([ @gpg, '--armor', '--export-secret-keys' ], '>', \$schedsec)
  or die 'gpg --export-secret-keys';

# doc/roles.md's recipes for MIG's roles, and their passwords (md5)
my $passwords = readme_recipe('mig-passwords');
my %password = $passwords =~ /ALTER ROLE (\w+) PASSWORD '([^']*)'/g;
ok($password{migscheduler} && $password{migapi}, "the manual gives MIG's roles their passwords");

# A cluster with mig preloaded, its worker on the database mig and a spool
# of its own, MIG's roles made by doc/roles.md's recipes, and a record of every
# change of status and signed field of actions and commands, and of every
# signature written or deleted, with who made it.
sub mig_cluster
{
	my ($name, $scheduler_writes, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $spool = $node->basedir . '/spool';
	# MIG's scheduler makes its spool's directories at its start
	make_path(map { "$spool/$_" } qw(action/new action/inflight action/done action/invalid
	  command/inflight command/returned));
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
mig.database = 'mig'
mig.spool_dir = '$spool'
mig.scheduler_writes = $scheduler_writes
mig.fill_delay = '2s'
listen_addresses = '127.0.0.1'
timezone = 'Europe/Paris'
} . ($opt{conf} // ''));
	# MIG's daemons: TCP, md5 (doc/roles.md), before initdb's trust lines
	my $hba = $node->data_dir . '/pg_hba.conf';
	my $lines = slurp_file($hba);
	open(my $fh, '>', $hba) or die "$hba: $!";
	print $fh "host mig migscheduler,migapi,mig_scheduler 127.0.0.1/32 md5\n$lines";
	close($fh);
	$node->start;
	$node->safe_psql('postgres', 'CREATE DATABASE mig');
	$node->safe_psql('mig', 'CREATE EXTENSION mig');
	$node->safe_psql('mig', join("\n", map { readme_recipe($_) }
		  qw(migreadonly migscheduler migapi mig-passwords), @{ $opt{recipes} // [] }));
	$node->safe_psql('mig', q{
CREATE SCHEMA audit;
CREATE TABLE audit.log (
	n bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	tbl text NOT NULL,
	op text NOT NULL,
	id numeric,
	who text,
	backend text,
	old_status text,
	new_status text,
	old_signed jsonb,
	new_signed jsonb);
-- what is recorded: a row written or deleted, a change of status or of a
-- signed field (not the counters, not the times)
CREATE FUNCTION audit.record() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
DECLARE
	o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
	n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
	os jsonb := o - ARRAY['id', 'description', 'threat', 'starttime', 'finishtime', 'lastupdatetime',
		'status', 'sentctr', 'returnedctr', 'donectr', 'cancelledctr', 'failedctr', 'timeoutctr',
		'syntaxversion', 'agentid', 'actionid', 'results'];
	ns jsonb := n - ARRAY['id', 'description', 'threat', 'starttime', 'finishtime', 'lastupdatetime',
		'status', 'sentctr', 'returnedctr', 'donectr', 'cancelledctr', 'failedctr', 'timeoutctr',
		'syntaxversion', 'agentid', 'actionid', 'results'];
BEGIN
	IF TG_OP = 'UPDATE' AND o->>'status' IS NOT DISTINCT FROM n->>'status' AND os = ns THEN
		RETURN NULL;
	END IF;
	INSERT INTO audit.log (tbl, op, id, who, backend, old_status, new_status, old_signed, new_signed)
	VALUES (TG_TABLE_NAME, TG_OP,
			coalesce(n->>'id', o->>'id', n->>'actionid', o->>'actionid')::numeric,
			session_user, (SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()),
			o->>'status', n->>'status', os, ns);
	RETURN NULL;
END $$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON mig.actions
	FOR EACH ROW EXECUTE FUNCTION audit.record();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON mig.commands
	FOR EACH ROW EXECUTE FUNCTION audit.record();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON mig.signatures
	FOR EACH ROW EXECUTE FUNCTION audit.record();
-- MIG's lifecycles: an action pending, scheduled, preparing, inflight,
-- then final; a command prepared, sent, then final
CREATE FUNCTION audit.rank(tbl text, status text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN tbl = 'actions' THEN
		CASE status WHEN 'pending' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'preparing' THEN 3
					WHEN 'inflight' THEN 4 ELSE 5 END
	ELSE CASE status WHEN 'prepared' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END END
$$;
CREATE FUNCTION audit.final(tbl text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN tbl = 'actions' THEN 5 ELSE 3 END
$$;
});
	$node->poll_query_until('mig', q{SELECT state = 'idle' FROM mig.mig_worker_status})
	  or die "the worker does not start";
	return ($node, $spool);
}

# run the program: its lines, and the TAP tests of what it says
sub run_client
{
	my ($node, $spool, $what, @args) = @_;
	my @cmd = (
		$bin, '-host', '127.0.0.1', '-port', $node->port, '-dbname', 'mig',
		'-sched-password', $password{migscheduler}, '-api-password', $password{migapi},
		'-spool', $spool, '-tmp', $node->basedir . '/migtmp', '-gnupghome', $gnupg,
		'-fixtures', 'test/fixtures/authz', '-fill-wait', '60s', @args);
	my ($out, $err) = ('', '');
	{
		# MIG's scheduler's local time zone is not the database's
		local $ENV{TZ} = 'America/New_York';
		IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	}
	my $rc = $? >> 8;
	my @lines = split /\n/, $out;
	note("$what: $_") foreach grep { /^(note|expected|summary)/ } @lines;
	diag("$what: stderr: $err") if $err ne '';
	my ($summary) = grep { /^summary / } @lines;
	ok(defined $summary, "$what: the program ran to its end") or diag($out);
	return ($rc, @lines);
}

# every "expected" failure is one MIG's own schema gives on PostgreSQL 15
my $mig_own = qr/(UpdateActionStatus|UpdateRunningAction|UpdateInvestigatorStatus|UpdateInvestigatorPerms)\b.*: pq: source for a multiple-column UPDATE item must be a sub-SELECT or ROW\(\) expression$|InsertInvestigator \(a key already there\): pq: duplicate key value violates unique constraint "investigators_pgpfingerprint_idx"$/;

# a query as migscheduler, over TCP with its password, as MIG connects
sub as_scheduler
{
	my ($node, $sql) = @_;
	local $ENV{PGPASSWORD} = $password{migscheduler};
	my ($out, $err);
	IPC::Run::run([ 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p',
		$node->port, '-U', 'migscheduler', '-d', 'mig', '-c', $sql ], '>', \$out, '2>', \$err)
	  or die "psql as migscheduler: $err";
	chomp $out;
	return $out;
}

# what the record says: no status moved backwards or out of a final one,
# no signed field of an action changed, no signature was deleted
sub lifecycle_ok
{
	my ($node, $what) = @_;
	is( $node->safe_psql('mig', q{
		SELECT string_agg(format('%s %s %s -> %s by %s', tbl, id, old_status, new_status,
								 coalesce(nullif(backend, 'client backend'), who)), E'\n' ORDER BY n)
		  FROM audit.log
		 WHERE op = 'UPDATE' AND old_status IS DISTINCT FROM new_status
		   AND (audit.rank(tbl, new_status) < audit.rank(tbl, old_status)
				OR audit.rank(tbl, old_status) = audit.final(tbl))}),
		'', "$what: no status moved backwards, or out of a final one");
	is( $node->safe_psql('mig', q{
		SELECT string_agg(format('%s %s: %s -> %s', tbl, id, old_signed, new_signed), E'\n' ORDER BY n)
		  FROM audit.log
		 WHERE (tbl = 'actions' AND op = 'UPDATE' AND old_signed IS DISTINCT FROM new_signed)
			OR (tbl = 'signatures' AND op = 'DELETE')}),
		'', "$what: no action lost or changed its target, operations or signatures");
	is( $node->safe_psql('mig', q{
		SELECT string_agg(id::text, ', ') FROM mig.actions
		 WHERE target = '' OR json_array_length(pgpsignatures) = 0 OR operations IS NULL}),
		'', "$what: every action has its target, operations and signatures");
	# what mig adds: every signature of every action valid, as migscheduler
	is( as_scheduler($node, q{
		SELECT count(*) FILTER (WHERE v.valid) || ' of ' || count(*)
		  FROM actions a, mig_verify_action(a.id) v}),
		$node->safe_psql('mig', q{
		SELECT sum(json_array_length(pgpsignatures)) || ' of ' || sum(json_array_length(pgpsignatures))
		  FROM mig.actions}),
		"$what: mig_verify_action finds every signature valid");
	is( $node->safe_psql('mig', q{
		SELECT count(*) FILTER (WHERE outcome = 'failed') || ' failed, '
			   || (SELECT coalesce(last_error, 'no error') FROM mig.mig_worker_status)
		  FROM mig.spool_files}),
		'0 failed, no error', "$what: the worker read every file and met no error");
	return;
}

############################################################################
# 1. MIG as released, mig.scheduler_writes on
############################################################################
my ($node, $spool) = mig_cluster('released', 'on');
my ($rc, @lines) = run_client($node, $spool, 'released', '-writes', 'db');
is($rc, 0, 'released: the program reports no failure');
is(join("\n", grep { /^FAIL / } @lines), '', 'released: no call fails');
is(join("\n", grep { /^check FAIL / } @lines), '', "released: every check of MIG's reads holds");
my @expected = grep { /^expected / } @lines;
is(join("\n", grep { !/$mig_own/ } @expected), '',
	"released: what fails fails on MIG's own schema too");
is(join("\n", grep({ /FinishCommand/ && !/^ok / } @lines)) . scalar(grep({ /^ok .*FinishCommand/ } @lines)),
	'19', 'released: FinishCommand always finds its command (all 19 of them)');
ok(scalar(grep { /UpdateActionStatus/ } @expected) == 4
	  && scalar(grep { /InsertCommands/ && /^ok / } @lines) == 4,
	'released: four actions flew, four batches of commands were sent');

lifecycle_ok($node, 'released');
is( $node->safe_psql('mig', q{
	SELECT count(*) FROM audit.log WHERE backend = 'mig spool worker' AND op <> 'INSERT'}),
	'0', 'released: the worker changed no row');
# what the worker wrote is what MIG never did: the kill order left in
# action/new, and B's commands, whose insert was lost
is( $node->safe_psql('mig', q{
	SELECT string_agg(DISTINCT CASE WHEN l.tbl = 'actions' THEN a.name ELSE 'commands of ' || c.name END,
					  ', ') || ': ' || count(*)
	  FROM audit.log l
	  LEFT JOIN mig.actions a ON l.tbl = 'actions' AND a.id = l.id
	  LEFT JOIN mig.commands m ON l.tbl = 'commands' AND m.id = l.id
	  LEFT JOIN mig.actions c ON c.id = m.actionid AND json_array_length(c.pgpsignatures) = 2
	 WHERE l.backend = 'mig spool worker'}),
	'Kill agent host7.example.net, commands of authz file: 7',
	'released: the worker filled in the kill order MIG never processed and the 6 lost commands');
is($node->safe_psql('mig', 'SELECT filled FROM mig.mig_worker_status'),
	'7', 'released: mig_worker_status counts them');
# not before mig.fill_delay: the kill order's row came 2s after its file
is( $node->safe_psql('mig', q{
	SELECT l.at >= f.mtime + interval '2s'
	  FROM audit.log l JOIN mig.spool_files f ON f.objectid = l.id AND f.dir = 'new'
	 WHERE l.backend = 'mig spool worker' AND l.tbl = 'actions'}),
	't', 'released: the unprocessed kill order was filled in after mig.fill_delay');
# what mig adds: ACLs (the superuser's) and mig_authorize on MIG's rows:
# the file module needs a weight of 1 on host1, of 2 on host3; Ivan has 1
# on both, Judy 1 on host3: A (Ivan) runs on host1 only, B (Ivan and Judy)
# on both, C (no operation) nowhere
$node->safe_psql('mig', q{
INSERT INTO mig.modules VALUES (1, 'default'), (2, 'file');
INSERT INTO mig.agtmodreq
SELECT 2, id, CASE name WHEN 'host1.example.net' THEN 1 ELSE 2 END FROM mig.agents
 WHERE name IN ('host1.example.net', 'host3.example.net');
INSERT INTO mig.invagtmodperm
SELECT i.id, a.id, 2, 1 FROM mig.investigators i, mig.agents a
 WHERE (i.name = 'Ivan' AND a.name IN ('host1.example.net', 'host3.example.net'))
	OR (i.name = 'Judy' AND a.name = 'host3.example.net');
});
is( as_scheduler($node, q{
	SELECT string_agg(d, ', ' ORDER BY d)
	  FROM (SELECT CASE json_array_length(a.pgpsignatures) WHEN 2 THEN 'B' ELSE
				   CASE a.name WHEN 'authz file' THEN 'A' ELSE 'C' END END || ' on ' ||
				   split_part(g.name, '.', 1) || ': ' || mig_authorize(a.id, g.id) AS d
			  FROM actions a, agents g
			 WHERE a.name LIKE 'authz%' AND g.name IN ('host1.example.net', 'host3.example.net')) s}),
	'A on host1: true, A on host3: false, B on host1: true, B on host3: true, '
	  . 'C on host1: false, C on host3: false',
	"released: mig_authorize decides on MIG's actions by the ACLs");
# MIG's secrets in no message of the server's log (the tests' clusters log
# every statement, log_statement = all, with its parameters: those lines
# are the setting's, not messages)
my $log = join("\n", grep { !/ (LOG|DETAIL):  (statement|execute [^:]*|parameters): / }
	  split /\n/, slurp_file($node->logfile));
my ($secline) = grep { length > 20 } split /\n/, (split /\n\n/, $schedsec, 2)[1];
my $apikey = '0123456789abcdef0123456789abcdef';    # test/go/migclient/api.go
is(join(', ', grep { index($log, $_) >= 0 } $secline, $apikey, unpack('H*', $apikey)), '',
	"released: neither the scheduler's private key nor an API key is in the server's log");
$node->stop;

############################################################################
# 2. the same, mig.scheduler_writes off: the worker takes the agents'
# results before MIG's FinishCommand
############################################################################
($node, $spool) = mig_cluster('fighting', 'off');
($rc, @lines) = run_client($node, $spool, 'fighting', '-writes', 'db');
ok($rc != 0 && grep({ /^FAIL scheduler FinishCommand .*0 rows affected/ } @lines),
	'mig.scheduler_writes off under MIG as released: FinishCommand finds results taken');
$node->stop;

############################################################################
# 3. the spool alone, mig.scheduler_writes off: the worker writes actions and
# commands, MIG reads them
############################################################################
($node, $spool) = mig_cluster('spool', 'off', recipes => ['scheduler'],
	conf => "mig.periodic_interval = '1s'\n");
$node->safe_psql('mig', q{SET password_encryption = 'md5'; ALTER ROLE mig_scheduler PASSWORD 'hb';});
# investigators are the superuser's: the scheduler's key, Ivan's, Judy's
# (files the server reads)
my %key = (schedpub => $schedpub, schedsec => $schedsec,
	ivan => slurp_file('test/fixtures/authz/ivan.pub'), judy => slurp_file('test/fixtures/authz/judy.pub'));
foreach my $k (keys %key)
{
	open(my $fh, '>', "$tmp/$k") or die "$tmp/$k: $!";
	print $fh $key{$k};
	close($fh);
}
$node->safe_psql('mig', qq{
INSERT INTO mig.investigators (name, publickey, privatekey)
VALUES ('migscheduler', pg_read_file('$tmp/schedpub'), convert_to(pg_read_file('$tmp/schedsec'), 'UTF8')),
	   ('Ivan', pg_read_file('$tmp/ivan'), NULL), ('Judy', pg_read_file('$tmp/judy'), NULL);
});
($rc, @lines) = run_client($node, $spool, 'spool', '-writes', 'spool', '-hb-user',
	'mig_scheduler', '-hb-password', 'hb');
is($rc, 0, 'spool: the program reports no failure');
is(join("\n", grep { /^(FAIL|expected) / } @lines), '', 'spool: no call fails');
is(join("\n", grep { /^check FAIL / } @lines), '',
	"spool: every check of MIG's reads holds, times to the microsecond");
lifecycle_ok($node, 'spool');
is( $node->safe_psql('mig', q{
	SELECT string_agg(DISTINCT l.tbl || ' ' || l.op || ' by ' || coalesce(l.who, ''), ', ')
	  FROM audit.log l
	 WHERE l.tbl <> 'signatures' AND l.backend IS DISTINCT FROM 'mig spool worker'}),
	'', 'spool: only the worker wrote actions and commands');

done_testing();
