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
    "sprint": (("sprints forward|sprints as fast as possible|runs at full speed|is sprinting ahead|runs very fast"
                "|runs forward as fast as they can|breaks into a sprint|sprints ahead pumping the arms hard"
                "|runs all out in a straight line"),
               "goes flat out down the track|tears ahead at top speed"),
    "tiptoe": (("tiptoes forward|walks on tiptoes|walks forward on their toes|tiptoes quietly ahead"
                "|walks forward on the tips of the toes|tiptoes ahead with the heels raised"
                "|steps lightly forward on the toes|walks up on the toes quietly"),
               "creeps along on the balls of the feet"),
    "march": (("marches forward|marches like a soldier|is marching ahead|walks forward in a march"
               "|marches ahead in step|marches with the knees lifted and arms swinging"
               "|strides forward in a military march|marches forward swinging the arms"),
              "parades ahead with high steps"),
    "limp": (("limps forward|walks with a limp|is limping ahead|walks forward limping"
              "|limps along|walks forward on an injured leg|walks unevenly with a limp|walks forward with a bad leg"),
             "hobbles ahead favouring one leg"),
    "stagger": (("staggers forward|stumbles forward unsteadily|walks forward unsteadily|staggers around"
                 "|wobbles forward unsteadily|staggers ahead almost falling over|totters forward on unsteady legs"
                 "|walks forward as if about to fall"),
                "lurches ahead off balance"),
    "jog_backward": (("jogs backward|jogs backwards|runs backwards slowly|is jogging in reverse"
                      "|does a backward jog|jogs backwards with quick little steps|jogs back without turning around"
                      "|moves backward at a jog"),
                     "trots in reverse"),
    "walk_diagonal": (("walks diagonally forward to the {side}|walks forward and to the {side}|"
                      "walks at an angle to the {side}|moves diagonally to the {side}"
                       "|walks on a diagonal to the {side}|walks forward and off to the {side}"
                       "|walks ahead and to the {side} at the same time|walks diagonally across to the {side}"),
                      "heads off on a slant toward the {side}"),
    "walk_circle": (("walks in a circle to the {side}|walks around in a circle|walks a full circle turning {side}|"
                    "circles around to the {side} on foot"
                     "|walks in a full circle to the {side}|walks around in a ring to the {side}"
                     "|walks round in a circle curving {side}|walks a circle and ends where they started"),
                    "completes a loop on foot bearing {side}"),
    "run_circle": (("runs in a circle|runs around in a big circle|is running in circles"
                    "|runs around in a circle|runs a full circle|runs round in a wide ring"
                    "|runs in a circle and comes back to the start"),
                   "races round a loop"),
    "walk_zigzag": (("walks in a zigzag|zigzags forward|walks forward in a zig zag pattern|walks side to side in a zigzag"
                     "|walks forward in a zigzag line|zigzags ahead"
                     "|walks forward turning left and right again and again|walks forward cutting back and forth"),
                    "weaves ahead from side to side"),
    "walk_stop_go": (("walks forward, stops, then keeps walking|walks, pauses, and walks on|"
                     "walks forward and stops briefly before continuing|starts walking, stops and starts again"
                      "|walks, stops for a moment, then walks again|walks forward, pauses, then carries on"
                      "|takes a few steps, stands still, then keeps going|walks, comes to a stop and sets off again"),
                     "halts mid-way and then resumes on foot"),
    "skip": (("skips forward|skips along happily|is skipping ahead|skips forward hopping on each foot in turn"
              "|skips ahead with a light step|skips along|does a skipping step forward"
              "|skips forward swinging the arms"),
             "bounds ahead with a little bounce off one foot then the other"),
    "stairs": (("walks up a few stairs and down the other side|climbs up some steps and walks back down|"
               "goes up a short flight of stairs and comes down again|walks up the steps and then down the steps"
                "|climbs a few steps and goes down the other side|walks up some stairs and back down again"
                "|goes up and over a few steps|steps up the stairs then down again"),
               "ascends a small staircase and descends the far side"),
    # turns and looking
    "look": (("looks to the {side}|turns the head to the {side}|glances {side}|looks over to the {side}"
              "|turns the head and looks {side}|looks off to the {side}|glances over to the {side}"
              "|checks to the {side}"),
             "peers toward the {side}"),
    "look_around": (("looks around|looks left and right|looks around the room|glances around"
                     "|scans the area|turns the head left and right|looks around in every direction"
                     "|glances left and right"),
                    "surveys the surroundings"),
    "look_up": (("looks up|looks up at the sky|tilts the head back and looks up|looks upward"
                 "|raises the head and looks up|looks up above|tips the head back to look up|looks up overhead"),
                "gazes at the ceiling"),
    "look_down": (("looks down|looks down at the floor|lowers the head and looks down|looks at the ground"
                   "|tilts the head down|drops the chin and looks down|looks down at the ground in front of them"
                   "|looks downward"),
                  "gazes at the feet"),
    # jumps
    "jump_backward": (("jumps backward|jumps backwards|does a jump back|jumps back"
                       "|does a backward jump|jumps back with both feet|jumps backwards and lands behind"
                       "|jumps back a little way"), "springs to the rear"),
    "jump_sideways": (("jumps to the {side}|jumps sideways to the {side}|does a side jump to the {side}"
                       "|jumps over to the {side}|does a sideways jump to the {side}"
                       "|jumps off both feet to the {side}|jumps a step to the {side}"),
                      "springs across toward the {side}"),
    "long_jump": (("does a long jump|jumps as far as possible|does a standing long jump|jumps far forward"
                   "|jumps forward as far as they can|swings the arms and jumps a long way forward"
                   "|does a big jump forward from standing|jumps far with both feet"),
                  "covers a big distance in a single bound"),
    "jump_over": (("jumps over an obstacle|jumps over something|jumps over a small hurdle|jumps over a box"
                   "|jumps over a low obstacle|jumps across something on the floor|jumps over a low fence"
                   "|jumps over something in the way"),
                  "clears a barrier in one bound"),
    "tuck_jump": (("does a tuck jump|jumps and pulls the knees up|jumps high bringing the knees to the chest"
                   "|jumps and tucks the knees to the chest|jumps up and tucks the legs in"
                   "|does a jump with the knees pulled up high|jumps high and brings the knees up"),
                  "springs up hugging the knees in the air"),
    "jumping_jacks": (("does jumping jacks|does star jumps|is doing jumping jacks|performs jumping jacks"
                       "|does a few jumping jacks"
                       "|jumps the legs apart and together while swinging the arms up and down"
                       "|does star jumps in place|jumps opening and closing the arms and legs"),
                      "completes a few star-shaped bounces"),
    "hop": ("hops on the {side} foot|hops on one foot|hops on the {side} leg|jumps on one leg",
            "bounces along on a single {side} foot"),
    # postures
    "crouch": (("crouches down|crouches low|gets down into a crouch|crouches and stays low"
                "|drops into a low crouch|bends the knees and stays down low|gets low to the ground"
                "|lowers into a crouch and holds the pose"),
               "hunkers close to the floor"),
    "sit_ground": (("sits down on the floor|sits on the ground|sits down on the ground|takes a seat on the floor"
                    "|gets down and sits on the floor|lowers themself to sit on the ground|takes a seat on the ground"
                    "|sits right down on the floor"),
                   "settles onto the floor"),
    "get_up_ground": (("gets up from the floor|stands up from the ground|gets up off the ground|rises from the floor"
                       "|gets up from sitting on the floor|stands up off the floor|stands back up from the ground"
                       "|gets to their feet from the ground"),
                      "pushes up off the floor to standing"),
    "sit_cross_legged": (("sits down cross-legged|sits cross-legged on the floor|sits down on the ground with crossed legs|"
                         "takes a cross-legged seat on the floor"
                          "|sits on the floor with the legs crossed|sits down and crosses the legs"
                          "|sits cross-legged on the ground|gets down and sits cross-legged"),
                         "folds the legs under and settles on the floor"),
    "stand_up_cross_legged": (("stands up from sitting cross-legged|uncrosses the legs and stands up|"
                              "gets up from a cross-legged seat|rises from sitting cross-legged on the floor"
                               "|gets up from sitting cross-legged on the ground"
                               "|stands up from a cross-legged position"
                               "|gets up off the floor after sitting cross-legged"
                               "|stands all the way up from sitting cross-legged"),
                              "unfolds the crossed legs and comes up to standing"),
    "lie_down": (("lies down on the floor|lies down on their back|lies down|lies down on the ground|"
                 "gets down and lies flat on the floor|lies flat on their back on the ground"
                  "|lies on their back on the floor|gets down and lies on their back|lies back on the floor"
                  "|lowers themself down to lie on their back"),
                 "reclines face up on the ground"),
    "get_up": (("gets up from lying on the floor|stands up after lying down|rises from lying down|"
               "gets back up from lying on their back|gets up off the floor after lying down"
                "|gets up after lying on their back|stands up from lying on the floor"
                "|gets up off the ground after lying down|rises from lying on their back"),
               "comes up to standing from a supine position"),
    "lie_down_stomach": (("lies down on their stomach|lies face down on the floor|lies down on the belly|"
                         "gets down and lies on their stomach|lies down flat on their front"
                          "|lies face down on the ground|gets down and lies on their belly"
                          "|lies down on the floor face down|lowers themself down onto their stomach"),
                         "goes prone on the ground"),
    "get_up_stomach": (("gets up from lying on their stomach|gets up from lying face down|"
                       "pushes up off the floor from their stomach and stands up|stands up after lying on their front"
                        "|gets up from lying on their belly|pushes up from face down and stands up"
                        "|stands up after lying face down|gets up off the floor from lying on their front"),
                       "rises from a prone position"),
    "kneel_both": (("kneels down on both knees|gets down on their knees|kneels|goes down on both knees"
                    "|kneels down on the floor|gets down on both knees|lowers themself onto both knees"
                    "|goes down onto their knees"),
                   "drops to a kneeling position"),
    "kneel": (("kneels on the {side} knee|goes down on one knee|kneels on one knee|gets down on the {side} knee"
               "|kneels down on the {side} knee|drops down onto the {side} knee|goes down on the {side} knee"
               "|lowers themself onto one knee"),
              "takes a knee on the {side}"),
    "lunge": (("does a lunge with the {side} leg|lunges forward with the {side} leg|steps forward into a lunge|lunges"
               "|lunges forward on the {side} leg|steps forward with the {side} leg and bends both knees"
               "|does a forward lunge with the {side} leg|takes a big step forward into a lunge"),
              "steps out into a deep split stance on the {side}"),
    "balance": (("stands on one leg|balances on one leg|lifts the {side} foot and balances|stands on one foot"
                 "|balances on one foot|stands on one leg with the {side} foot off the ground"
                 "|lifts the {side} leg and stands on the other|balances with the {side} leg lifted"),
                "holds a single-leg stance raising the {side} foot"),
    # arms
    "point": (("points with the {side} hand|points forward with the {side} arm|points at something|points ahead"
               "|points straight ahead with the {side} hand|raises the {side} arm and points"
               "|points out something with the {side} hand|stretches the {side} arm out and points forward"),
              "indicates something in front using the {side} index finger"),
    "reach_up": (("reaches up with the {side} hand|reaches up high|reaches for something above|stretches the {side} arm up"
                  "|reaches up high with the {side} arm|stretches up to reach something with the {side} hand"
                  "|reaches above the head with the {side} hand|lifts the {side} arm high to reach something"),
                 "grabs toward a high shelf using the {side} arm"),
    "reach_side": (("reaches out to the {side}|reaches sideways with the {side} arm|extends the {side} arm to the side"
                    "|reaches out sideways with the {side} hand|holds the {side} arm out to the side"
                    "|reaches for something to the {side}|extends the {side} hand out to the side"),
                   "stretches an arm out laterally toward the {side}"),
    "scratch_head": (("scratches their head|scratches the head with the {side} hand|scratches their head in confusion"
                      "|scratches the top of the head|raises the {side} hand and scratches the head"
                      "|scratches their head as if puzzled|lifts the {side} hand to the head and scratches"),
                     "rubs the scalp with the {side} fingers"),
    "drink": (("drinks from a cup|takes a drink|drinks with the {side} hand|raises a glass and drinks"
               "|drinks from a glass with the {side} hand|lifts a cup to the mouth and drinks"
               "|takes a drink from a bottle|brings a cup up with the {side} hand and drinks"),
              "sips from a mug held in the {side} hand"),
    "throw_overhand": (("throws a ball overhand|throws something with the {side} hand|throws overhand with the {side} arm|throws a ball"
                        "|throws something overhand|winds up and throws with the {side} arm"
                        "|brings the {side} arm back over the head and throws|throws a ball hard overhand"),
                       "launches an object over the shoulder with the {side} arm"),
    "throw_underhand": (("throws underhand|throws a ball underhand with the {side} hand|"
                        "throws something underarm"
                         "|throws a ball underhand|swings the {side} arm forward low and throws"
                         "|throws something underhand with the {side} arm|throws gently underarm with the {side} hand"),
                        "lobs an object from below the waist with the {side} arm"),
    "arm_stretch": (("stretches the {side} arm across the chest|does an arm stretch|stretches the {side} arm"
                     "|brings the {side} arm across the chest and holds it|stretches the {side} shoulder"
                     "|holds the {side} arm across the chest|does a shoulder stretch with the {side} arm"),
                    "pulls the {side} arm across the body to loosen it"),
    "salute": (("salutes|gives a salute|salutes with the right hand|stands and salutes"
                "|raises the right hand to the forehead in a salute|salutes like a soldier|gives a quick salute"
                "|snaps a salute with the right hand"), "offers a military greeting"),
    "shrug": (("shrugs|shrugs their shoulders|shrugs with palms up|gives a shrug"
               "|shrugs the shoulders up and down|raises both shoulders and drops them|shrugs as if they do not know"
               "|does a shrug"),
              "lifts the shoulders in uncertainty"),
    "cheer": (("cheers with both arms up|cheers|celebrates with arms in the air|pumps both fists in the air"
               "|raises both fists in the air and cheers|throws both arms up to cheer"
               "|cheers with the arms above the head|punches the air with both fists"),
              "celebrates wildly overhead"),
    "catch": (("catches a ball|catches something with both hands|catches an object thrown at them"
               "|catches a ball in both hands|reaches out and catches something|catches a ball thrown to them"
               "|holds out both hands and catches an object"),
              "grabs an incoming object out of the air"),
    "reach_forward": (("reaches forward with both hands|reaches out in front|extends both arms forward"
                       "|reaches out with both arms|extends both hands out in front"
                       "|reaches forward for something with both hands|holds both arms out in front"),
                      "stretches both hands out ahead"),
    "reach_up_both": (("reaches up with both hands|reaches up high with both arms|reaches for something overhead"
                       "|reaches above the head with both hands|raises both hands high to reach something above"
                       "|reaches up high for something with both hands|lifts both hands high to reach something"),
                      "grabs toward a high shelf using both arms"),
    "pick_up": (("picks something up from the floor|bends down and picks up an object|picks up a box from the ground|"
                "picks something up"
                 "|bends down to pick something up|picks up an object from the ground"
                 "|reaches down and picks something up|lifts a box up from the floor"),
                "retrieves an item off the floor"),
    "put_down": (("puts something down on the floor|bends down and puts an object down|sets a box down on the ground|"
                 "puts something down"
                  "|bends down and sets something on the floor|lowers a box to the ground"
                  "|puts a box down on the ground|sets something down"), "places an item onto the floor"),
    "carry": (("carries a box|holds a box in front of them|carries something with both hands"
               "|carries a box in both hands|carries a heavy box in front of them|holds something in both arms"
               "|is carrying a box"),
              "holds a package against the belly"),
    "push": (("pushes something in front of them|pushes with both hands|pushes forward|pushes a heavy object"
              "|pushes against something with both hands|leans in and pushes forward|pushes a heavy box away"
              "|pushes something away from them"),
             "shoves an object away with both palms"),
    "pull": (("pulls something toward them|pulls with both hands|pulls a rope|pulls back on something"
              "|pulls something in with both arms|grabs a rope and pulls|pulls hard on a rope"
              "|leans back and pulls on something"),
             "hauls an object closer with both hands"),
    "stretch_up": (("stretches both arms up|stretches upward|stretches the arms over the head|stretches"
                    "|stretches the arms up high|reaches both arms up and stretches"
                    "|stretches up tall with the arms overhead|does a big stretch upward"),
                   "elongates the whole body toward the ceiling"),
    "arm_circles": (("does arm circles|circles both arms|rotates the arms in circles|swings the arms in circles"
                     "|circles the arms out to the sides|swings both arms around in circles"
                     "|rotates both arms in big circles|does arm circles with the arms out"),
                    "makes round loops with the outstretched arms"),
    "cross_arms": (("crosses their arms|folds the arms across the chest|stands with arms crossed|crosses both arms"
                    "|crosses the arms over the chest|puts the arms across the chest"
                    "|stands with the arms crossed over the chest|crosses both arms in front of them"),
                   "stands with folded arms"),
    "hands_on_hips": (("puts their hands on the hips|stands with hands on hips|places both hands on the hips"
                       "|stands with both hands on the hips|puts the hands on the hips|places the hands on their hips"
                       "|stands with the hands on the hips and the elbows out"),
                      "rests the fists on the waist"),
    "nod": (("nods|nods the head|nods yes|nods in agreement"
             "|nods the head up and down|gives a nod|moves the head up and down|nods to say yes"),
            "inclines the head to agree"),
    "shake_head": (("shakes the head|shakes their head no|shakes the head in disagreement"
                    "|shakes the head no|shakes the head left and right|gives a shake of the head"
                    "|moves the head left and right to say no"),
                   "signals no by turning the head side to side"),
    # combat
    "hook": (("throws a {side} hook|punches with a {side} hook|does a {side} hook punch|hooks with the {side} fist"
              "|throws a {side} hook punch|punches in from the side with the {side} fist|hooks the {side} fist around"
              "|throws a hooking punch with the {side} arm"),
             "swings a curved blow using the {side} fist"),
    "uppercut": (("throws a {side} uppercut|does an uppercut with the {side} hand|punches upward with the {side} fist"
                  "|throws an uppercut with the {side} fist|punches up with the {side} hand|does a {side} uppercut"
                  "|swings the {side} fist upward in an uppercut"),
                 "drives the {side} fist up under an imaginary chin"),
    "side_kick": (("does a side kick with the {side} leg|kicks sideways with the {side} foot|kicks to the {side} side"
                   "|kicks out to the side with the {side} leg|does a {side} side kick"
                   "|kicks the {side} leg out sideways|throws a side kick with the {side} foot"),
                  "thrusts the {side} heel out laterally"),
    "roundhouse_kick": (("does a roundhouse kick with the {side} leg|does a {side} roundhouse kick|"
                        "throws a roundhouse kick"
                         "|throws a roundhouse kick with the {side} leg|swings the {side} leg around in a kick"
                         "|does a turning kick with the {side} leg|kicks with the {side} leg in a roundhouse"),
                        "whips the {side} shin around in a circular strike"),
    "block": (("blocks with both arms|raises the arms to block|puts up a guard to block a hit|blocks"
               "|blocks a punch with both arms|covers up with both arms|puts both arms up to protect the head"
               "|lifts the arms up to block"),
              "shields the face with the forearms"),
    "boxing_stance": (("stands in a boxing stance|bounces in a boxing stance|takes a fighting stance|"
                      "is in a boxing guard"
                       "|gets into a boxing stance|puts the fists up like a boxer"
                       "|bounces on the feet in a boxing guard|holds the fists up in a fighting stance"),
                      "squares up like a prizefighter"),
    # sports
    "golf_swing": (("swings a golf club|does a golf swing|plays golf|takes a golf swing"
                    "|swings a golf club at a ball|hits a golf ball|swings like a golfer"
                    "|takes a swing with a golf club"), "drives a ball off the tee"),
    "baseball_swing": (("swings a baseball bat|swings a bat|hits a baseball|does a baseball swing"
                        "|swings a bat at a ball|swings like a batter|takes a swing with a baseball bat"
                        "|hits a ball with a bat"),
                       "takes a cut at a pitch"),
    "baseball_pitch": (("pitches a baseball|throws a pitch|pitches a ball like a baseball pitcher"
                        "|throws a baseball like a pitcher|winds up and pitches a ball|throws a fast pitch"
                        "|pitches overhand"),
                       "delivers a fastball from the mound"),
    "tennis_forehand": (("hits a tennis forehand|swings a tennis racket forehand|does a forehand|plays a forehand shot"
                         "|swings a racket for a forehand|hits a forehand with a racket|plays a tennis forehand"
                         "|hits the ball with a forehand swing"),
                        "strikes the ball on the dominant side"),
    "tennis_backhand": (("hits a tennis backhand|swings a tennis racket backhand|does a backhand|plays a backhand shot"
                         "|swings a racket for a backhand|hits a backhand with a tennis racket"
                         "|plays a tennis backhand|hits the ball with a backhand swing"),
                        "returns the ball across the body with the racket"),
    "basketball_dribble": (("dribbles a basketball|bounces a basketball|dribbles a ball in place|is dribbling"
                            "|bounces a ball up and down with one hand|dribbles a basketball in place"
                            "|dribbles the ball|is dribbling a basketball"),
                           "keeps a ball bouncing off the court"),
    "basketball_shot": (("shoots a basketball|takes a jump shot|shoots a ball at the hoop|throws a basketball at the basket"
                         "|shoots the ball at the basket|jumps and shoots a basketball|takes a shot at the hoop"
                         "|throws a ball up at the basket"),
                        "puts up a shot toward the rim"),
    "soccer_kick": (("kicks a soccer ball|kicks a football|kicks a ball with the right foot|shoots a soccer ball"
                     "|kicks a ball hard with the right foot|takes a shot with a soccer ball|kicks a football forward"
                     "|swings the right leg and kicks a ball"),
                    "strikes a ball toward the goal"),
    # dance
    "sway": (("sways side to side|sways from side to side|sways to the music|rocks side to side"
              "|sways the body left and right|sways to a beat|shifts the weight from one foot to the other"
              "|moves the hips side to side to the music"),
             "rocks gently along with a rhythm"),
    "twist": (("dances the twist|does the twist|twists the hips while dancing|twists back and forth"
               "|does the twist dance|twists the body from side to side|dances twisting the hips left and right"
               "|twists low while dancing"),
              "swivels the torso in a sixties dance"),
    "bounce": (("bounces to the music|bounces up and down|bobs up and down to a beat|bounces on the knees"
                "|bounces to a beat|bounces lightly in place|bends the knees up and down to the music"
                "|bounces along with the music"),
               "grooves by dipping rhythmically"),
    "dance_arm_waves": (("dances with wavy arms|does arm waves|waves the arms like a wave while dancing"
                         "|dances waving the arms|moves the arms in waves|dances with the arms moving like waves"
                         "|does a wave through both arms"),
                        "ripples both arms in a dance"),
    "salsa_basic": (("dances salsa|does the salsa basic step|dances a salsa step|salsa dances"
                     "|does a salsa step|dances the salsa|steps forward and back in a salsa"
                     "|does salsa steps to the music"),
                    "performs latin footwork forward and back"),
    "pirouette": (("does a pirouette|spins like a ballerina|does a ballet spin|turns a pirouette"
                   "|does a ballet turn|spins on one leg like a ballerina|turns around once on the toes"
                   "|does a spin on one foot"),
                  "rotates on the spot with arms above the head like a dancer"),
    # exercise
    "toe_touches": (("touches the toes|does toe touches|bends down and touches the toes|reaches down to the toes"
                     "|bends over and touches the toes|reaches down to touch the toes|bends forward to touch the toes"
                     "|stretches down to the toes"),
                    "folds forward to the feet"),
    "torso_twists": (("does torso twists|twists the torso left and right|rotates the upper body side to side"
                      "|twists the upper body left and right|turns the torso from side to side"
                      "|does twists of the torso|twists at the waist from side to side"),
                     "swivels the trunk with arms held out"),
    "side_stretch": (("does a side stretch to the {side}|stretches the {side} side|leans sideways with the {side} arm over the head"
                      "|leans over to the {side} in a stretch|does a sideways stretch to the {side}"
                      "|stretches sideways to the {side}|leans to the {side} to stretch the side"),
                     "bends laterally with the {side} arm overhead"),
    "crawl": (("crawls forward on all fours|crawls on hands and knees|crawls forward|gets down and crawls forward|"
              "crawls along the floor on all fours"
               "|crawls ahead on hands and knees|gets on all fours and crawls|crawls along the ground"
               "|moves forward on hands and knees"), "creeps ahead like a baby"),
    "crawl_backward": (("crawls backward on all fours|crawls backwards on hands and knees|crawls backward|"
                       "gets down and crawls backwards"
                        "|crawls back on all fours|moves backward on hands and knees|crawls backwards along the floor"
                        "|crawls back on hands and knees"), "creeps in reverse like a baby"),
    "march_in_place": (("marches in place|marches on the spot|walks in place|steps in place"
                        "|marches without going anywhere|marches in place swinging the arms"
                        "|steps up and down in place|marches in one place"),
                       "treads on the spot without moving"),
    "high_knees": (("does high knees|runs in place with high knees|lifts the knees high in place"
                    "|does high knees in place|jogs lifting each knee up high"
                    "|pulls the knees up high while running in place|jogs in place with high knees"),
                   "drives the knees up on the spot"),
}

PHRASES: dict[str, tuple[list[str], list[str]]] = {name: _split(spec) for name, spec in _SPEC.items()}

# Counted floor exercises: count -> phrasings; 4 stands for "many" (the corpus does four).
_COUNTED_SPEC = {
    "push_ups": {1: (("does a push-up|does one push-up|gets down and does a push-up|does a single push-up"
                      "|gets on the floor and does one push-up|does a push-up from the floor"),
                     "lowers the chest to the floor and presses back up one time"),
                 2: (("does two push-ups|does push-ups twice|gets down and does two push-ups"
                      "|does a couple of push-ups|gets on the floor and does two push-ups"),
                     "presses the body up from the floor two times"),
                 3: (("does three push-ups|does push-ups three times|gets down and does three push-ups"
                      "|does three push-ups in a row|gets on the floor and does three push-ups"),
                     "completes a set of three press-ups"),
                 4: (("does push-ups|does several push-ups|keeps doing push-ups|does push-ups repeatedly|"
                     "drops down and does push-ups"
                      "|does a bunch of push-ups|does push-ups on the floor"), "performs a series of press-ups")},
    "sit_ups": {1: (("does a sit-up|does one sit-up|does a crunch|does a single sit-up on the floor"
                     "|lies back and does a sit-up|does one crunch"),
                    "curls the torso up off the mat one time"),
                2: (("does two sit-ups|does sit-ups twice|does two crunches"
                     "|does a couple of sit-ups|lies back and does two sit-ups"),
                    "curls the torso up off the mat two times"),
                3: (("does three sit-ups|does sit-ups three times|does three crunches"
                     "|lies back and does three sit-ups|does three sit-ups in a row"),
                    "completes a set of three curl-ups"),
                4: (("does sit-ups|does crunches|keeps doing sit-ups|does sit-ups repeatedly|"
                    "does several sit-ups on the floor"
                     "|does a bunch of sit-ups|lies back and does sit-ups"),
                    "performs a series of curl-ups on the mat")},
}
COUNTED: dict[str, dict[int, tuple[list[str], list[str]]]] = {
    name: {count: _split(spec) for count, spec in table.items()} for name, table in _COUNTED_SPEC.items()}
# Base names whose registered actions carry a side suffix but whose side is not the x direction of travel.
ALIASES = {"jump_left": "jump_sideways", "jump_right": "jump_sideways", "hop_left": "hop", "hop_right": "hop",
           "walk_circle_left": "walk_circle", "walk_circle_right": "walk_circle"}
