#!/usr/bin/env bats
# qa-cache: stats, prune, export and import of the response cache.

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	export XDG_CACHE_HOME=$BATS_TEST_TMPDIR/xdg
	DB=$XDG_CACHE_HOME/qa/responses.db
}

# An export line: key-digit cached_at text
line() {
	local k
	k=$(printf "%064d" "$1")
	printf '{"key":"%s","cached_at":"%s","endpoint":"http://127.0.0.1:9/v1/chat/completions","model":"m","request_bytes":7,"response":{"text":"%s","finish_reason":"stop"}}\n' "$k" "$2" "$3"
}

@test "stats of a cache never written: empty, and no file made" {
	run_ok qa-cache stats
	[ "$(field .entries)" = 0 ]
	[ "$(field .cache)" = "\"$DB\"" ]
	[ "$(field .oldest)" = null ]
	[ ! -e "$DB" ]
}

@test "import then export gives the same lines back; the file is 0600 in a 0700 folder, WAL" {
	{ line 1 2026-11-01T10:00:00Z one; line 2 2026-11-02T10:00:00Z two; line 3 2026-11-03T10:00:00Z 'th\"ree'; } > in.jsonl
	run_ok qa-cache import in.jsonl
	assert_stderr "qa-cache: imported 3 entries, 0 bad lines"
	[ "$(stat -c %a "$DB")" = 600 ]
	[ "$(stat -c %a "${DB%/*}")" = 700 ]
	[ "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = wal ]
	run_ok qa-cache export
	[ "$output" = "$(cat in.jsonl)" ]
	run_ok qa-cache stats
	[ "$(field .entries)" = 3 ]
	[ "$(field .request_bytes)" = 21 ]
	# response_bytes: the three response objects as stored, byte for byte
	[ "$(field .response_bytes)" = "$(jq -j -c .response in.jsonl | wc -c)" ]
	[ "$(field .oldest)" = '"2026-11-01T10:00:00Z"' ]
	[ "$(field .newest)" = '"2026-11-03T10:00:00Z"' ]
	[ "$(field .file_bytes)" -gt 0 ]
}

@test "import keeps an entry already there, and reads several files and stdin" {
	line 1 2026-11-01T10:00:00Z first > a.jsonl
	line 1 2026-11-05T10:00:00Z second > b.jsonl
	line 2 2026-11-05T10:00:00Z other >> b.jsonl
	run_ok qa-cache import a.jsonl b.jsonl
	assert_stderr "qa-cache: imported 2 entries, 0 bad lines"
	run_ok qa-cache export
	[ "$(jq -r .response.text <<<"$output" | tr '\n' ' ')" = "first other " ]
	run_ok qa-cache import < b.jsonl
	assert_stderr "qa-cache: imported 0 entries, 0 bad lines"
}

@test "bad import lines: one message each with file and line, the rest imported, exit 1" {
	{
		line 1 2026-11-01T10:00:00Z ok
		echo 'not json'
		echo '{"key":"abc","cached_at":"2026-11-01T10:00:00Z","response":{}}'
		printf '{"key":"%064d","cached_at":"yesterday","response":{}}\n' 4
		printf '{"key":"%064d","cached_at":"2026-11-01T10:00:00Z","response":"text"}\n' 5
		printf '{"key":"%064d","cached_at":"2026-11-01T10:00:00Z","response":{"error":{"type":"http","status":500}}}\n' 6
		echo
		line 7 2026-11-01T10:00:00Z ok
	} > in.jsonl
	run_data qa-cache import in.jsonl
	assert_stderr "qa-cache: in.jsonl:2: invalid JSON at byte 1
qa-cache: in.jsonl:3: \"key\" is not 64 lowercase hex digits
qa-cache: in.jsonl:4: \"cached_at\" is not an RFC 3339 time
qa-cache: in.jsonl:5: \"response\" is not an object
qa-cache: in.jsonl:6: \"response\" holds an error: errors are never cached
qa-cache: imported 2 entries, 5 bad lines"
	run_ok qa-cache export
	[ "$(wc -l <<<"$output")" = 2 ]
}

@test "prune --older-than removes only what arrived before then" {
	{ line 1 2020-01-01T00:00:00Z old; line 2 "$(date -u -d '-3 hours' +%FT%TZ)" recent; } > in.jsonl
	run_ok qa-cache import in.jsonl
	run_ok qa-cache prune --older-than 1d
	assert_stderr "qa-cache: pruned 1 entries older than 1d"
	run_ok qa-cache export
	[ "$(jq -r .response.text <<<"$output")" = recent ]
	run_ok qa-cache prune --older-than 2h
	assert_stderr "qa-cache: pruned 1 entries older than 2h"
	run_ok qa-cache stats
	[ "$(field .entries)" = 0 ]
}

@test "--cache FILE is used instead of the default, and moves a cache between machines" {
	line 1 2026-11-01T10:00:00Z here > in.jsonl
	run_ok qa-cache --cache here.db import in.jsonl
	[ -f here.db ]
	[ ! -e "$DB" ]
	qa-cache --cache here.db export | qa-cache --cache there.db import
	run_ok qa-cache --cache there.db export
	[ "$output" = "$(cat in.jsonl)" ]
	[ "$(stat -c %a there.db)" = 600 ]
}

@test "two imports into one file at once: every entry lands" {
	for i in $(seq 1 300); do line "$i" 2026-11-01T10:00:00Z "a$i"; done > a.jsonl
	for i in $(seq 301 600); do line "$i" 2026-11-01T10:00:00Z "b$i"; done > b.jsonl
	qa-cache --cache s.db stats >/dev/null
	qa-cache --cache s.db import a.jsonl 2>a.err &
	qa-cache --cache s.db import b.jsonl 2>b.err &
	wait %1 && wait %2
	run_ok qa-cache --cache s.db stats
	[ "$(field .entries)" = 600 ]
	[ "$(cat a.err)" = "qa-cache: imported 300 entries, 0 bad lines" ]
}

@test "usage errors exit 2 with a reason" {
	run_usage qa-cache
	assert_stderr --partial "a command is required"
	run_usage qa-cache frob
	assert_stderr --partial "unknown command 'frob'"
	run_usage qa-cache prune
	assert_stderr --partial "prune needs --older-than"
	run_usage qa-cache prune --older-than 3x
	assert_stderr --partial "--older-than '3x'"
	run_usage qa-cache stats --older-than 1d
	run_usage qa-cache export extra
	run_usage qa-cache import nosuch.jsonl
	assert_stderr --partial "nosuch.jsonl: No such file"
	run_ok qa-cache --help
	assert_output --partial "usage: qa-cache"
}

@test "a file that is not a cache is refused, naming it; no HOME and no XDG is an error" {
	head -c 4096 /dev/urandom > junk.db
	run_usage qa-cache --cache junk.db stats
	assert_stderr --partial "junk.db"
	run_usage env -u HOME -u XDG_CACHE_HOME "$QA_BIN/qa-cache" stats
	assert_stderr --partial "no cache file"
}

@test "a cache of format 1 (keys as text, WITHOUT ROWID) is refused, naming it and both formats" {
	sqlite3 old.db "PRAGMA journal_mode=WAL; CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
		CREATE TABLE responses(key TEXT PRIMARY KEY, response TEXT NOT NULL, cached_at INTEGER NOT NULL,
		endpoint TEXT, model TEXT, request_bytes INTEGER NOT NULL DEFAULT 0, response_bytes INTEGER NOT NULL) WITHOUT ROWID;
		INSERT INTO meta VALUES('format',1),('hits',0);" > /dev/null
	run_usage qa-cache --cache old.db stats
	assert_stderr --partial "old.db: cache format 1, this qa reads format 2"
	run_usage qa-send --provider openai --base-url http://127.0.0.1:9/v1 --model m --cache old.db <<< '{"id":1,"prompt":"p"}'
	assert_stderr --partial "old.db: cache format 1"
	# the file is left as it was
	[ "$(sqlite3 old.db "SELECT value FROM meta WHERE name='format'")" = 1 ]
}
