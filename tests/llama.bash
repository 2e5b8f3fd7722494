# Real llama.cpp for the suites that need it: the pinned build (make llama,
# build-aux/llama.sh), test models made here (tests/llama/mkmodel, then
# llama-quantize), and llama-server instances on 127.0.0.1.  Nothing is
# downloaded; a missing build is a failure that says what to run, never a
# skip.

QA_ROOT=${QA_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
LLAMA_PREFIX=$(XDG_CACHE_HOME=${QA_MACHINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}} "$QA_ROOT/build-aux/llama.sh" --prefix)
export LD_LIBRARY_PATH="$LLAMA_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

llama_need() {
	if [ ! -f "$LLAMA_PREFIX/.installed" ]; then
		echo "llama.cpp is not built in $LLAMA_PREFIX: run make llama (make test does)" >&2
		return 1
	fi
}

# llama_models: the test models, made once per generator and llama.cpp
# release, in the cache; sets LLAMA_MODELS to their directory
# (f32.gguf q8_0.gguf q4_0.gguf q4_k.gguf).
llama_models() {
	llama_need || return 1
	local cache=${QA_MACHINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/qa/models key dir tmp q
	key=$(cat "$QA_ROOT/tests/llama/mkmodel" "$LLAMA_PREFIX/.installed" | sha256sum | cut -c1-16)
	dir=$cache/tiny-$key
	LLAMA_MODELS=$dir
	export LLAMA_MODELS
	[ -f "$dir/.done" ] && return 0
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/tiny-$key.XXXXXX")
	PYTHONPATH="$LLAMA_PREFIX/gguf-py" "$QA_ROOT/tests/llama/mkmodel" "$tmp/f32.gguf" 1 || return 1
	for q in q8_0 q4_0 q4_k; do
		"$LLAMA_PREFIX/bin/llama-quantize" "$tmp/f32.gguf" "$tmp/$q.gguf" "${q^^}" >"$tmp/$q.log" 2>&1 || {
			cat "$tmp/$q.log" >&2
			return 1
		}
	done
	touch "$tmp/.done"
	# Another suite may have made it meanwhile: the first one stays.
	mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
}

# start_llama NAME MODEL [ARGS]: llama-server on a free port of 127.0.0.1
# serving MODEL (a file in LLAMA_MODELS) as model NAME; its port in
# NAME_PORT (NAME with - as _), its log in $BATS_FILE_TMPDIR/NAME.log.
# Ready when it says where it listens, which it does after loading.
start_llama() {
	local name=$1 model=$2 var line fd port=
	shift 2
	var=${name//-/_}_PORT
	mkfifo "$BATS_FILE_TMPDIR/$name.fifo"
	"$LLAMA_PREFIX/bin/llama-server" -m "$LLAMA_MODELS/$model" --alias "$name" --host 127.0.0.1 --port 0 \
	    -t 1 -c 1024 --no-webui "$@" >"$BATS_FILE_TMPDIR/$name.fifo" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/$name.pid"
	exec {fd}<"$BATS_FILE_TMPDIR/$name.fifo"
	while IFS= read -r -t 60 line <&"$fd"; do
		printf '%s\n' "$line" >>"$BATS_FILE_TMPDIR/$name.log"
		if [[ $line =~ listening\ on\ http://127\.0\.0\.1:([0-9]+) ]]; then
			port=${BASH_REMATCH[1]}
			break
		fi
	done
	# The rest of its log, drained so it never blocks on a full pipe.
	cat <&"$fd" >>"$BATS_FILE_TMPDIR/$name.log" 3>&- &
	exec {fd}<&-
	if [ -z "$port" ]; then
		echo "llama-server ($name) did not start; its log:" >&2
		cat "$BATS_FILE_TMPDIR/$name.log" >&2
		return 1
	fi
	export "$var=$port"
}

stop_llama() {
	local name
	for name in "$@"; do
		[ -f "$BATS_FILE_TMPDIR/$name.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/$name.pid")" 2>/dev/null
	done
	return 0
}

# llama_get PORT PATH: the body of a GET to the server.
llama_get() { curl -sf "http://127.0.0.1:$1$2"; }
