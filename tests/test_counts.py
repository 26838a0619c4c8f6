"""The count a prompt says, read the same way whatever the spelling (`motion_core.text.counts`)."""
import pytest

from motion_core.text.counts import spoken_count


@pytest.mark.parametrize("prompt, count", [
    ("someone hops forward twice", 2), ("someone hops forward two times", 2), ("a man hops forward 2 times", 2),
    ("a woman leaps twice over the line", 2), ("a person does a couple of squats", 2), ("jumps two-times", 2),
    ("the person kicks with the right foot one time", 1), ("does a single hop forward", 1), ("jumps once", 1),
    ("throws three punches with the left arm", 3), ("someone spins around thrice", 3), ("claps 4 times", 4),
    ("does four jumping jacks", 4), ("hops five more times", 5), ("takes seven small steps", 7),
    ("jumps twice, then claps three times", 3),
])
def test_counts_in_many_spellings(prompt, count):
    assert spoken_count(prompt) == count


@pytest.mark.parametrize("prompt", [
    "hops on one foot", "claps with both hands", "raises two hands above the head", "walks 3 meters forward",
    "turns 90 degrees to the left", "steps back several times", "a few jumps", "walks forward", "",
    "jumps for two seconds", "two people wave", "stands on two feet",
])
def test_no_count_where_none_is_said(prompt):
    assert spoken_count(prompt) is None
