#!/usr/bin/env bats
# The hand-written port of NLTK's PorterStemmer (plugins/scorers/porter)
# against python3-nltk itself, word by word: every lowercase word of
# /usr/share/dict/words (wamerican), and the forms NLTK_EXTENSIONS adds.
load test_helper

# Debian's interpreter, where python3-nltk lives (not a user's pyenv or venv).
nltk_stem() {
	/usr/bin/python3 -c '
import sys
from nltk.stem.porter import PorterStemmer
s = PorterStemmer()
sys.stdout.write("".join(s.stem(w.rstrip("\n")) + "\n" for w in sys.stdin))'
}

@test "porter: equals nltk 3.8 PorterStemmer() on the whole word list" {
	grep -x '[a-z]*' /usr/share/dict/words > "$BATS_TEST_TMPDIR/words"
	n=$(wc -l < "$BATS_TEST_TMPDIR/words")
	[ "$n" -gt 50000 ]
	"$QA_BUILD/tests/porter-stem" < "$BATS_TEST_TMPDIR/words" > "$BATS_TEST_TMPDIR/c"
	nltk_stem < "$BATS_TEST_TMPDIR/words" > "$BATS_TEST_TMPDIR/py"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/py")" -eq "$n" ]
	run diff <(paste "$BATS_TEST_TMPDIR/words" "$BATS_TEST_TMPDIR/c") \
	    <(paste "$BATS_TEST_TMPDIR/words" "$BATS_TEST_TMPDIR/py")
	assert_success
}

@test "porter: the NLTK extensions, not the original algorithm" {
	words='skies
dying
lying
ties
cried
generously
analogies
fulli
innings
proceed
hopefully
as
is'
	run "$QA_BUILD/tests/porter-stem" <<<"$words"
	assert_success
	[ "$output" = "$(nltk_stem <<<"$words")" ]
	# What the original Porter algorithm would give instead.
	assert_line --index 0 sky
	assert_line --index 1 die
	assert_line --index 3 tie
}
