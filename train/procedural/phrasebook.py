"""Phrasings of the actions added in corpus v2: name -> (training phrasings, held-out paraphrases).

"{side}" is filled with left/right for sided actions (registered as <name>_left / <name>_right), "{times}"
with once/twice/three times. Held-out paraphrases use different wording from every training phrasing, and
none of them (nor any training phrasing) uses a held-out synonym (`heldout_words`): those are reserved for
the synonym evaluation set. The older 27 actions keep their tables in `captions`.
"""
from __future__ import annotations


def _split(spec: tuple[str, str]) -> tuple[list[str], list[str]]:
    return [p.strip() for p in spec[0].split("|")], [p.strip() for p in spec[1].split("|")]


_SPEC = {
    # locomotion
    "sprint": ("sprints forward|sprints as fast as possible|runs at full speed|is sprinting ahead|runs very fast",
               "goes flat out down the track|tears ahead at top speed"),
    "tiptoe": ("tiptoes forward|walks on tiptoes|walks forward on their toes|tiptoes quietly ahead",
               "creeps along on the balls of the feet"),
    "march": ("marches forward|marches like a soldier|is marching ahead|walks forward in a march",
              "parades ahead with high steps"),
    "limp": ("limps forward|walks with a limp|is limping ahead|walks forward limping",
             "hobbles ahead favouring one leg"),
    "stagger": ("staggers forward|stumbles forward unsteadily|walks forward unsteadily|staggers around",
                "lurches ahead off balance"),
    "jog_backward": ("jogs backward|jogs backwards|runs backwards slowly|is jogging in reverse",
                     "trots in reverse"),
    "walk_diagonal": ("walks diagonally forward to the {side}|walks forward and to the {side}|"
                      "walks at an angle to the {side}|moves diagonally to the {side}",
                      "heads off on a slant toward the {side}"),
    "walk_circle": ("walks in a circle to the {side}|walks around in a circle|walks a full circle turning {side}|"
                    "circles around to the {side} on foot",
                    "completes a loop on foot bearing {side}"),
    "run_circle": ("runs in a circle|runs around in a big circle|is running in circles",
                   "races round a loop"),
    "walk_zigzag": ("walks in a zigzag|zigzags forward|walks forward in a zig zag pattern|walks side to side in a zigzag",
                    "weaves ahead from side to side"),
    "walk_stop_go": ("walks forward, stops, then keeps walking|walks, pauses, and walks on|"
                     "walks forward and stops briefly before continuing|starts walking, stops and starts again",
                     "halts mid-way and then resumes on foot"),
    "skip": ("skips forward|skips along happily|is skipping ahead|skips forward hopping on each foot in turn",
             "bounds ahead with a little bounce off one foot then the other"),
    "stairs": ("walks up a few stairs and down the other side|climbs up some steps and walks back down|"
               "goes up a short flight of stairs and comes down again|walks up the steps and then down the steps",
               "ascends a small staircase and descends the far side"),
    # turns and looking
    "look": ("looks to the {side}|turns the head to the {side}|glances {side}|looks over to the {side}",
             "peers toward the {side}"),
    "look_around": ("looks around|looks left and right|looks around the room|glances around",
                    "surveys the surroundings"),
    "look_up": ("looks up|looks up at the sky|tilts the head back and looks up|looks upward",
                "gazes at the ceiling"),
    "look_down": ("looks down|looks down at the floor|lowers the head and looks down|looks at the ground",
                  "gazes at the feet"),
    # jumps
    "jump_backward": ("jumps backward|jumps backwards|does a jump back|jumps back", "springs to the rear"),
    "jump_sideways": ("jumps to the {side}|jumps sideways to the {side}|does a side jump to the {side}",
                      "springs across toward the {side}"),
    "long_jump": ("does a long jump|jumps as far as possible|does a standing long jump|jumps far forward",
                  "covers a big distance in a single bound"),
    "jump_over": ("jumps over an obstacle|jumps over something|jumps over a small hurdle|jumps over a box",
                  "clears a barrier in one bound"),
    "tuck_jump": ("does a tuck jump|jumps and pulls the knees up|jumps high bringing the knees to the chest",
                  "springs up hugging the knees in the air"),
    "jumping_jacks": ("does jumping jacks|does star jumps|is doing jumping jacks|performs jumping jacks",
                      "completes a few star-shaped bounces"),
    "hop": ("hops on the {side} foot|hops on one foot|hops on the {side} leg|jumps on one leg", 
            "bounces along on a single {side} foot"),
    # postures
    "crouch": ("crouches down|crouches low|gets down into a crouch|crouches and stays low",
               "hunkers close to the floor"),
    "sit_ground": ("sits down on the floor|sits on the ground|sits down on the ground|takes a seat on the floor",
                   "settles onto the floor"),
    "get_up_ground": ("gets up from the floor|stands up from the ground|gets up off the ground|rises from the floor",
                      "pushes up off the floor to standing"),
    "sit_cross_legged": ("sits down cross-legged|sits cross-legged on the floor|sits down on the ground with crossed legs|"
                         "takes a cross-legged seat on the floor", "folds the legs under and settles on the floor"),
    "stand_up_cross_legged": ("stands up from sitting cross-legged|uncrosses the legs and stands up|"
                              "gets up from a cross-legged seat|rises from sitting cross-legged on the floor",
                              "unfolds the crossed legs and comes up to standing"),
    "lie_down": ("lies down on the floor|lies down on their back|lies down|lies down on the ground|"
                 "gets down and lies flat on the floor|lies flat on their back on the ground",
                 "reclines face up on the ground"),
    "get_up": ("gets up from lying on the floor|stands up after lying down|rises from lying down|"
               "gets back up from lying on their back|gets up off the floor after lying down",
               "comes up to standing from a supine position"),
    "lie_down_stomach": ("lies down on their stomach|lies face down on the floor|lies down on the belly|"
                         "gets down and lies on their stomach|lies down flat on their front",
                         "goes prone on the ground"),
    "get_up_stomach": ("gets up from lying on their stomach|gets up from lying face down|"
                       "pushes up off the floor from their stomach and stands up|stands up after lying on their front",
                       "rises from a prone position"),
    "kneel_both": ("kneels down on both knees|gets down on their knees|kneels|goes down on both knees",
                   "drops to a kneeling position"),
    "kneel": ("kneels on the {side} knee|goes down on one knee|kneels on one knee|gets down on the {side} knee",
              "takes a knee on the {side}"),
    "lunge": ("does a lunge with the {side} leg|lunges forward with the {side} leg|steps forward into a lunge|lunges",
              "steps out into a deep split stance on the {side}"),
    "balance": ("stands on one leg|balances on one leg|lifts the {side} foot and balances|stands on one foot",
                "holds a single-leg stance raising the {side} foot"),
    # arms
    "point": ("points with the {side} hand|points forward with the {side} arm|points at something|points ahead",
              "indicates something in front using the {side} index finger"),
    "reach_up": ("reaches up with the {side} hand|reaches up high|reaches for something above|stretches the {side} arm up",
                 "grabs toward a high shelf using the {side} arm"),
    "reach_side": ("reaches out to the {side}|reaches sideways with the {side} arm|extends the {side} arm to the side",
                   "stretches an arm out laterally toward the {side}"),
    "scratch_head": ("scratches their head|scratches the head with the {side} hand|scratches their head in confusion",
                     "rubs the scalp with the {side} fingers"),
    "drink": ("drinks from a cup|takes a drink|drinks with the {side} hand|raises a glass and drinks",
              "sips from a mug held in the {side} hand"),
    "throw_overhand": ("throws a ball overhand|throws something with the {side} hand|throws overhand with the {side} arm|throws a ball",
                       "launches an object over the shoulder with the {side} arm"),
    "throw_underhand": ("throws underhand|throws a ball underhand with the {side} hand|"
                        "throws something underarm", "lobs an object from below the waist with the {side} arm"),
    "arm_stretch": ("stretches the {side} arm across the chest|does an arm stretch|stretches the {side} arm",
                    "pulls the {side} arm across the body to loosen it"),
    "salute": ("salutes|gives a salute|salutes with the right hand|stands and salutes", "offers a military greeting"),
    "shrug": ("shrugs|shrugs their shoulders|shrugs with palms up|gives a shrug",
              "lifts the shoulders in uncertainty"),
    "cheer": ("cheers with both arms up|cheers|celebrates with arms in the air|pumps both fists in the air",
              "celebrates wildly overhead"),
    "catch": ("catches a ball|catches something with both hands|catches an object thrown at them",
              "grabs an incoming object out of the air"),
    "reach_forward": ("reaches forward with both hands|reaches out in front|extends both arms forward",
                      "stretches both hands out ahead"),
    "reach_up_both": ("reaches up with both hands|reaches up high with both arms|reaches for something overhead",
                      "grabs toward a high shelf using both arms"),
    "pick_up": ("picks something up from the floor|bends down and picks up an object|picks up a box from the ground|"
                "picks something up", "retrieves an item off the floor"),
    "put_down": ("puts something down on the floor|bends down and puts an object down|sets a box down on the ground|"
                 "puts something down", "places an item onto the floor"),
    "carry": ("carries a box|holds a box in front of them|carries something with both hands",
              "holds a package against the belly"),
    "push": ("pushes something in front of them|pushes with both hands|pushes forward|pushes a heavy object",
             "shoves an object away with both palms"),
    "pull": ("pulls something toward them|pulls with both hands|pulls a rope|pulls back on something",
             "hauls an object closer with both hands"),
    "stretch_up": ("stretches both arms up|stretches upward|stretches the arms over the head|stretches",
                   "elongates the whole body toward the ceiling"),
    "arm_circles": ("does arm circles|circles both arms|rotates the arms in circles|swings the arms in circles",
                    "makes round loops with the outstretched arms"),
    "cross_arms": ("crosses their arms|folds the arms across the chest|stands with arms crossed|crosses both arms",
                   "stands with folded arms"),
    "hands_on_hips": ("puts their hands on the hips|stands with hands on hips|places both hands on the hips",
                      "rests the fists on the waist"),
    "nod": ("nods|nods the head|nods yes|nods in agreement", "inclines the head to agree"),
    "shake_head": ("shakes the head|shakes their head no|shakes the head in disagreement",
                   "signals no by turning the head side to side"),
    # combat
    "hook": ("throws a {side} hook|punches with a {side} hook|does a {side} hook punch|hooks with the {side} fist",
             "swings a curved blow using the {side} fist"),
    "uppercut": ("throws a {side} uppercut|does an uppercut with the {side} hand|punches upward with the {side} fist",
                 "drives the {side} fist up under an imaginary chin"),
    "side_kick": ("does a side kick with the {side} leg|kicks sideways with the {side} foot|kicks to the {side} side",
                  "thrusts the {side} heel out laterally"),
    "roundhouse_kick": ("does a roundhouse kick with the {side} leg|does a {side} roundhouse kick|"
                        "throws a roundhouse kick", "whips the {side} shin around in a circular strike"),
    "block": ("blocks with both arms|raises the arms to block|puts up a guard to block a hit|blocks",
              "shields the face with the forearms"),
    "boxing_stance": ("stands in a boxing stance|bounces in a boxing stance|takes a fighting stance|"
                      "is in a boxing guard", "squares up like a prizefighter"),
    # sports
    "golf_swing": ("swings a golf club|does a golf swing|plays golf|takes a golf swing", "drives a ball off the tee"),
    "baseball_swing": ("swings a baseball bat|swings a bat|hits a baseball|does a baseball swing",
                       "takes a cut at a pitch"),
    "baseball_pitch": ("pitches a baseball|throws a pitch|pitches a ball like a baseball pitcher",
                       "delivers a fastball from the mound"),
    "tennis_forehand": ("hits a tennis forehand|swings a tennis racket forehand|does a forehand|plays a forehand shot",
                        "strikes the ball on the dominant side"),
    "tennis_backhand": ("hits a tennis backhand|swings a tennis racket backhand|does a backhand|plays a backhand shot",
                        "returns the ball across the body with the racket"),
    "basketball_dribble": ("dribbles a basketball|bounces a basketball|dribbles a ball in place|is dribbling",
                           "keeps a ball bouncing off the court"),
    "basketball_shot": ("shoots a basketball|takes a jump shot|shoots a ball at the hoop|throws a basketball at the basket",
                        "puts up a shot toward the rim"),
    "soccer_kick": ("kicks a soccer ball|kicks a football|kicks a ball with the right foot|shoots a soccer ball",
                    "strikes a ball toward the goal"),
    # dance
    "sway": ("sways side to side|sways from side to side|sways to the music|rocks side to side",
             "rocks gently along with a rhythm"),
    "twist": ("dances the twist|does the twist|twists the hips while dancing|twists back and forth",
              "swivels the torso in a sixties dance"),
    "bounce": ("bounces to the music|bounces up and down|bobs up and down to a beat|bounces on the knees",
               "grooves by dipping rhythmically"),
    "dance_arm_waves": ("dances with wavy arms|does arm waves|waves the arms like a wave while dancing",
                        "ripples both arms in a dance"),
    "salsa_basic": ("dances salsa|does the salsa basic step|dances a salsa step|salsa dances",
                    "performs latin footwork forward and back"),
    "pirouette": ("does a pirouette|spins like a ballerina|does a ballet spin|turns a pirouette",
                  "rotates on the spot with arms above the head like a dancer"),
    # exercise
    "toe_touches": ("touches the toes|does toe touches|bends down and touches the toes|reaches down to the toes",
                    "folds forward to the feet"),
    "torso_twists": ("does torso twists|twists the torso left and right|rotates the upper body side to side",
                     "swivels the trunk with arms held out"),
    "side_stretch": ("does a side stretch to the {side}|stretches the {side} side|leans sideways with the {side} arm over the head",
                     "bends laterally with the {side} arm overhead"),
    "crawl": ("crawls forward on all fours|crawls on hands and knees|crawls forward|gets down and crawls forward|"
              "crawls along the floor on all fours", "creeps ahead like a baby"),
    "crawl_backward": ("crawls backward on all fours|crawls backwards on hands and knees|crawls backward|"
                       "gets down and crawls backwards", "creeps in reverse like a baby"),
    "march_in_place": ("marches in place|marches on the spot|walks in place|steps in place",
                       "treads on the spot without moving"),
    "high_knees": ("does high knees|runs in place with high knees|lifts the knees high in place",
                   "drives the knees up on the spot"),
}

PHRASES: dict[str, tuple[list[str], list[str]]] = {name: _split(spec) for name, spec in _SPEC.items()}

# Counted floor exercises: count -> phrasings; 4 stands for "many" (the corpus does four).
_COUNTED_SPEC = {
    "push_ups": {1: ("does a push-up|does one push-up|gets down and does a push-up|does a single push-up",
                     "lowers the chest to the floor and presses back up one time"),
                 2: ("does two push-ups|does push-ups twice|gets down and does two push-ups",
                     "presses the body up from the floor two times"),
                 3: ("does three push-ups|does push-ups three times|gets down and does three push-ups",
                     "completes a set of three press-ups"),
                 4: ("does push-ups|does several push-ups|keeps doing push-ups|does push-ups repeatedly|"
                     "drops down and does push-ups", "performs a series of press-ups")},
    "sit_ups": {1: ("does a sit-up|does one sit-up|does a crunch|does a single sit-up on the floor",
                    "curls the torso up off the mat one time"),
                2: ("does two sit-ups|does sit-ups twice|does two crunches",
                    "curls the torso up off the mat two times"),
                3: ("does three sit-ups|does sit-ups three times|does three crunches",
                    "completes a set of three curl-ups"),
                4: ("does sit-ups|does crunches|keeps doing sit-ups|does sit-ups repeatedly|"
                    "does several sit-ups on the floor", "performs a series of curl-ups on the mat")},
}
COUNTED: dict[str, dict[int, tuple[list[str], list[str]]]] = {
    name: {count: _split(spec) for count, spec in table.items()} for name, table in _COUNTED_SPEC.items()}
# Base names whose registered actions carry a side suffix but whose side is not the x direction of travel.
ALIASES = {"jump_left": "jump_sideways", "jump_right": "jump_sideways", "hop_left": "hop", "hop_right": "hop",
           "walk_circle_left": "walk_circle", "walk_circle_right": "walk_circle"}
