#!/usr/bin/env bash
# blas_refuses_threaded.sh - the library refuses to load over a threaded
# OpenBLAS (DESIGN section 8). A stand-in libopenblas.so.0 whose
# openblas_get_parallel() says 1 (as the pthread build does) is put first on
# LD_LIBRARY_PATH of a second throwaway server (RUNPATH comes after it); then
# CREATE EXTENSION must fail with SQLSTATE 0A000 and a hint, and nothing is
# left installed. Needs root (runuser) and gcc.
set -euo pipefail

PGBIN=${XD_PGBIN:-/usr/lib/postgresql/15/bin}
DIR=$(mktemp -d /tmp/xdrec-blas.XXXXXX)
chmod 755 "$DIR"
cleanup()
{
	if [ -f "$DIR/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT

mkdir "$DIR/lib"
# every OpenBLAS symbol xdrec.so needs gets a stub; the two it calls at load
# say "threaded"
SO="$("${PG_CONFIG:-$PGBIN/pg_config}" --pkglibdir)/xdrec.so"
REAL=/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0
{
	echo 'int openblas_get_parallel(void) { return 1; }'
	echo 'char *openblas_get_config(void) { return "OpenBLAS stand-in USE_PTHREAD"; }'
	comm -12 <(nm -D --undefined-only "$SO" | awk '{print $NF}' | sed 's/@.*//' | sort -u) \
		<(nm -D --defined-only "$REAL" | awk '{print $NF}' | sed 's/@.*//' | sort -u) |
		grep -vx 'openblas_get_parallel\|openblas_get_config' |
		sed 's/.*/void &(void) { }/'
} >"$DIR/fake.c"
gcc -shared -fPIC -Wl,-soname,libopenblas.so.0 -o "$DIR/lib/libopenblas.so.0" "$DIR/fake.c"
chmod -R a+rX "$DIR"
chown postgres: "$DIR"

port=$((PGPORT + 1))
while [ -e "$PGHOST/.s.PGSQL.$port" ] || [ -e "$DIR/.s.PGSQL.$port" ]; do port=$((port + 1)); done
runuser -u postgres -- "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >/dev/null
cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$DIR'
port = $port
fsync = off
CONF
runuser -u postgres -- env LD_LIBRARY_PATH="$DIR/lib" \
	"$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null

out=$(psql -X -h "$DIR" -p "$port" -U postgres -d postgres \
	-c "\\set VERBOSITY verbose" -c "CREATE EXTENSION xdrec" 2>&1 || true)
left=$(psql -X -At -h "$DIR" -p "$port" -U postgres -d postgres \
	-c "SELECT count(*) FROM pg_extension WHERE extname = 'xdrec'")
echo "$out" | sed -n 1,3p
if echo "$out" | grep -q 'ERROR:  0A000: xdrec needs the single-threaded OpenBLAS' &&
	echo "$out" | grep -q 'HINT:  Install libopenblas0-serial' && [ "$left" = 0 ]; then
	echo "threaded OpenBLAS refused at load (0A000), nothing installed"
else
	echo "FAIL: expected CREATE EXTENSION to fail with 0A000 over a threaded OpenBLAS"
	exit 1
fi
