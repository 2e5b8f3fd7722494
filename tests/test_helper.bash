# Loaded by every suite.  QA_BIN points at the binaries under test, so the
# same suites run against an installed copy: QA_BIN=/usr/local/bin bats tests/
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

QA_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
QA_BUILD=${QA_BUILD:-build}
case $QA_BUILD in /*) ;; *) QA_BUILD=$QA_ROOT/$QA_BUILD ;; esac
QA_BIN=${QA_BIN:-$QA_BUILD/bin}
PATH="$QA_BIN:$PATH"
export QA_ROOT QA_BIN PATH
# Tests never pick up a user's own plugins or config.
unset QA_PLUGIN_PATH QA_CONFIG
# Nor the user's response cache (lib/cache.c): each test has its own.
# What is built once per machine (llama.cpp, the test models) stays in the
# machine's cache, found through QA_MACHINE_CACHE, whatever a test sets.
export QA_MACHINE_CACHE=${QA_MACHINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}
export XDG_CACHE_HOME=${BATS_TEST_TMPDIR:-${BATS_RUN_TMPDIR:-/tmp}}/xdg-cache

# run_ok / run_data / run_usage: the command must exit 0 / 1 / 2, never by a signal.
status_is() {
	local want=$1
	shift
	run --separate-stderr "$@"
	if [ "$status" -gt 128 ]; then
		echo "died by signal $((status - 128)): $*" >&2
		echo "stderr: $stderr" >&2
		return 1
	fi
	if [ "$status" -ne "$want" ]; then
		echo "exit $status, want $want: $*" >&2
		echo "stdout: $output" >&2
		echo "stderr: $stderr" >&2
		return 1
	fi
}
run_ok() { status_is 0 "$@"; }
run_data() { status_is 1 "$@"; }
run_usage() { status_is 2 "$@"; }

# bats-assert 2.1 (Debian 12) has no assert_stderr: this is it, exact or --partial.
assert_stderr() {
	if [ "$1" = --partial ]; then
		[[ "$stderr" == *"$2"* ]] && return 0
		printf 'stderr does not contain: %s\nstderr: %s\n' "$2" "$stderr" >&2
	else
		[ "$stderr" = "$1" ] && return 0
		printf 'stderr differs\nwant: %s\ngot:  %s\n' "$1" "$stderr" >&2
	fi
	return 1
}

# The JSON value at a jq path of the only line of $output.
field() { jq -c "$1" <<<"$output"; }

# start_server NAME PROGRAM [ARGS]: tests/server/PROGRAM (qa-testd, qa-limitd,
# qa-streamd) in the background on a free port: it binds port 0 and prints
# the port it got.  Sets and exports NAME_PORT and NAME_BASE
# (http://127.0.0.1:PORT/v1), and PORT and BASE as the last server started;
# its pid and log are $BATS_FILE_TMPDIR/NAME.pid and NAME.log.
start_server() {
	local name=$1 prog=$2 port= d=$BATS_FILE_TMPDIR
	shift 2
	rm -f "$d/$name.port"
	mkfifo "$d/$name.port"
	"$QA_ROOT/tests/server/$prog" "$@" >"$d/$name.port" 2>"$d/$name.log" 3>&- &
	echo $! >"$d/$name.pid"
	read -r -t 20 port <"$d/$name.port" || true
	[ -n "$port" ] || { echo "$prog did not start: $(cat "$d/$name.log")" >&2; return 1; }
	export "${name}_PORT=$port" "${name}_BASE=http://127.0.0.1:$port/v1" PORT=$port BASE="http://127.0.0.1:$port/v1"
}

# stop_server NAME...: ends the servers start_server started, if they run.
stop_server() {
	local name
	for name in "$@"; do
		[ ! -f "$BATS_FILE_TMPDIR/$name.pid" ] || kill "$(cat "$BATS_FILE_TMPDIR/$name.pid")" 2>/dev/null || true
		rm -f "$BATS_FILE_TMPDIR/$name.pid"
	done
}

# mock_endpoints NAME...: the --config sections of the pipelines' mock
# endpoints, with their prices: old (the baseline), int4, same (the
# baseline behind a relay) and fragile.
mock_endpoints() {
	local name
	for name in "$@"; do
		case $name in
		old) printf '[old]\nprovider = mock\nmodel = baseline\ninput_per_mtok = 5\noutput_per_mtok = 15\n' ;;
		int4) printf '[int4]\nprovider = mock\nmodel = int4\ninput_per_mtok = 0.42\noutput_per_mtok = 0.42\n' ;;
		same) printf '[same]\nprovider = mock\nmodel = baseline-relay\ninput_per_mtok = 2\noutput_per_mtok = 6\n' ;;
		fragile) printf '[fragile]\nprovider = mock\nmodel = fragile\ninput_per_mtok = 0.5\noutput_per_mtok = 1.5\n' ;;
		*) echo "mock_endpoints: no endpoint $name" >&2; return 1 ;;
		esac
	done
}

# json_near A B: the JSON lines of files A and B agree, line for line: numbers
# to 1e-12 of their size (at least 1e-12), at any depth; anything else exactly.
json_near() {
	jq -en --slurpfile a "$1" --slurpfile b "$2" '
		def near($v; $w): if ($v | type) == "number" and ($w | type) == "number"
			then ($v - $w | fabs) <= 1e-12 * ([($v | fabs), 1] | max)
			elif ($v | type) == "object" and ($w | type) == "object"
			then ($v | keys) == ($w | keys) and all($v | keys[]; near($v[.]; $w[.]))
			elif ($v | type) == "array" and ($w | type) == "array"
			then ($v | length) == ($w | length) and all(range($v | length); near($v[.]; $w[.]))
			else $v == $w end;
		($a | length) == ($b | length) and ([$a, $b] | transpose | all(near(.[0]; .[1])))' >/dev/null || {
		echo "json_near: $1 and $2 differ" >&2
		return 1
	}
}
