#!/usr/bin/env bats
# Plugins: how they are found, why one is refused, and building one out of
# tree against an installed qa (DESIGN.md, "Plugins"; man qa-plugin).

setup() {
	load test_helper
	cd "$BATS_TEST_TMPDIR"
	mkdir -p plugins
}

# plugin NAME [cc args...]: builds plugins/NAME.so from the C source on stdin.
plugin() {
	local name=$1
	shift
	cat > "$name.c"
	cc -shared -fPIC -I"$QA_ROOT/include" "$@" -o "plugins/$name.so" "$name.c"
}

# A scorer that gives every answer the score VALUE (default 1).
constant() {
	plugin "$@" <<'C'
#include <qa/plugin.h>
#ifndef VALUE
#define VALUE 1
#endif
static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	(void)st, (void)in;
	out->score = VALUE;
	return 0;
}
static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.score = score,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "constant", "1.0", "always the same score"),
	.scorer = &ops,
};
QA_PLUGIN_HOST;
QA_PLUGIN_EXPORT(&plugin)
C
}

rec='{"response":{"text":"a"},"expected":"a"}'

# The output has no line matching the extended regular expression RE.
lacks() {
	if grep -Eq -- "$1" <<<"$output"; then
		echo "output should not match $1: $output" >&2
		return 1
	fi
}

# The whole of stderr is one line that starts with PREFIX.
one_line() {
	[ "${#stderr_lines[@]}" -eq 1 ] || { echo "want one line on stderr, got: $stderr" >&2; return 1; }
	[[ "$stderr" == "$1"* ]] || { echo "want a line starting: $1" >&2; echo "got: $stderr" >&2; return 1; }
}

@test "a file that is not a shared object: one line naming it with dlerror's reason, exit 2" {
	echo 'not an ELF file' > plugins/foo.so
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m foo <<<"$rec"
	one_line "qa-score: --metric foo: $PWD/plugins/foo.so: "
	[[ "$stderr" =~ (file too short|invalid ELF header) ]]
	[ -z "$output" ]
}

@test "a plugin with a symbol nothing defines is refused when it loads, not when it is called" {
	plugin undefined <<'C'
#include <qa/plugin.h>
int no_such_function(void);
static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	(void)st, (void)in;
	out->score = no_such_function();
	return 0;
}
static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.score = score,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "undefined", "1.0", "links to nothing"),
	.scorer = &ops,
};
QA_PLUGIN_HOST;
QA_PLUGIN_EXPORT(&plugin)
C
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m undefined <<<"$rec"
	one_line "qa-score: --metric undefined: $PWD/plugins/undefined.so: "
	assert_stderr --partial 'undefined symbol: no_such_function'
}

@test "a plugin built for another ABI is not binary compatible: exit 2" {
	cc -shared -fPIC -I"$QA_ROOT/include" -o plugins/bad_abi.so "$QA_ROOT/tests/plugins/bad_abi.c"
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m bad_abi <<<"$rec"
	one_line "qa-score: --metric bad_abi: $PWD/plugins/bad_abi.so: is not binary compatible (ABI 99"
}

@test "a plugin whose struct is smaller than the ABI's is not binary compatible either" {
	plugin small <<'C'
#include <qa/plugin.h>
static struct qa_plugin plugin = { .abi = QA_ABI_VERSION, .size = 16, .kind = QA_KIND_SCORER };
const struct qa_plugin *qa_plugin_entry(const struct qa_host *host, const char *name)
{
	(void)host, (void)name;
	return &plugin;
}
C
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m small <<<"$rec"
	one_line "qa-score: --metric small: $PWD/plugins/small.so: is not binary compatible (ABI 2, size 16;"
}

@test "a plugin whose init fails: exit 2 with its message, before any input is read" {
	cc -shared -fPIC -I"$QA_ROOT/include" -o plugins/init_fails.so "$QA_ROOT/tests/plugins/init_fails.c"
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m init_fails </dev/zero
	one_line "qa-score: --metric init_fails: "
	assert_stderr --partial 'cannot start: the moon is in the wrong phase ('
	assert_stderr --partial '/init_fails.so)'
}

@test "a shared object without qa_plugin_entry is not a qa plugin" {
	plugin noentry <<<'int qa_plugin_entry_typo(void) { return 0; }'
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m noentry <<<"$rec"
	assert_stderr "qa-score: --metric noentry: $PWD/plugins/noentry.so: no qa_plugin_entry symbol: not a qa plugin"
}

@test "a file asked for a name it does not serve; a provider asked to score; a scorer without score()" {
	ln -s "$QA_BIN/../lib/qa/plugins/squad_em.so" plugins/squad_xx.so
	plugin provider <<'C'
#include <qa/plugin.h>
static const struct qa_provider_ops ops = {
	QA_OPS(qa_provider_ops),
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_PROVIDER, "provider", "1.0", "not a scorer"),
	.provider = &ops,
};
QA_PLUGIN_HOST;
QA_PLUGIN_EXPORT(&plugin)
C
	plugin noscore <<'C'
#include <qa/plugin.h>
static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "noscore", "1.0", "forgot its score function"),
	.scorer = &ops,
};
QA_PLUGIN_HOST;
QA_PLUGIN_EXPORT(&plugin)
C
	export QA_PLUGIN_PATH=$PWD/plugins
	run_usage qa-score -m squad_xx <<<"$rec"
	assert_stderr "qa-score: --metric squad_xx: $PWD/plugins/squad_xx.so: serves no plugin named 'squad_xx'"
	run_usage qa-score -m provider <<<"$rec"
	assert_stderr "qa-score: --metric provider: $PWD/plugins/provider.so: is a provider, not a scorer"
	run_usage qa-score -m noscore <<<"$rec"
	assert_stderr "qa-score: --metric noscore: $PWD/plugins/noscore.so: scorer has no score function"
}

@test "a record naming a plugin that does not load gets a scorer error naming the file; the run goes on" {
	echo 'not an ELF file' > plugins/foo.so
	export QA_PLUGIN_PATH=$PWD/plugins
	run_data qa-score <<'IN'
{"response":{"text":"a"},"expected":"a","metric":"foo"}
{"response":{"text":"a"},"expected":"a","metric":"exact_match"}
{"response":{"text":"a"},"expected":"a","metric":"foo"}
IN
	[ "${#lines[@]}" -eq 3 ]
	[ "$(sed -n 1p <<<"$output" | jq -r .error.type)" = scorer ]
	[[ "$(sed -n 1p <<<"$output" | jq -r .error.message)" == "foo: $PWD/plugins/foo.so: "* ]]
	[ "$(sed -n 2p <<<"$output" | jq -c .scores)" = '{"exact_match":1}' ]
	[ "$(sed -n 3p <<<"$output" | jq -r .error.type)" = scorer ]
	# Warned about once, not once per record.
	[ "$(grep -c 'foo.so' <<<"$stderr")" -eq 1 ]
}

@test "the current directory is never searched, and an empty path element does not mean it" {
	constant here
	cp plugins/here.so .
	for path in UNSET '' ':' '::' "$BATS_TEST_TMPDIR/nonexistent:" ":$BATS_TEST_TMPDIR/nonexistent"; do
		if [ "$path" = UNSET ]; then unset QA_PLUGIN_PATH; else export QA_PLUGIN_PATH=$path; fi
		run_usage qa-score -m here <<<"$rec"
		assert_stderr --partial "no scorer named 'here'"
		run_data qa-score <<<'{"response":{"text":"a"},"expected":"a","metric":"here"}'
		[ "$(field .error.type)" = '"scorer"' ]
	done
	# Named, it is searched.
	QA_PLUGIN_PATH=. run_ok qa-score -m here <<<"$rec"
	[ "$(field .scores)" = '{"here":1}' ]
}

@test "QA_PLUGIN_PATH is searched in order: the first directory wins, over the built-in scorers too" {
	mkdir a b
	constant same -DVALUE=0.25 && mv plugins/same.so a/
	constant same -DVALUE=0.75 && mv plugins/same.so b/
	QA_PLUGIN_PATH=$PWD/a:$PWD/b run_ok qa-score -m same <<<"$rec"
	[ "$(field .scores.same)" = 0.25 ]
	QA_PLUGIN_PATH=$PWD/b:$PWD/a run_ok qa-score -m same <<<"$rec"
	[ "$(field .scores.same)" = 0.75 ]
	# Relative directories are relative to where qa-score runs.
	QA_PLUGIN_PATH=b:a run_ok qa-score -m same <<<"$rec"
	[ "$(field .scores.same)" = 0.75 ]
	# A directory on the path comes before the install directory and the build tree.
	cp a/same.so a/exact_match.so
	QA_PLUGIN_PATH=$PWD/a run_ok qa-score -m exact_match <<<'{"response":{"text":"x"},"expected":"y"}'
	[ "$(field .scores.exact_match)" = 0.25 ]
	# --list shows each name once, from the directory that wins.
	QA_PLUGIN_PATH=$PWD/b:$PWD/a run_ok qa-score --list
	[ "$(grep -c '^constant ' <<<"$output")" -eq 2 ]
	grep -Eq "^constant +scorer +1\.0 +$PWD/b/same\.so$" <<<"$output"
	grep -Eq "^constant +scorer +1\.0 +$PWD/a/exact_match\.so$" <<<"$output"
	lacks "$PWD/a/same\.so"
	lacks "plugins/exact_match\.so$"
}

@test "--list shows a broken plugin as broken, with its reason, and still exits 0" {
	echo 'not an ELF file' > plugins/foo.so
	cc -shared -fPIC -I"$QA_ROOT/include" -o plugins/bad_abi.so "$QA_ROOT/tests/plugins/bad_abi.c"
	constant fine
	export QA_PLUGIN_PATH=$PWD/plugins
	run_ok qa-score --list
	assert_line --index 0 --regexp "^\? +broken +- +$PWD/plugins/bad_abi\.so$"
	assert_line --index 1 --regexp "^ +$PWD/plugins/bad_abi\.so: is not binary compatible \(ABI 99, "
	assert_line --index 2 --regexp "^constant +scorer +1\.0 +$PWD/plugins/fine\.so$"
	assert_line --index 3 --regexp "^ +always the same score$"
	assert_line --index 4 --regexp "^\? +broken +- +$PWD/plugins/foo\.so$"
	assert_line --index 5 --regexp "^ +$PWD/plugins/foo\.so: (file too short|invalid ELF header)"
	# The built-in scorers follow.
	grep -Eq "^exact_match +scorer " <<<"$output"
	[ -z "$stderr" ]
}

@test "a metric name that is a path is refused, from the command line and from a record" {
	constant evil
	mv plugins/evil.so .
	mkdir -p sub
	export QA_PLUGIN_PATH=$PWD/sub
	for name in ../evil "$PWD/evil" ./evil .evil 'ev il' ''; do
		run_usage qa-score -m "$name" <<<"$rec"
		[ -z "$output" ]
	done
	run_usage qa-score -m ../evil <<<"$rec"
	assert_stderr "qa-score: --metric ../evil: '../evil' is not a plugin name"
	run_data qa-score <<<'{"response":{"text":"a"},"expected":"a","metrics":["../evil",{"name":"../evil","as":"x"}]}'
	[ "$(field .scores)" = '{}' ]
	[ "$(field .error.message)" = "\"../evil: '../evil' is not a plugin name; x: '../evil' is not a plugin name\"" ]
}

@test "the scorer in plugin.h's comment and the example of qa-plugin(7) build warning-free" {
	sed -n '/A scorer, in full:/,/^ \*\//{/^ \*\t/p}' "$QA_ROOT/include/qa/plugin.h" | sed 's/^ \*\t//' > same.c
	grep -q QA_PLUGIN_EXPORT same.c
	cc -std=c11 -Wall -Wextra -Werror -pedantic -shared -fPIC -I"$QA_ROOT/include" -o plugins/same.so same.c
	# The man page's own unescaping is tests/man-examples'; this is the part of it a C file needs.
	awk '/^\.\\" file: word_count\.c$/ { f = 1; next } f && /^\.Bd/ { next } f && /^\.Ed/ { exit } f' \
		"$QA_ROOT/man/qa-plugin.7" | sed -e 's/\\e/\\/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' > word_count.c
	grep -q QA_PLUGIN_EXPORT word_count.c
	cc -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror -pedantic -shared -fPIC \
		-I"$QA_ROOT/include" -o plugins/word_count.so word_count.c
	export QA_PLUGIN_PATH=$PWD/plugins
	run_ok qa-score -m same -m word_count:min=2,max=2 <<<'{"response":{"text":"a b"},"expected":"a b"}'
	[ "$(field .scores)" = '{"same":1,"word_count":1}' ]
	[ "$(field .details.word_count.words)" = 2 ]
}

@test "make install puts tools, scorers, header, qa-plugin.pc and man pages in PREFIX; make uninstall takes them away" {
	prefix=$BATS_TEST_TMPDIR/prefix
	build=$BATS_TEST_TMPDIR/build
	# A build of its own, so the plugin directory compiled into qa-score is $prefix's.
	run make -C "$QA_ROOT" -j4 BUILD="$build" PREFIX="$prefix" install
	[ "$status" -eq 0 ] || { echo "$output" | tail -n 20; return 1; }

	[ -x "$prefix/bin/qa-score" ]
	cmp "$QA_ROOT/include/qa/plugin.h" "$prefix/include/qa/plugin.h"
	[ -f "$prefix/lib/pkgconfig/qa-plugin.pc" ]
	[ -f "$prefix/share/man/man1/qa-score.1" ]
	[ -f "$prefix/share/man/man7/qa-plugin.7" ]
	[ "$(readlink "$prefix/lib/qa/plugins/squad_f1.so")" = squad_em.so ]

	# The installed qa-score finds the installed scorers, from anywhere, with no QA_PLUGIN_PATH.
	run_ok "$prefix/bin/qa-score" --list
	for s in exact_match contains regex numeric choice squad_em squad_f1; do
		grep -Eq "^$s +scorer +1\.0 +$prefix/lib/qa/plugins/$s\.so$" <<<"$output" ||
			{ echo "no line for $s: $output"; return 1; }
	done
	lacks "$QA_ROOT"
	run_ok "$prefix/bin/qa-score" -m squad_f1 <<<'{"response":{"text":"the Broncos"},"expected":"Denver Broncos"}'
	[ "$(field .scores.squad_f1)" = 0.6666666666666666 ]

	# An out-of-tree scorer builds with one line against the installed header
	# (echo drops the space pkgconf leaves at the end).
	export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
	[ "$(echo $(pkg-config --cflags qa-plugin))" = "-I$prefix/include" ]
	[ "$(pkg-config --variable=plugindir qa-plugin)" = "$prefix/lib/qa/plugins" ]
	mkdir oot && cd oot
	cat > lowercase.c <<'C'
/* lowercase: 1 when the answer is all lower case, as Python's str.lower() sees it. */
#include <string.h>
#include <qa/plugin.h>
QA_PLUGIN_HOST;
static int score(void *st, const struct qa_input *in, struct qa_output *out)
{
	size_t n;
	const char *low = H->lower(in->answer, in->answer_len, &n);
	(void)st;
	out->score = n == in->answer_len && memcmp(low, in->answer, n) == 0;
	return 0;
}
static const struct qa_scorer_ops ops = {
	QA_OPS(qa_scorer_ops),
	.score = score,
};

static const struct qa_plugin plugin = {
	QA_PLUGIN_HEADER(QA_KIND_SCORER, "lowercase", "1.0", "the answer is all lower case"),
	.flags = QA_NEEDS_ANSWER,
	.scorer = &ops,
};
QA_PLUGIN_EXPORT(&plugin)
C
	cc -shared -fPIC $(pkg-config --cflags qa-plugin) -o lowercase.so lowercase.c
	QA_PLUGIN_PATH=. run_ok "$prefix/bin/qa-score" -m lowercase <<<'{"response":{"text":"paris"}}'
	[ "$(field .scores.lowercase)" = 1 ]
	# Copied into the plugin directory, it is found like the others.
	cp lowercase.so "$(pkg-config --variable=plugindir qa-plugin)"
	cd ..
	run_ok "$prefix/bin/qa-score" -m lowercase <<<'{"response":{"text":"Paris"}}'
	[ "$(field .scores.lowercase)" = 0 ]

	# The installed pipelines run from the share directory with the installed tools
	# and battery, outside the source tree.
	printf '[a]\nprovider = mock\nmodel = baseline\n[b]\nprovider = mock\nmodel = baseline\n' > ep.conf
	PATH=$prefix/bin:/usr/bin:/bin QA_BIN= run make -s -f "$prefix/share/qa/pipelines/assess.mk" \
		BASELINE=a CANDIDATE=b CONFIG="$PWD/ep.conf" PERPLEXITY=no report
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	assert_output --partial '**Decision: PASS**'
	[ "$(wc -l < runs/a-vs-b/tasks.jsonl)" -eq "$(cat "$QA_ROOT"/pipelines/tasks/*.jsonl | wc -l)" ]

	run make -C "$QA_ROOT" BUILD="$build" PREFIX="$prefix" uninstall
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# Everything it installed is gone; the plugin a user put there stays.
	run find "$prefix" ! -type d
	[ "$output" = "$prefix/lib/qa/plugins/lowercase.so" ] || { echo "left behind: $output"; return 1; }
	rm -r "$prefix"

	# DESTDIR stages the same tree elsewhere; pkg-config's sysroot finds the staged header,
	# and the staged qa-score finds its scorers beside itself.
	root=$BATS_TEST_TMPDIR/root
	run make -C "$QA_ROOT" BUILD="$build" PREFIX="$prefix" DESTDIR="$root" install
	[ "$status" -eq 0 ] || { echo "$output" | tail -n 20; return 1; }
	[ ! -e "$prefix/bin/qa-score" ]
	[ -x "$root$prefix/bin/qa-score" ]
	cd oot
	rm -f lowercase.so
	export PKG_CONFIG_PATH=$root$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
	[ "$(echo $(pkg-config --cflags qa-plugin))" = "-I$root$prefix/include" ]
	cc -shared -fPIC $(pkg-config --cflags qa-plugin) -o lowercase.so lowercase.c
	QA_PLUGIN_PATH=. run_ok "$root$prefix/bin/qa-score" -m lowercase -m exact_match <<<'{"response":{"text":"ok"},"expected":"ok"}'
	[ "$(field .scores)" = '{"lowercase":1,"exact_match":1}' ]
	cd ..
	run make -C "$QA_ROOT" BUILD="$build" PREFIX="$prefix" DESTDIR="$root" uninstall
	[ "$status" -eq 0 ]
	run find "$root" ! -type d
	[ -z "$output" ] || { echo "left behind: $output"; return 1; }
}
