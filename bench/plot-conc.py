#!/usr/bin/python3
"""plot-conc.py [--delay MS] [--bin MS] [--title T] LOG > out.svg

Concurrency over time, as the server saw it, from a tests/server/qa-limitd
log (one JSON line a request: t in ms, status): each answered request is in
flight from its arrival for --delay ms; the curve is the mean in flight per
--bin ms (default 100), and each 429 is a red tick at the bottom.  A plain
SVG, no libraries, no network.
"""
import json
import sys


def main():
    args = sys.argv[1:]
    delay, binms, title, path = 20.0, 100.0, "", None
    while args:
        a = args.pop(0)
        if a == "--delay":
            delay = float(args.pop(0))
        elif a == "--bin":
            binms = float(args.pop(0))
        elif a == "--title":
            title = args.pop(0)
        elif path is None:
            path = a
        else:
            sys.exit(__doc__)
    if path is None or binms <= 0:
        sys.exit(__doc__)
    recs = [json.loads(l) for l in open(path) if l.strip()]
    if not recs:
        sys.exit("plot-conc.py: %s: no requests" % path)
    end = max(r["t"] for r in recs) + delay
    nb = int(end // binms) + 1
    busy = [0.0] * nb            # ms of requests in flight per bin
    for r in recs:
        if r.get("status") != 200:
            continue
        a, b = r["t"], r["t"] + delay
        i = int(a // binms)
        while a < b and i < nb:
            e = min(b, (i + 1) * binms)
            busy[i] += e - a
            a, i = e, i + 1
    conc = [x / binms for x in busy]
    top = max(max(conc), 1.0)
    W, H, L, B = 720.0, 300.0, 50.0, 30.0
    pw, ph = W - L - 10, H - B - 30

    def x(ms):
        return L + pw * ms / end

    def y(c):
        return 30 + ph - ph * c / top

    pts = " ".join("%.1f,%.1f" % (x((i + 0.5) * binms), y(c)) for i, c in enumerate(conc))
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">'
           % (W, H),
           '<text x="%d" y="18" font-size="13">%s</text>' % (L, title.replace("&", "&amp;").replace("<", "&lt;")),
           '<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="black"/>' % (L, 30 + ph, L + pw, 30 + ph),
           '<line x1="%g" y1="30" x2="%g" y2="%g" stroke="black"/>' % (L, L, 30 + ph),
           '<text x="%g" y="%g" text-anchor="end">%.0f</text>' % (L - 4, 34, top),
           '<text x="%g" y="%g" text-anchor="end">0</text>' % (L - 4, 30 + ph),
           '<text x="%g" y="%g" text-anchor="end">%.1f s</text>' % (L + pw, H - 8, end / 1000),
           '<text x="%g" y="%g">in flight (mean per %g ms); red: 429</text>' % (L + 4, H - 8, binms),
           '<polyline fill="none" stroke="#1f5fa8" stroke-width="1.2" points="%s"/>' % pts]
    for r in recs:
        if r.get("status") == 429:
            out.append('<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#c0392b"/>'
                       % (x(r["t"]), 30 + ph, x(r["t"]), 30 + ph - 6))
    out.append("</svg>")
    print("\n".join(out))


main()
