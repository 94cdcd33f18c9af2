# Go for the tests that build a Go program (test/t/010_canon_go.pl,
# test/t/070_mig_client.pl): offline, in GOPATH mode, every Go cache and
# setting inside the test's own directory.
package MigGo;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(go_offline_env);

# go_offline_env(TMP, GOPATH...): the environment of a go build in TMP,
# GOPATH being TMP/gopath and then the directories given
sub go_offline_env
{
	my ($tmp, @gopath) = @_;

	$ENV{GOCACHE} = "$tmp/gocache";
	$ENV{GOPATH} = join(':', "$tmp/gopath", @gopath);
	$ENV{GOENV} = 'off';
	$ENV{HOME} = $tmp;
	$ENV{GO111MODULE} = 'off';
	$ENV{GOTOOLCHAIN} = 'local';
	$ENV{GOPROXY} = 'off';
	$ENV{GOFLAGS} = '';
	return;
}

1;
