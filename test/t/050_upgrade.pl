# Proves the upgrade path: a database created at mig 1.0, with rows in
# every table, updated with ALTER EXTENSION mig UPDATE, has exactly the
# objects of a database created at the current version (pg_dump
# --schema-only and \dx+ mig compared), keeps every row, and has counters
# that equal its commands, and its target functions serve the rows written
# at 1.0.  Before the update, the new library serves the
# 1.0 database: its spool sync keeps the counters as 1.0 did.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'mig'
search_path = '"\$user", public, mig'
mig.spool_dir = '/nonexistent/mig-050-spool'
});
$node->start;

my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'mig'");
isnt($current, '1.0', "the default version is newer than 1.0 ($current)");

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('fresh', 'CREATE EXTENSION mig');
$node->safe_psql('old', "CREATE EXTENSION mig VERSION '1.0'");
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'mig'"),
	'1.0', 'a database at 1.0');

# rows in every table of 1.0: the seed's eight, the record and the keyring
# (a verification), spool_files and commands (a spool sync), agent_details
# (a heartbeat), and the sequences
my $key = slurp_file('test/fixtures/keys/alice.pub');
my $sig = slurp_file('test/fixtures/sig/1.alice.line');
$node->safe_psql('old', qq{
INSERT INTO investigators (id, name, publickey) VALUES (1, 'Alice', \$k\$$key\$k\$);
INSERT INTO actions (id, name, target, validfrom, expireafter, operations, pgpsignatures, status)
VALUES (1, 'check sshd', 'status=''online''', '2026-01-02T03:04:05.5+01:00',
	'2026-01-02T04:04:05.5+01:00', '[{"parameters": {"z": 1, "a": "<x>"}, "module": "file"}]',
	json_build_array(\$s\$$sig\$s\$), 'pending');
INSERT INTO modules VALUES (1, 'file'), (2, 'default');
SELECT mig_agent_heartbeat('{"id": 7, "name": "host7", "queueloc": "linux.host7",
	"environment": {"os": "linux"}, "tags": {"operator": "IT"}}');
SELECT mig_agent_heartbeat('{"name": "host8", "queueloc": "linux.host8"}');
INSERT INTO agtmodreq VALUES (1, 7, 1);
INSERT INTO invagtmodperm VALUES (1, 7, 1, 1);
});
is($node->safe_psql('old', 'SELECT valid FROM mig_verify_action(1)'), 't',
	'the action verifies at 1.0');
is($node->safe_psql('old', 'SELECT mig_authorize(1, 7)'), 't', 'and is authorized');

# a spool: two commands of action 1000 ingested by the new library into the
# 1.0 database, which has no counter triggers: the sync recounts
my $spool = $node->basedir . '/spool';
mkdir $spool;
mkdir "$spool/$_" foreach qw(action command);
mkdir "$spool/$_"
  foreach qw(action/new action/inflight action/done action/invalid
  command/ready command/inflight command/returned command/done);
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
is($node->safe_psql('old', "SELECT ingested FROM mig_spool_sync('$spool')"),
	'2', 'the new library syncs a spool into the 1.0 database');
is($node->safe_psql('old',
		'SELECT sentctr, returnedctr, donectr FROM actions WHERE id = 1000'),
	'2|1|1', 'and recounts the counters itself, as 1.0 did');

# 1.0's view of the worker (14 columns) works with the new library
is($node->safe_psql('old', 'SELECT count(*) FROM mig_worker_status WHERE spool_dir IS NOT NULL'),
	'1', "1.0's mig_worker_status works with the new library");

# a command written by SQL in 1.0 leaves the counters stale: the update
# recounts them
$node->safe_psql('old',
	"INSERT INTO commands VALUES (3, 1000, 7, 'failed', NULL, now(), now())");
is($node->safe_psql('old', 'SELECT sentctr FROM actions WHERE id = 1000'),
	'2', 'at 1.0 a command written by SQL is not counted');

# 1.0 has no target functions; the library refuses nothing for lack of them
my ($rc, $out, $err) = $node->psql('old', "SELECT mig_target_agents('true')");
like($err, qr/function mig_target_agents\(unknown\) does not exist/,
	'at 1.0 there is no mig_target_agents');

my @tables = split ' ',
  'actions agents commands investigators signatures modules agtmodreq invagtmodperm '
  . 'verifications keyring spool_files agent_details';
my %before;
foreach my $t (@tables)
{
	$before{$t} = $node->safe_psql('old',
		"SELECT count(*) FROM $t");
	isnt($before{$t}, '0', "$t has rows at 1.0");
}

$node->safe_psql('old', 'ALTER EXTENSION mig UPDATE');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'mig'"),
	$current, "updated to $current");

foreach my $t (@tables)
{
	is($node->safe_psql('old', "SELECT count(*) FROM $t"), $before{$t},
		"$t keeps its rows");
}
is($node->safe_psql('old',
		'SELECT sentctr, returnedctr, donectr, failedctr FROM actions WHERE id = 1000'),
	'3|2|1|1', 'the update recounts the counters');
$node->safe_psql('old',
	"INSERT INTO commands VALUES (4, 1000, 7, 'sent', NULL, now(), NULL)");
is($node->safe_psql('old', 'SELECT sentctr FROM actions WHERE id = 1000'),
	'4', 'after the update a command written by SQL is counted');
is($node->safe_psql('old', 'SELECT valid FROM mig_verify_action(1)'), 't',
	'the verification record carries over');
is($node->safe_psql('old', 'SELECT mig_authorize(1, 7)'), 't', 'and the authorization');
is($node->safe_psql('old',
		"SELECT string_agg(a::text, ',' ORDER BY a) FROM mig_target_agents('tags->>''operator''=''IT''') a"),
	'7', "1.1's targets read the agents and details written at 1.0");
is($node->safe_psql('old',
		"SELECT string_agg(format('%s %s %s', agent_id, authorized, coalesce(reason, '-')), '; ' ORDER BY agent_id) FROM mig_action_plan(1)"),
	'1 f file: no ACL for module file or default on agent 1; 7 t -',
	"and the plan of an action verified at 1.0");
is($node->safe_psql('old', 'SELECT count(*) FROM mig_worker_status WHERE last_periodic_changed IS NULL'),
	'1', "1.1's mig_worker_status has the periodic run's columns");

# the same objects as a fresh database, to the byte
sub schema
{
	my ($db) = @_;
	my ($out, $err);
	$node->run_log([ 'pg_dump', '--schema-only', '--no-owner', '-d', $node->connstr($db),
		'-f', $node->basedir . "/$db.sql" ]);
	my $dump = slurp_file($node->basedir . "/$db.sql");
	# pg_dump's per-run \restrict key is not part of the schema
	$dump =~ s/^\\(un)?restrict .*$//mg;
	# what pg_dump says of the extension's members: their definitions
	# come from the scripts, so add \dx+ and the members' definitions
	my $members = $node->safe_psql($db, q{
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
				FROM pg_class WHERE oid = objid)
			END, '')
		  FROM pg_depend
		 WHERE refclassid = 'pg_extension'::regclass
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mig')
		   AND deptype = 'e'
		 ORDER BY 1});
	my $triggers = $node->safe_psql($db, q{
		SELECT tgrelid::regclass || ' ' || pg_get_triggerdef(oid)
		  FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1});
	my $indexes = $node->safe_psql($db, q{
		SELECT indexrelid::regclass || ' ' || pg_get_indexdef(indexrelid)
		  FROM pg_index WHERE indrelid::regclass::text !~ '^pg_' ORDER BY 1});
	my $acls = $node->safe_psql($db, q{
		SELECT p.oid::regprocedure || ' ' || coalesce(p.proacl::text, 'default')
		  FROM pg_proc p WHERE pronamespace = 'public'::regnamespace ORDER BY 1});
	my $config = $node->safe_psql($db, q{
		SELECT extversion, extconfig::regclass[]::text, extcondition
		  FROM pg_extension WHERE extname = 'mig'});
	return {
		'pg_dump --schema-only' => $dump,
		'the extension\'s members' => $members,
		'triggers' => $triggers,
		'indexes' => $indexes,
		'function privileges' => $acls,
		'version and dumped tables' => $config
	};
}

my ($fresh, $updated) = (schema('fresh'), schema('old'));
foreach my $part (sort keys %$fresh)
{
	is($updated->{$part}, $fresh->{$part}, "$part: an updated database is a fresh one");
}

my ($dx_fresh, $dx_old);
$node->psql('fresh', '\dx+ mig', stdout => \$dx_fresh);
$node->psql('old', '\dx+ mig', stdout => \$dx_old);
is($dx_old, $dx_fresh, '\dx+ mig is the same');

$node->stop;
done_testing();
