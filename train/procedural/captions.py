"""Captions for generated clips: many phrasings per action, with a held-out set for evaluation.

Every action has *training* phrasings and *held-out* phrasings. Training captions (texts/) are built only
from training phrasings, subjects and connectors; held-out captions (texts_heldout/) only from held-out
phrasings, so an evaluation on them measures paraphrase generalisation. No held-out phrase occurs inside any
training phrase (checked by the tests over every parameter variant).

Tokens follow HumanML3D's ``lemma/POS`` form from a small lexicon covering this vocabulary.
"""
from __future__ import annotations

import re

import numpy as np

from train.procedural.actions import ACTIONS
from train.procedural.caption_lexicon import LEXICON, caption_lines, tokens  # noqa: F401 (re-exported)
from train.procedural.heldout_words import swap_synonyms
from train.procedural.phrasebook import ALIASES, COUNTED, PHRASES
from train.procedural.written_phrasings import bundled_bank, keys_saying, side_of

COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
TIMES = {1: "once", 2: "twice", 3: "three times"}
# Written phrasings say every count the corpus draws. The phrasebook's own templates stop at three (a fourth
# leaves "{times}" empty), kept so that corpora generated before regenerate the same.
WRITTEN_TIMES = {**TIMES, 4: "four times", 5: "five times"}

SUBJECTS = ("a person", "someone", "the person", "a man", "the man", "a woman", "the woman", "somebody",
            "a figure", "this person", "a human", "the figure")
HELDOUT_SUBJECTS = ("an individual", "the character", "a guy")
CONNECTORS = (", then ", " and then ", ", and then ", " then ", ", after that ")
HELDOUT_CONNECTORS = (" and afterwards ", ", subsequently ")

_LOCOMOTION = {
    "walk": (["walks forward", "walks ahead", "walks forwards", "is walking forward",
              "walks straight ahead", "takes a few steps forward", "walks in a straight line", "moves forward",
              "strides forward", "walks steadily forward", "sets off walking straight ahead",
              "puts one foot in front of the other and walks forward"],
             ["paces ahead", "proceeds forward on foot", "ambles onward"],
             ["walks forward while curving to the {side}", "walks in a curve to the {side}", "walks and veers {side}",
              "walks along a path curving {side}",
              "walks forward veering off to the {side}", "follows a curved path to the {side}",
              "walks and gradually turns {side}", "strides along a bend to the {side}"],
             ["ambles along an arc bearing {side}"]),
    "jog": (["jogs forward", "is jogging", "jogs ahead", "jogs forwards", "jogs in a straight line",
             "goes for a jog forward",
             "breaks into a light jog", "jogs forward at a relaxed speed", "runs slowly forward at a jog",
             "jogs steadily ahead"],
            ["trots ahead at an easy pace", "lopes forward"],
            ["jogs in a curve to the {side}", "jogs while turning {side}",
             "jogs along a curved path to the {side}", "jogs forward veering {side}",
             "jogs and gradually curves {side}", "jogs around a bend to the {side}"],
            ["lopes along an arc bearing {side}"]),
    "run": (["runs forward", "is running", "runs ahead", "runs quickly forward",
             "runs fast",
             "runs straight ahead", "breaks into a run", "runs forward pumping the arms",
             "runs forward with long quick strides"],
            ["races ahead at full speed", "bolts forward"],
            ["runs in a curve to the {side}", "runs and curves {side}",
             "runs along a curved path to the {side}", "runs forward veering {side}",
             "runs and gradually turns {side}", "runs around a bend to the {side}"],
            ["races along an arc bearing {side}"]),
    "sneak": (["sneaks forward", "tiptoes forward", "walks forward stealthily", "creeps forward",
               "sneaks ahead quietly", "is sneaking forward",
               "creeps ahead slowly and quietly", "sneaks forward trying not to be heard", "moves forward stealthily",
               "walks forward quietly and carefully"],
              ["prowls ahead cautiously", "stalks forward on soft feet"], [], []),
    "walk_backward": (["walks backward", "walks backwards", "steps backwards", "moves backward",
                       "is walking backwards", "walks in reverse", "backs up",
                       "takes a few steps backward", "backs away slowly", "walks backwards facing forward",
                       "steps back several times"],
                      ["retreats step by step", "reverses on foot"], [], []),
}

_SIDED = {
    "sidestep": (["sidesteps to the {side}", "steps sideways to the {side}", "shuffles to the {side}",
                  "moves sideways to the {side}", "side steps {side}", "walks sideways to the {side}",
                  "takes a few steps to the {side}", "moves over to the {side} with side steps",
                  "travels sideways to the {side} without turning", "steps to the {side} side a few times"],
                 ["crab-walks toward the {side}", "slides laterally toward the {side}"]),
    "kick": (["kicks with the {side} leg", "kicks with their {side} foot", "does a {side} kick",
              "kicks forward with the {side} leg", "kicks with the {side} foot", "performs a kick with the {side} leg",
              "lifts the {side} leg and kicks forward", "snaps the {side} foot out in front",
              "throws a kick with the {side} leg", "kicks the {side} leg up in front of them"],
             ["delivers a front kick using the {side} leg", "swings the {side} foot forward in a kick"]),
    "wave": (["waves with the {side} hand", "waves their {side} hand", "raises the {side} hand and waves",
              "waves hello with the {side} hand", "is waving with the {side} hand", "waves the {side} arm",
              "waves goodbye with the {side} hand", "holds up the {side} hand and waves",
              "waves at someone with the {side} hand",
              "lifts the {side} hand above the head and moves it side to side"],
             ["greets someone by waving the {side} palm", "signals hello using the {side} arm"]),
    "raise": (["raises the {side} arm", "raises their {side} hand", "lifts the {side} arm up", "puts the {side} hand up",
               "raises their {side} arm and lowers it",
               "lifts the {side} hand into the air", "holds the {side} arm up",
               "puts the {side} arm up in the air and brings it down",
               "raises the {side} hand as if to ask a question"],
              ["elevates the {side} arm overhead", "reaches skyward with the {side} hand"]),
}

_TURN = {
    45.0: (["turns slightly to the {side}", "turns 45 degrees to the {side}", "turns a little to the {side}",
            "makes a small turn {side}",
            "turns a bit to the {side}", "turns the body slightly {side}", "steps round a little to the {side}",
            "makes a slight turn to the {side}"], ["angles the body partly toward the {side}"]),
    135.0: (["turns sharply to the {side}", "turns 135 degrees to the {side}", "turns most of the way around to the {side}",
             "makes a big turn to the {side}", "turns far to the {side}",
             "turns back over the {side} shoulder", "turns more than 90 degrees to the {side}"],
            ["swings round steeply toward the {side}"]),
    90.0: (["turns {side}", "turns to the {side}", "turns 90 degrees to the {side}", "makes a {side} turn",
            "rotates to the {side}", "turns to face {side}",
            "makes a quarter turn to the {side}", "turns the whole body to the {side}",
            "steps round to face the {side}", "changes direction to the {side}"],
           ["pivots toward the {side}", "swivels {side}ward"]),
    180.0: (["turns around", "turns around to the {side}", "turns 180 degrees", "does an about-face",
             "turns round the other way", "makes a half turn", "turns around to face backward",
             "turns back the way they came"],
            ["reverses direction by pivoting", "pivots to face the opposite way"]),
}

_COUNTED = {
    "jump_in_place": {1: (["jumps", "jumps up", "jumps in place", "does a jump", "jumps straight up"],
                          ["leaps upward on the spot"]),
                      2: (["jumps twice", "jumps up and down twice", "jumps two times"],
                          ["springs into the air two times"]),
                      3: (["jumps three times", "jumps up and down three times"],
                          ["bounces upward thrice"])},
    "squat": {1: (["squats", "squats down and stands back up", "does a squat", "performs a squat",
                   "crouches down and gets back up",
                   "does one squat", "lowers into a squat and comes back up",
                   "sinks the hips down and stands back up", "squats down once and straightens the legs"],
                  ["bends the knees deeply and rises again"]),
              2: (["squats twice", "does two squats", "performs two squats",
                   "squats down and up twice", "does a couple of squats", "lowers into a squat twice",
                   "does two squats in a row"], ["dips into a squat two times"]),
              3: (["does three squats", "squats three times", "performs three squats",
                   "squats down and up three times", "lowers into a squat three times", "does three squats in a row",
                   "does squats three times"],
                  ["completes a set of three squats"])},
    "punch": {1: (["punches with the {side} hand", "throws a {side} punch", "punches forward with the {side} fist",
                   "punches with the {side} arm", "jabs with the {side} hand",
                   "throws a straight punch with the {side} hand", "punches straight ahead with the {side} fist",
                   "extends the {side} fist in a quick punch", "shoots the {side} fist forward"],
                  ["strikes forward with the {side} fist", "lands a jab using the {side} arm"]),
              2: (["punches twice with the {side} hand", "throws two punches with the {side} arm",
                   "punches {times} with the {side} fist",
                   "throws a {side} punch twice", "punches straight ahead twice with the {side} fist",
                   "jabs twice with the {side} hand", "punches forward two times with the {side} hand"],
                  ["strikes forward with the {side} fist two times"]),
              3: (["punches three times with the {side} hand", "throws three punches with the {side} arm",
                   "throws three {side} punches", "jabs three times with the {side} hand",
                   "punches straight ahead three times with the {side} fist",
                   "punches forward three times with the {side} arm"],
                  ["strikes forward with the {side} fist repeatedly"])},
    "jump_forward": {1: (["jumps forward", "jumps ahead", "does a forward jump", "jumps forwards"],
                         ["bounds ahead in one leap", "springs forward"]),
                     2: (["jumps forward twice", "does two forward jumps", "jumps forward two times",
                          "jumps ahead twice"], ["springs forward two times", "bounds ahead twice in a row"]),
                     3: (["jumps forward three times", "does three forward jumps", "jumps ahead three times"],
                         ["springs forward three times", "bounds ahead thrice"])},
    **COUNTED,      # push-ups and sit-ups (phrasebook)
}


def _hop_table() -> dict[tuple[str, int], tuple[list[str], list[str]]]:
    """Hop phrasings by (way, count), way "in place" or "forward" (a travelling hop samples a distance).

    Every variant keeps count-free phrasings ("hops on one foot", the phrasebook's for hops on the spot) and
    adds ones that say the count; forward hops always say forward.
    """
    times, words = {**TIMES, 4: "four times"}, {**COUNT_WORDS, 4: "four"}
    table = {}
    for n in (1, 2, 3, 4):
        t, w = times[n], words[n]
        if n == 1:
            still = ["hops once on the {side} foot", "does a single hop on the {side} leg", "hops once on one foot"]
            ahead = ["hops forward once on the {side} foot", "does a single hop forward",
                     "hops once forward on one leg"]
        else:
            still = [f"hops {t} on the {{side}} foot", f"hops {t} on one foot", f"does {w} hops on the {{side}} leg",
                     f"hops in place {t} on the {{side}} foot"]
            ahead = [f"hops forward {t} on the {{side}} foot", f"hops {t} forward on one foot", f"does {w} hops forward",
                     f"does {w} hops forward on the {{side}} leg", f"hops ahead {t} on one leg"]
        bounces = "one bounce" if n == 1 else f"{w} bounces"
        table["in place", n] = (PHRASES["hop"][0] + still,
                                PHRASES["hop"][1] + [f"bounces {t} on a single {{side}} foot without moving"])
        table["forward", n] = (["hops forward on the {side} foot", "hops ahead on one leg", "hops forward on one foot",
                                "hops forward on the {side} leg"] + ahead,
                               ["travels ahead on a single {side} foot",
                                f"advances in {bounces} on a single {{side}} foot"])
    return table


_HOP = _hop_table()

_PLAIN = {
    "spin": (["spins around", "spins in a circle", "turns in a full circle", "does a full turn",
              "spins 360 degrees",
              "spins a full turn in place", "turns completely around once", "does a complete spin",
              "spins around and ends up facing the same way"], ["whirls about once", "rotates a whole revolution"]),
    "sit_down": (["sits down", "sits down on a chair", "takes a seat", "lowers themself into a seat", "sits",
                  "sits down in a chair", "takes a seat on a chair", "bends the knees and sits back on a chair",
                  "drops down into a chair"],
                 ["settles into a chair", "plants themself down on a seat"]),
    "stand_up": (["stands up", "gets up", "stands up from the chair", "rises from a seated position",
                  "gets up from the seat",
                  "stands up out of the chair", "gets up out of a chair", "straightens up out of a chair",
                  "straightens the legs and stands up from the seat"],
                 ["pushes up to standing", "rises to their feet"]),
    "wave_both": (["waves with both hands", "waves both arms", "waves both hands in the air",
                   "waves both hands above the head", "waves with both arms raised",
                   "lifts both hands and waves them", "waves both arms over the head side to side"],
                  ["greets with both palms overhead"]),
    "raise_both": (["raises both arms", "lifts both hands up", "puts both arms up", "raises both hands above the head",
                    "lifts both arms into the air", "holds both arms up above the head",
                    "raises the arms up over the head", "puts both hands in the air"],
                   ["reaches skyward with both hands"]),
    "clap": (["claps", "claps their hands", "claps hands", "is clapping", "claps a few times",
              "keeps clapping the hands", "brings the hands together and claps", "claps several times",
              "claps in front of the chest"],
             ["strikes the palms together repeatedly", "gives a round of applause"]),
    "bow": (["bows", "bows forward", "takes a bow", "bends forward at the waist and stands back up", "bows politely",
             "gives a bow", "bows low and straightens up again", "leans forward into a bow and comes back up",
             "bends forward in a polite bow"],
            ["inclines the upper body respectfully"]),
}


# Arm actions performed while moving (see `generate.OVERLAY_ACTIONS`): phrase suffixes for the locomotion phrase.
_OVERLAY = {
    "wave": (["while waving the {side} hand", "waving their {side} hand", "while waving with the {side} arm",
              "with the {side} hand waving"],
             ["all the while greeting with the {side} palm"]),
    "raise": (["while raising the {side} arm", "with the {side} arm raised", "holding the {side} hand up",
               "with the {side} hand held up"],
              ["keeping the {side} hand lifted skyward"]),
    "wave_both": (["while waving both hands", "waving both arms",
                   "with both hands waving"], ["all the while greeting with both palms"]),
    "raise_both": (["with both arms raised", "while holding both hands up",
                    "with both hands up in the air"], ["keeping both hands lifted skyward"]),
    "clap": (["while clapping", "clapping their hands",
              "clapping along"], ["all the while striking the palms together"]),
    "carry": (["while carrying a box", "carrying something in both hands", "holding a box",
               "with a box in their hands"],
              ["all the while hauling a package"]),
}

# Manner phrases for `styles` (training, held-out); placed after the action's phrase.
_STYLE = {
    "happily": (["happily", "in a happy way", "cheerfully", "with a spring in their step",
                 "in a cheerful mood"], ["joyfully"]),
    "sadly": (["sadly", "in a sad way", "looking sad", "with the head hanging",
               "with a sad look"], ["dejectedly"]),
    "angrily": (["angrily", "in an angry way", "looking angry", "furiously",
                 "full of anger"], ["in a rage"]),
    "tiredly": (["tiredly", "looking tired", "as if exhausted", "wearily",
                 "as if very tired"], ["in a worn-out manner"]),
    "nervously": (["nervously", "looking nervous", "anxiously", "glancing around nervously",
                   "in a nervous way"], ["jittery"]),
    "proudly": (["proudly", "confidently", "with the chest out", "in a proud way",
                 "with the head held high"], ["haughtily"]),
    "old": (["like an old person", "like an elderly man", "hunched like an old man", "like a senior",
             "like a grandpa"],
            ["as a frail pensioner would"]),
    "zombie": (["like a zombie", "as if they were a zombie", "like the walking dead",
                "like a stiff zombie"], ["in an undead shamble"]),
    "drunk": (["drunkenly", "like a drunk person", "as if drunk", "unsteadily like a drunk",
               "in a drunken way"], ["tipsily"]),
    "slowly": (["slowly", "at a slow pace", "very slowly", "leisurely",
                "without hurrying"], ["unhurriedly"]),
    "quickly": (["quickly", "fast", "at a quick pace", "in a hurry",
                 "rapidly"], ["briskly"]),
}
# Size manners (`styles.apply_size`), by (action, size); placed after the action's phrase.
_SIZE = {
    ("walk", "small"): (["with small steps", "taking small steps", "with short steps", "in tiny steps",
                         "with short quick steps"],
                        ["on little mincing feet"]),
    ("walk", "big"): (["with big steps", "taking big steps", "with long steps", "taking long strides",
                       "with large steps"],
                      ["in huge bounding paces"]),
    ("jump_in_place", "high"): (["high", "high into the air", "really high"], ["to a great height"]),
    ("jump_in_place", "low"): (["just a little off the ground", "not very high", "low"], ["barely leaving the floor"]),
    ("jump_forward", "big"): (["a long way", "far", "a big distance"], ["over a great span"]),
    ("jump_forward", "small"): (["a short distance", "just a little way", "only a small distance"],
                                ["by a tiny margin"]),
}
# Actions whose "count" is worth saying ("nods twice"); jump/squat/punch have their own counted tables.
_SAY_COUNT = {"nod", "hook", "uppercut", "push", "pull", "toe_touches", "tuck_jump", "shake_head", "torso_twists"}


def _with_overlay(train: list[str], held: list[str], overlay: dict) -> tuple[list[str], list[str]]:
    name = overlay["action"]
    side = side_of(name)
    key = name if name in _OVERLAY else name[: -len(side) - 1]
    suffix_train, suffix_held = ([p.format(side=side or "") for p in group] for group in _OVERLAY[key])
    return ([f"{p} {q}" for p in train for q in suffix_train], [f"{p} {q}" for p in held for q in suffix_held])


def phrases(action: str, params: dict) -> tuple[list[str], list[str]]:
    """(training phrasings, held-out phrasings) of one action with its parameters, slots filled."""
    side = side_of(action)
    base = action[: -len(side) - 1] if side and not action.startswith("turn") else action
    if action in _LOCOMOTION:
        train, held, curve_train, curve_held = _LOCOMOTION[action]
        if params.get("curve", 0.0) != 0.0:
            side = "left" if params["curve"] > 0 else "right"
            train, held = curve_train, curve_held
        elif action == "walk" and params.get("speed", 1.2) < 1.0:
            train = train + ["slowly " + p for p in train[:3]]
    elif action.startswith("sidestep"):
        train, held = _SIDED["sidestep"]
    elif action.startswith("turn"):
        train, held = _TURN[float(params["angle_deg"])]
    elif base == "hop":
        way = "forward" if params.get("distance", 0.0) > 0 else "in place"
        train, held = _HOP.get((way, int(params.get("count", 0))), _HOP[way, 2])
    elif base in _COUNTED:
        train, held = _COUNTED[base][int(params["count"])]
    elif base in _SIDED:
        train, held = _SIDED[base]
    elif action in _PLAIN:
        train, held = _PLAIN[action]
    elif action in PHRASES or base in PHRASES or action in ALIASES:
        train, held = PHRASES.get(action) or PHRASES.get(ALIASES.get(action, "")) or PHRASES[base]
        if base in _SAY_COUNT and params.get("count", 1) > 1:
            train = train + [f"{p} {{times}}" for p in train[:2]]
            held = [f"{p} {{times}}" for p in held]
    else:
        raise KeyError(f"no captions for action {action!r}")
    fill = {"side": side or "", "times": TIMES.get(params.get("count", 1), "")}
    train, held = [p.format(**fill) for p in train], [p.format(**fill) for p in held]
    if "overlay" in params:
        train, held = _with_overlay(train, held, params["overlay"])
    if "style" in params:
        manner_train, manner_held = _STYLE[params["style"]]
        train = [f"{p} {m}" for p in train for m in manner_train]
        held = [f"{p} {m}" for p in held for m in manner_held]
    if "size" in params:
        size_train, size_held = _SIZE[(action, params["size"])]
        train = [f"{p} {m}" for p in train for m in size_train]
        held = [f"{p} {m}" for p in held for m in size_held]
    return train, held


def training_phrasings(samples: int = 30, seed: int = 0) -> set[str]:
    """Every training phrasing the actions' samplers give, slots filled, over `samples` draws per action."""
    rng = np.random.default_rng(seed)
    return {p for label in ACTIONS for _ in range(samples) for p in phrases(label, ACTIONS[label].sample(rng))[0]}


TYPO_PROBABILITY = 0.06       # share of training captions with one slip of the keyboard, as people type


def typo(rng: np.random.Generator, text: str) -> str:
    """`text` with one typo in a word of 5+ letters: two letters swapped, one dropped, or one doubled."""
    words = [m for m in re.finditer(r"[a-z]{5,}", text)]
    if not words:
        return text
    m = words[int(rng.integers(len(words)))]
    w, i = m.group(0), int(rng.integers(1, len(m.group(0)) - 1))
    kind = int(rng.integers(3))
    if kind == 0:
        w = w[:i] + w[i + 1] + w[i] + w[i + 2:]
    elif kind == 1:
        w = w[:i] + w[i + 1:]
    else:
        w = w[:i] + w[i] + w[i:]
    return text[:m.start()] + w + text[m.end():]


def _sentence(rng, subject: str, parts: list[str], connectors) -> str:
    # Word order: most captions lead with the subject; some name the subject in a framing clause.
    frame = rng.random()
    text = subject + " " + parts[0]
    for part in parts[1:]:
        text += str(rng.choice(connectors)) + part
    if frame < 0.05:
        text = "in this clip " + text
    elif frame < 0.1:
        text = "here, " + text
    if rng.random() < 0.4:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.5:
        text += "."
    return text


def describe(rng: np.random.Generator, segments: list[tuple[str, dict]], count: int = 3, heldout: bool = False,
             typos: bool = True) -> list[str]:
    """`count` distinct-as-possible captions of a sequence of (action, params) segments.

    Training captions (not held-out ones) get an occasional typo so the model meets the way people type.
    """
    subjects, connectors = (HELDOUT_SUBJECTS, HELDOUT_CONNECTORS) if heldout else (SUBJECTS, CONNECTORS)
    options = [phrases(a, p)[1 if heldout else 0] for a, p in segments]
    return _sentences(rng, options, count, subjects, connectors, typos and not heldout)


def describe_written(rng: np.random.Generator, segments: list[tuple[str, dict]], count: int = 1) -> list[str]:
    """Training captions with each segment said in a written phrasing (`written_phrasings`) where one says it,
    in a training phrasing otherwise; [] when no segment has one (a styled walk, a curve)."""
    bank = bundled_bank()
    written = [[p for key in keys_saying(a, params, bank) for p in bank[key]] for a, params in segments]
    if not any(written):
        return []
    options = [[say_written(p, action, params) for p in own] or phrases(action, params)[0]
               for (action, params), own in zip(segments, written)]
    return _sentences(rng, options, count, SUBJECTS, CONNECTORS, typos=True)


def say_written(phrasing: str, action: str, params: dict) -> str:
    """A written phrasing with its "{side}" and "{times}" slots filled for `action` with `params` (an empty slot
    leaves no double space)."""
    filled = phrasing.format(side=side_of(action) or "", times=WRITTEN_TIMES.get(params.get("count", 1), ""))
    return " ".join(filled.split())


def _sentences(rng: np.random.Generator, options: list[list[str]], count: int, subjects, connectors,
               typos: bool) -> list[str]:
    """Up to `count` distinct sentences: a subject, then one phrasing of each segment's `options`, connected."""
    out: list[str] = []
    for _ in range(count * 4):
        text = _sentence(rng, str(rng.choice(subjects)), [str(rng.choice(o)) for o in options], connectors)
        if typos and rng.random() < TYPO_PROBABILITY:
            text = typo(rng, text)
        if text not in out:
            out.append(text)
        if len(out) == count:
            break
    return out


def describe_heldout_synonyms(rng: np.random.Generator, segments: list[tuple[str, dict]], count: int = 2) -> list[str]:
    """Training-style captions with held-out synonyms swapped in (`heldout_words`); [] if no word applies."""
    out = []
    for text in describe(rng, segments, count * 3, typos=False):
        swapped = swap_synonyms(text, rng)
        if swapped is not None and swapped not in out:
            out.append(swapped)
        if len(out) == count:
            break
    return out
