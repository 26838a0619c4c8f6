"""Tokens of procedural captions: HumanML3D-style ``lemma/POS`` for every word the caption generator can write.

Split from `captions` (which writes the phrasings) because the vocabulary grew with the wider training
language: `captions` is about what is said, this module about how each word is tagged. The tests check
that every word of every training and held-out phrasing is covered here (nothing tagged X).
"""
from __future__ import annotations

from train.data.texts import CaptionLine, caption_words, lexicon_from_spec

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
# Words of the v2 vocabulary (phrasebook, styles): verbs as form:lemma, other words by part of speech.
_VERBS += (" agree:agree balances:balance blocks:block bobs:bob bouncing:bounce bringing:bring carries:carry "
           "catches:catch celebrates:celebrate cheers:cheer circles:circle clears:clear continuing:continue "
           "covers:cover crosses:cross dances:dance dancing:dance dipping:dip doing:do dribbles:dribble "
           "dribbling:dribble drinks:drink drives:drive drops:drop elongates:elongate extends:extend "
           "favouring:favour folds:fold gazes:gaze glances:glance glancing:glance grabs:grab grooves:groove "
           "halts:halt hauls:haul heads:head hits:hit hobbles:hobble holds:hold hooks:hook hugging:hug "
           "hunkers:hunker indicates:indicate keeps:keep kneels:kneel launches:launch leans:lean limps:limp "
           "limping:limp lobs:lob looking:look looks:look loosen:loosen lunges:lunge lurches:lurch "
           "marches:march marching:march nods:nod offers:offer parades:parade pauses:pause peers:peer "
           "picks:pick pitches:pitch places:place plays:play points:point pulls:pull pumps:pump resumes:resume "
           "rests:rest retrieves:retrieve returns:return ripples:ripple rocks:rock rubs:rub salutes:salute "
           "say:say scratches:scratch sets:set shakes:shake shields:shield shoots:shoot shoves:shove "
           "shrugs:shrug sips:sip sprinting:sprint squares:square staggers:stagger starts:start stays:stay "
           "stops:stop stretches:stretch stumbles:stumble surveys:survey sways:sway tears:tear thrown:throw "
           "thrusts:thrust tilts:tilt touches:touch treads:tread twists:twist weaves:weave whips:whip "
           "moving:move hanging:hang held:hold crossed:cross folded:fold know:know jumping:jump "
           "carrying:carry hauling:haul walking:walk angles:angle zigzags:zigzag "
           # held-out synonyms (never in training text) still get their lemma and part of speech
           "saunters:saunter strolling:stroll tosses:toss hurls:hurl scoops:scoop"
           # floor actions
           " comes:come sitting:sit uncrosses:uncross unfolds:unfold")
_LEXICON_SPEC["NOUN"] += (" angle ball ballerina ballet balls barrier baseball basket basketball bat beat belly blow box "
                          "ceiling chest chin club confusion court cup dancer disagreement agreement distance "
                          "fastball finger fingers fists floor football footwork forearms forehand backhand glass "
                          "goal golf ground guard hips hoop hurdle hurry item jacks knee loop loops manner mound "
                          "mug music object obstacle package pattern pensioner pitcher prizefighter rage rear "
                          "rhythm rim room rope scalp senior shamble shelf shin shot shoulder shoulders sky slant "
                          "soldier something stance star surroundings tee tennis toe toes top torso track trunk "
                          "uncertainty zigzag zig zag lunge spin salute shrug stretch twist wave dance drink hook "
                          "cut heel balance uppercut crouch limp march tuck strike swing roundhouse index zombie "
                          "pitch palms block bound hit pirouette racket revolution salsa spring clip")
_LEXICON_SPEC["ADJ"] += (" angry basic big circular close closer curved deep diagonal dominant drunk elderly far flat "
                         "frail happy heavy high imaginary incoming latin little long low military most nervous old "
                         "outstretched overhand underhand underarm possible proud quick sad single single-leg "
                         "sixties slow small soccer star-shaped tired undead wavy whole worn-out boxing fighting "
                         "kneeling hunched dead jittery 45 135 exhausted split")
_LEXICON_SPEC["ADV"] += (" angrily anxiously briskly cheerfully confidently dejectedly diagonally drunkenly furiously "
                         "gently happily haughtily joyfully leisurely nervously proudly rhythmically sadly sharply "
                         "slightly steeply tipsily tiredly unhurriedly unsteadily very wearily wildly forth off out "
                         "away briefly mid-way yes no partly here")
_LEXICON_SPEC["ADP"] += " across against as before below like over under without onto"
_LEXICON_SPEC["PRON"] += " them they i"
_LEXICON_SPEC["NOUN"] += " legs"          # floor actions
_LEXICON_SPEC["ADV"] += " cross-legged"
_LEXICON_SPEC["SCONJ"] = "if"
_LEXICON_SPEC["AUX"] += " were would"
# Floor actions: lying down and up, floor exercises.
_VERBS += " lies:lie lying:lie reclines:recline curls:curl presses:press drops:drop crawls:crawl"
_LEXICON_SPEC["NOUN"] += " time push-up push-ups sit-up sit-ups crunch crunches press-ups curl-ups mat series baby fours stomach front"
_LEXICON_SPEC["ADJ"] += " several supine prone"
# Locomotion v2 (skipping, stairs, size words).
_VERBS += " skips:skip skipping:skip hopping:hop"
_LEXICON_SPEC["NOUN"] += " stairs staircase flight bounce strides paces height span margin"
_LEXICON_SPEC["ADV"] += " really barely just only"
_LEXICON_SPEC["ADJ"] += " short tiny mincing huge great"
_VERBS += " leaving:leave taking:take bounding:bound climbs:climb comes:come ascends:ascend descends:descend"
_VERBS += " scales:scale"          # held-out synonym of "climbs"
_LEXICON_SPEC["ADJ"] += " other"
_LEXICON_SPEC["DET"] += " each some"
# Travelling and counted hops.
_VERBS += " advances:advance"
_LEXICON_SPEC["NOUN"] += " hop"
_LEXICON_SPEC["ADJ"] += " four"
# Wider training language (more phrasings per action).
_VERBS += (" breaks:break brings:bring changes:change checks:check follows:follow scans:scan shifts:shift sinks:sink "
           "snaps:snap straightens:straighten tips:tip totters:totter travels:travel tucks:tuck winds:wind "
           "wobbles:wobble ends:end started:start came:come going:go heard:hear pulled:pull pumping:pump "
           "swinging:swing twisting:twist trying:try opening:open closing:close cutting:cut lifting:lift "
           "facing:face falling:fall hurrying:hurry hooking:hook veering:veer ask:ask look:look pick:pick "
           "reach:reach protect:protect touch:touch lie:lie cheer:cheer fall:fall sit:sit")
_LEXICON_SPEC["NOUN"] += (" anger area bit bottle batter boxer bunch couple elbows fence forehead golfer grandpa heels "
                          "moment mood mouth pose question quarter ring row sides weight run sprint start stop shake "
                          "bend nod")
_LEXICON_SPEC["ADJ"] += " bad cheerful complete drunken half injured light relaxed same slight stiff tall unsteady wide more"
_LEXICON_SPEC["ADV"] += (" almost anywhere apart carefully completely downward gradually hard lightly nearly rapidly "
                         "steadily unevenly still where behind")
_LEXICON_SPEC["ADP"] += " than through"
_LEXICON_SPEC["DET"] += " every"
_LEXICON_SPEC["AUX"] += " be can do"
_LEXICON_SPEC["PART"] = "not"
_LEXICON_SPEC["ADJ"] += " polite puzzled"
_LEXICON_SPEC["NOUN"] += " goodbye"
LEXICON: dict[str, str] = lexicon_from_spec(_LEXICON_SPEC)
for _pair in _VERBS.split():
    _w, _lemma = _pair.split(":")
    LEXICON[_w] = f"{_lemma}/VERB"
for _side in ("left", "right"):
    LEXICON[f"{_side}-bending"] = f"{_side}-bending/ADJ"
    LEXICON[f"{_side}ward"] = f"{_side}ward/ADV"
LEXICON["is"], LEXICON["does"] = "be/AUX", "do/VERB"


def tokens(caption: str) -> tuple[str, ...]:
    """HumanML3D-style tokens; a word outside the lexicon is tagged X (the tests keep that from happening)."""
    return tuple(LEXICON.get(w, f"{w}/X") for w in caption_words(caption))


def caption_lines(captions: list[str], start: float = 0.0, end: float = 0.0) -> list[CaptionLine]:
    return [CaptionLine(c, tokens(c), start, end) for c in captions]
