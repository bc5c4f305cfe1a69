"""Transcript error rates: normalise both texts alike, split them into tokens, count the edits
of a minimum alignment (jiwer), and add the counts up over a batch.

Normalisation (``normalise``), in this order:

1. Unicode NFKC: full-width letters, digits and punctuation become their ASCII forms, the
   ideographic space a space, compatibility characters their plain ones; the typographic
   apostrophe (U+2019) becomes ``'``.
2. Traditional characters become simplified ones (OpenCC's ``t2s``).
3. Chinese numerals become Arabic digits (cn2an's ``transform(..., "cn2an")``): 二零二四年 and
   两千零二十四年 both become 2024年, 三点五 3.5, 百分之五十 50%, 三分之一 1/3, 负五 -5. The
   direction is Chinese to Arabic because it folds the two ways of reading a number (digit by
   digit or with units, 二 or 两) into one written form, which the reverse cannot. cn2an also
   turns the 一 of words such as 一起 into 1; both texts go through the same step, so the
   score is unchanged.
4. Latin letters are case-folded.
5. Punctuation and symbols (Unicode categories P* and S*) are removed, except the marks the
   numeral step writes when they touch a digit: ``.`` between two digits, ``%`` after a digit,
   ``/`` between two digits and ``-`` before a digit.

Tokens (``tokens``, the "mixed" unit): each Chinese, Japanese or Korean character is a token,
each digit and each kept numeral mark is a token, and each run of other letters (with an
apostrophe inside a word, as in don't) is a token: Chinese is counted by character, English by
word. ``unit="char"`` makes every non-space character a token (CER of any text); ``unit="word"``
splits at spaces only (WER). WER on unspaced Chinese is meaningless: a whole sentence is one
word.

Rates: per utterance, edits / reference tokens, which can exceed 1 (insertions are not bounded
by the reference's length); over a batch, total edits / total reference tokens (not the mean of
the utterances' rates). Accuracy = 1 − batch rate, clipped at 0."""
from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cn2an
import jiwer
import opencc

# cn2an warns, then leaves the text as it was, on a run of numeral characters it cannot read
# as a number (万一); that is the behaviour wanted here, so its warning is not shown.
warnings.filterwarnings("ignore", category=UserWarning, module=r"cn2an(\.|$)")

Unit = Literal["mixed", "char", "word"]
UNITS = ("mixed", "char", "word")

_T2S = opencc.OpenCC("t2s")
# Every pattern of cn2an's transform needs one of these (its numerals and units, 半 and 廿); a
# text without any is left as it is, so it skips the call, the slowest step here.
_NUMERAL_CHARS = frozenset("零〇一壹幺二贰两三叁四肆五伍六陆七柒八捌九玖貳兩參陸十拾百佰千仟万亿萬億半廿")
_CJK = (r"\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u3131-\u318f\u31a0-\u31ff"
        r"\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f")
_TOKEN = re.compile(rf"[{_CJK}]|\d|[.%/-]|[^\W\d_{_CJK}]+(?:'[^\W\d_{_CJK}]+)*")
_KEPT = {".": re.compile(r"(?<=\d)\.(?=\d)"), "%": re.compile(r"(?<=\d)%"),
         "/": re.compile(r"(?<=\d)/(?=\d)"), "-": re.compile(r"-(?=\d)")}


def _strip_punctuation(text: str) -> str:
    keep = set()
    for pattern in _KEPT.values():
        keep.update(m.start() for m in pattern.finditer(text))
    out = []
    for i, ch in enumerate(text):
        if i in keep:
            out.append(ch)
        elif ch == "'" and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            out.append(ch)  # inside a word: don't
        elif unicodedata.category(ch)[0] in "PS":
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


@functools.lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """The text both sides are compared in (module docstring, steps 1–5)."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    text = _T2S.convert(text)
    if not _NUMERAL_CHARS.isdisjoint(text):
        text = cn2an.transform(text, "cn2an")
    return _strip_punctuation(text.casefold())


def tokens(text: str, unit: Unit = "mixed") -> list[str]:
    """The normalised text's tokens in ``unit`` (module docstring)."""
    text = normalise(text)
    if unit == "mixed":
        return _TOKEN.findall(text)
    if unit == "char":
        return [ch for ch in text if not ch.isspace()]
    if unit == "word":
        return text.split()
    raise ValueError(f"unit must be one of {', '.join(UNITS)}")


@dataclass(frozen=True)
class Edits:
    substitutions: int
    deletions: int
    insertions: int
    hits: int

    @property
    def reference_length(self) -> int:
        return self.substitutions + self.deletions + self.hits

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float | None:
        """errors / reference tokens; may exceed 1. With an empty reference: 0 when the
        hypothesis is empty too, None otherwise (no rate has a denominator)."""
        if self.reference_length == 0:
            return 0.0 if self.insertions == 0 else None
        return self.errors / self.reference_length

    def __add__(self, other: Edits) -> Edits:
        return Edits(self.substitutions + other.substitutions, self.deletions + other.deletions,
                     self.insertions + other.insertions, self.hits + other.hits)


NO_EDITS = Edits(0, 0, 0, 0)


def token_edits(ref: Sequence[str], hyp: Sequence[str]) -> Edits:
    """The counts of a minimum edit alignment of two token lists (tokens hold no spaces)."""
    if not ref and not hyp:
        return NO_EDITS
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return Edits(out.substitutions, out.deletions, out.insertions, out.hits)


def edits(reference: str, hypothesis: str, unit: Unit = "mixed") -> Edits:
    return token_edits(tokens(reference, unit), tokens(hypothesis, unit))


def edit_distance(a: str, b: str, unit: Unit = "mixed") -> int:
    """The Levenshtein distance between two texts' tokens (symmetric)."""
    return edits(a, b, unit).errors


def error_rate(reference: str, hypothesis: str, unit: Unit = "mixed") -> float | None:
    """One utterance's rate (may exceed 1)."""
    return edits(reference, hypothesis, unit).rate


def cer(reference: str, hypothesis: str) -> float | None:
    return error_rate(reference, hypothesis, "char")


def wer(reference: str, hypothesis: str) -> float | None:
    return error_rate(reference, hypothesis, "word")


@dataclass(frozen=True)
class BatchScore:
    edits: Edits  # summed over the utterances
    utterances: int

    @property
    def rate(self) -> float | None:
        """Total edits / total reference tokens; None when the references hold no token."""
        n = self.edits.reference_length
        return self.edits.errors / n if n else None

    @property
    def accuracy(self) -> float | None:
        """1 − rate, clipped at 0."""
        rate = self.rate
        return None if rate is None else max(0.0, 1.0 - rate)


def batch(pairs: Iterable[tuple[str, str]], unit: Unit = "mixed") -> BatchScore:
    """Pairs of (reference, hypothesis) texts scored together."""
    total, count = NO_EDITS, 0
    for ref, hyp in pairs:
        total += edits(ref, hyp, unit)
        count += 1
    return BatchScore(total, count)


def transcript_text(result: Mapping[str, Any] | None) -> str:
    """A transcript result's text: its segments' texts in stored order, joined by a space (as
    the NeMo export writes it); a missing or malformed result is the empty text."""
    segs = result.get("segments") if isinstance(result, Mapping) else None
    if not isinstance(segs, list):
        return ""
    return " ".join(s["text"] for s in segs if isinstance(s, Mapping) and isinstance(s.get("text"), str)
                    and s["text"])


def transcript_batch(pairs: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
                     unit: Unit = "mixed") -> BatchScore:
    """Pairs of (gold result, submitted result) transcripts scored together."""
    return batch(((transcript_text(g), transcript_text(s)) for g, s in pairs), unit)
