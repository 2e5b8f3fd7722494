#!/usr/bin/env bats
# The demo's report as a person sees it: Debian's chromium, headless, with
# the network shut (tests/browser.bash), driven over WebDriver.  The
# screenshot it takes is the README's (build/report-screenshot.png).

setup_file() {
	load test_helper
	load browser
	cd "$QA_ROOT"
	QA_BUILD=$QA_BUILD pipelines/demo.sh > "$BATS_FILE_TMPDIR/demo.out" 2>&1
	cp runs/demo/report.html "$BATS_FILE_TMPDIR/demo.html"
	# The same runs with a hostile battery item in the flips.
	mkdir "$BATS_FILE_TMPDIR/hostile"
	cd "$BATS_FILE_TMPDIR/hostile"
	evil='</script><img src=x onerror="document.body.dataset.pwned=1"><script>document.body.dataset.pwned=2</script>'
	for side in base cand; do
		jq -nc --arg p "$evil" --arg side "$side" '
			{id: "evil-1", task: "t<i>x</i>", prompt: $p, expected: $p, metric: "exact_match",
			 response: {text: ($p + " " + $side), endpoint: $side, latency_ms: 10, attempts: 1},
			 scores: {exact_match: (if $side == "base" then 1 else 0 end)}}' > "$side.jsonl"
	done
	qa-report -o "$BATS_FILE_TMPDIR/hostile.html" base.jsonl cand.jsonl
	browser_start
}

teardown_file() {
	load browser
	browser_stop
}

setup() {
	load test_helper
	load browser
	cd "$BATS_TEST_TMPDIR"
}

# Opens a page after emptying the logs, so they hold this page's events only.
open_page() {
	console_log > /dev/null
	wd POST /se/log '{"type":"performance"}' > /dev/null
	wd POST /url "$(jq -n --arg u "file://$1" '{url: $u}')" > /dev/null
	[ "$(js 'return document.readyState')" = '"complete"' ]
}

@test "browser: the demo's report opens with no console error and makes no request" {
	url=file://$BATS_FILE_TMPDIR/demo.html
	open_page "$BATS_FILE_TMPDIR/demo.html"
	[ "$(js 'return document.title')" = '"qa: int4 against baseline"' ]
	console_log > console.json
	[ "$(jq '[.[] | select(.level == "SEVERE" or .level == "WARNING")] | length' console.json)" -eq 0 ] ||
		{ cat console.json >&2; false; }
	wd POST /se/log '{"type":"performance"}' > perf.json
	# Every request the page made: its own document, and nothing else.
	jq -r --arg u "$url" '.[].message | fromjson | .message | select(.method == "Network.requestWillBeSent") |
		select(.params.documentURL == $u) | .params.request.url' perf.json > requests
	[ "$(cat requests)" = "$url" ] || { cat requests >&2; false; }
	jq -r --arg u "$url" '[.[].message | fromjson | .message] |
		([.[] | select(.method == "Network.requestWillBeSent" and .params.documentURL == $u) | .params.requestId]) as $ours |
		[.[] | select(.method == "Network.loadingFailed" and (.params.requestId as $r | $ours | index($r)))] | length' \
		perf.json > failed
	[ "$(cat failed)" -eq 0 ]
	# The page's script ran: the filter form shows, with the count.
	[ "$(js 'return document.getElementById("flipfilter").hidden')" = false ]
	[[ "$(js 'return document.getElementById("flipcount").textContent')" =~ ^\"[0-9]+\ shown\"$ ]]
}

@test "browser: every chart is drawn, with a size and a text alternative" {
	open_page "$BATS_FILE_TMPDIR/demo.html"
	js 'return Array.from(document.querySelectorAll("figure.chart svg")).map(function (s) {
		var r = s.getBoundingClientRect();
		return {id: s.id, w: r.width, h: r.height, shapes: s.querySelectorAll("line,path,rect,circle").length,
			title: s.querySelector("title").textContent, desc: s.querySelector("desc").textContent,
			labelled: s.getAttribute("aria-labelledby")};
	})' > charts.json
	[ "$(jq -r '[.[].id] | join(" ")' charts.json)" = "forest costacc pplacc kld cdf0 rampchart" ]
	[ "$(jq '[.[] | select(.w > 100 and .h > 100 and .shapes > 5 and (.title | length) > 10 and (.desc | length) > 40)] | length' charts.json)" -eq 6 ] ||
		{ cat charts.json >&2; false; }
}

@test "browser: the flips table filters by direction and by task" {
	open_page "$BATS_FILE_TMPDIR/demo.html"
	total=$(js 'return document.querySelectorAll("#fliprows tr").length')
	r2w=$(js 'return document.querySelectorAll("#fliprows tr[data-dir=r2w]").length')
	[ "$r2w" -gt 0 ] && [ "$r2w" -lt "$total" ]
	visible='return Array.from(document.querySelectorAll("#fliprows tr")).filter(function (r) { return r.offsetParent !== null; }).map(function (r) { return r.dataset.task + "/" + r.dataset.dir; })'
	[ "$(js "$visible" | jq length)" -eq "$total" ]
	# Choosing an option the way a person does: a click.
	click() {
		local el
		el=$(wd POST /element "$(jq -n --arg s "$1" '{using: "css selector", value: $s}')" | jq -r 'to_entries[0].value')
		wd POST "/element/$el/click" '{}' > /dev/null
	}
	click 'select[name=dir] option[value=r2w]'
	js "$visible" > shown.json
	[ "$(jq length shown.json)" -eq "$r2w" ]
	[ "$(jq '[.[] | select(endswith("/r2w") | not)] | length' shown.json)" -eq 0 ]
	[ "$(js 'return document.getElementById("flipcount").textContent')" = "\"$r2w shown\"" ]
	# The task of the first right-to-wrong flip, whichever the battery has.
	task=$(js 'return document.querySelector("#fliprows tr[data-dir=r2w]").dataset.task' | jq -r .)
	click "select[name=task] option[value=\"$task\"]"
	js "$visible" > shown.json
	want=$(js "return document.querySelectorAll('#fliprows tr[data-dir=r2w][data-task=\"$task\"]').length")
	[ "$want" -gt 0 ]
	[ "$(jq -r 'unique | join(" ")' shown.json)" = "$task/r2w" ]
	[ "$(jq length shown.json)" -eq "$want" ]
	click 'select[name=dir] option[value=""]'
	click 'select[name=task] option[value=""]'
	[ "$(js "$visible" | jq length)" -eq "$total" ]
}

@test "browser: a screenshot of the top of the report is not blank" {
	open_page "$BATS_FILE_TMPDIR/demo.html"
	wd GET /screenshot | jq -r . | base64 -d > shot.png
	read -r w h ink colours < <("$QA_ROOT/tests/png-stats" shot.png)
	[ "$w" -eq 1100 ]
	[ "$h" -gt 600 ]
	# Text, tables and the forest plot: a good share of the page is ink, in many colours.
	[ "$(jq -n "$ink > 0.05")" = true ]
	[ "$colours" -gt 50 ]
	cp shot.png "$QA_BUILD/report-screenshot.png"
}

@test "browser: the report prints to PDF" {
	open_page "$BATS_FILE_TMPDIR/demo.html"
	wd POST /print '{"orientation": "portrait", "background": true}' | jq -r . | base64 -d > page.pdf
	head -c 5 page.pdf | grep -qx '%PDF-'
	# More than one A4/Letter page, and the flips' prompts are not cut by their scroll boxes.
	[ "$(grep -ac '/Type /Page\b' page.pdf)" -gt 3 ]
}

@test "browser: a hostile prompt renders as text and runs nothing" {
	open_page "$BATS_FILE_TMPDIR/hostile.html"
	js 'return [document.querySelectorAll("img").length, document.querySelectorAll("script").length,
		document.body.dataset.pwned || null, document.querySelectorAll("#fliprows i").length,
		document.querySelector("#fliprows .txt").textContent]' > got.json
	[ "$(jq -c '.[0:4]' got.json)" = '[0,1,null,0]' ] || { cat got.json >&2; false; }
	[ "$(jq -r '.[4]' got.json)" = '</script><img src=x onerror="document.body.dataset.pwned=1"><script>document.body.dataset.pwned=2</script>' ]
	console_log > console.json
	[ "$(jq '[.[] | select(.level == "SEVERE")] | length' console.json)" -eq 0 ] || { cat console.json >&2; false; }
}
