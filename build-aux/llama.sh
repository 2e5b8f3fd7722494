#!/bin/sh
# Installs llama.cpp, pinned, from the npm registry: node-llama-cpp ships
# llama.cpp's source as a git bundle (llama/gitRelease.bundle) at the release
# named in llama/llama.cpp.info.json.  Builds llama-server, llama-perplexity,
# llama-quantize and libllama (CPU, Release) and installs them into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/qa/llama-<release>/
# once per machine; a second run finds the stamp and does nothing.
#
#   build-aux/llama.sh           build if needed, print the prefix
#   build-aux/llama.sh --prefix  print the prefix only (no build)
set -eu

NODE_LLAMA_CPP=3.21.1	# pinned: the llama.cpp release comes with it
RELEASE=v0.4.0		# llama/llama.cpp.info.json of that version, checked below

cache=${XDG_CACHE_HOME:-$HOME/.cache}/qa
prefix=$cache/llama-$RELEASE
if [ "${1:-}" = --prefix ]; then
	echo "$prefix"
	exit 0
fi
if [ -f "$prefix/.installed" ]; then
	echo "$prefix"
	exit 0
fi

# npm is not a Debian package here: Debian's clashes with a Node.js from
# nodejs.org or nvm, which is what most machines that have one have.
command -v npm >/dev/null 2>&1 || {
	echo "build-aux/llama.sh: npm is needed to fetch llama.cpp's source (node-llama-cpp@$NODE_LLAMA_CPP);" \
	    "install Node.js 18 or later with npm (https://nodejs.org), then run make llama again" >&2
	exit 2
}
for tool in git cmake c++; do
	command -v $tool >/dev/null 2>&1 || {
		echo "build-aux/llama.sh: $tool is needed to build llama.cpp (make deps installs it)" >&2
		exit 2
	}
done

# One build at a time: a second make waits for the first, then finds the stamp.
mkdir -p "$cache"
exec 9>"$cache/llama-$RELEASE.lock"
flock 9
if [ -f "$prefix/.installed" ]; then
	echo "$prefix"
	exit 0
fi

# A build that stopped half-way is resumed: the source and cmake's object
# directory are kept until the install succeeds.
work=$cache/llama-$RELEASE.build
mkdir -p "$work"
log=$work/build.log
echo "llama.cpp $RELEASE: building once into $prefix (about 13 minutes on 2 cores; log: $log)" >&2
(
	cd "$work"
	if [ ! -d src/.git ]; then
		rm -rf npm src obj
		# --omit=optional: without it npm also pulls 730 MB of CUDA and Vulkan builds.
		npm install --ignore-scripts --omit=optional --no-audit --no-fund \
		    --prefix "$work/npm" "node-llama-cpp@$NODE_LLAMA_CPP"
		pkg=$work/npm/node_modules/node-llama-cpp/llama
		grep -q "\"tag\": *\"$RELEASE\"" "$pkg/llama.cpp.info.json" || {
			echo "node-llama-cpp@$NODE_LLAMA_CPP does not ship llama.cpp $RELEASE:" >&2
			cat "$pkg/llama.cpp.info.json" >&2
			exit 1
		}
		git clone -q "$pkg/gitRelease.bundle" src.tmp
		mv src.tmp src
	fi
	# Nothing may be fetched at build time: the web UI would come from a hub.
	cmake -S src -B obj -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
	    -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_APP=OFF \
	    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
	    -DGGML_NATIVE=ON -DGGML_CCACHE=OFF -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib'
	cmake --build obj -j "$(nproc)"
	cmake --install obj
	# gguf-py writes the test models; keep it beside the build.
	rm -rf "$prefix/gguf-py"
	cp -R src/gguf-py "$prefix/gguf-py"
) >"$log" 2>&1 || {
	echo "build-aux/llama.sh: the llama.cpp build failed; the last lines of $log:" >&2
	tail -n 20 "$log" >&2
	exit 1
}
for bin in llama-server llama-perplexity llama-quantize; do
	[ -x "$prefix/bin/$bin" ] || { echo "build-aux/llama.sh: $bin was not installed" >&2; exit 1; }
done
[ -f "$prefix/lib/pkgconfig/llama.pc" ] || { echo "build-aux/llama.sh: llama.pc was not installed" >&2; exit 1; }
touch "$prefix/.installed"
rm -rf "$work"
echo "$prefix"
