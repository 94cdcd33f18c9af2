# The security suite.  Two attackers, neither a superuser:
#
# - "attacker", with doc/roles.md's scheduler, investigator and mig_spool_sync
#   grants, USAGE on schema mig, plus every privilege on every table and
#   function of the extension, plants in a schema of its own ("evil")
#   operators, functions and aggregates that shadow pg_catalog's
#   (test/t/MigAttack.pm; each springs when it runs as anyone else and, run
#   by a superuser, makes its planter one) and puts that schema first in its
#   sessions' and its role's search_path;
# - "dbowner", who owns the database and so (PostgreSQL 15) its schema
#   public, plants the same traps in public, gives the database the
#   search_path 'public, evil, pg_catalog', and has the attacker's grants.
#
# Each calls every function of the extension and fires every trigger on its
# tables (both enumerated from the catalog) under its path; the attacker
# changes investigators' keys and verifies again; the spool worker ingests
# files after it restarted under the database's path, as a superuser and as
# mig.worker_role.  Proves that nothing mig runs with more rights than its
# caller (as the extension's owner, or in the worker) resolves an object
# through a search_path someone else controls: no trap springs, not even in
# a rolled-back transaction, and no role gains an attribute or a membership.
#
# And that owning the database gives no hold on mig's schema: dbowner can
# neither drop, rename, move, re-own, re-create, index, police, rule or
# trigger any relation, index or function of the extension, nor create
# anything in schema mig, nor take it, nor touch the extension, nor set a
# superuser's or the server's mig.* settings for the database (42501 or
# 55P02 each; what ALTER DATABASE may set is noted).  A superuser swapping
# the index mig reads invagtmodperm by (agentid, moduleid) for one of the
# same name (on a decoy table of dbowner's, with other column types, on
# expressions, partial, on the columns in the other order) changes no
# decision of mig_authorize, mig_authorize_explain or mig_authorized_agents:
# each is the same or refused with 42704, in the same session and in new
# ones, and no server process crashes.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;
use MigAttack;

my $attacker = 'attacker';
my $hostile = 'evil, pg_catalog, public';	# the attacker's
my $db_hostile = 'public, evil, pg_catalog';	# the database's, by dbowner
my @trap_schemas = ('evil', 'public');

my $node = PostgreSQL::Test::Cluster->new('security');
$node->init;
my $base = $node->basedir;
my $spool = "$base/spool";
my $stage = "$base/stage";
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '$spool'
mig.database = 'sec'
mig.rescan_interval = '1h'
});
spool_dirs($spool);
$node->start;

# The suite's own sessions (the bootstrap superuser) never take the hostile
# search_path: what they run is the test's doing, not mig's.
$ENV{PGOPTIONS} = '-c search_path=pg_catalog,mig';
sub admin { return $node->safe_psql('sec', $_[0]); }
sub admin_poll { return $node->poll_query_until('sec', $_[0]); }

# a script run as $role with the search_path its role and the database give
# it; errors do not stop it
sub as_role
{
	my ($role, $sql) = @_;
	local $ENV{PGOPTIONS};
	delete $ENV{PGOPTIONS};
	local $ENV{PGUSER} = $role;
	my ($ret, $out, $err) = $node->psql('sec', $sql, on_error_stop => 0);
	return ($out, $err);
}

# heartbeats sent by the attacker (mig_agent_heartbeat, under its search_path)
sub attacker_heartbeats
{
	local $ENV{PGOPTIONS};
	delete $ENV{PGOPTIONS};
	local $ENV{PGUSER} = $attacker;
	return load_heartbeats($node, 'sec', $_[0]);
}

my $fixtures = 'test/fixtures';
sub fx { return slurp_file("$fixtures/$_[0]"); }

#
# Roles, the database (owned by a non-superuser), the extension, data
#
$node->safe_psql('postgres', qq{
CREATE ROLE dbowner LOGIN;
CREATE ROLE $attacker LOGIN;
CREATE ROLE mig_worker LOGIN;
CREATE DATABASE sec OWNER dbowner;
});
admin('CREATE EXTENSION mig');
# the worker found no database at start: a restart connects it at once
$node->restart;

# investigators 1-4 (ivan, judy, alice, bob); 5 and 6 are made and removed
# by the attack; oscar signs action 6 and has no investigator
my %action = map { $_ => fx("authz/$_.json") } qw(a1 a2 a3);
sub add_action
{
	my ($id, $a, @signers) = @_;
	return sprintf(q{
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status, syntaxversion)
SELECT %d, a->>'name', a->>'target', (a->>'validfrom')::timestamptz, (a->>'expireafter')::timestamptz,
	   a->'operations', json_build_array(%s), 'inflight', 2
  FROM (SELECT %s::json AS a) j;},
		$id, join(', ', map { dq(fx("authz/$a.$_.asc")) . '::text' } @signers), dq($action{$a}));
}
admin(join("\n",
	sprintf(q{INSERT INTO investigators (id, name, publickey) VALUES
	(1, 'Ivan', %s), (2, 'Judy', %s), (3, 'Alice', %s), (4, 'Bob', %s);},
		dq(fx('authz/ivan.pub')), dq(fx('authz/judy.pub')), dq(fx('keys/alice.pub')), dq(fx('keys/bob.pub'))),
	add_action(1, 'a1', 'ivan'),
	add_action(2, 'a1', 'ivan', 'judy'),
	add_action(3, 'a2', 'ivan', 'judy'),
	add_action(4, 'a3', 'ivan'),
	add_action(6, 'a1', 'ivan', 'oscar'),
	sprintf(q{
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
VALUES (5, 'find ssh keys', 'agents.os=''linux''', '2026-03-01 00:00:00+00', '2026-03-02 00:00:00+00',
	'[{"module":"file","parameters":{"searches":{"s1":{"names":["id_rsa"]}}}},{"module":"netstat","parameters":{"connectedip":["10.0.0.1"]}}]',
	json_build_array(%s::text, %s::text), 'pending');},
		dq(fx('sig/2.alice.line')), dq(fx('sig/2.bob.asc'))),
	q{
INSERT INTO modules VALUES (1, 'default'), (2, 'file'), (3, 'netstat'), (4, 'pkg');
SELECT count(mig_agent_heartbeat(json_build_object('id', i, 'name', 'host' || i,
	'queueloc', 'linux.host' || i, 'mode', 'daemon', 'version', '20260101-0.a1b2c3d4.prod',
	'pid', 100 + i, 'starttime', '2026-01-01T00:00:00Z', 'heartbeatts', '2026-01-02T00:00:00Z',
	'status', 'online', 'environment', json_build_object('os', 'linux', 'arch', 'amd64'))))
  FROM generate_series(10, 13) i;
INSERT INTO agtmodreq VALUES (2, 10, 1), (3, 10, 1), (1, 11, 1), (2, 12, 2), (4, 13, 1);
INSERT INTO invagtmodperm VALUES (1, 10, 2, 1), (2, 10, 3, 1), (3, 10, 2, 1), (1, 11, 1, 1),
	(1, 12, 2, 1), (2, 12, 2, 1), (4, 13, 4, 1);
INSERT INTO commands (id, actionid, agentid, status, results, starttime, finishtime) VALUES
	(100, 1, 10, 'success', '[{"foundanything":false}]', '2026-01-01 01:00:00+00', '2026-01-01 01:01:00+00'),
	(101, 2, 11, 'sent', NULL, '2026-01-01 01:00:00+00', NULL),
	(102, 3, 12, 'prepared', NULL, '2026-01-01 01:00:00+00', NULL),
	(103, 5, 13, 'failed', '[]', '2026-01-01 01:00:00+00', '2026-01-01 01:02:00+00');
}));

# The attackers: doc/roles.md's scheduler and investigator grants, mig_spool_sync's
# recipe, every privilege on every table and function of the extension (so
# that they can fire every trigger and make every call); the attacker a
# schema.  (No privilege on the sequences, no TRIGGER: dbowner's attempts
# below need a table's or the schema's ownership, or those.)
foreach my $role ($attacker, 'dbowner')
{
	admin(qq{
GRANT USAGE ON SCHEMA mig TO $role;
GRANT SELECT, INSERT, UPDATE ON mig.actions, mig.commands, mig.agents TO $role;
GRANT SELECT ON mig.investigators, mig.signatures, mig.modules, mig.agtmodreq, mig.invagtmodperm TO $role;
GRANT EXECUTE ON FUNCTION mig.mig_action_string(json), mig.mig_verify_action(numeric),
	  mig.mig_authorize(numeric, numeric), mig.mig_authorize_explain(numeric, numeric),
	  mig.mig_authorized_agents(numeric, numeric[]) TO $role;
GRANT SELECT ON mig.actions, mig.commands, mig.agents, mig.modules, mig.signatures TO $role;
GRANT EXECUTE ON FUNCTION mig.mig_action_string(json), mig.mig_key_fingerprint(text),
	  mig.mig_verify_signature(text, text, text), mig.mig_authorize_explain(numeric, numeric) TO $role;
GRANT pg_read_server_files TO $role;
GRANT EXECUTE ON FUNCTION mig.mig_spool_sync(text) TO $role;
GRANT SELECT, INSERT, UPDATE, DELETE ON mig.spool_files TO $role;
GRANT SELECT, INSERT, UPDATE ON mig.actions, mig.commands TO $role;
GRANT SELECT ON mig.agents TO $role;
DO \$\$
DECLARE
	o record;
BEGIN
	FOR o IN
		SELECT d.classid, d.objid, c.relkind FROM pg_depend d
		  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
		 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
	LOOP
		IF o.classid = 'pg_proc'::regclass THEN
			EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO $role', o.objid::regprocedure);
		ELSIF o.relkind IN ('r', 'p') THEN
			EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON %s TO $role', o.objid::regclass);
		ELSIF o.relkind = 'v' THEN
			EXECUTE format('GRANT SELECT ON %s TO $role', o.objid::regclass);
		END IF;
	END LOOP;
END
\$\$;
});
}
admin("CREATE SCHEMA evil AUTHORIZATION $attacker");

# The worker's role, with the privileges doc/roles.md documents for it.
admin(q{
GRANT USAGE ON SCHEMA mig TO mig_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON mig.spool_files TO mig_worker;
GRANT SELECT, INSERT, UPDATE ON mig.actions TO mig_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON mig.commands, mig.agents TO mig_worker;
GRANT SELECT ON mig.agtmodreq, mig.invagtmodperm TO mig_worker;
GRANT INSERT ON mig.agents_stats TO mig_worker;
});

# The worker runs in sec before the database gets its hostile search_path
# (the worker phase restarts it under that); until then, the attacker's
# mig_worker_launch() finds it running.
{
	local $PostgreSQL::Test::Utils::timeout_default = 30;
	admin_poll(q{SELECT state = 'idle' AND database = 'sec' FROM mig_worker_status})
	  or die 'the worker is not running in sec';
}

# The traps, the attacker's in evil and dbowner's in public, and the
# hostile search_paths: the attacker's role's, and (by its owner) the
# database's.
my ($out, $err) = as_role($attacker, trap_sql('evil', $attacker));
die "could not plant the traps:\n$err" if $err =~ /ERROR/;
($out, $err) = as_role('dbowner', trap_sql('public', 'dbowner'));
die "could not plant the traps in public:\n$err" if $err =~ /ERROR/;
($out, $err) = as_role($attacker, "ALTER ROLE $attacker SET search_path = $hostile");
die $err if $err =~ /ERROR/;
($out, $err) = as_role('dbowner', "ALTER DATABASE sec SET search_path = $db_hostile");
die $err if $err =~ /ERROR/;
($out, $err) = as_role('dbowner', 'SHOW search_path');
is($out, $db_hostile, 'the database owner set the hostile search_path for the database');

my $ext_schema = admin(q{SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'mig'});
my @tables = extension_tables($node, 'sec');
my $views = temp_view_sql('evil', @tables);
my $session = "SET search_path = $hostile;\n$views";

# Positive controls: with its schema first in search_path every trap
# resolves ahead of pg_catalog's and springs for a role that is not its
# planter (the attacker's for dbowner, dbowner's for the attacker).
foreach my $c ([ 'evil', 'dbowner' ], [ 'public', $attacker ])
{
	my ($schema, $victim) = @$c;
	my @controls = trap_controls($schema);
	($out, $err) = as_role($victim, "SET search_path = $schema, pg_catalog;\n"
		  . join('', map { "SELECT $schema.try(" . dq($_->[0]) . ', ' . dq($_->[1]) . ");\n" } @controls));
	my @bad = grep { !/\tok$/ } split /\n/, $out;
	is_deeply(\@bad, [], "the control statements of ${schema}'s traps run") or diag(join("\n", @bad));
	my %sprung = map { $_ => 1 } split /\n/,
	  admin("SELECT DISTINCT what FROM $schema.trap_log WHERE who = '$victim'");
	my @silent = map { $_->[0] } grep { !$sprung{ $_->[0] } } @controls;
	is_deeply(\@silent, [], "every trap in $schema springs with $schema first in search_path (positive control)")
	  or diag('these traps did not spring: ' . join('; ', @silent));
	admin("TRUNCATE $schema.trap_log; SELECT setval('$schema.trap_seq', 1, false)");
}

#
# Phases: each starts from the roles as they were before the attack and
# checks that no trap sprang and no role changed.
#
my @baseline = role_snapshot($node, 'sec');
my @escalations;

sub trap_count
{
	my $n = 0;
	$n += admin("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM $_.trap_seq")
	  foreach @trap_schemas;
	return $n;
}

sub begin_phase
{
	my ($name) = @_;
	admin(join('', map { "UPDATE $_.phase SET phase = " . dq($name) . ";\n" } @trap_schemas));
	return { name => $name, count => trap_count(), log => -s $node->logfile };
}

# the trap logs of evil and public, in one
my $trap_logs = join(' UNION ALL ',
	map { "SELECT '$_' AS trap_schema, * FROM $_.trap_log" } @trap_schemas);

# What sprang (in the rows of the trap logs that $where selects): who ran
# which trap in which process, how often, and from which of the attackers'
# statements (the label given to try()) or query; with the phase when
# $with_phase.
sub trap_report
{
	my ($where, $with_phase) = @_;
	my $phase = $with_phase ? q{phase || ': '} : q{''};
	return admin(qq{
SELECT format('%s%s ran %s.%s in %s, %s times, from: %s', $phase, who, trap_schema, what, backend, n, sources)
  FROM (SELECT phase, who, trap_schema, what, coalesce(backend, '?') AS backend, count(*) AS n,
			   coalesce(array_to_string((array_agg(DISTINCT source))[1:4], '; ')
						|| CASE WHEN count(DISTINCT source) > 4
								THEN format(' and %s more', count(DISTINCT source) - 4) ELSE '' END,
						'(no statement: the worker)') AS sources
		  FROM (SELECT l.*, CASE WHEN query ~ '^SELECT [a-z]+\\.try\\('
								 THEN coalesce(substring(query from '^SELECT [a-z]+\\.try\\(\\\$mig[0-9]+\\\$([^\$]*)'),
											   left(query, 100))
								 ELSE nullif(left(query, 100), '') END AS source
				  FROM ($trap_logs) l WHERE $where) l
		 GROUP BY phase, who, trap_schema, what, backend) r
 ORDER BY phase, n DESC, what});
}

sub end_phase
{
	my ($p, @evidence) = @_;
	my $n = $p->{name};
	my $rows = trap_report('phase = ' . dq($n));
	is($rows, '', "$n: no trap sprang (the trap logs are empty)")
	  or diag("the trap logs of phase $n:\n$rows");
	my $fired = trap_count() - $p->{count};
	is($fired, 0, "$n: no trap ran, not even in a transaction rolled back")
	  or do
	{
		my @lines = grep { /mig-security-trap/ } split /\n/, slurp_file($node->logfile, $p->{log});
		my %seen;
		@lines = grep { s/^.*?(WARNING)/$1/; !$seen{$_}++ } @lines;
		diag("$fired traps ran; the server log says:\n" . join("\n", @lines[ 0 .. ($#lines < 19 ? $#lines : 19) ]));
		diag("seen in transactions rolled back:\n" . join("\n", @evidence)) if @evidence;
	};
	my @now = role_snapshot($node, 'sec');
	my @diff = role_diff(\@baseline, \@now);
	is_deeply(\@diff, [], "$n: no role gained an attribute or a membership")
	  or do
	{
		diag(join("\n", @diff));
		push @escalations, "$n: " . join('; ', @diff);
		admin(role_restore_sql(\@baseline, \@now));
	};
	return;
}

# the lines of a try()/probe() output: (label => result) pairs in order,
# and the probe lines that saw a trap or a superuser attacker
sub results
{
	my ($output) = @_;
	my (@r, @evidence);
	foreach my $line (split /\n/, $output)
	{
		my ($label, $result) = split /\t/, $line, 2;
		next unless defined $result;
		if ($result =~ /^probe\t(.*)/)
		{
			my $probe = $1;
			push @evidence, "$label: $probe" if $probe !~ /^0 trap rows/ || $probe =~ /superuser: t$/;
			next;
		}
		push @r, [ $label, $result ];
	}
	return (\@r, \@evidence);
}

#
# Every function of the extension, as the attacker
#
my @functions = extension_functions($node, 'sec');
my %trigger_function = map { $_->{sig} => 1 } grep { $_->{trigger} } @functions;
ok(scalar(grep { !$_->{trigger} } @functions) >= 10, 'the extension\'s functions are found in the catalog')
  or diag(explain(\@functions));

# attacker's own spool, for mig_spool_sync(path)
my $own_spool = "$base/attacker-spool";
mkspool($own_spool, 6, '--actions', 2, '--first-id', 7000000, '--heartbeats', "$base/hb-own");
attacker_heartbeats("$base/hb-own");

# what each argument type takes: [label, SQL]
my %menu = (
	'numeric' => [
		(map { [ "action $_", "'$_'::numeric" ] } 1 .. 6),
		(map { [ "agent $_", "'$_'::numeric" ] } 10, 12),
		[ 'investigator 2', "'2'::numeric" ],
		[ 'missing id', "'999999'::numeric" ],
		[ 'NULL', 'NULL::numeric' ],
	],
	'json' => [
		[ 'an action', dq($action{a1}) . '::json' ],
		[ 'a heartbeat', dq('{"id": 14, "name": "host14", "queueloc": "linux.host14", "mode": "daemon", '
			  . '"heartbeatts": "2026-01-03T00:00:00Z", "status": "online", "environment": {"os": "linux"}}') . '::json' ],
		[ 'a heartbeat without id', dq('{"name": "host15", "queueloc": "linux.host15"}') . '::json' ],
		[ 'NULL', 'NULL::json' ],
	],
	'jsonb' => [
		[ 'an action', dq($action{a1}) . '::jsonb' ],
		[ 'a heartbeat', dq('{"name": "host15", "queueloc": "linux.host15"}') . '::jsonb' ],
		[ 'NULL', 'NULL::jsonb' ],
	],
	'text' => [
		[ 'a key', dq(fx('authz/ivan.pub')) . '::text' ],
		[ 'a signature', dq(fx('authz/a1.ivan.asc')) . '::text' ],
		[ 'the canonical string', dq(fx('authz/a1.txt')) . '::text' ],
		[ 'a spool', dq($own_spool) . '::text' ],
		[ 'NULL', 'NULL::text' ],
	],
	'boolean' => [
		[ 'true', 'true' ],
		[ 'false', 'false' ],
		[ 'NULL', 'NULL::boolean' ],
	],
	'bigint' => [
		[ 'one', '1::bigint' ],
		[ 'many', '1000000::bigint' ],
		[ 'zero', '0::bigint' ],
		[ 'NULL', 'NULL::bigint' ],
	],
	'numeric[]' => [
		[ 'agents', "'{10,11,12,13}'::numeric[]" ],
		[ 'agents and a missing one', "'{10,999999}'::numeric[]" ],
		[ 'no agents', "'{}'::numeric[]" ],
		[ 'NULL', 'NULL::numeric[]' ],
	],
);
my ($calls, $missing) = function_calls(\@functions, \%menu);
is_deeply($missing, [], 'every argument type of every function has attack values')
  or diag(join("\n", @$missing));

my $call_script = $session
  . join('', map { 'SELECT evil.try(' . dq($_->[1]) . ', ' . dq($_->[2]) . ");\n" } @$calls);

# Whether each function was reached: a call that succeeded, or that failed
# in the function itself (not for want of a privilege, or of the function).
sub check_calls
{
	my ($phase, $output) = @_;
	my ($r, $evidence) = results($output);
	my %function_of = map { $_->[1] => $_->[0] } @$calls;
	my (%reached, %errors);
	foreach my $x (@$r)
	{
		my ($label, $result) = @$x;
		my $f = $function_of{$label} // next;
		$reached{$f}++ if $result eq 'ok' || $result !~ /^(42501|42883|42725|42P01|3F000)\t/;
		$errors{ substr($result =~ s/^\S+\t//r, 0, 60) }++ if $result ne 'ok';
	}
	is(scalar(grep { $function_of{ $_->[0] } } @$r), scalar(@$calls), "$phase: every call ran");
	my @unreached = grep { !$reached{$_} } map { $_->{sig} } grep { !$_->{trigger} } @functions;
	is_deeply(\@unreached, [], "$phase: every function of the extension was reached")
	  or diag(join("\n", map { "$_->[0]: $_->[1]" } grep { !$reached{ $function_of{ $_->[0] } } } @$r));
	note(sprintf('%s: %d calls, %d errors: %s', $phase, scalar(@$r),
		scalar(grep { $_->[1] ne 'ok' } @$r),
		join('; ', map { "$_ ($errors{$_}x)" } sort keys %errors)));
	return @$evidence;
}

my $phase = begin_phase('calls');
($out, $err) = as_role($attacker, $call_script);
end_phase($phase, check_calls('calls', $out));

#
# Every trigger on the extension's tables, as the attacker
#
my ($triggers, $types) = extension_triggers($node, 'sec');
ok(scalar(@$triggers) > 0, 'the triggers on the extension\'s tables are found in the catalog');
my %fired_by = map { $_->{function} => 1 } @$triggers;
my @unattached = grep { !$fired_by{$_} } sort keys %trigger_function;
is_deeply(\@unattached, [], 'every trigger function of the extension is attached to a trigger fired here');

my $oscar = dq(fx('authz/oscar.pub'));
# DML recipes per table (MigAttack::trigger_steps); a trigger on a table
# without one fails the test
my %recipes = (
	# a scratch action signed by ivan and judy, verified (signatures rows)
	actions => {
		insert => add_action(900, 'a1', 'ivan', 'judy') =~ s/INSERT INTO actions/INSERT INTO $ext_schema.actions/r,
		prepare => ["SELECT count(*) FROM $ext_schema.mig_verify_action(900)"],
		where => 'id IN (900, 901)',
		set => {
			id => 'id + 1',
			name => q{name || ' (changed)'},
			target => q{target || ' AND true'},
			operations => q{'[{"module":"file","parameters":{}}]'},
			pgpsignatures => q{'[]'},
		},
		touch => ['status'],
	},
	# a scratch investigator with oscar's key, who signed action 6
	investigators => {
		insert => "INSERT INTO $ext_schema.investigators (id, name, publickey) VALUES (5, 'Oscar', $oscar)",
		prepare => ["SELECT count(*) FROM $ext_schema.mig_verify_action(6)"],
		where => 'id IN (5, 6)',
		set => {
			id => 'id + 1',
			publickey => dq(fx('keys/mallory.pub')),
			pgpfingerprint => 'lower(pgpfingerprint)',
		},
		touch => ['name'],
	},
	# a scratch command of action 1 on agent 10
	commands => {
		insert => "INSERT INTO $ext_schema.commands (id, actionid, agentid, status, results, starttime)"
		  . " VALUES (9000, 1, 10, 'sent', NULL, '2026-01-01 02:00:00+00')",
		where => 'id IN (9000, 9001)',
		set => {
			id => 'id + 1',
			actionid => '2',
			agentid => '12',
			status => q{'success'},
			results => q{'[{"foundanything":true}]'},
		},
		touch => ['status'],
	},
	# a scratch agent, module and ACL rows
	agents => {
		insert => "INSERT INTO $ext_schema.agents (id, name, queueloc, os, version, pid, starttime, heartbeattime)"
		  . " VALUES (9100, 'scratch', 'linux.scratch', 'linux', '1', 1, '2026-01-01', '2026-01-01')",
		where => 'id IN (9100, 9101)',
		set => { id => 'id + 1' },
		touch => ['status'],
	},
	modules => {
		insert => "INSERT INTO $ext_schema.modules VALUES (9200, 'scratch')",
		where => 'id IN (9200, 9201)',
		set => { id => 'id + 1' },
		touch => ['name'],
	},
	agtmodreq => {
		insert => "INSERT INTO $ext_schema.agtmodreq VALUES (4, 10, 1)",
		where => 'moduleid = 4 AND agentid IN (10, 12)',
		set => { moduleid => '4', agentid => '12' },
		touch => ['minimumweight'],
	},
	invagtmodperm => {
		insert => "INSERT INTO $ext_schema.invagtmodperm VALUES (1, 10, 4, 1)",
		where => 'investigatorid = 1 AND agentid IN (10, 11) AND moduleid = 4',
		set => { investigatorid => '1', agentid => '11', moduleid => '4' },
		touch => ['weight'],
	},
	# a signature row by hand: judy on action 1, which she did not sign
	signatures => {
		insert => "INSERT INTO $ext_schema.signatures (actionid, investigatorid, pgpsignature) VALUES (1, 2, 'forged')",
		prepare => ["SELECT count(*) FROM $ext_schema.mig_verify_action(1)"],
		where => 'actionid = 1 AND investigatorid = 2',
		set => {},
		touch => ['pgpsignature'],
	},
);
my ($steps, $lacking) = trigger_steps($triggers, $types, \%recipes);
is_deeply($lacking, [], 'every trigger has DML that fires it') or diag(join("\n", @$lacking));

# after the triggers: the manual's example, signatures by hand, and key changes
# of real investigators, each followed by verifications (the record written
# again, as the extension's owner)
my $verify_all = "SELECT count(*) FROM $ext_schema.actions a, $ext_schema.mig_verify_action(a.id) v";
my $authorize_all = "SELECT count(*) FROM $ext_schema.actions a, $ext_schema.mig_authorized_agents(a.id) g";
my @real = (
	[ 'the manual\'s example: UPDATE actions SET target', "UPDATE $ext_schema.actions SET target = target || ' AND true' WHERE id = 2" ],
	[ 'verify every action after the target changed', $verify_all ],
	[ 'UPDATE actions SET target back', "UPDATE $ext_schema.actions SET target = " . dq('status=\'online\'') . ' WHERE id = 2' ],
	[ 'verify every action after the target changed back', $verify_all ],
	[ 'UPDATE signatures by hand', "UPDATE $ext_schema.signatures SET pgpsignature = pgpsignature WHERE actionid = 3" ],
	[ 'DELETE FROM signatures by hand', "DELETE FROM $ext_schema.signatures WHERE actionid = 5" ],
	[ 'verify every action after the signatures changed', $verify_all ],
	[ 'judy\'s key revoked', "UPDATE $ext_schema.investigators SET publickey = " . dq(fx('authz/judy-revoked.pub')) . ' WHERE id = 2' ],
	[ 'verify every action after judy\'s key was revoked', $verify_all ],
	[ 'authorize every action after judy\'s key was revoked', $authorize_all ],
	[ 'judy\'s key back', "UPDATE $ext_schema.investigators SET publickey = " . dq(fx('authz/judy.pub')) . ' WHERE id = 2' ],
	[ 'verify every action after judy\'s key came back', $verify_all ],
	[ 'authorize every action after judy\'s key came back', $authorize_all ],
	[ 'a new investigator', "INSERT INTO $ext_schema.investigators (id, name, publickey) VALUES (5, 'Oscar', $oscar)" ],
	[ 'verify every action after a new investigator', $verify_all ],
	[ 'authorize every action after a new investigator', $authorize_all ],
	[ 'the investigator removed', "DELETE FROM $ext_schema.investigators WHERE id = 5" ],
	[ 'verify every action after the investigator was removed', $verify_all ],
	[ 'authorize every action after the investigator was removed', $authorize_all ],
);

my $trigger_script = $session;
foreach my $s (@$steps)
{
	$trigger_script .= "BEGIN;\n" if $s->{rollback};
	foreach my $st (@{ $s->{statements} })
	{
		$trigger_script .= 'SELECT evil.try(' . dq("$s->{label}: $st->[0]") . ', ' . dq($st->[1]) . ");\n";
	}
	$trigger_script .= 'SELECT evil.probe(' . dq($s->{label}) . ");\nROLLBACK;\n" if $s->{rollback};
}
$trigger_script .= join('', map { 'SELECT evil.try(' . dq("real: $_->[0]") . ', ' . dq($_->[1]) . ");\n" } @real);
# what this session's verifications wrote to the record, as the extension's owner
$trigger_script .= "SELECT E'stats\\t' OPERATOR(pg_catalog.||) recorded FROM $ext_schema.mig_pgp_stats();\n";

# Every trigger fired by a statement that succeeded; the changes and
# verifications after them succeeded and wrote the record.  Returns the
# evidence seen in transactions rolled back.
sub check_triggers
{
	my ($phase, $output) = @_;
	my ($r, $evidence) = results($output);
	my %result = map { $_->[0] => $_->[1] } @$r;
	my @unfired;
	foreach my $t (@$triggers)
	{
		my @mine = grep { grep { $_ eq $t->{name} } @{ $_->{triggers} } } @$steps;
		push @unfired, "$t->{name}: " . join('; ', map { "$_->{label}: " . ($result{"$_->{label}: fire"} // 'not run') } @mine)
		  unless grep { ($result{"$_->{label}: fire"} // '') eq 'ok' } @mine;
	}
	is_deeply(\@unfired, [], "$phase: every trigger was fired by a statement that succeeded")
	  or diag(join("\n", @unfired));
	my @real_failed = map { "$_->[0]: " . ($result{"real: $_->[0]"} // 'not run') }
	  grep { ($result{"real: $_->[0]"} // '') ne 'ok' } @real;
	is_deeply(\@real_failed, [], "$phase: the changes to actions, signatures and keys, and the verifications after them, succeed")
	  or diag(join("\n", @real_failed));
	ok(($result{stats} // 0) > 0, "$phase: the verifications after the changes wrote the record (as the extension's owner)")
	  or diag('mig_pgp_stats().recorded: ' . ($result{stats} // 'not run'));
	note("$phase: trigger statements that failed: "
		  . join('; ', map { "$_->[0] => " . substr($_->[1], 0, 100) } grep { $_->[1] ne 'ok' && $_->[0] ne 'stats' } @$r));
	return @$evidence;
}

$phase = begin_phase('triggers');
($out, $err) = as_role($attacker, $trigger_script);
end_phase($phase, check_triggers('triggers', $out));

# the same calls once more, after a key change: every verification is done
# again and recorded
$phase = begin_phase('calls after a key change');
($out, $err) = as_role($attacker, $session
	  . 'SELECT evil.try(' . dq('a key change') . ', '
	  . dq("UPDATE $ext_schema.investigators SET publickey = publickey || ' ' WHERE id = 1") . ");\n"
	  . ($call_script =~ s/^\Q$session\E//r));
like($out, qr/^a key change\tok$/m, 'calls after a key change: the key changed');
end_phase($phase, check_calls('calls after a key change', $out));

#
# The same calls and triggers by the database's owner, under the path it
# gave the database (its traps in public first, the attacker's next), its
# own temporary views named as the extension's tables
#
my $db_session = "SET search_path = $db_hostile;\n" . temp_view_sql('public', @tables);
sub as_dbowner_script
{
	my ($script) = @_;
	$script =~ s/^\Q$session\E/$db_session/;
	$script =~ s/^SELECT evil\.(try|probe)\(/SELECT public.$1(/mg;
	return $script;
}
$phase = begin_phase('calls by the database\'s owner');
($out, $err) = as_role('dbowner', as_dbowner_script($call_script));
end_phase($phase, check_calls('calls by the database\'s owner', $out));
$phase = begin_phase('triggers by the database\'s owner');
($out, $err) = as_role('dbowner', as_dbowner_script($trigger_script));
end_phase($phase, check_triggers('triggers by the database\'s owner', $out));

#
# The worker, restarted under the database's hostile search_path
#
$phase = begin_phase('worker');
my $old = admin('SELECT pid FROM mig_worker_status');
admin("SELECT pg_terminate_backend($old)");
{
	local $PostgreSQL::Test::Utils::timeout_default = 30;
	admin_poll("SELECT pid IS NOT NULL AND pid <> $old AND state = 'idle' FROM mig_worker_status")
	  or die 'the worker did not come back';
}
mkspool($stage, 20, '--actions', 2, '--first-id', 5000000, '--heartbeats', "$base/hb-worker");
attacker_heartbeats("$base/hb-worker");
move_files($stage, $spool, spool_files($stage));
{
	local $PostgreSQL::Test::Utils::timeout_default = 30;
	ok( admin_poll(
			'SELECT count(*) = 20 FROM commands WHERE id >= 5000000 AND id < 6000000'),
		'worker: the files renamed into the spool are ingested');
}
end_phase($phase);

#
# The worker as mig.worker_role: a non-superuser with the least privileges
#
subtest 'the worker runs as mig.worker_role, a non-superuser' => sub {
	my $p = begin_phase('worker as mig.worker_role');
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "ALTER SYSTEM SET mig.worker_role = 'mig_worker'");
	is($ret, 0, 'ALTER SYSTEM SET mig.worker_role is accepted') or diag($stderr);
	$node->restart;
	local $PostgreSQL::Test::Utils::timeout_default = 15;
	my $status = q{SELECT format('state %s, last error: %s', state, last_error) FROM mig_worker_status};
	my $idle = admin_poll("SELECT state = 'idle' FROM mig_worker_status");
	ok($idle, 'the worker is idle after the restart') or diag(admin($status));
	mkspool($stage, 20, '--actions', 2, '--first-id', 6000000, '--heartbeats', "$base/hb-role");
	attacker_heartbeats("$base/hb-role");
	move_files($stage, $spool, spool_files($stage));
	ok($idle && admin_poll('SELECT count(*) = 20 FROM commands WHERE id >= 6000000 AND id < 7000000'),
		'the worker as mig.worker_role ingests the files')
	  or diag(admin($status));
	is( admin(q{SELECT usename FROM pg_stat_activity
				 WHERE pid = (SELECT pid FROM mig_worker_status)}),
		'mig_worker', 'the worker\'s session user is mig.worker_role');
	end_phase($p);
};

#
# What owning the database gives: no hold on schema mig.  Each attempt by
# dbowner, under its path, in a transaction rolled back whatever happens.
#
my @attempts;
foreach my $line (split /\n/, admin(q{
SELECT c.relkind, format('%I.%I', n.nspname, c.relname), quote_ident(c.relname),
	   (SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = 1)
  FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
 ORDER BY 2}))
{
	my ($kind, $rel, $name, $col) = split /\|/, $line;
	if ($kind eq 'r')
	{
		push @attempts, map { [ "table $rel: $_", $_ ] } (
			"DROP TABLE $rel CASCADE",
			"ALTER TABLE $rel RENAME TO ${name}_x",
			"ALTER TABLE $rel SET SCHEMA public",
			"ALTER TABLE $rel OWNER TO dbowner",
			"ALTER TABLE $rel DISABLE TRIGGER ALL",
			"ALTER TABLE $rel ENABLE ROW LEVEL SECURITY",
			"CREATE POLICY hide ON $rel USING (false)",
			"CREATE RULE hide AS ON INSERT TO $rel DO INSTEAD NOTHING",
			"CREATE TRIGGER hide BEFORE INSERT ON $rel FOR EACH ROW EXECUTE FUNCTION public.hide()",
			"CREATE INDEX ON $rel ($col)",
			"COMMENT ON TABLE $rel IS 'mine'");
	}
	elsif ($kind eq 'v')
	{
		push @attempts, map { [ "view $rel: $_", $_ ] } (
			"DROP VIEW $rel",
			"CREATE OR REPLACE VIEW $rel AS SELECT 1 AS one",
			"ALTER VIEW $rel RENAME TO ${name}_x",
			"ALTER VIEW $rel OWNER TO dbowner");
	}
	elsif ($kind eq 'S')
	{
		push @attempts, map { [ "sequence $rel: $_", $_ ] } (
			"DROP SEQUENCE $rel",
			"ALTER SEQUENCE $rel RESTART",
			"ALTER SEQUENCE $rel RENAME TO ${name}_x",
			"SELECT pg_catalog.setval('$rel', 1)");
	}
}
foreach my $line (split /\n/, admin(q{
SELECT format('%I.%I', n.nspname, c.relname), quote_ident(c.relname), pg_get_indexdef(c.oid)
  FROM pg_depend d JOIN pg_index i ON i.indrelid = d.objid
  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
 ORDER BY 1}))
{
	my ($index, $name, $def) = split /\|/, $line;
	push @attempts, map { [ "index $index: $_", $_ ] } (
		"DROP INDEX $index",
		"ALTER INDEX $index RENAME TO ${name}_x",
		$def);
}
foreach my $f (split /\n/, admin(q{
SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
 ORDER BY 1}))
{
	push @attempts, map { [ "function $f: $_", $_ ] } (
		"DROP FUNCTION $f",
		"ALTER FUNCTION $f RENAME TO x",
		"ALTER FUNCTION $f OWNER TO dbowner",
		"ALTER FUNCTION $f SECURITY DEFINER",
		"ALTER FUNCTION $f SET search_path = public");
}
my $relations = grep { $_->[0] =~ /^table / } @attempts;
ok($relations >= 10 * 11, 'the extension\'s tables are found in the catalog') or diag($relations);
push @attempts, map { [ "schema mig: $_", $_ ] } (
	'CREATE TABLE mig.actions_mine (id numeric)',
	'CREATE VIEW mig.mine AS SELECT 1 AS one',
	'CREATE SEQUENCE mig.mine_seq',
	'CREATE TYPE mig.mine AS (x integer)',
	'CREATE DOMAIN mig.mine_domain AS integer',
	q{CREATE FUNCTION mig.lower(text) RETURNS text LANGUAGE sql AS 'SELECT $1'},
	'CREATE OPERATOR mig.= (FUNCTION = public.op_character_varying_character_varying_eq, '
	  . 'LEFTARG = character varying, RIGHTARG = character varying)',
	'CREATE AGGREGATE mig.array_agg(numeric) (SFUNC = pg_catalog.array_append, STYPE = numeric[])',
	'CREATE TEXT SEARCH CONFIGURATION mig.mine (COPY = pg_catalog.simple)',
	q{CREATE COLLATION mig.mine (provider = libc, locale = 'C')},
	'ALTER TABLE public.mine SET SCHEMA mig',
	'ALTER FUNCTION public.hide() SET SCHEMA mig',
	'ALTER SCHEMA mig RENAME TO mig_old',
	'ALTER SCHEMA mig OWNER TO dbowner',
	'DROP SCHEMA mig CASCADE',
	'DROP EXTENSION mig CASCADE',
	'ALTER EXTENSION mig UPDATE',
	'ALTER EXTENSION mig SET SCHEMA public',
	'ALTER EXTENSION mig DROP TABLE mig.invagtmodperm',
	'ALTER EXTENSION mig ADD FUNCTION public.hide()');

# the mig.* settings: a database's owner may set for its database those any
# user may set, and no other
my @settings = map { [ split /\|/ ] } split /\n/, admin(q{
SELECT name, context, format('ALTER DATABASE sec SET %s = %L', name, setting)
  FROM pg_settings WHERE name LIKE 'mig.%' ORDER BY name});
ok(scalar(@settings) >= 10, 'the settings of mig are found in pg_settings');
push @attempts, map { [ "setting $_->[0] ($_->[1]): $_->[2]", $_->[2] ] } @settings;
push @attempts, [ 'ALTER DATABASE sec SET mig.target_timeout = 0', 'ALTER DATABASE sec SET mig.target_timeout = 0' ];

$phase = begin_phase('the database\'s owner on schema mig');
($out, $err) = as_role('dbowner', "BEGIN;\nSET LOCAL search_path = $db_hostile;\n"
	  . "CREATE FUNCTION public.hide() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';\n"
	  . "CREATE TABLE public.mine (x integer);\n"
	  . join('', map { 'SELECT public.try(' . dq($_->[0]) . ', ' . dq($_->[1]) . ");\n" } @attempts)
	  . "SELECT public.try('GRANT CREATE ON SCHEMA mig', 'GRANT CREATE ON SCHEMA mig TO dbowner');\n"
	  . "SELECT E'may create in mig\\t' OPERATOR(pg_catalog.||) pg_catalog.has_schema_privilege('mig', 'CREATE');\n"
	  . "ROLLBACK;\n");
my ($r) = results($out);
my %result = map { $_->[0] => $_->[1] } @$r;
my (@allowed, @noted);
foreach my $a (@attempts)
{
	my ($label) = @$a;
	my $res = $result{$label} // 'not run';
	if ($label =~ /^setting \S+ \(user\)/ || $label =~ /^ALTER DATABASE sec SET mig\.target_timeout/)
	{
		push @noted, "$label: " . ($res eq 'ok' ? 'allowed' : $res);
		next;
	}
	my $want = $label =~ /^setting / ? qr/^(42501|55P02)\t/ : qr/^42501\t/;
	push @allowed, "$label: $res" unless $res =~ $want;
}
is_deeply(\@allowed, [], 'the database\'s owner can drop, replace, move or take nothing of mig\'s, '
	  . 'create nothing in schema mig, set no superuser\'s setting (42501, 55P02 for the server\'s)')
  or diag(join("\n", @allowed));
is($result{'GRANT CREATE ON SCHEMA mig'}, 'ok', 'GRANT CREATE ON SCHEMA mig by the database\'s owner grants nothing ...');
is($result{'may create in mig'}, 'false', '... the database\'s owner may still not create in schema mig');
note("what the database's owner may set for its database:\n" . join("\n", @noted));
my %refusals;
$refusals{ $_->[1] =~ s/\b(index|table|view|sequence|function|relation|extension) \S+/$1 .../gr }++ foreach grep { $_->[1] =~ /^[0-9A-Z]{5}\t/ } @$r;
note("the database's owner was told:\n" . join("\n", map { "$refusals{$_} x $_" } sort keys %refusals));
end_phase($phase);

#
# A superuser swaps the index mig reads invagtmodperm by (agentid, moduleid)
# for others of the same name: decisions stay the same or are refused
#
my @decisions;
foreach my $a (1 .. 6)
{
	foreach my $g (10 .. 13)
	{
		push @decisions, [ "mig_authorize($a, $g)", "SELECT mig.mig_authorize($a, $g)::text" ],
		  [ "mig_authorize_explain($a, $g)",
			"SELECT string_agg(format('%s %s/%s %s %s', module, granted_weight, required_weight, authorized, reason), '; ' ORDER BY module)"
			  . " FROM mig.mig_authorize_explain($a, $g)" ];
	}
	push @decisions, [ "mig_authorized_agents($a)",
		"SELECT string_agg(x::text, ',' ORDER BY x) FROM mig.mig_authorized_agents($a) x" ],
	  [ "mig_authorized_agents($a, {10,11,12,13})",
		"SELECT string_agg(x::text, ',' ORDER BY x) FROM mig.mig_authorized_agents($a, '{10,11,12,13}') x" ];
}
my $decide = join('', map { 'SELECT ' . dq($_->[0]) . " || E'\\t' || pg_temp.decide(" . dq($_->[1]) . ");\n" } @decisions);
my $decide_fn = q{
CREATE FUNCTION pg_temp.decide(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	r text;
BEGIN
	EXECUTE q INTO r;
	RETURN coalesce(r, '(null)');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END
$f$;
};
# one session that lives through every swap, and one new session per swap
my $held = $node->background_psql('sec');
$held->query_safe($decide_fn);
sub decisions
{
	my ($session) = @_;
	my $out = $session ? $session->query_safe($decide) : admin($decide_fn . $decide);
	return { map { split /\t/, $_, 2 } split /\n/, $out };
}
my $baseline = decisions($held);
is_deeply(decisions(undef), $baseline, 'a new session decides as the one held open');
ok((grep { $_ eq 'true' } values %$baseline) && (grep { $_ eq 'false' } values %$baseline),
	'some decisions are yes, some no') or diag(explain($baseline));
my $log_at = -s $node->logfile;
my $worker_pid = admin('SELECT pid FROM mig.mig_worker_status');
my $idx = 'mig.invagtmodperm_agentid_moduleid_idx';
my @swaps = (
	[ 'a same-named index on a decoy table of dbowner\'s, same columns', qq{
DROP INDEX $idx;
CREATE TABLE mig.decoy (investigatorid numeric, agentid numeric, moduleid numeric, weight integer);
INSERT INTO mig.decoy SELECT i, a, m, 1000 FROM generate_series(1, 6) i, generate_series(10, 13) a, generate_series(1, 4) m;
ALTER TABLE mig.decoy OWNER TO dbowner;
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON mig.decoy (agentid, moduleid);
}, 'DROP TABLE mig.decoy' ],
	[ 'a same-named index on a decoy table of dbowner\'s, other column types', qq{
DROP INDEX IF EXISTS $idx;
CREATE TABLE mig.decoy (investigatorid text, agentid text, moduleid text, weight text);
INSERT INTO mig.decoy SELECT 'x' || i, 'y' || a, 'z', 'w' FROM generate_series(1, 6) i, generate_series(10, 13) a;
ALTER TABLE mig.decoy OWNER TO dbowner;
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON mig.decoy (agentid, moduleid);
}, 'DROP TABLE mig.decoy' ],
	[ 'a same-named index on invagtmodperm, on expressions of other types', q{
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON mig.invagtmodperm ((agentid::text), (moduleid::text));
}, "DROP INDEX $idx" ],
	[ 'a same-named partial index on invagtmodperm', q{
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON mig.invagtmodperm (agentid, moduleid) WHERE weight > 1000;
}, "DROP INDEX $idx" ],
	[ 'a same-named index on invagtmodperm, its columns in the other order', q{
CREATE INDEX invagtmodperm_agentid_moduleid_idx ON mig.invagtmodperm (moduleid, agentid);
}, "DROP INDEX $idx" ],
);
foreach my $swap (@swaps)
{
	my ($what, $setup, $teardown) = @$swap;
	admin($setup);
	foreach my $session ([ 'the session held open', $held ], [ 'a new session', undef ])
	{
		my $now = decisions($session->[1]);
		my (@wrong, $refused);
		foreach my $d (@decisions)
		{
			my $label = $d->[0];
			my $got = $now->{$label} // 'missing';
			if ($got =~ /^42704 /) { $refused++; next; }
			push @wrong, "$label: $got (was $baseline->{$label})" if $got ne $baseline->{$label};
		}
		is_deeply(\@wrong, [], "$what, $session->[0]: every decision is the same or refused with 42704")
		  or diag(join("\n", @wrong));
		ok($refused, "$what, $session->[0]: those that need the index are refused (42704), it is not used")
		  or diag(explain($now));
	}
	admin($teardown);
}
admin("CREATE INDEX invagtmodperm_agentid_moduleid_idx ON mig.invagtmodperm (agentid, moduleid)");
is_deeply(decisions($held), $baseline, 'the index back: the held session decides as before');
is_deeply(decisions(undef), $baseline, 'the index back: a new session decides as before');
$held->quit;
my $crashes = grep { /terminated by signal|was terminated by exception|server process .* exited with exit code/ }
  split /\n/, slurp_file($node->logfile, $log_at);
is($crashes, 0, 'no server process crashed while the index was swapped');
is(admin('SELECT pid FROM mig.mig_worker_status'), $worker_pid, 'the worker is the same process');

#
# At the end
#
my $log = trap_report('true', 1);
is($log, '', 'end: the trap logs are empty') or diag($log);
is(trap_count(), 0, 'end: no trap ever ran');
is_deeply(\@escalations, [], 'end: no phase changed a role') or diag(join("\n", @escalations));
my @diff = role_diff(\@baseline, [ role_snapshot($node, 'sec') ]);
is_deeply(\@diff, [], 'end: every role is as it was before the attack') or diag(join("\n", @diff));

$node->stop('fast');
done_testing();
