# Helpers for the security suites (040_security.pl, 050_upgrade.pl): the
# traps an attacker plants in a schema it can write (operators, functions
# and aggregates that shadow pg_catalog's or are better matches than
# pg_catalog's for the types they take, each a plpgsql function that
# behaves like the original and springs when it runs as anyone but the
# attacker), the enumeration of the extension's functions and triggers from
# the catalog, the calls and statements that reach each of them, the walk of
# pg_depend from the extension's objects to whatever they bind, and a
# snapshot of the roles.
package MigAttack;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(dq trap_sql trap_controls temp_view_sql
  extension_functions function_calls
  extension_tables extension_triggers trigger_steps
  foreign_dependencies_sql extension_subobjects_sql
  role_snapshot role_diff role_restore_sql);

# The types whose comparison operators are shadowed, and the operators.
# pg_catalog has no operator on exactly (varchar, varchar), (regclass,
# regclass) or (regnamespace, regnamespace): theirs are better matches than
# pg_catalog's even when pg_catalog comes first in the search_path, as it
# does in an extension's script.
our @OP_TYPES = ('numeric', 'text', 'bigint', 'integer', 'oid',
	'timestamp with time zone', 'bytea', 'boolean', 'name', 'character varying',
	'regclass', 'regnamespace', '"char"');
our %OPS = ('=' => 'eq', '<>' => 'ne', '<' => 'lt', '>' => 'gt', '<=' => 'le', '>=' => 'ge');

# Pairs of different types given the same comparison operators: an
# operator on exactly the pair a comparison names beats pg_catalog's, which
# needs one side cast, unless pg_catalog has one too ((name, text) and
# (text, name) it has).
our @OP_PAIRS = (
	[ 'oid', 'regclass' ], [ 'regclass', 'oid' ], [ 'oid', 'regnamespace' ],
	[ 'name', 'text' ], [ 'text', 'name' ],
	[ 'numeric', 'integer' ], [ 'integer', 'numeric' ],
	[ 'character varying', 'text' ], [ 'text', 'character varying' ],
);

# Other operators: [operator, left, right, result]
our @OTHER_OPS = (
	[ '-', 'timestamp with time zone', 'interval', 'timestamp with time zone' ],
	[ '+', 'timestamp with time zone', 'interval', 'timestamp with time zone' ],
	[ '||', 'text', 'text', 'text' ],
	[ '||', 'character varying', 'character varying', 'text' ],
	[ '->>', 'json', 'text', 'text' ],
	[ '->', 'json', 'text', 'json' ],
	[ '~~', 'text', 'text', 'boolean' ],
	[ '~', 'text', 'text', 'boolean' ],
	[ '+', 'numeric', 'numeric', 'numeric' ],
	[ '+', 'integer', 'integer', 'integer' ],
	[ '+', 'bigint', 'bigint', 'bigint' ],
);
our %OP_NAMES = (%OPS, '-' => 'minus', '+' => 'plus', '||' => 'cat', '->>' => 'getfieldtext',
	'->' => 'getfield', '~~' => 'like', '~' => 'match');

# every operator trap: [operator, left, right, result]
sub all_operators
{
	my @o;
	foreach my $type (@OP_TYPES)
	{
		push @o, [ $_, $type, $type, 'boolean' ] foreach sort keys %OPS;
	}
	foreach my $pair (@OP_PAIRS)
	{
		push @o, [ $_, @$pair, 'boolean' ] foreach sort keys %OPS;
	}
	push @o, @OTHER_OPS;
	return @o;
}

# Shadowed functions: name, argument types, result, the plpgsql that does
# what pg_catalog's does, and a call of it (the positive control).
our @FUNCTIONS = (
	[ 'lower', 'text', 'text', 'RETURN pg_catalog.lower($1);', q{SELECT lower('A')} ],
	[ 'upper', 'text', 'text', 'RETURN pg_catalog.upper($1);', q{SELECT upper('a')} ],
	[ 'length', 'text', 'integer', 'RETURN pg_catalog.length($1);', q{SELECT length('abc'::text)} ],
	[ 'length', 'bytea', 'integer', 'RETURN pg_catalog.length($1);', q{SELECT length('\x01'::bytea)} ],
	[ 'btrim', 'text', 'text', 'RETURN pg_catalog.btrim($1);', q{SELECT btrim(' a ')} ],
	[ 'btrim', 'text, text', 'text', 'RETURN pg_catalog.btrim($1, $2);', q{SELECT btrim('xax', 'x')} ],
	[ 'concat', 'text, text', 'text', 'RETURN pg_catalog.concat($1, $2);', q{SELECT concat('a'::text, 'b'::text)} ],
	[ 'format', 'text, text', 'text', 'RETURN pg_catalog.format($1, $2);', q{SELECT format('<%s>'::text, 'a'::text)} ],
	[ 'format', 'text, regprocedure', 'text', 'RETURN pg_catalog.format($1, $2);', q{SELECT format('<%s>', 'pg_catalog.now()'::regprocedure)} ],
	[ 'format', 'text, regclass', 'text', 'RETURN pg_catalog.format($1, $2);', q{SELECT format('<%s>', 'pg_catalog.pg_class'::regclass)} ],
	[ 'left', 'text, integer', 'text', 'RETURN pg_catalog.left($1, $2);', q{SELECT left('abc', 1)} ],
	[ 'ceil', 'numeric', 'numeric', 'RETURN pg_catalog.ceil($1);', q{SELECT ceil(1.5)} ],
	[ 'int8', 'numeric', 'bigint', 'RETURN pg_catalog.int8($1);', q{SELECT int8(1.5::numeric)} ],
	[ 'array_to_string', 'anyarray, text', 'text', 'RETURN pg_catalog.array_to_string($1, $2);', q{SELECT array_to_string('{1,2}'::int[], ',')} ],
	[ 'replace', 'text, text, text', 'text', 'RETURN pg_catalog.replace($1, $2, $3);', q{SELECT replace('ab', 'a', 'c')} ],
	[ 'substr', 'text, integer, integer', 'text', 'RETURN pg_catalog.substr($1, $2, $3);', q{SELECT substr('abc', 1, 2)} ],
	[ 'quote_ident', 'text', 'text', 'RETURN pg_catalog.quote_ident($1);', q{SELECT quote_ident('a b')} ],
	[ 'quote_literal', 'text', 'text', 'RETURN pg_catalog.quote_literal($1);', q{SELECT quote_literal('a'::text)} ],
	[ 'md5', 'text', 'text', 'RETURN pg_catalog.md5($1);', q{SELECT md5('a'::text)} ],
	[ 'sha256', 'bytea', 'bytea', 'RETURN pg_catalog.sha256($1);', q{SELECT sha256('\x01'::bytea)} ],
	[ 'now', '', 'timestamp with time zone', 'RETURN pg_catalog.now();', q{SELECT now()} ],
	[ 'clock_timestamp', '', 'timestamp with time zone', 'RETURN pg_catalog.clock_timestamp();', q{SELECT clock_timestamp()} ],
	[ 'statement_timestamp', '', 'timestamp with time zone', 'RETURN pg_catalog.statement_timestamp();', q{SELECT statement_timestamp()} ],
	[ 'transaction_timestamp', '', 'timestamp with time zone', 'RETURN pg_catalog.transaction_timestamp();', q{SELECT transaction_timestamp()} ],
	[ 'nextval', 'regclass', 'bigint', 'RETURN pg_catalog.nextval($1);', q{SELECT nextval('evil.control_seq'::regclass)} ],
	[ 'nextval', 'text', 'bigint', 'RETURN pg_catalog.nextval($1::pg_catalog.regclass);', q{SELECT nextval('evil.control_seq'::text)} ],
	[ 'currval', 'regclass', 'bigint', 'RETURN pg_catalog.currval($1);', q{SELECT currval('evil.control_seq'::regclass)} ],
	[ 'setval', 'regclass, bigint', 'bigint', 'RETURN pg_catalog.setval($1, $2);', q{SELECT setval('evil.control_seq', 7)} ],
	[ 'pg_notify', 'text, text', 'void', 'PERFORM pg_catalog.pg_notify($1, $2);', q{SELECT pg_notify('evil', 'x')} ],
	[ 'hashtext', 'text', 'integer', 'RETURN pg_catalog.hashtext($1);', q{SELECT hashtext('a')} ],
	[ 'pg_advisory_xact_lock', 'bigint', 'void', 'PERFORM pg_catalog.pg_advisory_xact_lock($1);', q{SELECT pg_advisory_xact_lock(42::bigint)} ],
	[ 'pg_advisory_xact_lock', 'integer, integer', 'void', 'PERFORM pg_catalog.pg_advisory_xact_lock($1, $2);', q{SELECT pg_advisory_xact_lock(4, 2)} ],
	[ 'pg_try_advisory_xact_lock', 'bigint', 'boolean', 'RETURN pg_catalog.pg_try_advisory_xact_lock($1);', q{SELECT pg_try_advisory_xact_lock(42::bigint)} ],
	[ 'current_setting', 'text', 'text', 'RETURN pg_catalog.current_setting($1);', q{SELECT current_setting('work_mem')} ],
	[ 'current_setting', 'text, boolean', 'text', 'RETURN pg_catalog.current_setting($1, $2);', q{SELECT current_setting('work_mem', true)} ],
	[ 'set_config', 'text, text, boolean', 'text', 'RETURN pg_catalog.set_config($1, $2, $3);', q{SELECT set_config('evil.x', 'y', true)} ],
	[ 'unnest', 'anyarray', 'SETOF anyelement', 'RETURN QUERY SELECT pg_catalog.unnest($1);', q{SELECT * FROM unnest('{1,2}'::int[])} ],
	[ 'array_length', 'anyarray, integer', 'integer', 'RETURN pg_catalog.array_length($1, $2);', q{SELECT array_length('{1}'::int[], 1)} ],
	[ 'cardinality', 'anyarray', 'integer', 'RETURN pg_catalog.cardinality($1);', q{SELECT cardinality('{1}'::int[])} ],
	[ 'array_append', 'anycompatiblearray, anycompatible', 'anycompatiblearray', 'RETURN pg_catalog.array_append($1, $2);', q{SELECT array_append('{1}'::int[], 2)} ],
	[ 'to_json', 'anyelement', 'json', 'RETURN pg_catalog.to_json($1);', q{SELECT to_json(1)} ],
	[ 'to_jsonb', 'anyelement', 'jsonb', 'RETURN pg_catalog.to_jsonb($1);', q{SELECT to_jsonb(1)} ],
	[ 'json_array_elements', 'json', 'TABLE(value json)', 'RETURN QUERY SELECT * FROM pg_catalog.json_array_elements($1);', q{SELECT * FROM json_array_elements('[1]')} ],
	[ 'json_array_elements_text', 'json', 'TABLE(value text)', 'RETURN QUERY SELECT * FROM pg_catalog.json_array_elements_text($1);', q{SELECT * FROM json_array_elements_text('[1]')} ],
	[ 'json_typeof', 'json', 'text', 'RETURN pg_catalog.json_typeof($1);', q{SELECT json_typeof('1')} ],
	[ 'pg_backend_pid', '', 'integer', 'RETURN pg_catalog.pg_backend_pid();', q{SELECT pg_backend_pid()} ],
);

# The traps are IMMUTABLE (a lie PostgreSQL believes), so that they can be
# bound into index expressions and predicates too, but for these, which
# the attacker's own statements need evaluated each time.  An IMMUTABLE
# function runs its statements read-only: each calls the volatile
# sprung(), which may write.
our %VOLATILE = map { $_ => 1 } qw(now clock_timestamp statement_timestamp
  transaction_timestamp nextval currval setval pg_notify pg_advisory_xact_lock
  pg_try_advisory_xact_lock current_setting set_config pg_backend_pid unnest
  json_array_elements json_array_elements_text);

# Shadowed aggregates: name, arguments, state type, initial state,
# transition function arguments and body, a call.
our @AGGREGATES = (
	[ 'count', '*', 'bigint', '0', 'bigint', 'RETURN $1 + 1;',
		q{SELECT count(*) FROM (VALUES (1)) v(x)} ],
	[ 'count', 'numeric', 'bigint', '0', 'bigint, numeric',
		'IF $2 IS NULL THEN RETURN $1; END IF; RETURN $1 + 1;',
		q{SELECT count(x) FROM (VALUES (1::numeric)) v(x)} ],
	[ 'array_agg', 'anynonarray', 'anyarray', undef, 'anyarray, anynonarray',
		'RETURN pg_catalog.array_append($1, $2);',
		q{SELECT array_agg(x) FROM (VALUES ('a'::text)) v(x)} ],
	[ 'array_agg', 'numeric', 'numeric[]', undef, 'numeric[], numeric',
		'RETURN pg_catalog.array_append($1, $2);',
		q{SELECT array_agg(x) FROM (VALUES (1::numeric)) v(x)} ],
	[ 'string_agg', 'text, text', 'text', undef, 'text, text, text',
		'IF $2 IS NULL THEN RETURN $1; END IF; IF $1 IS NULL THEN RETURN $2; END IF; RETURN $1 || coalesce($3, \'\') || $2;',
		q{SELECT string_agg(x, ',') FROM (VALUES ('a')) v(x)} ],
	[ 'max', 'numeric', 'numeric', undef, 'numeric, numeric',
		'IF $1 IS NULL THEN RETURN $2; END IF; RETURN GREATEST($1, $2);',
		q{SELECT max(x) FROM (VALUES (1::numeric)) v(x)} ],
	[ 'min', 'numeric', 'numeric', undef, 'numeric, numeric',
		'IF $1 IS NULL THEN RETURN $2; END IF; RETURN LEAST($1, $2);',
		q{SELECT min(x) FROM (VALUES (1::numeric)) v(x)} ],
	[ 'max', 'timestamp with time zone', 'timestamp with time zone', undef,
		'timestamp with time zone, timestamp with time zone',
		'IF $1 IS NULL THEN RETURN $2; END IF; RETURN GREATEST($1, $2);',
		q{SELECT max(x) FROM (VALUES (now())) v(x)} ],
);

# $text dollar-quoted with a tag it does not hold
sub dq
{
	my ($text) = @_;
	my $n = 0;
	$n++ while index($text, "\$mig$n\$") >= 0;
	return "\$mig$n\$$text\$mig$n\$";
}

sub tag
{
	my ($s) = @_;
	$s =~ s/\W+/_/g;
	return $s;
}

sub what_of_function { return "$_[0]($_[1])"; }

# The traps, as the attacker creates them in schema $schema (which it owns):
#  - $schema.trap_log(phase, who, what, backend, query, at): one row per
#    sprung trap, INSERT granted to PUBLIC; $schema.trap_seq counts them, rolled back or
#    not; $schema.phase names the phase of the test;
#  - $schema.sprung(what): what every trap does when current_user is not the
#    attacker: a row in trap_log (with the statement of the session it ran
#    in), a WARNING the first time in a phase and, run by a superuser,
#    ALTER ROLE <attacker> SUPERUSER;
#  - the operators, functions and aggregates above; $schema.tripwire(view)
#    for temporary views (temp_view_sql);
#  - $schema.try(label, sql): runs sql, returns "label<TAB>ok" or
#    "label<TAB>SQLSTATE<TAB>message"; $schema.probe(label): what a
#    transaction about to be rolled back saw.
sub trap_sql
{
	my ($schema, $attacker) = @_;
	my $att = "'$attacker'";
	my @sql;

	push @sql, qq{
CREATE TABLE $schema.trap_log (phase text, who name, what text, backend text, query text, at timestamptz);
CREATE INDEX ON $schema.trap_log (phase, what, who);
CREATE SEQUENCE $schema.trap_seq;
CREATE SEQUENCE $schema.control_seq;
CREATE TABLE $schema.phase (phase text);
INSERT INTO $schema.phase VALUES ('setup');
GRANT USAGE ON SCHEMA $schema TO PUBLIC;
GRANT SELECT, INSERT ON $schema.trap_log TO PUBLIC;
GRANT USAGE ON SEQUENCE $schema.trap_seq TO PUBLIC;
GRANT USAGE, SELECT, UPDATE ON SEQUENCE $schema.control_seq TO PUBLIC;
GRANT SELECT ON $schema.phase TO PUBLIC;

CREATE FUNCTION $schema.sprung(what text) RETURNS void
	LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS \$f\$
DECLARE
	this_phase text := (SELECT p.phase FROM $schema.phase p);
	this_backend text;
	this_query text;
	first boolean;
BEGIN
	IF current_user = $att THEN
		RETURN;
	END IF;
	PERFORM nextval('$schema.trap_seq');
	SELECT a.backend_type, left(a.query, 500) INTO this_backend, this_query
	  FROM pg_stat_activity a WHERE a.pid = pg_backend_pid();
	first := NOT EXISTS (SELECT FROM $schema.trap_log l
						  WHERE l.phase = this_phase AND l.what = sprung.what AND l.who = current_user);
	INSERT INTO $schema.trap_log
		VALUES (this_phase, current_user, what, this_backend, this_query, clock_timestamp());
	IF first THEN
		RAISE WARNING 'mig-security-trap: % ran $schema.% (%)', current_user, what, this_backend;
	END IF;
	IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
	   AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = $att) THEN
		EXECUTE format('ALTER ROLE %I SUPERUSER', $att);
	END IF;
END
\$f\$;

CREATE FUNCTION $schema.tripwire(view text) RETURNS boolean
	LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS \$f\$
BEGIN
	PERFORM $schema.sprung('temp view ' || view);
	RETURN true;
END
\$f\$;

-- no SET search_path: the statement runs with the caller's
CREATE FUNCTION $schema.try(label text, q text) RETURNS text LANGUAGE plpgsql AS \$f\$
BEGIN
	EXECUTE q;
	RETURN label OPERATOR(pg_catalog.||) E'\\tok';
EXCEPTION WHEN OTHERS THEN
	RETURN label OPERATOR(pg_catalog.||) E'\\t' OPERATOR(pg_catalog.||) SQLSTATE
		OPERATOR(pg_catalog.||) E'\\t'
		OPERATOR(pg_catalog.||) pg_catalog.translate(SQLERRM, E'\\n\\t', '  ');
END
\$f\$;

CREATE FUNCTION $schema.probe(label text) RETURNS text
	LANGUAGE sql SET search_path = pg_catalog, pg_temp AS \$f\$
	SELECT format(E'%s\\tprobe\\t%s trap rows in this phase, %s superuser: %s', label,
		(SELECT count(*) FROM $schema.trap_log l WHERE l.phase = (SELECT p.phase FROM $schema.phase p)),
		$att, (SELECT rolsuper FROM pg_roles WHERE rolname = $att))
\$f\$;
};

	foreach my $o (all_operators())
	{
		my ($op, $left, $right, $result) = @$o;
		my $f = "$schema.op_" . tag($left) . '_' . tag($right) . "_$OP_NAMES{$op}";
		push @sql, qq{
CREATE FUNCTION $f(a $left, b $right) RETURNS $result
	LANGUAGE plpgsql IMMUTABLE SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS \$f\$
BEGIN
	PERFORM $schema.sprung('$left $op $right');
	RETURN a OPERATOR(pg_catalog.$op) b;
END
\$f\$;
CREATE OPERATOR $schema.$op (FUNCTION = $f, LEFTARG = $left, RIGHTARG = $right);
};
	}

	foreach my $fn (@FUNCTIONS)
	{
		my ($name, $args, $returns, $body) = @$fn;
		my $what = what_of_function($name, $args);
		my $volatility = $VOLATILE{$name} ? 'VOLATILE' : 'IMMUTABLE';
		push @sql, qq{
CREATE FUNCTION $schema.$name($args) RETURNS $returns
	LANGUAGE plpgsql $volatility SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS \$f\$
BEGIN
	PERFORM $schema.sprung('$what');
	$body
END
\$f\$;
};
	}

	foreach my $agg (@AGGREGATES)
	{
		my ($name, $args, $stype, $init, $sargs, $body) = @$agg;
		my $what = what_of_function($name, $args);
		my $sfunc = "$schema.agg_" . tag("${name}_$args");
		push @sql, qq{
CREATE FUNCTION $sfunc($sargs) RETURNS $stype
	LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, pg_temp AS \$f\$
BEGIN
	PERFORM $schema.sprung('$what');
	$body
END
\$f\$;
CREATE AGGREGATE $schema.$name($args) (SFUNC = $sfunc, STYPE = $stype}
		  . (defined $init ? ", INITCOND = '$init'" : '') . ");\n";
	}
	return join('', @sql);
}

# [what the trap logs, a statement that springs it] for every trap
sub trap_controls
{
	my ($schema) = @_;
	my @c;
	push @c, [ "$_->[1] $_->[0] $_->[2]", "SELECT NULL::$_->[1] $_->[0] NULL::$_->[2]" ] foreach all_operators();
	push @c, [ what_of_function($_->[0], $_->[1]), $_->[4] ] foreach @FUNCTIONS;
	push @c, [ what_of_function($_->[0], $_->[1]), $_->[6] ] foreach @AGGREGATES;
	push @c, [ 'temp view control', q{SELECT evil.tripwire('control')} ];
	$_->[1] =~ s/\bevil\./$schema./g foreach @c;
	return @c;
}

# temporary views named as the extension's tables, over them, that spring
# when read or written: relations resolve in pg_temp first unless it is
# placed last in search_path
sub temp_view_sql
{
	my ($schema, @tables) = @_;
	return join('', map {
		my ($qualified, $name) = @$_;
		"CREATE TEMP VIEW \"$name\" AS SELECT * FROM $qualified WHERE $schema.tripwire('$name');\n"
	} @tables);
}

# the extension's objects: pg_depend rows of kind 'e' on extension mig
my $EXT_OBJECTS = q{
	SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
	 WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'mig')
	   AND d.deptype = 'e'};

# every function of the extension: { sig, call (schema-qualified name),
# trigger (returns trigger), types (of the input arguments), ndefaults }
sub extension_functions
{
	my ($node, $db) = @_;
	my $out = $node->safe_psql($db, qq{
SELECT p.oid::pg_catalog.regprocedure, pg_catalog.format('%I.%I', n.nspname, p.proname),
	   p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype, p.pronargdefaults,
	   pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.format_type(t, NULL)
		   FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY AS u(t, o) ORDER BY o), ';')
  FROM ($EXT_OBJECTS) x
  JOIN pg_catalog.pg_proc p ON x.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = x.objid
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 ORDER BY p.oid::pg_catalog.regprocedure::pg_catalog.text});
	my @f;
	foreach my $line (split /\n/, $out)
	{
		my ($sig, $call, $trigger, $ndefaults, $types) = split /\|/, $line, -1;
		push @f, {
			sig => $sig,
			call => $call,
			trigger => $trigger eq 't',
			ndefaults => $ndefaults,
			types => [ grep { $_ ne '' } split /;/, $types ],
		};
	}
	return @f;
}

# All the calls of the extension's functions (not the trigger functions) that
# the menu allows: for each argument type, [label, SQL expression] pairs.
# Every combination, or when there are more than $cap, each value of each
# argument with the first value of the others; a function called without
# its defaulted arguments too.  Returns (calls as [function, label, SQL],
# the functions with an argument type the menu lacks).
sub function_calls
{
	my ($functions, $menu, $cap) = @_;
	my (@calls, @missing);
	$cap //= 200;
	foreach my $f (@$functions)
	{
		next if $f->{trigger};
		my @types = @{ $f->{types} };
		my @lacking = grep { !$menu->{$_} } @types;
		if (@lacking)
		{
			push @missing, "$f->{sig}: no attack values for argument type "
			  . join(', ', @lacking) . ' (add them to the menu of 040_security.pl)';
			next;
		}
		for my $nargs (@types - $f->{ndefaults} .. @types)
		{
			my @sets = map { $menu->{$_} } @types[ 0 .. $nargs - 1 ];
			my $total = 1;
			$total *= scalar(@$_) foreach @sets;
			my @tuples;
			if ($total <= $cap)
			{
				@tuples = ([]);
				foreach my $set (@sets)
				{
					@tuples = map { my $t = $_; map { [ @$t, $_ ] } @$set } @tuples;
				}
			}
			else
			{
				for my $i (0 .. $#sets)
				{
					foreach my $v (@{ $sets[$i] })
					{
						push @tuples, [ map { $_ == $i ? $v : $sets[$_][0] } 0 .. $#sets ];
					}
				}
			}
			foreach my $t (@tuples)
			{
				push @calls, [
					$f->{sig},
					"$f->{call}(" . join(', ', map { $_->[0] } @$t) . ')',
					"SELECT $f->{call}(" . join(', ', map { $_->[1] } @$t) . ')'
				];
			}
		}
	}
	return (\@calls, \@missing);
}

# the extension's tables: [qualified name, name]
sub extension_tables
{
	my ($node, $db) = @_;
	my $out = $node->safe_psql($db, qq{
SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relname
  FROM ($EXT_OBJECTS) x
  JOIN pg_catalog.pg_class c ON x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.oid = x.objid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
 ORDER BY 2});
	return map { [ split /\|/ ] } split /\n/, $out;
}

# every trigger on the extension's tables: { name, table, qualified,
# events (INSERT, UPDATE, DELETE, TRUNCATE), columns (UPDATE OF), function },
# and the columns' types of those tables: { table => { column => type } }
sub extension_triggers
{
	my ($node, $db) = @_;
	my $out = $node->safe_psql($db, qq{
SELECT t.tgname, c.relname, pg_catalog.format('%I.%I', n.nspname, c.relname), t.tgtype,
	   t.tgfoid::pg_catalog.regprocedure,
	   pg_catalog.array_to_string(ARRAY(SELECT a.attname
		   FROM pg_catalog.unnest(t.tgattr::pg_catalog.int2[]) WITH ORDINALITY AS u(k, o)
		   JOIN pg_catalog.pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = u.k
		  ORDER BY u.o), ';')
  FROM ($EXT_OBJECTS) x
  JOIN pg_catalog.pg_trigger t ON x.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND t.tgrelid = x.objid
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT t.tgisinternal
 ORDER BY 2, 1});
	my @t;
	foreach my $line (split /\n/, $out)
	{
		my ($name, $table, $qualified, $type, $function, $cols) = split /\|/, $line, -1;
		my @events;
		push @events, 'INSERT' if $type & 4;
		push @events, 'DELETE' if $type & 8;
		push @events, 'UPDATE' if $type & 16;
		push @events, 'TRUNCATE' if $type & 32;
		push @t, {
			name => $name,
			table => $table,
			qualified => $qualified,
			events => \@events,
			columns => [ grep { $_ ne '' } split /;/, $cols ],
			function => $function,
		};
	}
	my %types;
	my %seen;
	foreach my $t (grep { !$seen{ $_->{table} }++ } @t)
	{
		my $cols = $node->safe_psql($db, qq{
SELECT a.attname, pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = '$t->{qualified}'::pg_catalog.regclass AND a.attnum > 0 AND NOT a.attisdropped});
		$types{ $t->{table} } = { map { split /\|/ } split /\n/, $cols };
	}
	return (\@t, \%types);
}

# a changed value of a column of the given type, when the recipe gives none
my %CHANGE = (
	'numeric' => '%s + 1',
	'integer' => '%s + 1',
	'bigint' => '%s + 1',
	'text' => q{%s || ' (changed)'},
	'character varying' => q{%s || ' (changed)'},
	'timestamp with time zone' => q{%s + interval '1 second'},
	'boolean' => 'NOT %s',
	'bytea' => q{%s || '\x00'::bytea},
	'json' => q{pg_catalog.json_build_array(%s)},
	'jsonb' => q{pg_catalog.jsonb_build_array(%s)},
);

# The statements that fire every trigger, from a recipe per table:
#   insert => a statement adding a scratch row, where => a condition
#   matching it (before and after any update), prepare => statements run
#   after the insert (say, a verification), set => { column => new value },
#   touch => the columns an UPDATE trigger without a column list gets.
# Each step: { label, triggers (the names of those it fires), statements
# ([what, SQL]: cleanup, scratch row, prepare, and fire, the one that fires
# them), rollback (run in a transaction rolled back) }.
# Returns (steps, what the recipes lack).
sub trigger_steps
{
	my ($triggers, $types, $recipes) = @_;
	my (@steps, @missing, %step_of);
	foreach my $t (@$triggers)
	{
		my $r = $recipes->{ $t->{table} };
		if (!$r)
		{
			push @missing, "trigger $t->{name} on $t->{table}: no DML recipe for table $t->{table}"
			  . ' (add one to 040_security.pl)';
			next;
		}
		my $q = $t->{qualified};
		my @cleanup = ([ 'cleanup', "DELETE FROM $q WHERE $r->{where}" ]);
		my @setup = ([ 'scratch row', $r->{insert} ], map { [ 'prepare', $_ ] } @{ $r->{prepare} // [] });
		foreach my $event (@{ $t->{events} })
		{
			my @items;
			if ($event eq 'INSERT')
			{
				@items = ([ 'INSERT', [ @cleanup, [ 'fire', $r->{insert} ], @setup[ 1 .. $#setup ], @cleanup ], 0 ]);
			}
			elsif ($event eq 'DELETE')
			{
				@items = ([ 'DELETE', [ @cleanup, @setup, [ 'fire', $cleanup[0][1] ] ], 0 ]);
			}
			elsif ($event eq 'TRUNCATE')
			{
				@items = ([ 'TRUNCATE', [ @setup, [ 'fire', "TRUNCATE $q CASCADE" ] ], 1 ]);
			}
			elsif ($event eq 'UPDATE')
			{
				my @cols = @{ $t->{columns} };
				@cols = @{ $r->{touch} // [] } unless @cols;
				if (!@cols)
				{
					push @missing, "trigger $t->{name} on $t->{table}: UPDATE of any column, and the recipe names no column to touch";
				}
				foreach my $col (@cols)
				{
					my $expr = $r->{set}{$col};
					if (!defined $expr)
					{
						my $type = $types->{ $t->{table} }{$col} // '?';
						if (!$CHANGE{$type})
						{
							push @missing, "trigger $t->{name} on $t->{table}: no new value for column $col of type $type";
							next;
						}
						$expr = sprintf($CHANGE{$type}, "\"$col\"");
					}
					push @items, [ "UPDATE OF $col",
						[ @cleanup, @setup, [ 'fire', "UPDATE $q SET \"$col\" = $expr WHERE $r->{where}" ], @cleanup ],
						0 ];
				}
			}
			foreach my $item (@items)
			{
				my ($what, $stmts, $rollback) = @$item;
				my $label = "$t->{table} $what";
				if (my $s = $step_of{$label})
				{
					push @{ $s->{triggers} }, $t->{name};
					next;
				}
				my $s = {
					label => $label,
					triggers => [ $t->{name} ],
					statements => $stmts,
					rollback => $rollback,
				};
				$step_of{$label} = $s;
				push @steps, $s;
			}
		}
	}
	return (\@steps, \@missing);
}

# The extension's objects and their sub-objects: its members and,
# recursively, whatever depends on them automatically or internally
# (columns' defaults, constraints, triggers, indexes, the rules of its views,
# row and array types, owned sequences).  A CTE for the queries below.
my $CLOSURE = q{
WITH RECURSIVE objs(classid, objid) AS (
	SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
	 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=)
			(SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'mig')
	   AND d.deptype OPERATOR(pg_catalog.=) 'e'
	UNION
	SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
	  JOIN objs o ON d.refclassid OPERATOR(pg_catalog.=) o.classid AND d.refobjid OPERATOR(pg_catalog.=) o.objid
	 WHERE d.deptype OPERATOR(pg_catalog.=) ANY ('{a,i}'::pg_catalog."char"[])
)};

# SQL giving one line per thing an object of the extension (or a
# sub-object: a view's rule, a trigger's WHEN, a default, a CHECK, an
# index's predicate or expressions) binds that is neither another of them,
# nor in pg_catalog, nor the extension's own schema; and per function SET
# clause whose search_path names anything but pg_catalog, the extension's
# schema and pg_temp.  Objects of pg_catalog made by initdb are pinned and
# have no pg_depend rows: every dependency recorded is on something made
# later, which must then be the extension's own.  Empty: it binds nothing
# anyone else made.
sub foreign_dependencies_sql
{
	return $CLOSURE . q{
SELECT pg_catalog.format('%s -> %s (%s)',
		pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
		pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), d.deptype)
  FROM pg_catalog.pg_depend d
  JOIN (SELECT DISTINCT classid, objid FROM objs) o
	ON d.classid OPERATOR(pg_catalog.=) o.classid AND d.objid OPERATOR(pg_catalog.=) o.objid
 WHERE d.deptype OPERATOR(pg_catalog.<>) 'e'
   AND NOT EXISTS (SELECT FROM objs x WHERE x.classid OPERATOR(pg_catalog.=) d.refclassid
										AND x.objid OPERATOR(pg_catalog.=) d.refobjid)
   AND NOT (d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
			AND d.refobjid OPERATOR(pg_catalog.=)
				(SELECT e.extnamespace FROM pg_catalog.pg_extension e
				  WHERE e.extname OPERATOR(pg_catalog.=) 'mig'))
   AND COALESCE((pg_catalog.pg_identify_object(d.refclassid, d.refobjid, 0)).schema, '')
		OPERATOR(pg_catalog.<>) 'pg_catalog'
UNION ALL
SELECT pg_catalog.format('%s SET %s', p.oid::pg_catalog.regprocedure, c.setting)
  FROM (SELECT DISTINCT objid FROM objs
		 WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass) o
  JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) o.objid
 CROSS JOIN LATERAL pg_catalog.unnest(p.proconfig) AS c(setting)
 WHERE c.setting OPERATOR(pg_catalog.~~) 'search_path=%'
   AND EXISTS (SELECT FROM pg_catalog.regexp_split_to_table(
					pg_catalog.substr(c.setting, 13), '\s*,\s*') AS s(nsp)
			   WHERE pg_catalog.btrim(s.nsp, '"') OPERATOR(pg_catalog.<>) ALL
					 (ARRAY['pg_catalog', 'pg_temp',
							(SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_extension e
							   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
							  WHERE e.extname OPERATOR(pg_catalog.=) 'mig')]))
 ORDER BY 1};
}

# SQL giving, for the objects of the extension and their sub-objects, how
# many of each kind the walk above looks at, one "kind|count" line each:
# "member", "view rule", "trigger with WHEN", "CHECK", "default",
# "partial index", "index", "in schema <nsp>" (every one that has a schema).
sub extension_subobjects_sql
{
	return $CLOSURE . q{,
o AS (SELECT DISTINCT classid, objid FROM objs)
SELECT kind, pg_catalog.count(*) FROM (
	SELECT 'view rule' AS kind FROM o JOIN pg_catalog.pg_rewrite r
		ON o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
	   AND r.oid OPERATOR(pg_catalog.=) o.objid
	UNION ALL
	SELECT 'trigger with WHEN' FROM o JOIN pg_catalog.pg_trigger t
		ON o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
	   AND t.oid OPERATOR(pg_catalog.=) o.objid WHERE t.tgqual IS NOT NULL
	UNION ALL
	SELECT 'CHECK' FROM o JOIN pg_catalog.pg_constraint c
		ON o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
	   AND c.oid OPERATOR(pg_catalog.=) o.objid WHERE c.contype OPERATOR(pg_catalog.=) 'c'
	UNION ALL
	SELECT 'default' FROM o
	 WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
	UNION ALL
	SELECT CASE WHEN i.indpred IS NULL THEN 'index' ELSE 'partial index' END FROM o
	  JOIN pg_catalog.pg_index i
		ON o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND i.indexrelid OPERATOR(pg_catalog.=) o.objid
	UNION ALL
	SELECT 'in schema ' OPERATOR(pg_catalog.||) x.schema FROM o
	 CROSS JOIN LATERAL pg_catalog.pg_identify_object(o.classid, o.objid, 0) x
	 WHERE x.schema IS NOT NULL
	UNION ALL
	SELECT 'member' FROM pg_catalog.pg_depend d
	 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.deptype OPERATOR(pg_catalog.=) 'e'
	   AND d.refobjid OPERATOR(pg_catalog.=)
			(SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'mig')
) k GROUP BY kind ORDER BY kind};
}

# Every role's attributes and every membership, one line each, sorted.
sub role_snapshot
{
	my ($node, $db) = @_;
	my $out = $node->safe_psql($db, q{
SELECT pg_catalog.format('role %s super=%s createrole=%s createdb=%s replication=%s bypassrls=%s login=%s inherit=%s',
		rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, rolinherit)
  FROM pg_catalog.pg_roles
UNION ALL
SELECT pg_catalog.format('member %s of %s admin=%s', m.member::pg_catalog.regrole,
		m.roleid::pg_catalog.regrole, m.admin_option)
  FROM pg_catalog.pg_auth_members m
 ORDER BY 1});
	return split /\n/, $out;
}

# lines gone ("-") and new ("+") between two snapshots
sub role_diff
{
	my ($before, $after) = @_;
	my %b = map { $_ => 1 } @$before;
	my %a = map { $_ => 1 } @$after;
	return ((map { "- $_" } grep { !$a{$_} } @$before), (map { "+ $_" } grep { !$b{$_} } @$after));
}

# SQL that puts back the roles of $before where $after differs
sub role_restore_sql
{
	my ($before, $after) = @_;
	my %a = map { $_ => 1 } @$after;
	my %b = map { $_ => 1 } @$before;
	my @sql;
	my %flag = (super => 'SUPERUSER', createrole => 'CREATEROLE', createdb => 'CREATEDB',
		replication => 'REPLICATION', bypassrls => 'BYPASSRLS', login => 'LOGIN', inherit => 'INHERIT');
	foreach my $line (grep { !$a{$_} } @$before)
	{
		next unless $line =~ /^role (\S+) (.*)$/;
		my ($role, $attrs) = ($1, $2);
		my @opts = map { my ($k, $v) = split /=/; ($v eq 't' ? '' : 'NO') . $flag{$k} } split / /, $attrs;
		push @sql, "ALTER ROLE \"$role\" @opts;";
	}
	foreach my $line (grep { !$b{$_} } @$after)
	{
		push @sql, "REVOKE $2 FROM $1;" if $line =~ /^member (\S+) of (\S+) /;
	}
	return join("\n", @sql);
}

1;
