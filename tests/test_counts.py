"""The count a prompt says, read the same way whatever the spelling (`motion_core.text.counts`)."""
import pytest

from motion_core.text.counts import spoken_count, without_count


@pytest.mark.parametrize("prompt, count", [
    ("someone hops forward twice", 2), ("someone hops forward two times", 2), ("a man hops forward 2 times", 2),
    ("a woman leaps twice over the line", 2), ("a person does a couple of squats", 2), ("jumps two-times", 2),
    ("the person kicks with the right foot one time", 1), ("does a single hop forward", 1), ("jumps once", 1),
    ("throws three punches with the left arm", 3), ("someone spins around thrice", 3), ("claps 4 times", 4),
    ("does four jumping jacks", 4), ("hops five more times", 5), ("takes seven small steps", 7),
    ("jumps twice, then claps three times", 3),
    ("a person jumps 100 times", 20), ("claps 21 times", 20),   # past MAX_COUNT: more than a clip holds
    ("a person jumps 3x", 3), ("squats x 4", 4), ("hops 2x forward", 2),        # as people type them
])
def test_counts_in_many_spellings(prompt, count):
    assert spoken_count(prompt) == count


@pytest.mark.parametrize("prompt", [
    "hops on one foot", "claps with both hands", "raises two hands above the head", "walks 3 meters forward",
    "turns 90 degrees to the left", "steps back several times", "a few jumps", "walks forward", "",
    "jumps for two seconds", "two people wave", "stands on two feet", "walks 10x faster", "steps on a 3x3 grid",
])
def test_no_count_where_none_is_said(prompt):
    assert spoken_count(prompt) is None


@pytest.mark.parametrize("prompt, left", [
    ("someone hops forward one time", "someone hops forward"),
    ("Someone hops forward once.", "someone hops forward."),
    ("a person jumps forward three times, then waves", "a person jumps forward, then waves"),
    ("jumps 3 more times", "jumps"),
    ("does three squats", "does squats"),
    ("does a single jump", "does a jump"),
    ("claps a couple of times", "claps"),
    ("hops on one foot twice", "hops on one foot"),     # "one foot" says how, not how often: kept
    ("walks two meters", "walks two meters"),
    ("a person jumps 3x", "a person jumps"),
])
def test_without_count_takes_out_what_spoken_count_reads(prompt, left):
    assert without_count(prompt) == left
    assert spoken_count(left) is None


def test_every_spelling_of_a_count_leaves_one_text():
    spellings = ["hops forward once", "hops forward one time", "hops forward 1 time", "hops forward a single time"]
    assert {without_count(p) for p in spellings} == {"hops forward"}
