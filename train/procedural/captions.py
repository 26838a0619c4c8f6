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

from train.data.texts import CaptionLine

COUNT_WORDS = {1: "one", 2: "two", 3: "three"}
TIMES = {1: "once", 2: "twice", 3: "three times"}

SUBJECTS = ("a person", "someone", "the person", "a man", "the man", "a woman", "the woman", "somebody",
            "a figure", "this person", "a human", "the figure")
HELDOUT_SUBJECTS = ("an individual", "the character", "a guy")
CONNECTORS = (", then ", " and then ", ", and then ", " then ", ", after that ")
HELDOUT_CONNECTORS = (" and afterwards ", ", subsequently ")

_LOCOMOTION = {
    "walk": (["walks forward", "walks ahead", "walks forwards", "is walking forward", "strolls forward",
              "walks straight ahead", "takes a few steps forward", "walks in a straight line", "moves forward"],
             ["paces ahead", "proceeds forward on foot", "ambles onward"],
             ["walks forward while curving to the {side}", "walks in a curve to the {side}", "walks and veers {side}",
              "walks along a path curving {side}"],
             ["ambles along an arc bearing {side}"]),
    "jog": (["jogs forward", "is jogging", "jogs ahead", "jogs forwards", "jogs in a straight line",
             "goes for a jog forward"],
            ["trots ahead at an easy pace", "lopes forward"],
            ["jogs in a curve to the {side}", "jogs while turning {side}"],
            ["lopes along an arc bearing {side}"]),
    "run": (["runs forward", "is running", "runs ahead", "sprints forward", "runs quickly forward", "dashes forward",
             "runs fast"],
            ["races ahead at full speed", "bolts forward"],
            ["runs in a curve to the {side}", "runs and curves {side}"],
            ["races along an arc bearing {side}"]),
    "sneak": (["sneaks forward", "tiptoes forward", "walks forward stealthily", "creeps forward",
               "sneaks ahead quietly", "is sneaking forward"],
              ["prowls ahead cautiously", "stalks forward on soft feet"], [], []),
    "walk_backward": (["walks backward", "walks backwards", "steps backwards", "moves backward",
                       "is walking backwards", "walks in reverse", "backs up"],
                      ["retreats step by step", "reverses on foot"], [], []),
}

_SIDED = {
    "sidestep": (["sidesteps to the {side}", "steps sideways to the {side}", "shuffles to the {side}",
                  "moves sideways to the {side}", "side steps {side}", "walks sideways to the {side}"],
                 ["crab-walks toward the {side}", "slides laterally toward the {side}"]),
    "kick": (["kicks with the {side} leg", "kicks with their {side} foot", "does a {side} kick",
              "kicks forward with the {side} leg", "kicks with the {side} foot", "performs a kick with the {side} leg"],
             ["delivers a front kick using the {side} leg", "swings the {side} foot forward in a kick"]),
    "wave": (["waves with the {side} hand", "waves their {side} hand", "raises the {side} hand and waves",
              "waves hello with the {side} hand", "is waving with the {side} hand", "waves the {side} arm"],
             ["greets someone by waving the {side} palm", "signals hello using the {side} arm"]),
    "raise": (["raises the {side} arm", "raises their {side} hand", "lifts the {side} arm up", "puts the {side} hand up",
               "raises their {side} arm and lowers it"],
              ["elevates the {side} arm overhead", "reaches skyward with the {side} hand"]),
}

_TURN = {
    90.0: (["turns {side}", "turns to the {side}", "turns 90 degrees to the {side}", "makes a {side} turn",
            "rotates to the {side}", "turns to face {side}"],
           ["pivots toward the {side}", "swivels {side}ward"]),
    180.0: (["turns around", "turns around to the {side}", "turns 180 degrees", "does an about-face"],
            ["reverses direction by pivoting", "pivots to face the opposite way"]),
}

_COUNTED = {
    "jump_in_place": {1: (["jumps", "jumps up", "jumps in place", "hops in place", "does a jump", "jumps straight up"],
                          ["leaps upward on the spot"]),
                      2: (["jumps twice", "jumps up and down twice", "jumps two times", "hops in place twice"],
                          ["springs into the air two times"]),
                      3: (["jumps three times", "jumps up and down three times", "hops in place three times"],
                          ["bounces upward thrice"])},
    "squat": {1: (["squats", "squats down and stands back up", "does a squat", "performs a squat",
                   "crouches down and gets back up"],
                  ["bends the knees deeply and rises again"]),
              2: (["squats twice", "does two squats", "performs two squats"], ["dips into a squat two times"]),
              3: (["does three squats", "squats three times", "performs three squats"],
                  ["completes a set of three squats"])},
    "punch": {1: (["punches with the {side} hand", "throws a {side} punch", "punches forward with the {side} fist",
                   "punches with the {side} arm", "jabs with the {side} hand"],
                  ["strikes forward with the {side} fist", "lands a jab using the {side} arm"]),
              2: (["punches twice with the {side} hand", "throws two punches with the {side} arm",
                   "punches {times} with the {side} fist"],
                  ["strikes forward with the {side} fist two times"]),
              3: (["punches three times with the {side} hand", "throws three punches with the {side} arm"],
                  ["strikes forward with the {side} fist repeatedly"])},
}

_PLAIN = {
    "spin": (["spins around", "spins in a circle", "turns in a full circle", "does a full turn", "twirls around",
              "spins 360 degrees"], ["whirls about once", "pirouettes"]),
    "jump_forward": (["jumps forward", "leaps forward", "jumps ahead", "hops forward", "does a forward jump",
                      "jumps forwards"], ["bounds ahead in one leap", "springs forward"]),
    "sit_down": (["sits down", "sits down on a chair", "takes a seat", "lowers themself into a seat", "sits"],
                 ["settles into a chair", "plants themself down on a seat"]),
    "stand_up": (["stands up", "gets up", "stands up from the chair", "rises from a seated position",
                  "gets up from the seat"], ["pushes up to standing", "rises to their feet"]),
    "wave_both": (["waves with both hands", "waves both arms", "waves both hands in the air"],
                  ["greets with both palms overhead"]),
    "raise_both": (["raises both arms", "lifts both hands up", "puts both arms up", "raises both hands above the head"],
                   ["reaches skyward with both hands"]),
    "clap": (["claps", "claps their hands", "claps hands", "is clapping", "claps a few times", "applauds"],
             ["strikes the palms together repeatedly", "gives a round of applause"]),
    "bow": (["bows", "bows forward", "takes a bow", "bends forward at the waist and stands back up", "bows politely"],
            ["inclines the upper body respectfully"]),
}


# Arm actions performed while moving (see `generate.OVERLAY_ACTIONS`): phrase suffixes for the locomotion phrase.
_OVERLAY = {
    "wave": (["while waving the {side} hand", "waving their {side} hand", "while waving with the {side} arm"],
             ["all the while greeting with the {side} palm"]),
    "raise": (["while raising the {side} arm", "with the {side} arm raised", "holding the {side} hand up"],
              ["keeping the {side} hand lifted skyward"]),
    "wave_both": (["while waving both hands", "waving both arms"], ["all the while greeting with both palms"]),
    "raise_both": (["with both arms raised", "while holding both hands up"], ["keeping both hands lifted skyward"]),
    "clap": (["while clapping", "clapping their hands"], ["all the while striking the palms together"]),
}


def _with_overlay(train: list[str], held: list[str], overlay: dict) -> tuple[list[str], list[str]]:
    name = overlay["action"]
    side = _side_of(name)
    key = name if name in _OVERLAY else name[: -len(side) - 1]
    suffix_train, suffix_held = ([p.format(side=side or "") for p in group] for group in _OVERLAY[key])
    return ([f"{p} {q}" for p in train for q in suffix_train], [f"{p} {q}" for p in held for q in suffix_held])


def _side_of(action: str) -> str | None:
    for side in ("left", "right"):
        if action.endswith("_" + side):
            return side
    return None


def phrases(action: str, params: dict) -> tuple[list[str], list[str]]:
    """(training phrasings, held-out phrasings) of one action with its parameters, slots filled."""
    side = _side_of(action)
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
    elif base in _COUNTED:
        train, held = _COUNTED[base][int(params["count"])]
    elif base in _SIDED:
        train, held = _SIDED[base]
    elif action in _PLAIN:
        train, held = _PLAIN[action]
    else:
        raise KeyError(f"no captions for action {action!r}")
    fill = {"side": side or "", "times": TIMES.get(params.get("count", 1), "")}
    train, held = [p.format(**fill) for p in train], [p.format(**fill) for p in held]
    if "overlay" in params:
        train, held = _with_overlay(train, held, params["overlay"])
    return train, held


def _sentence(rng, subject: str, parts: list[str], connectors) -> str:
    text = subject + " " + parts[0]
    for part in parts[1:]:
        text += str(rng.choice(connectors)) + part
    if rng.random() < 0.4:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.5:
        text += "."
    return text


def describe(rng: np.random.Generator, segments: list[tuple[str, dict]], count: int = 3, heldout: bool = False) -> list[str]:
    """`count` distinct-as-possible captions of a sequence of (action, params) segments."""
    subjects, connectors = (HELDOUT_SUBJECTS, HELDOUT_CONNECTORS) if heldout else (SUBJECTS, CONNECTORS)
    options = [phrases(a, p)[1 if heldout else 0] for a, p in segments]
    out: list[str] = []
    for _ in range(count * 4):
        text = _sentence(rng, str(rng.choice(subjects)), [str(rng.choice(o)) for o in options], connectors)
        if text not in out:
            out.append(text)
        if len(out) == count:
            break
    return out


# --------------------------------------------------------------------------------------------------------
# Tokens: lemma/POS for every word the generator can write.

_LEXICON_SPEC = {
    "DET": "a an the this their both all",
    "PRON": "someone somebody themself it",
    "NOUN": "while place side knees leap person man woman figure human individual character guy line steps step chair seat position leg foot "
            "feet hand hands arm arms fist palm palms air head squat squats set jab kick punch punches circle turn "
            "jump bow path curve arc degrees waist body pace speed direction way spot times round applause jog "
            "about-face reverse",
    "ADJ": "left right straight full few seated easy opposite soft upper front one two three 90 180 360 "
           "{side}-bending",
    "ADV": "about around upward forward forwards ahead backward backwards sideways then after that afterwards subsequently slowly quickly "
           "fast stealthily quietly cautiously onward up down back once twice thrice laterally repeatedly overhead "
           "skyward deeply politely respectfully again hello together leftward rightward",
    "ADP": "for in to with while along of on at into from by toward above using",
    "CCONJ": "and",
    "AUX": "is does",
}
_VERBS = ("walks:walk walking:walk strolls:stroll takes:take moves:move paces:pace proceeds:proceed ambles:amble "
          "veers:veer curving:curve curves:curve jogs:jog jogging:jog goes:go trots:trot lopes:lope turning:turn "
          "runs:run running:run sprints:sprint dashes:dash races:race bolts:bolt sneaks:sneak sneaking:sneak "
          "tiptoes:tiptoe creeps:creep prowls:prowl stalks:stalk steps:step backs:back retreats:retreat "
          "reverses:reverse sidesteps:sidestep shuffles:shuffle crab-walks:crab-walk slides:slide kicks:kick "
          "performs:perform delivers:deliver swings:swing waves:wave waving:wave raises:raise greets:greet "
          "signals:signal lifts:lift puts:put lowers:lower elevates:elevate reaches:reach turns:turn makes:make "
          "rotates:rotate face:face pivots:pivot pivoting:pivot bearing:bear swivels:swivel spins:spin twirls:twirl whirls:whirl "
          "pirouettes:pirouette jumps:jump hops:hop leaps:leap springs:spring bounces:bounce bounds:bound "
          "squats:squat crouches:crouch gets:get stands:stand bends:bend rises:rise dips:dip completes:complete "
          "punches:punch throws:throw jabs:jab strikes:strike lands:land sits:sit settles:settle plants:plant "
          "pushes:push standing:stand holding:hold keeping:keep greeting:greet lifted:lift raised:raise striking:strike raising:raise claps:clap clapping:clap applauds:applaud gives:give bows:bow inclines:incline "
          "does:do")
LEXICON: dict[str, str] = {}
for _pos, _words in _LEXICON_SPEC.items():
    for _w in _words.split():
        LEXICON.setdefault(_w, f"{_w}/{_pos}")
for _pair in _VERBS.split():
    _w, _lemma = _pair.split(":")
    LEXICON[_w] = f"{_lemma}/VERB"
for _side in ("left", "right"):
    LEXICON[f"{_side}-bending"] = f"{_side}-bending/ADJ"
    LEXICON[f"{_side}ward"] = f"{_side}ward/ADV"
LEXICON["is"], LEXICON["does"] = "be/AUX", "do/VERB"

_WORD = re.compile(r"[a-z0-9\-]+")


def tokens(caption: str) -> tuple[str, ...]:
    """HumanML3D-style tokens; a word outside the lexicon is tagged X (the tests keep that from happening)."""
    return tuple(LEXICON.get(w, f"{w}/X") for w in _WORD.findall(caption.lower()))


def caption_lines(captions: list[str], start: float = 0.0, end: float = 0.0) -> list[CaptionLine]:
    return [CaptionLine(c, tokens(c), start, end) for c in captions]
