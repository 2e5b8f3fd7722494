"""Tokenizes the texts of qa records as sacreBLEU 2.x's intl or zh tokenizer
would (tests/15-textmetrics.bats checks bleu:tokenize=intl|zh against
bleu:tokenize=none over this script's output).  Needs Debian's
python3-regex for \\p{...}; run with /usr/bin/python3.

intl: TokenizerV14International, three passes of the regex module,
then words joined by one space.  zh: TokenizerZh, str.strip(), every
character of its _UCODE_RANGES set apart (the ranges written as sacreBLEU
writes them, so that '\\u20000' is two characters there as well), then
TokenizerRegexp's four re passes.  BLEU rstrip()s a segment before either.
"""
import json
import re
import sys

import regex

INTL = [(regex.compile(r'(\P{N})(\p{P})'), r'\1 \2 '),
        (regex.compile(r'(\p{P})(\P{N})'), r' \1 \2'),
        (regex.compile(r'(\p{S})'), r' \1 ')]
RE = [(re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
      (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
      (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
      (re.compile(r'([0-9])(-)'), r'\1 \2 ')]
ZH = [('\u3400', '\u4db5'), ('\u4e00', '\u9fa5'), ('\u9fa6', '\u9fbb'), ('\uf900', '\ufa2d'),
      ('\ufa30', '\ufa6a'), ('\ufa70', '\ufad9'), ('\u20000', '\u2a6d6'), ('\u2f800', '\u2fa1d'),
      ('\uff00', '\uffef'), ('\u2e80', '\u2eff'), ('\u3000', '\u303f'), ('\u31c0', '\u31ef'),
      ('\u2f00', '\u2fdf'), ('\u2ff0', '\u2fff'), ('\u3100', '\u312f'), ('\u31a0', '\u31bf'),
      ('\ufe10', '\ufe1f'), ('\ufe30', '\ufe4f'), ('\u2600', '\u26ff'), ('\u2700', '\u27bf'),
      ('\u3200', '\u32ff'), ('\u3300', '\u33ff')]


def subs(passes, line):
    for pat, repl in passes:
        line = pat.sub(repl, line)
    return ' '.join(line.split())


def tok(mode, line):
    line = line.rstrip()
    if mode == 'intl':
        return subs(INTL, line)
    spaced = ''.join(' ' + c + ' ' if any(a <= c <= b for a, b in ZH) else c for c in line.strip())
    return subs(RE, spaced)


mode = sys.argv[1]
for text in sys.stdin:
    r = json.loads(text)
    r['response']['text'] = tok(mode, r['response']['text'])
    r['expected'] = [tok(mode, e) for e in r['expected']]
    print(json.dumps(r, ensure_ascii=False))
