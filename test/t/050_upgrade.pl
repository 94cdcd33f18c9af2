# Proves the upgrade path and that no install or update of mig runs or binds
# anything the database's owner planted.
#
# Three databases, each owned by dbown, a role that is not a superuser and
# so owns "public" (pg_database_owner): "fresh" gets mig 1.2 by CREATE
# EXTENSION; "from10" and "from11" get 1.0 and 1.1 in "public", as real old
# installs were, rows in every table (1.1's agent_details and agents_stats
# included), and ALTER EXTENSION mig UPDATE.  Each updated database keeps
# every row (agent_details' columns move into agents, agents_stats.taken_at
# becomes "timestamp"), counters equal to its commands and its
# verifications, and ends with exactly the objects of the fresh one
# (pg_dump --schema-only, the members' definitions, triggers, indexes, the
# privileges of the functions in schema mig, extconfig, \dx+ mig), in
# schema mig, owned by a superuser.  The new library serves 1.0 before the
# update.
#
# The attack: before CREATE EXTENSION (1.2, 1.0, 1.1) and before each
# update, dbown plants in public and in a schema named after the superuser
# (first in the database's search_path, which dbown sets to
# '"$user", public, pg_catalog') operators, functions and aggregates that
# shadow pg_catalog's or match the scripts' types better
# (test/t/MigAttack.pm), each springing, when run by anyone but dbown, with
# a row in a log and ALTER ROLE dbown SUPERUSER; and a schema "mig" of its
# own, traps inside, which CREATE EXTENSION and the update refuse (42501),
# as they refuse a superuser's "mig" in which another role may create or
# has created.  Proves: (a) no trap runs during any CREATE EXTENSION or
# update, refused or not, and dbown stays what it was; (b) afterwards no
# object of the extension, nor a view's rule, trigger condition, default,
# CHECK or index predicate of it, depends on a function, operator,
# aggregate, type or relation outside pg_catalog and its own (pg_depend,
# walked from every member; a positive control shows the walk sees each
# kind), and no function of it has a SET search_path naming another
# schema; (c) the objects then used under dbown's search_path (the signed
# fields' trigger condition, mig_duplicate_agents, the CHECKs, defaults and
# partial index, every function of the extension, the worker ingesting a
# spool) still run no trap.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MigSpool;
use MigAttack;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
my $base = $node->basedir;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-050-spool'
mig.rescan_interval = '1h'
});
$node->start;

# The test's own sessions (the bootstrap superuser, "admin") resolve
# nothing through public or dbown's schemas: their path is pg_catalog's,
# and they name every other object with its schema.
$ENV{PGOPTIONS} = '-c search_path=pg_catalog';
sub admin { return $node->safe_psql($_[0], $_[1]); }

# The superuser as a victim of the database's owner: the search_path the
# database gives (dbown's), for CREATE EXTENSION, the updates and the use
# of the objects afterwards.  What the test itself writes there names every
# type, function and operator with its schema.
sub victim
{
	my ($db, $sql) = @_;
	local $ENV{PGOPTIONS};
	delete $ENV{PGOPTIONS};
	return $node->safe_psql($db, $sql);
}

# the SQLSTATE of the error $sql ends in, run by the victim
sub sqlstate
{
	my ($db, $sql) = @_;
	local $ENV{PGOPTIONS};
	delete $ENV{PGOPTIONS};
	my ($ret, $out, $err) = $node->psql($db, "\\set VERBOSITY verbose\n$sql");
	return $err =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : "none ($ret: $err)";
}

# a script run by $role under its own search_path; stops at an error
sub as_role
{
	my ($role, $db, $sql) = @_;
	local $ENV{PGOPTIONS};
	delete $ENV{PGOPTIONS};
	local $ENV{PGUSER} = $role;
	return $node->safe_psql($db, $sql);
}

my $current = admin('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'mig'");
isnt($current, '1.0', "the default version is newer than 1.0 ($current)");
my $user_schema = admin('postgres', 'SELECT quote_ident(current_user)');

admin('postgres', q{
CREATE ROLE dbown LOGIN;
CREATE ROLE bystander LOGIN;
});
my @baseline = role_snapshot($node, 'postgres');

my $key = slurp_file('test/fixtures/keys/alice.pub');
my $sig = slurp_file('test/fixtures/sig/1.alice.line');
my $canonical = slurp_file('test/fixtures/actions/1.txt');
my $action_json = '{"name": "check sshd", "target": "status=\'online\'", '
  . '"validfrom": "2026-01-02T03:04:05.5+01:00", "expireafter": "2026-01-02T04:04:05.5+01:00", '
  . '"operations": [{"parameters": {"z": 1, "a": "<x>"}, "module": "file"}]}';

#
# The traps
#

# the schemas dbown planted traps in, per database
my %trap_schemas;

sub plant
{
	my ($db, $schema) = @_;
	as_role('dbown', $db, trap_sql($schema, 'dbown'));
	push @{ $trap_schemas{$db} }, $schema;
	return;
}

# What sprang in $db since the logs were emptied: one line per trap and
# role, and how many traps ran in all (the sequences count those of
# transactions rolled back too).
sub trap_report
{
	my ($db) = @_;
	return join("\n", grep { $_ ne '' } map {
		admin($db, qq{
SELECT format('%s ran $_.%s %s times, from: %s', who, what, count(*), left(min(query), 200))
  FROM $_.trap_log GROUP BY who, what ORDER BY 1})
	} @{ $trap_schemas{$db} });
}

sub traps_ran
{
	my ($db) = @_;
	my $n = 0;
	$n += admin($db, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM $_.trap_seq")
	  foreach @{ $trap_schemas{$db} };
	return $n;
}

# (a): nothing sprang, nothing ran, no role changed (if one did, it is put
# back, so that the rest of the test still means something)
sub no_trap
{
	my ($db, $what) = @_;
	my $report = trap_report($db);
	is($report, '', "$what: no trap sprang (the logs are empty)") or diag($report);
	is(traps_ran($db), 0, "$what: no trap ran, not even in a transaction rolled back");
	my @now = role_snapshot($node, 'postgres');
	my @diff = role_diff(\@baseline, \@now);
	is_deeply(\@diff, [], "$what: dbown is no superuser, no role changed")
	  or do { diag(join("\n", @diff)); admin('postgres', role_restore_sql(\@baseline, \@now)); };
	return;
}

# dbown empties its logs (the controls wrote them)
sub reset_traps
{
	my ($db) = @_;
	as_role('dbown', $db,
		join('', map { "TRUNCATE $_.trap_log; SELECT setval('$_.trap_seq', 1, false);\n" }
			  @{ $trap_schemas{$db} }));
	return;
}

# a database of dbown's, its traps in public and in the schema named as
# the superuser, and its search_path: '"$user", public, pg_catalog'
sub attacked_database
{
	my ($db) = @_;
	admin('postgres', "CREATE DATABASE $db OWNER dbown");
	plant($db, 'public');
	as_role('dbown', $db, "CREATE SCHEMA $user_schema");
	plant($db, $user_schema);
	as_role('dbown', $db, qq{ALTER DATABASE $db SET search_path = "\$user", public, pg_catalog});
	is(victim($db, 'SHOW search_path'), '"$user", public, pg_catalog',
		"$db: dbown gave the database its search_path");

	# Positive controls, as another role: under "<schema>, pg_catalog"
	# every trap springs; under "public" alone, the path of an extension's
	# script in public (pg_catalog implicitly first), exactly those with no
	# twin of the same signature in pg_catalog: the better matches.
	foreach my $schema (@{ $trap_schemas{$db} })
	{
		my @controls = trap_controls($schema);
		my $out = as_role('bystander', $db, "SET search_path = $schema, pg_catalog;\n"
			  . join('', map { "SELECT $schema.try(" . dq($_->[0]) . ', ' . dq($_->[1]) . ");\n" } @controls));
		my @bad = grep { !/\tok$/ } split /\n/, $out;
		is_deeply(\@bad, [], "$db: the control statements in $schema run") or diag(join("\n", @bad));
		my %sprung = map { $_ => 1 } split /\n/,
		  admin($db, "SELECT DISTINCT what FROM $schema.trap_log WHERE who = 'bystander'");
		my @silent = map { $_->[0] } grep { !$sprung{ $_->[0] } } @controls;
		is_deeply(\@silent, [], "$db: every trap in $schema springs under its path (positive control)")
		  or diag('these did not spring: ' . join('; ', @silent));
	}
	reset_traps($db);
	my @controls = grep { $_->[0] ne 'temp view control' } trap_controls('public');
	as_role('bystander', $db, "SET search_path = public;\n"
		  . join('', map { 'SELECT public.try(' . dq($_->[0]) . ', ' . dq($_->[1]) . ");\n" } @controls));
	my $sprung = admin($db, q{
SELECT string_agg(DISTINCT what, E'\n' ORDER BY what) FROM public.trap_log
 WHERE who = 'bystander' AND what <> 'temp view control'});
	my $better = admin($db, q{
SELECT string_agg(w, E'\n' ORDER BY w) FROM (
SELECT format('%s %s %s', format_type(o.oprleft, NULL), o.oprname, format_type(o.oprright, NULL)) AS w
  FROM pg_operator o
 WHERE o.oprnamespace = 'public'::regnamespace
   AND NOT EXISTS (SELECT FROM pg_operator c WHERE c.oprnamespace = 'pg_catalog'::regnamespace
					 AND c.oprname = o.oprname AND c.oprleft = o.oprleft AND c.oprright = o.oprright)
UNION ALL
SELECT format('%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND EXISTS (SELECT FROM pg_proc c WHERE c.pronamespace = 'pg_catalog'::regnamespace AND c.proname = p.proname)
   AND NOT EXISTS (SELECT FROM pg_proc c WHERE c.pronamespace = 'pg_catalog'::regnamespace
					 AND c.proname = p.proname AND c.proargtypes = p.proargtypes)) b});
	is($sprung, $better, "$db: under an extension script's path, the traps with no twin in pg_catalog spring");
	like($better, qr/^character varying = character varying$/m,
		"$db: among them, = on (varchar, varchar)");
	like($better, qr/^array_agg\(numeric\)$/m, "$db: and array_agg(numeric)");
	reset_traps($db);
	return;
}

# dbown's own schema "mig", traps inside: refused by $sql (CREATE EXTENSION
# or the update) with 42501, no trap run, then dropped
sub refused_with_dbowns_mig
{
	my ($db, $sql, $what) = @_;
	as_role('dbown', $db, 'CREATE SCHEMA mig');
	plant($db, 'mig');
	is(sqlstate($db, $sql), '42501', "$db: $what is refused when dbown made schema mig");
	no_trap($db, "$db: $what refused");
	as_role('dbown', $db, 'DROP SCHEMA mig CASCADE');
	$trap_schemas{$db} = [ grep { $_ ne 'mig' } @{ $trap_schemas{$db} } ];
	return;
}

#
# (b): what the extension's objects bind
#
sub check_bindings
{
	my ($db, $what) = @_;
	my $foreign = admin($db, foreign_dependencies_sql());
	is($foreign, '', "$db: $what: the extension's objects bind nothing outside pg_catalog and their own")
	  or diag($foreign);
	my %kinds = map { split /\|/ } split /\n/, admin($db, extension_subobjects_sql());
	my @seen = grep { ($kinds{$_} // 0) > 0 } ('view rule', 'trigger with WHEN', 'CHECK', 'default', 'partial index');
	is(scalar(@seen), 5, "$db: $what: the walk went through views' rules, trigger conditions, CHECKs, defaults, partial indexes")
	  or diag(explain(\%kinds));
	return \%kinds;
}

# after the update or the install at 1.2: the extension's schema is mig,
# a superuser's, in which no other role may create; everything is in it
sub check_placement
{
	my ($db, $kinds) = @_;
	is( admin($db, q{
SELECT format('%s %s %s', e.extnamespace::regnamespace, r.rolsuper, e.extversion)
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace JOIN pg_roles r ON r.oid = n.nspowner
 WHERE e.extname = 'mig'}),
		"mig t $current", "$db: the extension is at $current in schema mig, which a superuser owns");
	is( admin($db, q{
SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'mig' AND a.grantee <> n.nspowner AND a.privilege_type = 'CREATE'}),
		'0', "$db: no other role may create in schema mig");
	is_deeply([ sort grep { /^in schema / } keys %$kinds ], [ 'in schema mig', 'in schema pg_toast' ],
		"$db: every object of the extension, and each of theirs, is in schema mig (or pg_toast)")
	  or diag(explain($kinds));
	return;
}

#
# (c): the objects used, by the superuser under dbown's search_path
#
my %menu = (
	'numeric' => [
		[ 'action 1', q{'1'::pg_catalog.numeric} ],
		[ 'action 1000', q{'1000'::pg_catalog.numeric} ],
		[ 'agent 7', q{'7'::pg_catalog.numeric} ],
		[ 'missing id', q{'999999'::pg_catalog.numeric} ],
		[ 'NULL', 'NULL::pg_catalog.numeric' ],
	],
	'json' => [
		[ 'an action', dq($action_json) . '::pg_catalog.json' ],
		[ 'a heartbeat', dq('{"id": 9, "name": "host9", "queueloc": "linux.host9", "mode": "daemon", '
			  . '"environment": {"os": "linux"}, "tags": {"operator": "IT"}}') . '::pg_catalog.json' ],
		[ 'NULL', 'NULL::pg_catalog.json' ],
	],
	'jsonb' => [
		[ 'an action', dq($action_json) . '::pg_catalog.jsonb' ],
		[ 'NULL', 'NULL::pg_catalog.jsonb' ],
	],
	'text' => [
		[ 'a key', dq($key) . '::pg_catalog.text' ],
		[ 'a signature', dq($sig) . '::pg_catalog.text' ],
		[ 'the canonical string', dq($canonical) . '::pg_catalog.text' ],
		[ 'a target', q{'true'::pg_catalog.text} ],
		[ 'NULL', 'NULL::pg_catalog.text' ],
	],
	'boolean' => [ [ 'true', 'true' ], [ 'false', 'false' ], [ 'NULL', 'NULL::pg_catalog.bool' ] ],
	'bigint' => [ [ 'one', '1::pg_catalog.int8' ], [ 'NULL', 'NULL::pg_catalog.int8' ] ],
	'numeric[]' => [
		[ 'agents', q{'{7,8}'::pg_catalog.numeric[]} ],
		[ 'NULL', 'NULL::pg_catalog.numeric[]' ],
	],
);

my $stage_n = 0;
sub exercise
{
	my ($db) = @_;
	my $spool = "$base/spool-$db";
	my $stage = "$base/stage-$db";
	my $first = 3000000 + 100000 * ++$stage_n;

	# the worker, in this database, as the bootstrap superuser: its session
	# gets dbown's search_path (and "$user" is dbown's schema)
	spool_dirs($spool);
	admin('postgres', "ALTER SYSTEM SET mig.database = '$db'");
	admin('postgres', "ALTER SYSTEM SET mig.spool_dir = '$spool'");
	$node->restart;
	$node->poll_query_until($db, "SELECT state = 'idle' AND database = '$db' FROM mig.mig_worker_status")
	  or die "the worker does not run in $db";

	# every function of the extension (from the catalog), each call caught
	my @functions = extension_functions($node, $db);
	push @{ $menu{text} }, [ 'a spool', dq($spool) . '::pg_catalog.text' ];
	my ($calls, $missing) = function_calls(\@functions, \%menu);
	pop @{ $menu{text} };
	is_deeply($missing, [], "$db: every argument type of every function has values")
	  or diag(join("\n", @$missing));
	my $out = victim($db, q{
CREATE FUNCTION pg_temp.try(label pg_catalog.text, q pg_catalog.text) RETURNS pg_catalog.text
	LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE q;
	RETURN label OPERATOR(pg_catalog.||) E'\tok';
EXCEPTION WHEN OTHERS THEN
	RETURN label OPERATOR(pg_catalog.||) E'\t' OPERATOR(pg_catalog.||) SQLSTATE
		OPERATOR(pg_catalog.||) E'\t' OPERATOR(pg_catalog.||) pg_catalog.translate(SQLERRM, E'\n\t', '  ');
END
$f$;
} . join('', map { 'SELECT pg_temp.try(' . dq($_->[1]) . ', ' . dq($_->[2]) . ");\n" } @$calls));
	my %function_of = map { $_->[1] => $_->[0] } @$calls;
	my %reached;
	foreach my $line (split /\n/, $out)
	{
		my ($label, $result) = split /\t/, $line, 2;
		next unless defined $result && $function_of{$label};
		$reached{ $function_of{$label} }++ if $result eq 'ok' || $result !~ /^(42501|42883|42725|42P01|3F000)\t/;
	}
	my @unreached = grep { !$reached{$_} } map { $_->{sig} } grep { !$_->{trigger} } @functions;
	is_deeply(\@unreached, [], "$db: every function of the extension was called") or diag($out);

	# the trigger conditions, defaults, CHECKs, the partial index, the views
	$out = victim($db, qq{
-- actions_signed_changed (WHEN on the signed fields), actions_renumbered, actions_deleted
UPDATE mig.actions SET name = 'check sshd, renamed', target = 'true' WHERE id OPERATOR(pg_catalog.=) 1;
UPDATE mig.actions SET name = 'check sshd', target = 'status=''online''' WHERE id OPERATOR(pg_catalog.=) 1;
SELECT pg_catalog.format('verified %s', v.valid) FROM mig.mig_verify_action(1) v;
INSERT INTO mig.actions (id, name, target, validfrom, expireafter, status)
	VALUES (2000, 'scratch', 'true', '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', 'pending');
UPDATE mig.actions SET id = 2001 WHERE id OPERATOR(pg_catalog.=) 2000;
DELETE FROM mig.actions WHERE id OPERATOR(pg_catalog.=) 2001;
-- agents_os (WHEN NEW.os IS NULL), the defaults of mode and refreshtime;
-- two live agents at one queue location for mig_duplicate_agents
INSERT INTO mig.agents (id, name, queueloc, version, pid, starttime, heartbeattime, environment)
	VALUES (9001, 'dup1', 'linux.dup', '1', 1, pg_catalog.now(), pg_catalog.now(), '{"os": "linux"}'),
		   (9002, 'dup2', 'linux.dup', '1', 2, pg_catalog.now(), pg_catalog.now(), '{"os": "linux"}');
SELECT pg_catalog.format('os %s', os) FROM mig.agents WHERE id OPERATOR(pg_catalog.=) 9001;
SELECT pg_catalog.format('duplicates %s %s', queueloc, agents) FROM mig.mig_duplicate_agents;
SELECT pg_catalog.format('worker %s', state) FROM mig.mig_worker_status;
-- the counters' triggers
INSERT INTO mig.commands (id, actionid, agentid, status, starttime)
	VALUES (9001, 1, 9001, 'sent', pg_catalog.now());
UPDATE mig.commands SET status = 'success' WHERE id OPERATOR(pg_catalog.=) 9001;
DELETE FROM mig.commands WHERE id OPERATOR(pg_catalog.=) 9001;
DELETE FROM mig.agents WHERE id OPERATOR(pg_catalog.=) ANY ('{9001,9002}'::pg_catalog.numeric[]);
-- spool_files: its CHECKs, its default, its partial index
INSERT INTO mig.spool_files (path, spool, kind, dir, outcome)
	VALUES ('/x/command/done/1.json', '/x', 'command', 'done', 'failed');
SELECT pg_catalog.format('failed %s', pg_catalog.count(*)) FROM mig.spool_files
 WHERE spool OPERATOR(pg_catalog.=) '/x' AND outcome OPERATOR(pg_catalog.=) 'failed';
DELETE FROM mig.spool_files WHERE spool OPERATOR(pg_catalog.=) '/x';
-- investigators' default id and keyring triggers; loaders', manifests' defaults
INSERT INTO mig.investigators (name, publickey)
	VALUES ('Bob', ${\ dq(slurp_file('test/fixtures/keys/bob.pub')) });
DELETE FROM mig.investigators WHERE name OPERATOR(pg_catalog.=) 'Bob';
INSERT INTO mig.loaders (loadername, keyprefix, loaderkey, salt, lastseen)
	VALUES ('loader', 'prefix', '\\x01', '\\x02', pg_catalog.now());
WITH m AS (INSERT INTO mig.manifests (name, content, "timestamp", status, target)
		   VALUES ('manifest', 'content', pg_catalog.now(), 'active', 'true') RETURNING id)
INSERT INTO mig.manifestsig SELECT m.id, 1, 'sig' FROM m;
-- signatures changed by hand
UPDATE mig.signatures SET pgpsignature = pgpsignature WHERE actionid OPERATOR(pg_catalog.=) 1;
SELECT pg_catalog.format('verified again %s', v.valid) FROM mig.mig_verify_action(1) v;
});
	like($out, qr/^verified again t$/m, "$db: the action verifies again after its signed fields changed back");
	like($out, qr/^os linux$/m, "$db: agents_os filled os");
	like($out, qr/^duplicates linux\.dup 2$/m, "$db: mig_duplicate_agents sees the two agents");
	like($out, qr/^failed 1$/m, "$db: spool_files takes a failed file");
	is(victim($db, q{SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM mig.mig_target_agents('true')}),
		't', "$db: targets run under dbown's search_path");

	# the worker ingests a spool whose agents sent heartbeats
	mkspool($stage, 10, '--actions', 1, '--first-id', $first, '--heartbeats', "$base/hb-$db");
	victim($db, qq{
CREATE TEMP TABLE hb (j pg_catalog.text);
COPY pg_temp.hb FROM '$base/hb-$db' (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02');
SELECT pg_catalog.count(mig.mig_agent_heartbeat(j::pg_catalog.json)) FROM pg_temp.hb;
});
	move_files($stage, $spool, spool_files($stage));
	ok( $node->poll_query_until($db,
			"SELECT count(*) = 10 FROM mig.commands WHERE id >= $first AND id < $first + 100000"),
		"$db: the worker ingests the spool under dbown's search_path");
	no_trap($db, "$db: the objects used");
	return;
}

#
# fresh: CREATE EXTENSION mig at 1.2
#
attacked_database('fresh');
refused_with_dbowns_mig('fresh', 'CREATE EXTENSION mig', 'CREATE EXTENSION');
admin('fresh', 'CREATE SCHEMA mig; GRANT CREATE ON SCHEMA mig TO dbown');
is(sqlstate('fresh', 'CREATE EXTENSION mig'), '42501',
	'fresh: CREATE EXTENSION is refused when another role may create in schema mig');
as_role('dbown', 'fresh', q{CREATE FUNCTION mig.mig_version() RETURNS text LANGUAGE sql AS 'SELECT ''1.2'''});
admin('fresh', 'REVOKE CREATE ON SCHEMA mig FROM dbown');
is(sqlstate('fresh', 'CREATE EXTENSION mig'), '42501',
	'fresh: CREATE EXTENSION is refused when schema mig holds an object of another role');
admin('fresh', 'DROP SCHEMA mig CASCADE');
no_trap('fresh', 'fresh: CREATE EXTENSION refused');
is(admin('fresh', "SELECT count(*) FROM pg_extension WHERE extname = 'mig'"), '0',
	'fresh: not installed after the refusals');

victim('fresh', 'CREATE EXTENSION mig');
no_trap('fresh', 'fresh: CREATE EXTENSION');
check_placement('fresh', check_bindings('fresh', 'CREATE EXTENSION'));

# The walk's positive control: objects bound to dbown's operators and
# function (made under the path "public", as a script would be, in a
# transaction rolled back; not one is run) are each found.
my $control = admin('fresh', q{
BEGIN;
SET LOCAL search_path = public;
CREATE VIEW mig.bad_view AS SELECT m.name FROM mig.modules m WHERE m.name = 'x';
ALTER EXTENSION mig ADD VIEW mig.bad_view;
ALTER TABLE mig.modules ADD CONSTRAINT bad_check CHECK (name <> 'x') NOT VALID;
ALTER TABLE mig.modules ALTER COLUMN name SET DEFAULT concat('a'::text, 'b'::text);
CREATE TRIGGER bad_trigger AFTER UPDATE ON mig.modules FOR EACH ROW WHEN (NEW.name = 'y')
	EXECUTE FUNCTION mig.mig_signatures_changed();
CREATE INDEX bad_index ON mig.manifestsig (manifestid) WHERE pgpsignature = 'z';
ALTER FUNCTION mig.mig_version() SET search_path = public, mig;
SET LOCAL search_path = pg_catalog;
} . foreign_dependencies_sql() . ";\nROLLBACK;");
foreach my $bad (
	'rule _RETURN on view mig.bad_view -> operator public.=(character varying,character varying)',
	'constraint bad_check on table mig.modules -> operator public.<>(character varying,character varying)',
	'default value for column name of table mig.modules -> function public.concat(text,text)',
	'trigger bad_trigger on table mig.modules -> operator public.=(character varying,character varying)',
	'index mig.bad_index -> operator public.=(character varying,character varying)',
	'mig.mig_version() SET search_path=public, mig')
{
	like($control, qr/^\Q$bad\E/m, "the walk finds what binds dbown's objects: $bad");
}
no_trap('fresh', 'fresh: the walk\'s positive control');

admin('fresh', qq{
INSERT INTO mig.investigators (name, publickey) VALUES ('Alice', ${\ dq($key) });
INSERT INTO mig.actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
VALUES (1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00',
	'2026-01-02T04:04:05.5+01:00', '[{"parameters": {"z": 1, "a": "<x>"}, "module": "file"}]',
	json_build_array(${\ dq($sig) }::text), 'pending');
INSERT INTO mig.modules VALUES (1, 'file'), (2, 'default');
SELECT mig.mig_agent_heartbeat('{"id": 7, "name": "host7", "queueloc": "linux.host7",
	"environment": {"os": "linux"}, "tags": {"operator": "IT"}}');
SELECT mig.mig_agent_heartbeat('{"id": 8, "name": "host8", "queueloc": "linux.host8"}');
INSERT INTO mig.agtmodreq VALUES (1, 7, 1);
INSERT INTO mig.invagtmodperm VALUES (1, 7, 1, 1);
});
is(admin('fresh', 'SELECT mig.mig_authorize(1, 7)'), 't', 'fresh: action 1 is authorized on agent 7');
exercise('fresh');

#
# from10 and from11: installed in public at 1.0 and 1.1, rows in every
# table, then updated
#

# the member tables of the extension and their columns, in order
sub member_tables
{
	my ($db) = @_;
	my %t;
	foreach my $line (split /\n/, admin($db, q{
SELECT c.relname, a.attname FROM pg_depend d
  JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND c.relkind = 'r'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
 ORDER BY c.relname, a.attnum}))
	{
		my ($table, $column) = split /\|/, $line;
		push @{ $t{$table} }, $column;
	}
	return \%t;
}

sub rows_of
{
	my ($db, $schema, $table, @columns) = @_;
	my $list = join(', ', map { qq{"$_"} } @columns);
	return admin($db, "SELECT ROW($list)::text FROM $schema.$table ORDER BY 1");
}

sub from_old
{
	my ($db, $version) = @_;
	my $at = "$db: at $version";

	attacked_database($db);
	victim($db, "CREATE EXTENSION mig VERSION '$version' SCHEMA public");
	no_trap($db, "$db: CREATE EXTENSION at $version");
	is(admin($db, "SELECT extversion || ' ' || extnamespace::regnamespace FROM pg_extension WHERE extname = 'mig'"),
		"$version public", "$at, in public");
	check_bindings($db, "CREATE EXTENSION at $version");

	# rows in every table: the seed's eight, agent_details (and 1.1's
	# agents_stats) by hand (heartbeats and statistics need 1.2), the
	# record and the keyring (a verification), spool_files and commands (a
	# spool sync)
	admin($db, qq{
INSERT INTO public.investigators (id, name, publickey) VALUES (1, 'Alice', ${\ dq($key) });
INSERT INTO public.actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
VALUES (1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00',
	'2026-01-02T04:04:05.5+01:00', '[{"parameters": {"z": 1, "a": "<x>"}, "module": "file"}]',
	json_build_array(${\ dq($sig) }::text), 'pending');
INSERT INTO public.modules VALUES (1, 'file'), (2, 'default');
INSERT INTO public.agents (id, name, queueloc, os, version, pid, starttime, heartbeattime, status) VALUES
	(7, 'host7', 'linux.host7', 'linux', '20260101-0.a1b2c3d4.prod', 107,
	 '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', 'online'),
	(8, 'host8', 'linux.host8', 'linux', '20260101-0.a1b2c3d4.prod', 108,
	 '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', 'online'),
	(9, 'host9', 'linux.host9', 'linux', '20260101-0.a1b2c3d4.prod', 109,
	 '2026-01-01 00:00:00+00', '2026-01-02 00:00:00+00', 'online');
INSERT INTO public.agent_details (agentid, mode, loadername, environment, tags, refreshtime, authorized) VALUES
	(7, 'daemon', 'loader7', '{"os": "linux", "arch": "amd64"}', '{"operator": "IT"}',
	 '2026-01-01 12:00:00+00', true),
	(8, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO public.agtmodreq VALUES (1, 7, 1);
INSERT INTO public.invagtmodperm VALUES (1, 7, 1, 1);
SELECT setval('public.agent_id_seq', 41);
});
	admin($db, q{
INSERT INTO public.agents_stats VALUES ('2026-01-02 00:00:00+00', 2, '{"20260101-0.a1b2c3d4.prod": 2}',
	2, 1, '{"20260101-0.a1b2c3d4.prod": 1}', 1, 0, 0, 0, 0)}) if $version ne '1.0';
	is(admin($db, 'SELECT valid FROM public.mig_verify_action(1)'), 't', "$at the action verifies");
	is(admin($db, 'SELECT public.mig_authorize(1, 7)'), 't', "$at and is authorized");

	# a spool: two commands of action 1000 ingested by the new library
	my $spool = "$base/old-spool-$db";
	spool_dirs($spool);
	my $action = '{"id": 1000, "name": "n", "target": "t", "validfrom": "2026-01-01T00:00:00Z",'
	  . ' "expireafter": "2026-01-02T00:00:00Z", "operations": [{"module": "file"}]}';
	foreach my $c ([ 1, 'success' ], [ 2, 'sent' ])
	{
		my ($id, $status) = @$c;
		my $dir = $status eq 'sent' ? 'inflight' : 'done';
		open(my $fh, '>', "$spool/command/$dir/$id.json") or die;
		print $fh qq({"id": $id, "action": $action, "agent": {"id": 7, "name": "host7",)
		  . qq( "queueloc": "linux.host7"}, "status": "$status", "starttime": "2026-01-01T00:00:00Z"});
		close $fh;
	}
	is(admin($db, "SELECT ingested FROM public.mig_spool_sync('$spool')"),
		'2', "$at the new library syncs a spool");
	is(admin($db, 'SELECT sentctr, returnedctr, donectr FROM public.actions WHERE id = 1000'),
		'2|1|1', "$at the counters count the spool's commands");
	is(admin($db, 'SELECT count(*) FROM public.mig_worker_status WHERE spool_dir IS NOT NULL'),
		'1', "$at mig_worker_status works with the new library");
	my ($rc, $out, $err) = $node->psql($db, "SELECT a FROM public.mig_target_agents('true') a ORDER BY a");
	if ($version eq '1.0')
	{
		like($err, qr/function public\.mig_target_agents\(unknown\) does not exist/,
			"$at there is no mig_target_agents");
	}
	else
	{
		# The target runs under pg_catalog and the extension's schema,
		# public at 1.1: dbown's operators there are found, and the check of
		# the analyzed target refuses them rather than run them.
		ok($out eq "7\n8\n9" || $err =~ /ERROR:  the target may not use the function /,
			"$at mig_target_agents reads the agents, or refuses what dbown put in public")
		  or diag("out: $out\nerr: $err");
		note("$at mig_target_agents('true'): " . ($out ne '' ? $out =~ s/\n/,/gr : $err));
		no_trap($db, "$at targets");
	}

	# a command written by SQL: 1.0 does not count it (the update recounts),
	# 1.1 does
	admin($db, "INSERT INTO public.commands VALUES (3, 1000, 7, 'failed', NULL, now(), now())");
	is(admin($db, 'SELECT sentctr FROM public.actions WHERE id = 1000'),
		$version eq '1.0' ? '2' : '3', "$at a command written by SQL is "
		  . ($version eq '1.0' ? 'not counted' : 'counted'));

	# what there is before the update: every table has rows
	my $tables = member_tables($db);
	foreach my $t (sort keys %$tables)
	{
		isnt(admin($db, "SELECT count(*) FROM public.$t"), '0', "$at $t has rows");
	}
	ok(exists $tables->{agent_details} && ($version eq '1.0' || exists $tables->{agents_stats}),
		"$at the tables include agent_details" . ($version eq '1.0' ? '' : ' and agents_stats'));
	my %before;
	foreach my $t (sort keys %$tables)
	{
		next if $t eq 'agent_details';
		my @cols = grep { !/ctr$/ } @{ $tables->{$t} };	# the counters are checked below
		$before{$t} = [ \@cols, rows_of($db, 'public', $t, @cols) ];
	}
	my $details = admin($db, q{
SELECT ROW(a.id, COALESCE(d.mode, ''), d.loadername, d.environment::text, d.tags::text,
		   COALESCE(d.refreshtime, '0001-01-01 00:00:00+00'), d.authorized)::text
  FROM public.agents a LEFT JOIN public.agent_details d ON d.agentid = a.id ORDER BY a.id});
	my $sequences = admin($db, q{SELECT ROW(a.last_value, a.is_called, k.last_value, k.is_called)::text
  FROM public.agent_id_seq a, public.keyring_epoch_seq k});

	# the update, refused while dbown owns a schema "mig", then done
	refused_with_dbowns_mig($db, 'ALTER EXTENSION mig UPDATE', 'the update');
	is(admin($db, "SELECT extversion || ' ' || extnamespace::regnamespace FROM pg_extension WHERE extname = 'mig'"),
		"$version public", "$db: after the refused update, still at $version in public");
	victim($db, 'ALTER EXTENSION mig UPDATE');
	no_trap($db, "$db: ALTER EXTENSION mig UPDATE");
	check_placement($db, check_bindings($db, 'the update'));

	# every row kept
	foreach my $t (sort keys %before)
	{
		my ($cols, $rows) = @{ $before{$t} };
		my @now = map { $t eq 'agents_stats' && $_ eq 'taken_at' ? 'timestamp' : $_ } @$cols;
		is(rows_of($db, 'mig', $t, @now), $rows, "$db: $t keeps its rows");
	}
	is( admin($db, q{
SELECT ROW(id, mode, loadername, environment::text, tags::text, refreshtime, authorized)::text
  FROM mig.agents ORDER BY id}),
		$details, "$db: agent_details' columns are in agents, for every agent");
	is(admin($db, "SELECT count(*) FROM pg_class WHERE relname = 'agent_details'"), '0',
		"$db: agent_details is gone");
	is(admin($db, q{SELECT ROW(a.last_value, a.is_called, k.last_value, k.is_called)::text
  FROM mig.agent_id_seq a, mig.keyring_epoch_seq k}), $sequences, "$db: the sequences keep their values");

	# counters, verification, authorization, targets, plan
	is(admin($db, 'SELECT sentctr, returnedctr, donectr, failedctr FROM mig.actions WHERE id = 1000'),
		'3|2|1|1', "$db: the counters equal the commands");
	is(admin($db, 'SELECT mig.mig_recount()'), '0', "$db: a recount changes no counter");
	admin($db, "INSERT INTO mig.commands VALUES (4, 1000, 7, 'sent', NULL, now(), NULL)");
	is(admin($db, 'SELECT sentctr FROM mig.actions WHERE id = 1000'), '4',
		"$db: a command written by SQL is counted");
	is(admin($db, 'SELECT valid FROM mig.mig_verify_action(1)'), 't', "$db: the action verifies");
	is(admin($db, 'SELECT mig.mig_authorize(1, 7)'), 't', "$db: and is authorized");
	is( admin($db,
			"SELECT string_agg(a::text, ',' ORDER BY a) FROM mig.mig_target_agents('tags->>''operator''=''IT''') a"),
		'7', "$db: targets read the tags that were agent_details'");
	is( admin($db,
			"SELECT string_agg(format('%s %s %s', agent_id, authorized, coalesce(reason, '-')), '; ' ORDER BY agent_id) FROM mig.mig_action_plan(1)"),
		'7 t -; 8 f file: no ACL for module file or default on agent 8; 9 f file: no ACL for module file or default on agent 9',
		"$db: and the plan of the action verified at $version");
	is(admin($db, 'SELECT count(last_periodic_changed IS NULL) FROM mig.mig_worker_status'),
		'1', "$db: mig_worker_status has the periodic run's columns");

	exercise($db);
	return;
}

from_old('from10', '1.0');
from_old('from11', '1.1');

#
# The same objects as a fresh database, to the byte
#
sub schema
{
	my ($db) = @_;
	$node->run_log([ 'pg_dump', '--schema-only', '--no-owner', '-d', $node->connstr($db),
		'-f', "$base/$db.sql" ]);
	my $dump = slurp_file("$base/$db.sql");
	# pg_dump's per-run \restrict key is not part of the schema
	$dump =~ s/^\\(un)?restrict .*$//mg;
	# what pg_dump says of the extension's members: their definitions
	# come from the scripts, so add \dx+ and the members' definitions
	my $members = admin($db, q{
		SELECT pg_describe_object(classid, objid, 0) || ': ' || coalesce(
			CASE classid
			WHEN 'pg_proc'::regclass THEN pg_get_functiondef(objid)
			WHEN 'pg_trigger'::regclass THEN pg_get_triggerdef(objid)
			WHEN 'pg_constraint'::regclass THEN pg_get_constraintdef(objid)
			WHEN 'pg_class'::regclass THEN (SELECT relkind::text || ' ' || coalesce(
				(SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod)
					|| CASE WHEN attnotnull THEN ' not null' ELSE '' END
					|| coalesce(' default ' || pg_get_expr(adbin, adrelid), ''), ', '
					ORDER BY attnum)
				   FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
				  WHERE attrelid = objid AND attnum > 0 AND NOT attisdropped), '')
				|| ' acl ' || coalesce(relacl::text, '')
				|| coalesce(' view ' || pg_get_viewdef(objid), '')
				FROM pg_class WHERE oid = objid)
			END, '')
		  FROM pg_depend
		 WHERE refclassid = 'pg_extension'::regclass
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
		   AND deptype = 'e'
		 ORDER BY 1});
	my $triggers = admin($db, q{
		SELECT tgrelid::regclass || ' ' || pg_get_triggerdef(oid)
		  FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1});
	my $indexes = admin($db, q{
		SELECT indexrelid::regclass || ' ' || pg_get_indexdef(indexrelid)
		  FROM pg_index WHERE indrelid::regclass::text !~ '^pg_' ORDER BY 1});
	my $acls = admin($db, q{
		SELECT p.oid::regprocedure || ' ' || coalesce(p.proacl::text, 'default')
		  FROM pg_proc p WHERE pronamespace = 'mig'::regnamespace ORDER BY 1});
	my $config = admin($db, q{
		SELECT extversion, extnamespace::regnamespace, extconfig::regclass[]::text, extcondition
		  FROM pg_extension WHERE extname = 'mig'});
	my $dx;
	$node->psql($db, '\dx+ mig', stdout => \$dx);
	return {
		'pg_dump --schema-only' => $dump,
		'the extension\'s members' => $members,
		'triggers' => $triggers,
		'indexes' => $indexes,
		'function privileges in schema mig' => $acls,
		'version, schema and dumped tables' => $config,
		'\dx+ mig' => $dx,
	};
}

my $fresh = schema('fresh');
like($fresh->{'\dx+ mig'}, qr/function mig\.mig_authorize\(numeric,numeric\)/, '\dx+ mig lists the members');
foreach my $db ('from10', 'from11')
{
	my $updated = schema($db);
	foreach my $part (sort keys %$fresh)
	{
		is($updated->{$part}, $fresh->{$part}, "$part: $db is a fresh database");
	}
}

$node->stop;
done_testing();
