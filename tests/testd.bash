# Test servers for the qa-send suites: tests/server/qa-testd instances,
# each counting the requests it saw by script.  Loaded by the qa-send
# suites (50-59) and 33-trust.

load test_helper

# start_testd NAME [ARGS]: a qa-testd in the background (start_server); its
# port in NAME_PORT, its URL in NAME_BASE, and in PORT and BASE.
start_testd() {
	local name=$1
	shift
	start_server "$name" qa-testd "$@"
}

# stop_testd NAME...
stop_testd() { stop_server "$@"; }

# testd_env [TAG]: a test against qa-testd, in its own directory and HOME (no
# user config), with a test key and no OPENAI_BASE_URL; T (TAG, t by default,
# and the test's number) tags its scripts, so it counts its own requests.
testd_env() {
	cd "$BATS_TEST_TMPDIR"
	export HOME=$BATS_TEST_TMPDIR OPENAI_API_KEY=sk-test-000000000000
	unset OPENAI_BASE_URL
	T=${1:-t}$BATS_TEST_NUMBER
}

# rec SCRIPT: a record whose prompt is a script for the server.
rec() { jq -nc --arg p "$1" '{prompt: $p}'; }

# A script as a URL query value, without a jq for each.
uri() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[a-zA-Z0-9._~-]) out+=$c ;;
		*) printf -v c '%%%02X' "'$c"; out+=$c ;;
		esac
	done
	printf '%s' "$out"
}
# GET PATH from the server on port $1: the body.
get() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$1"
	printf 'GET %s HTTP/1.1\r\nHost: qa-testd\r\nConnection: close\r\n\r\n' "$2" >&"$fd"
	sed '1,/^\r$/d' <&"$fd"
	exec {fd}>&-
}
# testd_count NAME SCRIPT: how many requests server NAME saw with this script.
testd_count() {
	local port=${1}_PORT
	get "${!port}" "/_count?script=$(uri "$2")"
}
# testd_last NAME SCRIPT: the last request server NAME saw with this script: {path, body, headers}.
testd_last() {
	local port=${1}_PORT
	get "${!port}" "/_last?script=$(uri "$2")"
}
