"""Captions for mocap clips, from CMU's terse trial descriptions, in several phrasings.

A description is a list of actions, sometimes after a topic: "walk", "jump, balance", "run/jog, sudden stop",
"basketball - forward dribble, 90-degree left turns", "walk with anger, frustration". `describe` turns it into
full sentences ("a person runs forward, then stops suddenly") by rules:

* the topic before " - " becomes context ("while playing basketball", "as part of a dance"), or is dropped;
* parenthesised notes ("(2 subjects - subject A)") are dropped;
* each comma/semicolon-separated item becomes a verb phrase: a known verb is conjugated ("walk" -> "walks",
  "run/jog" -> "runs" or "jogs"), a known noun phrase is rewritten ("sudden stop" -> "stops suddenly",
  "forward jump" -> "jumps forward", "90-degree left turn" -> "turns 90 degrees to the left"), anything else
  is kept after "does";
* items are joined in order with varied connectors; several verb synonyms and subjects give distinct phrasings.

Tokens are HumanML3D's ``lemma/POS`` pairs from a small lexicon (unknown words are tagged NOUN).
"""
from __future__ import annotations

import re
import zlib

import numpy as np

from train import inflection
from train.data.texts import CaptionLine, caption_words, lexicon_from_spec

SUBJECTS = ("a person", "someone", "the person", "a man", "somebody", "a human", "the figure", "a woman")
CONNECTORS = (", then ", " and then ", ", and then ", " and ", ", after that ")

# verb lemma -> alternative verb phrases (third person) used for it; the first is the plain form.
_VERB_PHRASES = {
    "walk": ("walks", "walks forward", "is walking", "walks ahead", "takes a walk"),
    "run": ("runs", "runs forward", "is running", "runs ahead"),
    "jog": ("jogs", "jogs forward", "is jogging", "jogs ahead"),
    "jump": ("jumps", "does a jump", "jumps up"),
    "hop": ("hops",),
    "balance": ("balances", "keeps balance", "balances on one leg"),
    "turn": ("turns", "turns around"),
    "sit": ("sits", "sits down", "takes a seat"),
    "stand": ("stands", "stands up"),
    "climb": ("climbs",),
    "swing": ("swings",),
    "hang": ("hangs",),
    "kick": ("kicks",),
    "punch": ("punches", "throws a punch"),
    "strike": ("strikes",),
    "bend": ("bends",),
    "scoop": ("scoops",),
    "rise": ("rises", "straightens up"),
    "lift": ("lifts", "raises"),
    "raise": ("raises",),
    "wash": ("washes",),
    "wave": ("waves",),
    "point": ("points",),
    "reach": ("reaches",),
    "drink": ("drinks",),
    "throw": ("throws",),
    "catch": ("catches",),
    "dribble": ("dribbles",),
    "shoot": ("shoots",),
    "dance": ("dances",),
    "march": ("marches",),
    "sneak": ("sneaks",),
    "stretch": ("stretches",),
    "squat": ("squats", "does a squat"),
    "lean": ("leans",),
    "drop": ("drops", "lets go and drops"),
    "dangle": ("dangles",),
    "descend": ("climbs down", "descends"),
    "go": ("goes",),
    "hold": ("holds",),
    "pull": ("pulls",),
    "push": ("pushes",),
    "rock": ("rocks",),
    "lower": ("lowers",),
    "stop": ("stops", "comes to a stop"),
    "veer": ("veers", "curves"),
    "step": ("steps",),
    "sweep": ("sweeps",),
    "mop": ("mops",),
    "laugh": ("laughs",),
    "shake": ("shakes",),
    "carry": ("carries",),
    "pick": ("picks",),
    "put": ("puts",),
    "look": ("looks",),
    "crawl": ("crawls",),
    "tiptoe": ("tiptoes", "walks on tiptoe"),
    "stride": ("strides",),
    "wander": ("wanders", "walks around aimlessly"),
    "hobble": ("hobbles", "limps"),
    "fidget": ("fidgets",),
    "grab": ("grabs",),
    "unscrew": ("unscrews",),
    "screw": ("screws",),
    "paint": ("paints",),
    "navigate": ("navigates",),
    "duck": ("ducks", "ducks down"),
}
_THIRD_PERSON = {phrases[0].split()[0]: lemma for lemma, phrases in _VERB_PHRASES.items()}
for _lemma, _phrases in _VERB_PHRASES.items():
    for _p in _phrases[1:]:
        _THIRD_PERSON.setdefault(_p.split()[0], _lemma)
_THIRD_PERSON.update({"is": "be", "does": "do", "takes": "take", "keeps": "keep", "comes": "come", "throws": "throw",
                      "makes": "make", "plays": "play", "lets": "let", "straightens": "straighten",
                      "curves": "curve", "limps": "limp", "stops": "stop", "walking": "walk", "running": "run",
                      "jogging": "jog", "playing": "play", "dancing": "dance"})

# Noun phrases and odd items -> verb phrases (alternatives). Matched on the whole item.
_ITEM_PHRASES = {
    "sudden stop": ("stops suddenly", "comes to a sudden stop", "stops abruptly"),
    "stop": ("stops", "comes to a stop"),
    "forward jump": ("jumps forward", "leaps forward", "does a forward jump"),
    "forward jumps": ("jumps forward several times", "does forward jumps"),
    "high jump": ("does a high jump", "jumps high"),
    "jump": ("jumps", "does a jump", "jumps up"),
    "slow walk": ("walks slowly", "takes a slow walk", "strolls slowly"),
    "brisk walk": ("walks briskly", "walks quickly"),
    "run/jog": ("runs", "jogs", "runs forward", "jogs forward", "is jogging"),
    "punch/strike": ("punches", "throws punches", "strikes with the fists"),
    "swordplay": ("fences with a sword", "swings a sword", "does swordplay"),
    "boxing": ("boxes", "throws boxing punches", "shadow boxes"),
    "tai chi": ("does tai chi", "performs tai chi moves"),
    "laugh": ("laughs",),
    "jumping jacks": ("does jumping jacks",),
    "squats": ("does squats", "squats down several times"),
    "side twists": ("twists from side to side", "does side twists"),
    "stretches": ("stretches",),
    "wash self": ("washes themself", "goes through the motions of washing"),
    "turn around": ("turns around", "turns back"),
    "bend over": ("bends over", "bends forward"),
    "scoop up": ("scoops something up", "picks something up"),
    "lift arm": ("lifts an arm", "raises an arm"),
    "walk/stride": ("walks with long strides", "strides"),
    "walk/wander": ("wanders around", "walks around"),
    "walk/hobble": ("hobbles", "limps along"),
}
_TOPICS = {
    "playground": ("on playground equipment", "on a playground"),
    "basketball": ("while playing basketball", "with a basketball"),
    "soccer": ("while playing soccer", "with a soccer ball"),
    "dance": ("as part of a dance", "while dancing"),
    "navigate": ("", ""),
    "conversation": ("in a conversation", "while talking"),
    "violence": ("", ""),
    "quarrel": ("in a quarrel", "while arguing"),
    "hand signals": ("making hand signals", "with hand signals"),
    "nursery rhyme": ("", ""),
}
# Verbs outside the phrase table that CMU descriptions begin with: conjugated by rule.
_COMMON_VERBS = set("""answer bounce brush chop clean comb cook crouch cry dig draw dust eat fall fly gesture
    hammer hit iron kneel limp listen pace play pose pray read roll row salute saw scrub search shuffle shrug
    skip slide sleep spin stagger stir stomp swim sway swat talk tap think tie trip twist type vacuum wait
    wipe write yawn bow cartwheel crawl flip lie lay lean lift load lunge mime open close peek pivot pour
    press pretend prowl rotate serve shadow shovel signal skate ski skip slap sprint stumble suitcase
    swing tickle toss tumble wander watch wiggle wobble wring""".split())
_ANIMALS = set("""elephant dinosaur monkey cat dog snake mouse bear chicken penguin frog kangaroo gorilla
    bird duck horse lion tiger rabbit bunny crab fish giraffe turtle""".split())
_DEGREES = re.compile(r"^(\d+)-degree (left|right) turns?$")
_VEER = re.compile(r"^veer (left|right)$")
_START_STOP = re.compile(r"^(start )?(.+?)( stop)$|^(start )(.+)$")


def third_person(verb: str) -> str:
    """English third person singular of a verb lemma ("walk" -> "walks", "reach" -> "reaches")."""
    if verb in _VERB_PHRASES:
        return _VERB_PHRASES[verb][0].split()[0]
    return inflection.third_person(verb)


def gerund_lemma(word: str) -> str | None:
    """Lemma of an -ing form ("walking" -> "walk", "putting" -> "put", "dancing" -> "dance"), or None."""
    if not word.endswith("ing") or len(word) < 5 or word in _VERB_PHRASES or word in _COMMON_VERBS:
        return None
    stem = word[:-3]
    if not re.search(r"[aeiouy]", stem):     # "swing", "bring": not a gerund of "sw"
        return None
    candidates = [stem, stem + "e"]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        candidates.insert(0, stem[:-1])
    for c in candidates:
        if c in _VERB_PHRASES:
            return c
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        return stem[:-1]
    if stem.endswith(("bl", "gl", "kl", "tl", "dl", "zl", "pl", "c", "v", "at", "iz", "ur")):
        return stem + "e"
    return stem


def _item_phrases(item: str) -> tuple[str, ...]:
    item = item.strip().lower()
    words = item.split()
    if words and gerund_lemma(words[0]) and words[0] not in _ITEM_PHRASES:
        # "walking backwards" -> "walk backwards": conjugated like any other item below
        item = " ".join([gerund_lemma(words[0])] + words[1:])
    if item in _ITEM_PHRASES:
        return _ITEM_PHRASES[item]
    m = _DEGREES.match(item)
    if m:
        return (f"turns {m.group(1)} degrees to the {m.group(2)}", f"makes a {m.group(1)}-degree {m.group(2)} turn",
                f"turns {m.group(2)} by {m.group(1)} degrees")
    m = _START_STOP.match(item)
    if m:
        core = m.group(2) or m.group(5)
        started, stops = bool(m.group(1) or m.group(4)), bool(m.group(3))
        inner = _item_phrases(core)
        if stops:
            return tuple(f"{p} and then stops" for p in inner[:2]) + tuple(
                f"starts to move, {p} and stops" for p in inner[:1] if started)
        return tuple(f"starts from standing and {p}" for p in inner[:2])
    m = _VEER.match(item)
    if m:
        return (f"veers {m.group(1)}", f"curves to the {m.group(1)}", f"bears {m.group(1)}")
    words = ["the other person" if w in ("a", "b") else w for w in item.split()]
    if not words:
        return ()
    if len(words) == 2 and words[1] in _VERB_PHRASES and words[0] not in _VERB_PHRASES:
        verb = _VERB_PHRASES[words[1]][0].split()[0]      # "forward dribble" -> "dribbles forward"
        return (f"{verb} {words[0]}",)
    head, rest = words[0], " ".join(words[1:])
    if head in _THIRD_PERSON:                               # already conjugated ("pulls b")
        return (" ".join(words),)
    for lemma in head.split("/"):
        if lemma in _VERB_PHRASES:
            phrases = _VERB_PHRASES[lemma]
            if rest:
                return tuple(f"{p.split()[0]} {rest}" for p in phrases[:1]) + tuple(
                    f"{p} {rest}" for p in phrases[1:2] if not p.endswith(("forward", "up", "down", "around", "ahead")))
            return phrases
    if len(words) == 1 and words[0].endswith("s") and not words[0].endswith("ss"):
        return (words[0],)                                  # already conjugated ("resists")
    if len(words) == 1 and head in _ANIMALS:
        article = "an" if head[0] in "aeiou" else "a"
        return (f"moves like {article} {head}", f"imitates {article} {head}")
    if head in _COMMON_VERBS:
        return (" ".join([third_person(head)] + words[1:]),)
    return (f"does {item}",)


def parse_description(description: str) -> tuple[str | None, list[str]]:
    """(topic or None, action items) of a CMU description."""
    text = re.sub(r"\([^)]*\)", "", description)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ")       # "JumpForward" -> "Jump Forward"
    text = re.sub(r"(?<=[a-z])\d+\b", "", text).strip().strip(",; ")          # "Sequence001" -> "Sequence"
    topic = None
    if " - " in text:
        head, tail = text.split(" - ", 1)
        if head.strip().lower() in _TOPICS:
            topic, text = head.strip().lower(), tail
    items = [i.strip() for i in re.split(r"[;,]|\s+and then\s+|\s+then\s+|\s+and\s+(?=\w+ing\b|walk|run|jump|turn|sit|stand)",
                                         text, flags=re.IGNORECASE) if i and i.strip()]
    # "A pulls B" style two-person notes read poorly as one person's motion; keep the verbs only.
    items = [re.sub(r"^(a|b) ", "", i, flags=re.IGNORECASE) for i in items]
    merged: list[str] = []
    for item in items:   # "walk with anger, frustration": a lone noun continues the previous "with ..."
        if merged and " with " in f" {merged[-1]} " and len(item.split()) == 1 and item.lower() not in _VERB_PHRASES \
                and item.lower() not in _ITEM_PHRASES:
            merged[-1] += f" and {item}"
        else:
            merged.append(item)
    return topic, merged


def describe(description: str, seed: int | str, count: int = 4) -> list[str]:
    """Up to `count` distinct captions for one clip (deterministic for a given seed)."""
    if isinstance(seed, str):
        seed = zlib.crc32(seed.encode())
    rng = np.random.default_rng(seed)
    topic, items = parse_description(description)
    options = [p for p in (_item_phrases(i) for i in items) if p]
    if not options:
        return [f"{SUBJECTS[0]} moves"]
    out: list[str] = []
    for attempt in range(count * 8):
        subject = SUBJECTS[rng.integers(len(SUBJECTS))] if attempt else SUBJECTS[0]
        parts = [alts[0] if attempt == 0 else alts[rng.integers(len(alts))] for alts in options]
        sentence = subject + " " + parts[0]
        for part in parts[1:]:
            sentence += CONNECTORS[rng.integers(len(CONNECTORS))] + part
        if topic and _TOPICS[topic][0]:
            context = _TOPICS[topic][rng.integers(2)] if attempt else _TOPICS[topic][0]
            sentence += " " + context
        if sentence not in out:
            out.append(sentence)
        if len(out) == count:
            break
    return out


_LEXICON_SPEC = {
    "DET": "a an the this some several",
    "PRON": "someone somebody something themself",
    "ADP": "on with to by in of as while from for at into over under against like",
    "CCONJ": "and",
    "ADV": "then after that forward forwards ahead up down around back suddenly abruptly slowly quickly briskly "
           "high aimlessly along together away",
    "ADJ": "left right sudden slow brisk forward high long uneven one both 90-degree 180-degree 360-degree "
           "sideways backward",
    "AUX": "is",
}
LEXICON: dict[str, str] = lexicon_from_spec(_LEXICON_SPEC)
for _w, _lemma in _THIRD_PERSON.items():
    LEXICON[_w] = f"{_lemma}/AUX" if _lemma == "be" else f"{_lemma}/VERB"
LEXICON["does"] = "do/VERB"
for _w, _lemma in (("starts", "start"), ("move", "move"), ("moves", "move"), ("imitates", "imitate"),
                   ("bears", "bear"), ("standing", "stand"), ("playing", "play"), ("dancing", "dance")):
    LEXICON[_w] = f"{_lemma}/VERB"


def tokens(caption: str) -> tuple[str, ...]:
    """HumanML3D-style ``lemma/POS`` tokens; numbers are NUM, words outside the lexicon NOUN."""
    out = []
    for w in caption_words(caption):
        if w in LEXICON:
            out.append(LEXICON[w])
        elif w.isdigit():
            out.append(f"{w}/NUM")
        else:
            out.append(f"{w}/NOUN")
    return tuple(out)


def caption_lines(captions: list[str]) -> list[CaptionLine]:
    return [CaptionLine(c, tokens(c)) for c in captions]
