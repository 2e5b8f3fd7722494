# A real browser for the report's tests: Debian's chromium, headless, driven
# through chromedriver's WebDriver protocol with curl and jq (nothing to
# download).  The network is shut three ways: no proxy reachable, no name
# resolves, and the page's own Content-Security-Policy.
#
#   browser_start            chromedriver on 127.0.0.1 and one session: $WD, $SID
#   wd METHOD PATH [JSON]    a WebDriver command on the session; the reply's .value
#   js 'return ...'          runs a script in the page; its value
#   browser_stop

browser_start() {
	local dir=$BATS_FILE_TMPDIR/browser line
	mkdir -p "$dir"
	WD_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkfifo "$dir/out"
	chromedriver --port="$WD_PORT" --allowed-ips=127.0.0.1 --log-path="$dir/chromedriver.log" \
		>"$dir/out" 2>&1 3>&- &
	WD_PID=$!
	# It says when it listens: read that instead of polling the port.
	exec 4<"$dir/out"
	while read -r -t 30 line <&4; do
		[[ $line == *"started successfully"* ]] && break
	done
	[[ $line == *"started successfully"* ]] || { echo "chromedriver did not start: $line" >&2; return 1; }
	# Someone must keep reading, or its next line would find no reader.
	cat <&4 >"$dir/chromedriver.out" 3>&- &
	exec 4<&-
	WD=http://127.0.0.1:$WD_PORT
	local caps
	caps=$(jq -n --arg dir "$dir/profile" '{capabilities: {alwaysMatch: {
		browserName: "chrome",
		"goog:chromeOptions": {binary: "/usr/bin/chromium", args: [
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1100,1400",
			"--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
			"--user-data-dir=" + $dir]},
		"goog:loggingPrefs": {browser: "ALL", performance: "ALL"}}}}')
	SID=$(curl -sS -X POST "$WD/session" -H 'Content-Type: application/json' -d "$caps" | jq -r '.value.sessionId')
	[ -n "$SID" ] && [ "$SID" != null ] || { echo "no WebDriver session" >&2; cat "$dir/chromedriver.log" >&2; return 1; }
	export WD SID WD_PID
}

wd() {
	local method=$1 path=$2 body=${3:-}
	if [ -n "$body" ]; then
		curl -sS -X "$method" "$WD/session/$SID$path" -H 'Content-Type: application/json' -d "$body"
	else
		curl -sS -X "$method" "$WD/session/$SID$path"
	fi | jq -c '.value'
}

js() { wd POST /execute/sync "$(jq -n --arg s "$1" '{script: $s, args: []}')"; }

# The browser's console, and every URL the page asked for, since the last call.
console_log() { wd POST /se/log '{"type":"browser"}'; }
requested_urls() {
	wd POST /se/log '{"type":"performance"}' | jq -r '.[].message | fromjson | .message |
		select(.method == "Network.requestWillBeSent") | .params.request.url'
}
failed_requests() {
	wd POST /se/log '{"type":"performance"}' | jq -c '[.[].message | fromjson | .message |
		select(.method == "Network.loadingFailed")] | length'
}

browser_stop() {
	[ -n "${SID:-}" ] && curl -sS -X DELETE "$WD/session/$SID" > /dev/null
	[ -n "${WD_PID:-}" ] && kill "$WD_PID" 2>/dev/null && wait "$WD_PID" 2>/dev/null
	return 0
}
