"""Caption files in HumanML3D/KIT-ML form: one caption per line, ``caption#tokens#start#end``.

* tokens: space-separated ``word/POS`` pairs ("a/DET man/NOUN walk/VERB"); T2M-style evaluators read them.
* start/end: seconds into the motion. ``0.0#0.0`` means the whole clip; anything else describes the sub-clip
  of frames ``[start * fps, end * fps)``.

Malformed lines are skipped and counted rather than raised: the public datasets contain a handful, and one bad
line should not cost a whole clip.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CaptionLine:
    caption: str
    tokens: tuple[str, ...] = ()
    start: float = 0.0   # seconds; start == end == 0 means the whole clip
    end: float = 0.0

    @property
    def whole_clip(self) -> bool:
        return self.start == 0.0 and self.end == 0.0

    def frame_range(self, fps: float, num_frames: int) -> tuple[int, int]:
        """Frames [first, stop) this caption describes, clipped to the motion's length."""
        if self.whole_clip:
            return 0, num_frames
        return min(int(self.start * fps), num_frames), min(int(self.end * fps), num_frames)

    def to_line(self) -> str:
        for field, text in (("caption", self.caption), ("tokens", " ".join(self.tokens))):
            if "#" in text or "\n" in text:
                raise ValueError(f"{field} may not contain '#' or a newline: {text!r}")
        return f"{self.caption}#{' '.join(self.tokens)}#{self.start:g}#{self.end:g}"


_CAPTION_WORD = re.compile(r"[a-z0-9\-]+")


def caption_words(caption: str) -> list[str]:
    """The lower-case words (letters, digits, hyphens) a caption's tokens are made from."""
    return _CAPTION_WORD.findall(caption.lower())


def lexicon_from_spec(spec: dict[str, str]) -> dict[str, str]:
    """``word -> "word/POS"`` from ``{POS: "space-separated words"}``; a word listed twice keeps its first POS.
    Caption generators add the inflected words (``"walks" -> "walk/VERB"``) to the result."""
    lexicon: dict[str, str] = {}
    for pos, words in spec.items():
        for word in words.split():
            lexicon.setdefault(word, f"{word}/{pos}")
    return lexicon


def parse_caption_line(line: str) -> CaptionLine:
    """Parse one ``caption#tokens#start#end`` line; raises ValueError saying what is wrong."""
    parts = line.strip().rsplit("#", 3)  # rsplit: a stray '#' inside the caption stays in the caption
    if len(parts) != 4:
        raise ValueError(f"expected 4 '#'-separated fields (caption#tokens#start#end), got {len(parts)}")
    caption, tokens, start_s, end_s = (p.strip() for p in parts)
    if not caption:
        raise ValueError("empty caption")
    try:
        start, end = float(start_s), float(end_s)
    except ValueError:
        raise ValueError(f"start/end must be numbers of seconds, got {start_s!r}/{end_s!r}") from None
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < 0:
        raise ValueError(f"start/end must be finite and >= 0, got {start}/{end}")
    if not (start == 0.0 and end == 0.0) and end <= start:
        raise ValueError(f"sub-clip end {end} must be after start {start}")
    return CaptionLine(caption, tuple(tokens.split()), start, end)


def read_caption_file(path: str | Path) -> tuple[list[CaptionLine], int]:
    """(parsed lines, number of malformed lines skipped). Blank lines are ignored without counting."""
    lines, malformed = [], 0
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                lines.append(parse_caption_line(raw))
            except ValueError:
                malformed += 1
    return lines, malformed


def write_caption_file(path: str | Path, lines: list[CaptionLine]) -> None:
    if not lines:
        raise ValueError(f"refusing to write an empty caption file {path}")
    Path(path).write_text("\n".join(line.to_line() for line in lines) + "\n", encoding="utf-8")


# Words that name a side or a turning sense, and their mirror images. Matched as whole words, case kept.
_MIRROR_WORDS = {
    "left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards", "lefthand": "righthand", "righthand": "lefthand",
    "clockwise": "counterclockwise", "counterclockwise": "clockwise", "anticlockwise": "clockwise",
    "counter-clockwise": "clockwise", "anti-clockwise": "clockwise",
}
_MIRROR_RE = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _MIRROR_WORDS), key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)


def _match_case(template: str, word: str) -> str:
    if template.isupper():
        return word.upper()
    if template[0].isupper():
        return word[0].upper() + word[1:]
    return word


def mirror_text(text: str) -> str:
    """Swap left/right (and clockwise senses) in a caption or a token string, keeping capitalisation."""
    return _MIRROR_RE.sub(lambda m: _match_case(m.group(0), _MIRROR_WORDS[m.group(0).lower()]), text)


def mirror_caption_line(line: CaptionLine) -> CaptionLine:
    return CaptionLine(mirror_text(line.caption), tuple(mirror_text(t) for t in line.tokens), line.start, line.end)
