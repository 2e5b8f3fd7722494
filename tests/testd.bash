# Test servers for the qa-send suites: tests/server/qa-testd instances,
# each counting the requests it saw by script.  Loaded by 50-send,
# 51-fallback and 52-logprobs.

# start_testd NAME [ARGS]: a qa-testd in the background; its port in NAME_PORT.
start_testd() {
	local name=$1 root port
	shift
	root=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	mkfifo "$BATS_FILE_TMPDIR/$name.port"
	"$root/tests/server/qa-testd" "$@" >"$BATS_FILE_TMPDIR/$name.port" 2>"$BATS_FILE_TMPDIR/$name.log" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/$name.pid"
	read -r -t 20 port <"$BATS_FILE_TMPDIR/$name.port"
	export "${name}_PORT=$port"
}

# stop_testd NAME...
stop_testd() {
	local name
	for name in "$@"; do
		kill "$(cat "$BATS_FILE_TMPDIR/$name.pid")" 2>/dev/null || true
	done
}

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
