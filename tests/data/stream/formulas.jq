# The latency fields of a streamed record, redone from qa-send's --trace
# (its chunk lines: t_ms and the QA_CHUNK_* flags; its stream_end line: the
# last byte and queue_ms) by the formulas of README "Latency".  Input: the
# trace, slurped; $id: the record's id; $n: its output tokens
# (usage.completion_tokens).
def r: if . == null then null else (. * 1000 | round) / 1000 end;
[.[] | select(.id == $id)] as $all
| ([$all[] | select(.decision == "stream_end")] | last) as $e
| [$all[] | select(.decision == "chunk" and .attempt == $e.attempt)] as $c
| ([$c[] | select(.flags % 2 == 1)] | first | .t_ms) as $first
| [$c[] | select((.flags / 2 | floor) % 4 != 0)] as $tok
| ($tok | length) as $k
| ($tok | first | .t_ms) as $ttft
| ($tok | last | .t_ms) as $last
| {
    queue_ms: ($e.queue_ms | r),
    ttft_ms: ($ttft | r),
    first_chunk_ms: ($first | r),
    tpot_ms: (if $n > 1 and $k > 0 then ($last - $ttft) / ($n - 1) else null end | r),
    itl_ms: (if $k > 1 then ($last - $ttft) / ($k - 1) else null end | r),
    latency_ms: ($e.t_ms | r),
    tokens_per_s: ($n / $e.t_ms * 1000 | r),
    chunk_gaps_ms: [range(1; $k) as $i | (($tok[$i].t_ms - $tok[$i - 1].t_ms) * 10 | round) / 10]
  }
