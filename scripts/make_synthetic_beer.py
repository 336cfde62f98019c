#!/usr/bin/env python
"""
Generates a SYNTHETIC multi-aspect BeerAdvocate data set in the formats of Lei, Barzilay &
Jaakkola (2016), so that the Beer experiments (training_config/common/beer.libsonnet) can be run
end to end without the real data, which has no public source any more. Nothing here is real
review text: every review is put together from hand-written templates and word lists.

What it writes to `--output`:

- `reviews.aspect{0,1,2}.{train,heldout}.txt.gz` (default 9,000 + 1,000 reviews each, a
  separate sample per file, decorrelated for its aspect: see below): one review per line, five
  scores in [0, 1] in steps of 0.1 (appearance, aroma, palate, taste, overall), a TAB, then the
  lowercased, space-tokenized text;
- `annotations.json` (default 1,000 reviews, generated the same way but from its own sample):
  JSON lines with `x` (tokens), `y` (five scores), `"0"` to `"4"` (the `[start, end)` spans of
  the sentences about each aspect: the gold rationales), `raw` (the text) and `rid`;
- `review+wiki.filtered.<dim>.txt.gz`: a `word v1 ... v<dim>` line for every word that the
  generator can produce.

Run it, then point the configs at it:

    .venv/bin/python scripts/make_synthetic_beer.py --output /tmp/synthetic_beer --seed 1
    BEER_DATA_DIR=/tmp/synthetic_beer BEER_EMBEDDING_DIM=50 BEER_ASPECT=0 \\
        BEER_EMBEDDINGS=/tmp/synthetic_beer/review+wiki.filtered.50.txt.gz ...

Why it is (meant to be) about as hard as the real data:

- One latent quality drives all five scores (each aspect is the quality plus its own noise,
  clipped and rounded to 0.1), so the scores are correlated as in real reviews (taste and
  overall most of all): reading the overall sentiment anywhere in a review gives a decent MSE
  for any aspect, but only reading the aspect's own sentences gives the best.
- The sentiment words are shared by all aspects ("great", "thin", "muddy", ... are said of the
  head, the nose, the body and the flavour alike); only cue words ("head", "lacing", "aroma",
  "nose", "mouthfeel", "carbonation", ...) tell which aspect a sentence is about. Each aspect
  sentence expresses its aspect's score through graded adjectives and adverbs, with
  intensifiers ("very", "slightly"), negation ("not", "not very"), per-word noise and a few
  off-target words.
- Aspect sentences come in random order; an aspect is sometimes described twice and now and
  then not at all (its score still follows the latent quality). Between them sit filler
  sentences without any score information (serving, bottle, price, brewery, the story) and
  sentences with sentiment words about other things ("the bartender was great", another beer
  of the brewery), some of them with an aspect's cue word ("the head brewer was nice").
- Like Lei et al.'s per-aspect files, which are subsets of the reviews chosen so that their
  aspect's rating is less correlated with the other four than in the reviews at large, each
  aspect's training and heldout file is a subset: of `DECORRELATION_POOL` times as many
  reviews, those whose aspect score the other four scores predict worst (the largest absolute
  residuals of a least-squares fit on the pool). Lei et al.'s exact procedure is not
  reproduced here; this is our own. The scores stay positively correlated, and the annotated
  reviews are a plain sample. `--correlated` writes plain samples instead (the data of the
  benchmark runs before 2026-11-30, whose smell and palate rationales picked up the taste and
  overall sentences of the same latent quality).
- Reviews have 100 to 300 tokens (a right-skewed, log-normal length distribution); the gold
  sentences cover about 15-20 % of the tokens for look and 10-15 % for smell and palate.
- The word vectors are random per word, plus a shared component per word class (the cue words
  of one aspect, colours, flavours, ...) and, for the graded sentiment words, a component along
  one random direction scaled by the word's polarity: words of similar polarity are somewhat
  closer, but no dimension encodes a score.

Output depends only on `--seed` and the sizes (each file has its own random stream, and gzip is
written without a timestamp). The defaults take well under a minute on one CPU core.
"""

import argparse
import gzip
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

NUM_ASPECTS = 5
ASPECT_NAMES = ("look", "smell", "palate", "taste", "overall")

# ----------------------------------------------------------------------------------------------
# Scores: one latent quality per review; each aspect = clip(quality + noise), rounded to 0.1.

QUALITY_MEAN = 0.68
QUALITY_SD = 0.16
# Per-aspect noise around the quality: taste and overall follow it closely, as in real reviews.
ASPECT_NOISE_SD = (0.15, 0.13, 0.13, 0.09, 0.07)
# Each aspect's files keep the 1 / DECORRELATION_POOL of a pool of reviews whose aspect score the
# other scores predict worst.
DECORRELATION_POOL = 3
# Noise of the sentiment that one graded slot of an aspect sentence expresses, around the score.
SLOT_NOISE_SD = 0.07
# Chance that a graded slot expresses a random value instead (an off-hand remark, sarcasm).
SLOT_OFF_TARGET = 0.05
# Width of the kernel that picks a graded phrase whose value is near the wanted one.
PHRASE_KERNEL_SD = 0.05

# ----------------------------------------------------------------------------------------------
# Graded words. Sentiment adjectives (shared by every aspect and the distractors) with values
# in [0, 1].
SENTIMENT_ADJECTIVES = {
    # very negative
    "awful": 0.05,
    "horrible": 0.05,
    "terrible": 0.07,
    "disgusting": 0.04,
    "vile": 0.06,
    "nasty": 0.1,
    "gross": 0.1,
    # negative
    "bad": 0.2,
    "poor": 0.2,
    "unpleasant": 0.18,
    "stale": 0.2,
    "lifeless": 0.2,
    "disappointing": 0.22,
    "muddy": 0.25,
    "flat": 0.25,
    "watery": 0.25,
    "harsh": 0.25,
    "cloying": 0.28,
    "thin": 0.3,
    "weak": 0.3,
    "bland": 0.3,
    "lackluster": 0.3,
    "dull": 0.32,
    # middling
    "mediocre": 0.4,
    "passable": 0.42,
    "unremarkable": 0.42,
    "ordinary": 0.45,
    "average": 0.48,
    "okay": 0.5,
    "acceptable": 0.5,
    "fine": 0.55,
    "decent": 0.58,
    # positive
    "clean": 0.65,
    "pleasant": 0.68,
    "crisp": 0.68,
    "good": 0.7,
    "nice": 0.7,
    "fresh": 0.7,
    "solid": 0.72,
    "smooth": 0.72,
    "enjoyable": 0.72,
    "appealing": 0.72,
    "inviting": 0.75,
    "attractive": 0.75,
    "rich": 0.78,
    "lovely": 0.8,
    # very positive
    "great": 0.85,
    "excellent": 0.9,
    "wonderful": 0.9,
    "beautiful": 0.9,
    "fantastic": 0.92,
    "amazing": 0.93,
    "outstanding": 0.93,
    "stunning": 0.93,
    "superb": 0.95,
    "incredible": 0.95,
    "phenomenal": 0.96,
    "world-class": 0.97,
    "perfect": 0.98,
}
# Graded adverbs, for templates such as "the head fades {ADV}".
SENTIMENT_ADVERBS = {
    "terribly": 0.08,
    "awfully": 0.1,
    "badly": 0.18,
    "poorly": 0.22,
    "weakly": 0.3,
    "oddly": 0.38,
    "adequately": 0.5,
    "reasonably": 0.58,
    "well": 0.66,
    "nicely": 0.72,
    "very well": 0.8,
    "beautifully": 0.9,
    "wonderfully": 0.9,
    "perfectly": 0.96,
}
# Graded verdicts for the overall aspect.
RECOMMENDATIONS = {
    "will pour the rest out": 0.05,
    "would never buy it again": 0.12,
    "would not buy it again": 0.22,
    "probably would not get it again": 0.32,
    "might try it again someday": 0.5,
    "would have it again": 0.62,
    "would recommend it": 0.78,
    "would gladly buy it again": 0.85,
    "would recommend it to anyone": 0.9,
    "will stock up on it": 0.95,
}
# Intensifiers and softeners: (words, strength, prior weight); value = 0.5 + strength * (v - 0.5).
MODIFIERS = [
    ("", 1.0, 3.0),
    ("very", 1.3, 0.5),
    ("really", 1.25, 0.35),
    ("extremely", 1.45, 0.15),
    ("incredibly", 1.45, 0.1),
    ("quite", 1.15, 0.25),
    ("pretty", 1.1, 0.3),
    ("rather", 1.05, 0.15),
    ("fairly", 0.8, 0.2),
    ("somewhat", 0.65, 0.2),
    ("a bit", 0.7, 0.15),
    ("slightly", 0.6, 0.15),
]
# Negations: (words, strength, prior weight); value = 0.5 - 0.45 * strength * (v - 0.5).
NEGATIONS = [
    ("not", 1.0, 0.35),
    ("not very", 1.3, 0.15),
    ("not really", 1.25, 0.1),
    ("not particularly", 1.2, 0.08),
    ("not exactly", 1.1, 0.05),
    ("not at all", 1.4, 0.04),
]
# Only words with values in these ranges are modified or negated (no "very perfect", "not awful",
# "not okay").
MODIFIABLE = ((0.1, 0.4), (0.6, 0.9))

# ----------------------------------------------------------------------------------------------
# Neutral fillers: no score information. Multi-word entries are split into tokens.
FILLS: Dict[str, List[str]] = {
    "clarity": ["hazy", "clear", "cloudy", "opaque", "translucent", "unfiltered", "slightly hazy"],
    "color": [
        "amber",
        "golden",
        "gold",
        "copper",
        "brown",
        "dark brown",
        "black",
        "straw",
        "pale straw",
        "orange",
        "ruby",
        "mahogany",
        "chestnut",
        "yellow",
        "deep red",
        "garnet",
        "tawny",
    ],
    "headcolor": ["white", "off-white", "tan", "beige", "khaki", "cream", "light tan", "mocha"],
    "size": ["one finger", "two finger", "three finger", "small", "large", "half inch", "modest"],
    "headtex": ["rocky", "frothy", "dense", "bubbly", "foamy", "fizzy", "sudsy"],
    "flav": [
        "citrus",
        "grapefruit",
        "pine",
        "caramel",
        "toffee",
        "chocolate",
        "coffee",
        "roast",
        "roasted malt",
        "malt",
        "bread",
        "biscuit",
        "honey",
        "banana",
        "clove",
        "vanilla",
        "oak",
        "bourbon",
        "dark fruit",
        "raisin",
        "plum",
        "cherry",
        "lemon",
        "grass",
        "herbs",
        "brown sugar",
        "molasses",
        "yeast",
        "spice",
        "pepper",
        "smoke",
        "hops",
        "tropical fruit",
        "mango",
        "peach",
        "apricot",
        "cocoa",
        "nuts",
        "toast",
        "orange peel",
        "coriander",
        "licorice",
    ],
    "bodyw": ["light", "medium", "full", "medium-light", "medium-full", "heavy"],
    "carb": ["low", "moderate", "high", "medium", "soft", "prickly", "lively"],
    "texture": ["oily", "dry", "slick", "chewy", "sticky", "coating", "resinous", "silky"],
    "finishw": ["dry", "sweet", "bitter", "lingering", "short", "long", "sticky", "warming"],
    "style": [
        "ipa",
        "stout",
        "porter",
        "lager",
        "pilsner",
        "pale ale",
        "brown ale",
        "saison",
        "tripel",
        "dubbel",
        "wheat beer",
        "hefeweizen",
        "barleywine",
        "amber ale",
        "imperial stout",
        "double ipa",
        "bock",
        "scotch ale",
        "red ale",
        "kolsch",
    ],
    "glass": [
        "pint glass",
        "tulip",
        "snifter",
        "goblet",
        "shaker pint",
        "mug",
        "weizen glass",
        "chalice",
        "teku",
        "nonic",
    ],
    "container": [
        "bottle",
        "can",
        "bomber",
        "growler",
        "22 oz bomber",
        "12 oz bottle",
        "16 oz can",
        "750 ml bottle",
        "stubby bottle",
    ],
    "place": [
        "a local bar",
        "the brewpub",
        "a friend 's house",
        "my place",
        "a beer festival",
        "the taproom",
        "a bottle share",
        "the airport",
        "a tasting event",
    ],
    "store": [
        "the local shop",
        "a grocery store",
        "the bottle shop",
        "a gas station",
        "the liquor store",
        "a beer store downtown",
    ],
    "city": [
        "portland",
        "denver",
        "boston",
        "chicago",
        "munich",
        "brussels",
        "san diego",
        "vermont",
        "asheville",
        "philadelphia",
        "seattle",
        "austin",
        "milwaukee",
        "montreal",
    ],
    "month": [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    "day": ["1", "3", "7", "12", "15", "19", "22", "28", "30"],
    "year": ["2006", "2007", "2008", "2009", "2010", "2011", "2012"],
    "price": ["4", "6", "8", "9", "11", "13", "15", "20"],
    "abv": ["4.5", "5", "5.5", "6.2", "7", "8", "9.5", "11"],
    "count": ["two", "three", "four", "a few", "several", "many"],
    "person": [
        "my brother",
        "my sister",
        "my dad",
        "a coworker",
        "my wife",
        "my buddy",
        "my roommate",
        "a neighbor",
        "a trader",
        "my uncle",
    ],
    "season": ["winter", "summer", "fall", "spring", "holiday", "anniversary"],
    "food": ["pizza", "burgers", "tacos", "fish and chips", "bbq", "cheese", "chili", "wings"],
    "event": ["the game", "a concert", "a cookout", "a wedding", "thanksgiving", "a party"],
    "pack": ["six pack", "four pack", "single", "case", "bomber"],
    "ingredient": ["oats", "rye", "wheat", "lactose", "coffee beans", "pumpkin", "chilies"],
    "animal": ["goat", "bear", "fox", "dragon", "monk", "moose", "rooster", "owl"],
    "object": ["mountain", "river", "castle", "barrel", "ship", "lighthouse", "tree"],
    "subject": [
        "the bartender",
        "the service",
        "the waitress",
        "the staff",
        "the music",
        "the crowd",
        "the label art",
        "the bottle design",
        "the view",
        "the food",
        "the parking",
        "the company",
        "the tour",
        "the website",
    ],
}

# ----------------------------------------------------------------------------------------------
# Cue words: what tells the aspects apart. Every aspect clause that starts a sentence has one.
CUES: Dict[int, Set[str]] = {
    0: {
        "look",
        "looks",
        "appearance",
        "color",
        "colour",
        "head",
        "lacing",
        "pours",
        "retention",
        "clarity",
        "foam",
        "hue",
        "collar",
    },
    1: {"aroma", "aromas", "nose", "smell", "smells", "scent", "bouquet"},
    2: {"mouthfeel", "carbonation", "body", "bodied", "feel", "feels", "palate", "texture"},
    3: {"taste", "tastes", "flavor", "flavors", "finish", "finishes", "aftertaste"},
    4: {"overall", "drinkability", "drinkable", "verdict", "impression"},
}

# Clauses per aspect: `{S}` is a graded adjective phrase, `{ADV}` a graded adverb, `{REC}` a
# graded verdict (each expressing the aspect's score), other `{slot}`s are neutral FILLS.
# Clauses marked with a leading "*" carry no cue word and never start a sentence.
ASPECT_CLAUSES: Dict[int, List[str]] = {
    0: [
        "pours a {clarity} {color} color",
        "pours a {S} {clarity} {color}",
        "the appearance is {S}",
        "looks {S} in the glass",
        "a {size} {headcolor} head with {S} retention",
        "the head is {S} and {headtex}",
        "{S} lacing down the glass",
        "lacing is {S}",
        "the color is a {S} {color}",
        "{clarity} {color} body with a {S} {headcolor} head",
        "the head fades {ADV} to a {size} collar",
        "clarity is {S}",
        "the look is {S} , {clarity} and {color}",
        "a {S} {headtex} foam that settles {ADV}",
        "*leaving {S} rings on the glass",
        "*with a {size} {headcolor} cap",
    ],
    1: [
        "the aroma is {S}",
        "smells {S}",
        "nose of {flav} and {flav}",
        "the nose is {S} with {flav} up front",
        "aromas of {flav} , {flav} and {flav}",
        "the smell is {S} and {S}",
        "a {S} scent of {flav}",
        "{S} bouquet of {flav}",
        "hints of {flav} in the nose",
        "smells {ADV} of {flav} and {flav}",
        "the aroma comes across {ADV}",
        "*with some {flav} in the background",
        "*a touch of {flav} too",
    ],
    2: [
        "the mouthfeel is {S}",
        "{bodyw} bodied with {carb} carbonation",
        "the body is {S}",
        "carbonation is {S}",
        "feels {S} on the palate",
        "a {S} , {texture} mouthfeel",
        "the texture is {S}",
        "{carb} carbonation that feels {S}",
        "the palate is {S} and {texture}",
        "mouthfeel is {bodyw} and {S}",
        "the body holds up {ADV}",
        "*a bit {texture} at the end",
        "*{carb} and {texture}",
    ],
    3: [
        "the taste is {S}",
        "tastes {S}",
        "flavors of {flav} and {flav}",
        "the flavor is {S} with {flav} coming through",
        "a {S} taste of {flav}",
        "the finish is {S} and {finishw}",
        "a {S} aftertaste",
        "{flav} up front in the taste , then {flav}",
        "the flavors are {S} and {S}",
        "finishes {ADV} with some {flav}",
        "the taste is {S} , mostly {flav}",
        "*with {flav} in the middle",
        "*{finishw} at the end",
    ],
    4: [
        "overall a {S} beer",
        "overall it is {S}",
        "drinkability is {S}",
        "overall {S} and i {REC}",
        "all in all a {S} {style} overall",
        "overall impression : {S}",
        "verdict : {S} , i {REC}",
        "overall , i {REC}",
        "very drinkable and {S} overall",
        "*i {REC}",
    ],
}
# (number of clauses, weight) per aspect sentence, and chances of two sentences / none.
CLAUSES_PER_SENTENCE: Dict[int, List[Tuple[int, float]]] = {
    0: [(1, 0.05), (2, 0.3), (3, 0.4), (4, 0.25)],
    1: [(1, 0.15), (2, 0.4), (3, 0.35), (4, 0.1)],
    2: [(1, 0.1), (2, 0.4), (3, 0.35), (4, 0.15)],
    3: [(1, 0.15), (2, 0.45), (3, 0.3), (4, 0.1)],
    4: [(1, 0.5), (2, 0.4), (3, 0.1)],
}
TWO_SENTENCES = (0.4, 0.25, 0.25, 0.3, 0.1)
MISSING = (0.04, 0.05, 0.05, 0.03, 0.08)
JOINERS = [",", "and", ", and", ", but", ";"]

# Sentences without any score information.
FILLER_SENTENCES = [
    "poured from a {container} into a {glass}",
    "served in a {glass} at {place}",
    "had this on tap at {place}",
    "picked this up at {store} for {price} dollars",
    "bottled on {month} {day} , {year}",
    "thanks to {person} for sharing this one",
    "{person} brought this back from {city}",
    "this is the {season} release from a brewery in {city}",
    "abv is {abv} percent",
    "i have had this {count} times now",
    "reviewed from notes taken last {month}",
    "first {style} i have tried from this brewery",
    "the label shows a {animal} next to a {object}",
    "drank this with {food} during {event}",
    "it was brewed with {ingredient} according to the label",
    "the brewery was founded in {year} in {city}",
    "sampled at cellar temperature in a {glass}",
    "split a {container} with {person} last {month}",
    "this has been sitting in my fridge since {month}",
    "part of a mixed case from {store}",
    "it is listed as a {style} on the website",
    "cost about {price} dollars for a {pack}",
    "got this in a trade with {person}",
    "the {container} says {abv} percent",
    "they only brew it in the {season}",
]
# Sentences with sentiment ({D}: a graded phrase of a random value) about other things; the last
# ones also carry an aspect's cue word.
DISTRACTOR_SENTENCES = [
    "{subject} was {D}",
    "{subject} at {place} was {D} that night",
    "i thought {subject} was {D}",
    "{person} said {subject} was {D}",
    "the {food} we had with it was {D}",
    "their {style} is {D} by the way",
    "compared to their {style} , which is {D} , this is different",
    "the last {style} i had from them was {D}",
    "{subject} is {D} though",
    "the weather that day was {D}",
    "the price was {D} for a {pack}",
    "{event} was {D}",
    "the taproom looks {D} after the remodel",
    "the head brewer was {D} to talk to",
    "the color of the label is {D}",
    "their website is {D} overall",
    "the feel of the place was {D}",
]
DISTRACTOR_SHARE = 0.35  # of the non-aspect sentences

# Review length: log-normal target, resampled into [MIN_LENGTH, MAX_TARGET].
MIN_LENGTH, MAX_LENGTH = 100, 300
LENGTH_MEDIAN, LENGTH_SIGMA = 148.0, 0.28
MAX_TARGET = 285  # leaves room for the sentence that crosses the target

Item = Tuple[str, object]  # ("word", token) or ("slot", name)


# ----------------------------------------------------------------------------------------------
# Graded phrase tables


class Graded:
    """Phrases with values in [0, 1]; `sample(rng, value)` draws one whose value is near."""

    def __init__(self, phrases: Sequence[Tuple[Tuple[str, ...], float, float]]) -> None:
        self.phrases = [list(words) for words, _, _ in phrases]
        self.cumulative: List[List[float]] = []
        for step in range(101):
            target = step / 100.0
            total = 0.0
            row = []
            for _, value, prior in phrases:
                total += prior * math.exp(-0.5 * ((value - target) / PHRASE_KERNEL_SD) ** 2)
                row.append(total + 1e-12)
            self.cumulative.append(row)

    def sample(self, rng: random.Random, value: float) -> List[str]:
        step = min(100, max(0, int(round(value * 100))))
        return rng.choices(self.phrases, cum_weights=self.cumulative[step])[0]


def _adjective_phrases() -> List[Tuple[Tuple[str, ...], float, float]]:
    phrases = []
    for word, value in SENTIMENT_ADJECTIVES.items():
        modifiable = any(low < value < high for low, high in MODIFIABLE)
        for modifier, strength, prior in MODIFIERS:
            if modifier and not modifiable:
                continue
            modified = min(0.98, max(0.02, 0.5 + strength * (value - 0.5)))
            phrases.append((tuple(modifier.split()) + (word,), modified, prior))
        if not modifiable:
            continue
        for negation, strength, prior in NEGATIONS:
            words = tuple(negation.split()) + (word,)
            phrases.append((words, 0.5 - 0.45 * strength * (value - 0.5), prior))
    return phrases


ADJECTIVES = Graded(_adjective_phrases())
ADVERBS = Graded([(tuple(w.split()), v, 1.0) for w, v in SENTIMENT_ADVERBS.items()])
VERDICTS = Graded([(tuple(w.split()), v, 1.0) for w, v in RECOMMENDATIONS.items()])
GRADED_SLOTS = {"S": ADJECTIVES, "D": ADJECTIVES, "ADV": ADVERBS, "REC": VERDICTS}


# ----------------------------------------------------------------------------------------------
# Templates


def compile_template(text: str) -> List[Item]:
    items: List[Item] = []
    for piece in text.split():
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1]
            if name not in GRADED_SLOTS and name not in FILLS:
                raise ValueError(f"unknown slot {name!r} in template {text!r}")
            items.append(("slot", name))
        else:
            items.append(("word", piece))
    return items


def _compile_clauses() -> Dict[int, Tuple[List[List[Item]], List[List[Item]]]]:
    compiled = {}
    for aspect, clauses in ASPECT_CLAUSES.items():
        openers, others = [], []
        for clause in clauses:
            if clause.startswith("*"):
                others.append(compile_template(clause[1:]))
            else:
                template = compile_template(clause)
                if not any(kind == "word" and word in CUES[aspect] for kind, word in template):
                    raise ValueError(f"clause {clause!r} has no cue word of aspect {aspect}")
                openers.append(template)
        compiled[aspect] = (openers, openers + others)
    return compiled


CLAUSES = _compile_clauses()
FILLERS = [compile_template(text) for text in FILLER_SENTENCES]
DISTRACTORS = [compile_template(text) for text in DISTRACTOR_SENTENCES]
SPLIT_FILLS = {name: [value.split() for value in values] for name, values in FILLS.items()}
SPLIT_JOINERS = [joiner.split() for joiner in JOINERS]


def expand(rng: random.Random, template: List[Item], value: Optional[float]) -> List[str]:
    """The template's tokens; graded slots express `value` (None: a random value each)."""
    tokens: List[str] = []
    for kind, content in template:
        if kind == "word":
            tokens.append(content)  # type: ignore[arg-type]
            continue
        graded = GRADED_SLOTS.get(content)  # type: ignore[arg-type]
        if graded is None:
            tokens.extend(rng.choice(SPLIT_FILLS[content]))  # type: ignore[index]
            continue
        if value is None or content == "D":
            target = rng.random()
        elif rng.random() < SLOT_OFF_TARGET:
            target = rng.random()
        else:
            target = value + rng.gauss(0.0, SLOT_NOISE_SD)
        tokens.extend(graded.sample(rng, target))
    return tokens


# ----------------------------------------------------------------------------------------------
# Reviews


def sample_scores(rng: random.Random) -> Tuple[List[float], List[float]]:
    """The five scores (rounded to 0.1) and the unrounded values the text expresses."""
    quality = min(1.0, max(0.0, rng.gauss(QUALITY_MEAN, QUALITY_SD)))
    values = [min(1.0, max(0.0, quality + rng.gauss(0.0, sd))) for sd in ASPECT_NOISE_SD]
    return [round(value * 10) / 10 for value in values], values


def aspect_sentence(rng: random.Random, aspect: int, value: float) -> List[str]:
    openers, clauses = CLAUSES[aspect]
    counts, weights = zip(*CLAUSES_PER_SENTENCE[aspect])
    count = rng.choices(counts, weights=weights)[0]
    tokens = expand(rng, rng.choice(openers), value)
    for _ in range(count - 1):
        tokens.extend(rng.choice(SPLIT_JOINERS))
        tokens.extend(expand(rng, rng.choice(clauses), value))
    return tokens


def target_length(rng: random.Random) -> int:
    while True:
        length = int(round(rng.lognormvariate(math.log(LENGTH_MEDIAN), LENGTH_SIGMA)))
        if MIN_LENGTH <= length <= MAX_TARGET:
            return length


def make_review(rng: random.Random) -> Tuple[List[str], List[float], List[List[List[int]]]]:
    """Returns the tokens, the five scores and per aspect the [start, end) gold spans."""
    scores, values = sample_scores(rng)
    while True:
        # (aspect or -1 for other sentences, tokens)
        sentences: List[Tuple[int, List[str]]] = []
        for aspect in range(NUM_ASPECTS):
            if rng.random() < MISSING[aspect]:
                continue
            repeats = 2 if rng.random() < TWO_SENTENCES[aspect] else 1
            for _ in range(repeats):
                sentences.append((aspect, aspect_sentence(rng, aspect, values[aspect])))
        rng.shuffle(sentences)
        length = sum(len(words) + 1 for _, words in sentences)
        if length <= MAX_TARGET:
            break
    goal = target_length(rng)
    while length < goal:
        if rng.random() < DISTRACTOR_SHARE:
            words = expand(rng, rng.choice(DISTRACTORS), None)
        else:
            words = expand(rng, rng.choice(FILLERS), None)
        sentences.insert(rng.randint(0, len(sentences)), (-1, words))
        length += len(words) + 1

    tokens: List[str] = []
    spans: List[List[List[int]]] = [[] for _ in range(NUM_ASPECTS)]
    for aspect, words in sentences:
        if aspect >= 0:
            spans[aspect].append([len(tokens), len(tokens) + len(words)])
        tokens.extend(words)
        tokens.append(".")
    return tokens, scores, spans


def format_scores(scores: Sequence[float]) -> str:
    return " ".join(f"{score:.1f}" for score in scores)


def write_gzip(path: Path, lines: List[str]) -> None:
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as out:
            out.write("".join(line + "\n" for line in lines).encode("utf-8"))


# ----------------------------------------------------------------------------------------------
# Vocabulary and word vectors


def word_classes() -> Dict[str, str]:
    """Every word the generator can produce, mapped to its class (first one wins)."""
    classes: Dict[str, str] = {}

    def add(words: Sequence[str], name: str) -> None:
        for word in words:
            classes.setdefault(word, name)

    add(list(SENTIMENT_ADJECTIVES), "sentiment")
    add([w for w in SENTIMENT_ADVERBS if " " not in w], "sentiment")
    add([w for m, _, _ in MODIFIERS for w in m.split()], "modifier")
    add([w for n, _, _ in NEGATIONS for w in n.split()], "negation")
    for aspect in range(NUM_ASPECTS):
        add(sorted(CUES[aspect]), f"cue{aspect}")
    for name, values in FILLS.items():
        add([w for value in values for w in value.split()], name)
    add([".", ",", ":", ";"], "punctuation")
    texts = [c.lstrip("*") for clauses in ASPECT_CLAUSES.values() for c in clauses]
    texts += FILLER_SENTENCES + DISTRACTOR_SENTENCES + JOINERS + list(SENTIMENT_ADVERBS)
    texts += list(RECOMMENDATIONS)
    add([w for text in texts for w in text.split() if not w.startswith("{")], "function")
    return classes


def sentiment_value(word: str) -> Optional[float]:
    if word in SENTIMENT_ADJECTIVES:
        return SENTIMENT_ADJECTIVES[word]
    return SENTIMENT_ADVERBS.get(word)


def make_vectors(seed: int, dim: int) -> List[str]:
    """Per word: a random vector, plus its class's shared vector, plus (sentiment words) a
    polarity component along one random direction. Values have a spread of about 0.2."""
    rng = random.Random(f"{seed}-vectors")
    scale = 0.2

    def gaussian_vector() -> List[float]:
        return [rng.gauss(0.0, scale) for _ in range(dim)]

    classes = word_classes()
    centres = {name: gaussian_vector() for name in sorted(set(classes.values()))}
    polarity = gaussian_vector()
    lines = []
    for word in sorted(classes):
        vector = gaussian_vector()
        centre = centres[classes[word]]
        value = sentiment_value(word)
        weight = 0.0 if value is None else 0.7 * (2.0 * value - 1.0)
        values = [v + 0.6 * c + weight * p for v, c, p in zip(vector, centre, polarity)]
        lines.append(word + " " + " ".join(f"{v:.4f}" for v in values))
    return lines


# ----------------------------------------------------------------------------------------------


def review_line(tokens: List[str], scores: Sequence[float]) -> str:
    """One line of a review file: the five scores, a TAB, the text."""
    return f"{format_scores(scores)}\t{' '.join(tokens)}"


def review_lines(rng: random.Random, size: int) -> List[str]:
    return [review_line(*make_review(rng)[:2]) for _ in range(size)]


def decorrelated_review_lines(rng: random.Random, size: int, aspect: int) -> List[str]:
    """`size` reviews, in the order drawn, out of `DECORRELATION_POOL * size`: those whose score
    for `aspect` a least-squares fit on the other four scores (and a constant) predicts worst."""
    if size == 0:
        return []
    pool = [make_review(rng)[:2] for _ in range(DECORRELATION_POOL * size)]
    residuals = np.abs(other_scores_residuals(np.array([s for _, s in pool]), aspect))
    keep = sorted(np.argsort(-residuals, kind="stable")[:size].tolist())
    return [review_line(*pool[i]) for i in keep]


def other_scores_residuals(scores: np.ndarray, aspect: int) -> np.ndarray:
    """`scores` of shape (num_reviews, 5): the residuals of a least-squares fit of the aspect's
    score on the other four scores and a constant."""
    design = np.hstack([np.ones((len(scores), 1)), np.delete(scores, aspect, axis=1)])
    weights = np.linalg.lstsq(design, scores[:, aspect], rcond=None)[0]
    return scores[:, aspect] - design @ weights


def line_scores(lines: List[str]) -> np.ndarray:
    """The five scores of each review line, shape (len(lines), 5)."""
    return np.array([[float(v) for v in line.split("\t")[0].split()] for line in lines])


def describe_correlation(aspect: int, scores: np.ndarray) -> str:
    """How much the aspect's score in its training file goes with the other four: the numbers
    behind the README's description of the decorrelated files."""
    if len(scores) <= NUM_ASPECTS or scores[:, aspect].var() == 0:
        return f"aspect {aspect}: too few reviews to describe"
    correlation = np.delete(np.corrcoef(scores.T)[aspect], aspect)
    explained = 1 - np.mean(other_scores_residuals(scores, aspect) ** 2) / scores[:, aspect].var()
    return (
        f"aspect {aspect} training file: correlation with the other four scores "
        f"{correlation.min():.2f}-{correlation.max():.2f}, share of its variance they explain "
        f"{explained:.2f}"
    )


def annotation_lines(rng: random.Random, size: int) -> List[str]:
    lines = []
    for index in range(size):
        tokens, scores, spans = make_review(rng)
        item: Dict[str, object] = {"raw": " ".join(tokens), "rid": 900000 + index}
        item["x"] = tokens
        item["y"] = scores
        for aspect in range(NUM_ASPECTS):
            item[str(aspect)] = spans[aspect]
        lines.append(json.dumps(item))
    return lines


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write a synthetic multi-aspect BeerAdvocate data set (Lei et al. 2016 format)."
    )
    parser.add_argument("--output", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--train", type=int, default=9000, help="training reviews per aspect")
    parser.add_argument("--heldout", type=int, default=1000, help="heldout reviews per aspect")
    parser.add_argument("--annotated", type=int, default=1000, help="annotated reviews")
    parser.add_argument("--dim", type=int, default=50, help="word vector size (default 50)")
    parser.add_argument(
        "--correlated",
        action="store_true",
        help="per-aspect files as plain samples, not decorrelated subsets (the data before "
        "2026-11-30)",
    )
    args = parser.parse_args(argv)
    for name in ("train", "heldout", "annotated", "dim"):
        if getattr(args, name) < (1 if name == "dim" else 0):
            parser.error(f"--{name} is too small: {getattr(args, name)}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    start = time.time()
    output: Path = args.output
    output.mkdir(parents=True, exist_ok=True)
    all_scores = []
    for aspect in range(3):
        for split, size in (("train", args.train), ("heldout", args.heldout)):
            rng = random.Random(f"{args.seed}-aspect{aspect}-{split}")
            if args.correlated:
                lines = review_lines(rng, size)
            else:
                lines = decorrelated_review_lines(rng, size, aspect)
            write_gzip(output / f"reviews.aspect{aspect}.{split}.txt.gz", lines)
            all_scores.append(line_scores(lines).reshape(-1, NUM_ASPECTS))
            if split == "train":
                print(describe_correlation(aspect, all_scores[-1]))
    rng = random.Random(f"{args.seed}-annotations")
    lines = annotation_lines(rng, args.annotated)
    (output / "annotations.json").write_text("".join(line + "\n" for line in lines))
    vectors = make_vectors(args.seed, args.dim)
    write_gzip(output / f"review+wiki.filtered.{args.dim}.txt.gz", vectors)
    scores = np.concatenate(all_scores)
    if len(scores) > 1 and (scores.std(axis=0) > 0).all():
        pairwise = np.corrcoef(scores.T)[np.triu_indices(NUM_ASPECTS, 1)]
        print(
            f"mean pairwise correlation of the scores over all review files: {pairwise.mean():.2f}"
        )
    print(
        f"wrote a synthetic BeerAdvocate set ({len(vectors)} word types, {args.dim}-d vectors) "
        f"to {output} in {time.time() - start:.1f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
