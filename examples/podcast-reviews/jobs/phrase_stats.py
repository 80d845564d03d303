#!/usr/bin/env python3
"""Job "phrase_stats": the top phrases of one category's reviews on one day.

    phrase_stats.py INPUT.jsonl OUTPUT.json     (the JobConfig on stdin is not needed)

INPUT is the JSON-lines file beside a categorized_reviews partition (one
review per line, with "rating", "title" and "content"); standard-library
Python cannot read Parquet, so categorized_reviews writes both. OUTPUT is a
JSON document:

    {"review_count": 141,
     "phrases": [{"phrase": "love this show", "reviews": 23, "avg_rating": 4.913}, ...]}

A phrase is 2 or 3 consecutive words (lowercase letters and apostrophes)
within one sentence of a review's title or content, neither starting nor
ending with a stop word; a 2-word phrase that only ever occurs inside one
3-word phrase (as many reviews) is left out. "reviews" counts the reviews containing the phrase
(at least 2), "avg_rating" is their mean rating rounded to 3 decimals. The
top 25 are kept, by reviews descending then phrase. Written to a temporary
file and renamed, so a killed run never leaves a partial partition.
Standard library only.
"""
import json
import os
import re
import sys
import tempfile

TOP = 25
MIN_REVIEWS = 2
SIZES = (2, 3)
STOP_WORDS = frozenset(
    "a an and are as at be but by for from had has have i i'm in is it it's just my of on or so that the "
    "this to too was we were with you your me our".split()
)
SENTENCE = re.compile(r"[.!?;:,]+")
WORD = re.compile(r"[a-z']+")


def phrases_of(text):
    """The set of phrases in a text."""
    found = set()
    for sentence in SENTENCE.split(text.lower()):
        words = WORD.findall(sentence)
        for size in SIZES:
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if gram[0] in STOP_WORDS or gram[-1] in STOP_WORDS:
                    continue
                found.add(" ".join(gram))
    return found


def phrase_stats(reviews):
    counts = {}
    rating_sums = {}
    for review in reviews:
        for phrase in phrases_of(review["title"]) | phrases_of(review["content"]):
            counts[phrase] = counts.get(phrase, 0) + 1
            rating_sums[phrase] = rating_sums.get(phrase, 0) + review["rating"]
    # A 2-word phrase seen exactly as often as a 3-word one containing it is
    # only part of that phrase ("laugh out" in "laugh out loud"): drop it.
    subsumed = set()
    for phrase, count in counts.items():
        words = phrase.split()
        if len(words) == 3:
            for part in (" ".join(words[:2]), " ".join(words[1:])):
                if counts.get(part) == count:
                    subsumed.add(part)
    kept = (p for p in counts if counts[p] >= MIN_REVIEWS and p not in subsumed)
    top = sorted(kept, key=lambda p: (-counts[p], p))[:TOP]
    return {
        "review_count": len(reviews),
        "phrases": [
            {"phrase": p, "reviews": counts[p], "avg_rating": round(rating_sums[p] / counts[p], 3)} for p in top
        ],
    }


def write_atomically(path, document):
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv):
    if len(argv) != 3:
        print("usage: phrase_stats.py INPUT.jsonl OUTPUT.json", file=sys.stderr)
        return 2
    source, target = argv[1], argv[2]
    with open(source, encoding="utf-8") as f:
        reviews = [json.loads(line) for line in f if line.strip()]
    stats = phrase_stats(reviews)
    write_atomically(target, stats)
    top = stats["phrases"][0]["phrase"] if stats["phrases"] else "-"
    print(f"phrase_stats: {len(reviews)} reviews, {len(stats['phrases'])} phrases, top: {top!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
