"""Honesty about the vocabulary: which words of a prompt the model never learned, and what it knows instead.

A checkpoint records the vocabulary it was trained on (``config["vocabulary"]``, written from the corpus at
training/export time by `train.vocabulary`):

    {"words": [every word of the training captions], "actions": {action name: [its characteristic words]}}

`VocabularyCheck.warning(prompt)` finds the prompt's content words (stop words, numbers and incidental words
are skipped) that are neither training words (up to inflection: "hopping" ~ "hops") nor, when word vectors are
available, close to one (cosine of mean-of-token vectors >= `threshold`, measured in
benchmarks/vocabulary_warnings.py). It names them with the nearest known actions: "the bundled model has not
learned 'cartwheel'; nearest: spin, jump".

Which vectors: a model with the "wordvec" encoder brings its own pretrained table, so synonyms it was never
shown ("strides") count as known: its encoder places them next to the words it learned. A model with the
hashing encoder ("offline", as the first bundled models had) knows nothing about a word it has not seen, so only the
exact vocabulary (with inflections) counts; its nearest actions are ranked by its own text encoder, i.e. by
what it will most likely do with the word.

A second view: a model whose encoder carries a sentence gist (`motion_core.text.sentence_gist`: static token
vectors distilled from a sentence model) has a second table of word vectors, cut by another tokenizer. The word
vectors alone are fooled by shared subword pieces ("swims" ~ "swings" 0.68, "sweeps" ~ "creeps" 0.63: the mean of
"▁sw"+"ims" is near that of "▁sw"+"ings"), where the gist's whole-word vectors are not (0.09, -0.01); the gist alone
misses synonyms the word vectors place ("twirls" ~ "twist"). With ``vocabulary["threshold_with_gist"]`` recorded,
an unseen word counts as known only when both views put it near the *same* known word at that cosine
(benchmarks/results/vocabulary_gist_20261207/).

Made-up words: both views build a word's vector from its word pieces, which carry an English word's meaning but
only a made-up word's spelling ("xyzzy" sat at 0.40 of a training word, "glorps" at 0.56). So the vectors vouch
only for words a dictionary holds (`dictionary_words.txt.gz`, WordNet's words, by train/dictionary_words.py) and
for two of them run together ("kickboxer"); any other word the model did not train on is reported, except a
capitalised one, which is most likely a name ("Liam jumps": who moves, not what motion).

Incidental words (`incidental_words.txt`, from WordNet by train/incidental_words.py) say who moves, with what body
part or how ("a kid", "the brow", "casually"), never what motion: an unseen one is no sign of an unknown action,
so it is not reported (on prompts people type for known actions the warning spoke on 0.27 of them before).
"""
from __future__ import annotations

import difflib
import gzip
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch

from motion_core.text.hash_tokenizer import normalize_text

# The lowest threshold at which >= 90 % of the 30 out-of-corpus prompts warn (benchmarks/vocabulary_warnings.py,
# results in benchmarks/results/vocabulary_warnings_20261204): lower ones let "climbs"/"dances" pass as known.
DEFAULT_THRESHOLD = 0.35
NEAREST = 2
# The shortest part of a compound that counts as a word: WordNet holds many two-letter words ("dl", "ab") that would
# make nearly any made-up word a "compound".
MIN_PART = 3

# Function words and fillers that say nothing about the motion: never reported, never needed.
STOP_WORDS = frozenset("""
a an the this that these those some any each every both all one two three four five six seven eight nine ten
i me my you your he him his she her it its we us our they them their themselves themself himself herself itself
someone somebody person people man woman men women guy girl boy figure human individual character subject
is are was were be been being am do does did doing done has have had having will would can could should may
might must shall to of in on at by for with from into onto over under up down out off about as than then
and or but so if while when after before again also just very really quite too more most less least much
there here where what which who whom how why not no yes please now once twice times time thrice
repeatedly continuously slightly little bit few several many lot lots
toward towards using across along through behind beside besides between beyond against within without upon via
among near onto together meanwhile afterwards subsequently still even
""".split())

# Words that open a noun phrase: the word after one names or describes a thing ("a loop", "the bench").
DETERMINERS = frozenset({"a", "an", "the", "this", "that", "these", "those", "his", "her", "their", "its", "my",
                         "your", "our", "each", "every", "another"})
# Verbs that make the thing they take the action itself: "does a cartwheel", "plays the guitar", "goes for a swim".
LIGHT_VERBS = frozenset("""
do does did doing done perform performs performed performing practice practices practiced practicing play plays
played playing make makes made making take takes took taking give gives gave giving go goes went going try tries
tried trying attempt attempts attempted attempting
""".split())

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
TYPED_WORD = re.compile(r"[^\W\d_]+")   # a word as typed: letters of any script, accents and case kept
INCIDENTAL_FILE = Path(__file__).with_name("incidental_words.txt")
DICTIONARY_FILE = Path(__file__).with_name("dictionary_words.txt.gz")


@lru_cache(maxsize=1)
def incidental_words() -> frozenset[str]:
    """The bundled list of incidental words (see the module docstring); empty if the file is missing."""
    if not INCIDENTAL_FILE.is_file():
        return frozenset()
    return _word_list(INCIDENTAL_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """The bundled English word list (see the module docstring); empty if the file is missing (then the vectors
    vouch for every word, as before the list existed)."""
    if not DICTIONARY_FILE.is_file():
        return frozenset()
    return _word_list(gzip.decompress(DICTIONARY_FILE.read_bytes()).decode("utf-8"))


def _word_list(text: str) -> frozenset[str]:
    return frozenset(w for w in text.splitlines() if w and not w.startswith("#"))


def capitalised_words(prompt: str) -> set[str]:
    """Words typed with a capital and not all in capitals ("Liam", "José", "McKenzie"; not "LIAM"), as the check
    reads them ("jose", "mckenzie"); none where every word of two letters or more is capitalised ("A Person
    Florps": title case says nothing about names)."""
    words = [w for w in TYPED_WORD.findall(prompt) if len(w) > 1]
    capitalised = [w for w in words if is_capitalised(w)]
    if len(words) > 1 and len(capitalised) == len(words):
        return set()
    return {normalize_text(w) for w in capitalised}


def is_capitalised(typed: str) -> bool:
    """A word as typed that opens with a capital and is not all in capitals ("Liam", "McKenzie"; not "LIAM")."""
    return typed[:1].isupper() and not typed.isupper()


def english(word: str, dictionary: frozenset[str]) -> bool:
    """A dictionary word, an inflection of one, or two of them run together ("kickboxer", "bodyweight": their
    pieces mean something); every word is, with an empty dictionary."""
    return not dictionary or _in_dictionary(word, dictionary) or any(
        word[:cut] in dictionary and _in_dictionary(word[cut:], dictionary)
        for cut in range(MIN_PART, len(word) - MIN_PART + 1))


def _in_dictionary(word: str, dictionary: frozenset[str]) -> bool:
    return word in dictionary or any(len(f) >= MIN_PART and f in dictionary for f in forms(word))


def one_typo_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with one typo undone: two neighbouring letters swapped, one letter added, dropped or
    replaced (the restricted Damerau-Levenshtein distance is 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    if len(a) == len(b):
        swapped = a[start + 1:start + 2] + a[start:start + 1] == b[start:start + 2] and a[start + 2:] == b[start + 2:]
        return a[start + 1:] == b[start + 1:] or swapped
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1:] == shorter[start:]


def content_words(prompt: str) -> list[str]:
    """Lower-case words of a prompt, in order, without stop words, numbers or duplicates."""
    words = _WORD.findall(normalize_text(prompt))
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS and len(w) > 1 and "'" not in w))


def forms(word: str) -> set[str]:
    """The word and its plausible base forms: hops -> hop, hopping -> hop, danced -> dance, carries -> carry."""
    out = {word}
    if word.endswith("ies") and len(word) > 4:
        out.add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.add(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        out.add(word[:-1])
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            base = word[: -len(suffix)]
            out.update({base, base + "e"})
            if len(base) > 2 and base[-1] == base[-2]:
                out.add(base[:-1])
            if base.endswith("i"):
                out.add(base[:-1] + "y")
    if word.endswith("ly") and len(word) > 4:
        out.add(word[:-2])
    return {f for f in out if len(f) > 1}


def action_label(action: str) -> str:
    """'jump_in_place' -> 'jump in place'."""
    return action.replace("_", " ")


class VocabularyCheck:
    """Reports prompt words far from a model's training vocabulary (see the module docstring).

    `embed(texts) -> (N, D)` unit vectors ranks actions for the "nearest" hint (and, with `vectors=True`,
    decides which unseen words are close enough to a known one to count as known). `also`: more views (the
    sentence gist's vectors) that must put an unseen word near the same known word too.
    """

    def __init__(self, vocabulary: dict, embed: Callable[[list[str]], torch.Tensor] | None = None,
                 vectors: bool = False, threshold: float = DEFAULT_THRESHOLD, model_name: str = "the model",
                 readings=None, incidental: frozenset[str] | None = None,
                 also: Sequence[Callable[[list[str]], torch.Tensor]] = (), dictionary: frozenset[str] | None = None):
        self.words = sorted({w for w in vocabulary.get("words", []) if isinstance(w, str)})
        actions = vocabulary.get("actions", {})
        if isinstance(actions, list):   # a plain list of names: the names' own words describe them
            actions = {a: [] for a in actions}
        self.actions: dict[str, list[str]] = {a: sorted(set(ws) | set(_name_words(a))) for a, ws in actions.items()}
        self.embed, self.vectors, self.threshold = embed, vectors and embed is not None, float(threshold)
        self.model_name = model_name
        self.readings = readings   # a `motion_core.text.readings.WordReadings`: words it reads are not unknown
        self.incidental = incidental_words() if incidental is None else incidental
        self.dictionary = dictionary_words() if dictionary is None else dictionary
        self.known_forms = {f for w in self.words for f in forms(w)} | {f for ws in self.actions.values()
                                                                       for w in ws for f in forms(w)}
        self.views = [embed, *also] if self.vectors else []
        self._known_matrices: list[torch.Tensor] | None = None
        self._action_rows: list[tuple[str, torch.Tensor]] | None = None

    # ---- what is known -------------------------------------------------------------------------------

    def _known(self) -> list[torch.Tensor]:
        """Each view's vectors of the known forms, rows in one order."""
        if self._known_matrices is None:
            known = sorted(self.known_forms)
            self._known_matrices = [view(known) for view in self.views]
        return self._known_matrices

    def trained(self, word: str) -> bool:
        """A training word, or an inflection of one ("walked" for "walks")."""
        return bool(forms(word) & self.known_forms)

    def english(self, word: str) -> bool:
        """`english` against this check's dictionary."""
        return english(word, self.dictionary)

    def closeness(self, word: str) -> float:
        """1.0 for a training word (or inflection of one); else the best cosine to one, in the view that puts it
        farthest from that word (0 without vectors)."""
        if self.trained(word):
            return 1.0
        variants = sorted(forms(word))
        if not self.vectors or not self.known_forms:
            return 0.0
        per_view = [(view(variants) @ known.T).max(dim=0).values for view, known in zip(self.views, self._known())]
        return float(torch.stack(per_view).min(dim=0).values.max())

    def unknown_words(self, prompt: str) -> list[str]:
        if not self.words and not self.actions:
            return []   # a checkpoint without a recorded vocabulary: nothing to compare against
        names = {w for w in capitalised_words(prompt) if not self.english(w)}   # "Liam jumps": who, not what
        return [w for w in content_words(prompt) if not forms(w) & self.incidental and w not in names
                and not (self.readings and self.readings.reading(w)) and not self.known(w)]

    def known(self, word: str) -> bool:
        """A training word, or a dictionary word (or compound) its vectors put within the threshold of one: a word
        no dictionary holds has vectors made of its pieces' (its spelling), which vouch for nothing."""
        return self.trained(word) or (self.english(word) and self.closeness(word) >= self.threshold)

    # ---- what to suggest ------------------------------------------------------------------------------

    def nearest_actions(self, words: list[str], k: int = NEAREST) -> list[str]:
        """The `k` actions whose words are closest to any of `words` (by `embed`)."""
        if not self.actions or self.embed is None or not words:
            return sorted(self.actions)[:k]
        if self._action_rows is None:
            self._action_rows = [(a, self.embed(ws or [action_label(a)])) for a, ws in self.actions.items()]
        query = self.embed(sorted({f for w in words for f in forms(w)}))
        scores = {a: float((query @ rows.T).max()) for a, rows in self._action_rows}
        ranked = sorted(scores, key=lambda a: (-scores[a], a))
        # one entry per action family: "kick_left" and "kick_right" are one suggestion, "kick"
        out: list[str] = []
        for action in ranked:
            label = action_family(action)
            if label not in out:
                out.append(label)
            if len(out) == k:
                break
        return out

    def warning(self, prompt: str) -> str | None:
        """"the bundled model has not learned 'cartwheel'; nearest: spin, jump". The nearest actions come from the
        unknown words that may name the motion; where every unknown word names a thing the motion is done with or
        at ("sits down on a park bench"), from the prompt's known motion words instead: what the model will make
        ("'park', 'bench'; nearest: sit down"), not actions "near" a bench."""
        unknown = self.unknown_words(prompt)
        if not unknown:
            return None
        meant = {w: m for w in unknown if (m := self.spelt_like(w))}   # "wlaks": read as "walks" for the hint too
        names = ", ".join(f"'{w}'" + (f" (did you mean '{meant[w]}'?)" if w in meant else "") for w in unknown)
        motion, things = self.motion_and_things(prompt)
        nearest = self.nearest_actions([meant.get(w, w) for w in unknown if w not in things] or motion)
        hint = f"; nearest: {', '.join(nearest)}" if nearest else ""
        return f"{self.model_name} has not learned {names}{hint}"

    def spelt_like(self, word: str) -> str | None:
        """The training word a word no dictionary holds is one typo away from ("wlaks" -> "walks", "sqauts" ->
        "squats": a letter swapped with the next, added, dropped or replaced), the most alike first (difflib's
        ratio), or None. The training words include people's typos ("persno"): only dictionary words are offered."""
        if self.english(word) or len(word) < 4:
            return None
        near = [w for w in self.words if len(w) > 2 and one_typo_apart(word, w) and self.english(w)]
        return max(near, key=lambda w: (difflib.SequenceMatcher(None, word, w).ratio(), w)) if near else None

    def motion_and_things(self, prompt: str) -> tuple[list[str], set[str]]:
        """The prompt's known content words outside noun phrases (the model's training words, or words it reads as
        one; the first is most often the motion's verb, but "soldier" in "a soldier salutes" counts too), and the
        words naming things and places the motion is done with or at: those in a noun phrase ("a park bench", "her
        keys") after the first known word, unless a light verb opens it ("does a cartwheel", "plays the guitar":
        there the noun is the action). A heuristic without a parser: in "a goalkeeper dives" the subject comes
        before any known word, so nothing of it counts as a thing."""
        words = _WORD.findall(normalize_text(prompt))
        motion: list[str] = []
        things: set[str] = set()
        in_phrase = False
        for at, word in enumerate(words):
            if word in DETERMINERS:
                in_phrase = bool(motion) and not set(words[max(0, at - 2):at]) & LIGHT_VERBS
            elif word in STOP_WORDS:
                in_phrase = False
            elif in_phrase:
                things.add(word)
            elif self.trained(word) and not forms(word) & self.incidental:
                motion.append(word)
            elif self.readings and (read := self.readings.reading(word)):   # read as trained: "hauls" -> "pulls"
                motion.append(read)
        return motion, things

    def known_actions(self) -> list[str]:
        return sorted(self.actions)


def _name_words(action: str) -> list[str]:
    return [w for w in action.split("_") if w not in STOP_WORDS and w not in ("left", "right", "both")]


def action_family(action: str) -> str:
    """An action as the hint names it, its side dropped: "kick_left" -> "kick", "sit_down" -> "sit down"."""
    parts = [p for p in action.split("_") if p not in ("left", "right")]
    return " ".join(parts) if parts else action


def vocabulary_from_captions(captions: Iterable[tuple], max_share: float = 0.25, min_clips: int = 1) -> dict:
    """{"words", "actions"} from (caption, action names of its clip[, clip id]) tuples.

    "words" are the caption words met in at least `min_clips` different clips (a tuple without a clip id is a
    clip of its own): a word seen in one or two clips, say a rare word of one mocap description ("cartwheel-like
    start"), is something the model met, not something it learned, and must not silence the warning. An
    action's characteristic words are the content words of captions of single-action clips, less those shared
    by more than `max_share` of all actions ("hand", "forward").
    """
    clips_of: dict[str, set] = {}
    per_action: dict[str, set[str]] = {}
    for index, item in enumerate(captions):
        caption, actions = item[0], item[1]
        clip = item[2] if len(item) > 2 else ("caption", index)
        for word in _WORD.findall(normalize_text(caption)):
            clips_of.setdefault(word, set()).add(clip)
        for action in actions:
            per_action.setdefault(action, set())
        if len(set(actions)) == 1:
            per_action[actions[0]].update(content_words(caption))
    counts: dict[str, int] = {}
    for ws in per_action.values():
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    limit = max(1, int(max_share * len(per_action)))
    words = sorted(w for w, clips in clips_of.items() if len(clips) >= min_clips)
    learned = set(words)
    actions = {a: sorted(w for w in ws if counts[w] <= limit and w in learned) for a, ws in sorted(per_action.items())}
    return {"words": words, "actions": actions}


def embed_with_encoder(encoder: torch.nn.Module) -> Callable[[list[str]], torch.Tensor]:
    """Unit vectors of texts as a text encoder sees them: the mean of its token outputs (summary token left out)."""
    cache: dict[str, torch.Tensor] = {}

    @torch.inference_mode()
    def embed(texts: list[str]) -> torch.Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        for start in range(0, len(missing), 256):
            chunk = missing[start: start + 256]
            tokens, mask = encoder.encode(chunk)
            tokens, mask = tokens.float().cpu(), mask.cpu()
            mask = mask.clone()
            if mask.shape[1] > 1:
                mask[:, 0] = False
            pooled = (tokens * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
            pooled = pooled / pooled.norm(dim=-1, keepdim=True).clamp_min(1e-8)
            for text, row in zip(chunk, pooled):
                cache[text] = row
        return torch.stack([cache[t] for t in texts]) if texts else torch.zeros(0, 1)

    return embed


def check_for(config: dict, text_encoder: torch.nn.Module | None, model_name: str = "the model",
              threshold: float | None = None, readings=None) -> VocabularyCheck | None:
    """The check for a model with this checkpoint config and encoder; None when it records no vocabulary.
    `readings` (`WordReadings`): words the engine reads as trained ones are not reported."""
    vocabulary = config.get("vocabulary")
    if not vocabulary:
        return None
    word_vectors = getattr(text_encoder, "word_vectors", None)
    if word_vectors is not None:
        vectors = word_vectors()
        # A checkpoint may record the threshold measured on its own vocabulary (benchmarks/vocabulary_warnings.py
        # --checkpoint): a larger vocabulary puts more words near any unknown one, so it needs a higher bar.
        gist = getattr(text_encoder, "gist", None)
        also = [gist.word_vectors().vectors] if gist is not None and "threshold_with_gist" in vocabulary else []
        recorded = vocabulary.get("threshold_with_gist" if also else "threshold")
        chosen = threshold if threshold is not None else float(recorded) if recorded is not None else DEFAULT_THRESHOLD
        return VocabularyCheck(vocabulary, vectors.vectors, vectors=True, model_name=model_name, threshold=chosen,
                               readings=readings, also=also)
    embed = embed_with_encoder(text_encoder) if text_encoder is not None else None
    # Without vectors only the exact vocabulary counts; any threshold in (0, 1] means "a training word".
    return VocabularyCheck(vocabulary, embed, vectors=False, model_name=model_name, threshold=1.0, readings=readings)


__all__ = ["VocabularyCheck", "action_family", "content_words", "forms", "vocabulary_from_captions",
           "embed_with_encoder", "check_for", "incidental_words", "dictionary_words", "capitalised_words", "english",
           "one_typo_apart", "is_capitalised", "TYPED_WORD",
           "STOP_WORDS", "DEFAULT_THRESHOLD", "action_label"]
