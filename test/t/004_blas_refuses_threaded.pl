# 004_blas_refuses_threaded.pl - the library refuses to load over a threaded
# OpenBLAS (DESIGN section 8). A stand-in libopenblas.so.0 whose
# openblas_get_parallel() says 1 (as the pthread build does) is put first on
# the server's LD_LIBRARY_PATH (xdrec.so's RUNPATH comes after it); then
# CREATE EXTENSION must fail with SQLSTATE 0A000 and a hint, and nothing is
# left installed. Needs gcc and nm.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use IPC::Run ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use XdrecTest;

my $node = xd_node('main');
my $so = $node->config_data('--pkglibdir') . '/xdrec.so';
my $real = '/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0';
my $dir = PostgreSQL::Test::Utils::tempdir;

# dynamic symbols of a library, defined or undefined
sub symbols
{
	my ($lib, $which) = @_;
	my ($out, $err);
	IPC::Run::run([ 'nm', '-D', $which, $lib ], '>', \$out, '2>', \$err)
	  or die "nm $lib: $err";
	my %s = map { (split ' ')[-1] =~ s/@.*//r => 1 } split /\n/, $out;
	return \%s;
}

# every OpenBLAS symbol xdrec.so needs gets a stub; the two it calls at load
# say "threaded"
my $defined = symbols($real, '--defined-only');
my @stubs = grep { $defined->{$_} && !/^openblas_get_(parallel|config)$/ }
  sort keys %{ symbols($so, '--undefined-only') };
ok(@stubs > 0, 'xdrec.so needs OpenBLAS symbols: ' . scalar(@stubs));
append_to_file("$dir/fake.c",
	    "int openblas_get_parallel(void) { return 1; }\n"
	  . "char *openblas_get_config(void) { return \"OpenBLAS stand-in USE_PTHREAD\"; }\n"
	  . join('', map { "void $_(void) { }\n" } @stubs));
mkdir "$dir/lib";
command_ok([ 'gcc', '-shared', '-fPIC', '-Wl,-soname,libopenblas.so.0',
		'-o', "$dir/lib/libopenblas.so.0", "$dir/fake.c" ],
	'the stand-in threaded OpenBLAS builds');

{
	local $ENV{LD_LIBRARY_PATH} = "$dir/lib";
	$node->start;
}
my ($out, $err);
$node->psql('postgres', "\\set VERBOSITY verbose\nCREATE EXTENSION xdrec",
	stdout => \$out, stderr => \$err);
note(join("\n", (split /\n/, $err)[0 .. 2]));
like($err, qr/ERROR:  0A000: xdrec needs the single-threaded OpenBLAS/,
	'CREATE EXTENSION fails with 0A000 over a threaded OpenBLAS');
like($err, qr/HINT:  Install libopenblas0-serial/, 'the error hints at the serial build');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'xdrec'"),
	'0', 'nothing is left installed');

done_testing();
