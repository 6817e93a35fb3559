"""Generate the synthetic facts table that the bundled model ``factlm`` is trained on.

Run ``python -m tracewidget.models.factlm.make_facts`` to rewrite ``facts.json`` (seeded, so the
output is byte-identical on every machine).

Why the table looks the way it does: causal tracing is only meaningful if the model has to *read
the subject* to answer. Most invented subjects are built from a small pool of words, in both
orders and with three different last words ("Crimson Silver Tower", "Silver Crimson Tower",
"Crimson Silver Bridge", "Silver Crimson Bridge", ... have unrelated facts), so no subject
token but the last identifies the subject: the model must compose all of them, which puts the
lookup at the last subject token, as in ROME. A handful of real landmarks keep the examples
familiar. Several paraphrase templates per relation and optional filler sentences in front move
the subject around the prompt, so position alone gives nothing away. Every answer is a single
token.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FACTS_PATH = Path(__file__).with_name("facts.json")
SEED = 0

CITY_COUNTRY = {
    "Paris": "France", "Rome": "Italy", "London": "England", "Berlin": "Germany",
    "Madrid": "Spain", "Tokyo": "Japan", "Cairo": "Egypt", "Sydney": "Australia",
    "Vienna": "Austria", "Athens": "Greece", "Moscow": "Russia", "Dublin": "Ireland",
    "Lisbon": "Portugal", "Oslo": "Norway", "Seoul": "Korea", "Toronto": "Canada",
}
LANGUAGES = ["French", "Italian", "English", "German", "Spanish", "Japanese", "Arabic",
             "Greek", "Russian", "Portuguese", "Korean", "Dutch"]
SPORTS = ["tennis", "football", "baseball", "hockey", "golf", "cricket", "rugby", "boxing",
          "cycling", "swimming", "skiing", "chess"]
FOUNDERS = ["Smith", "Jones", "Brown", "Wilson", "Clark", "Walker", "Young", "King", "Wright",
            "Hill", "Green", "Baker"]
PRODUCTS = ["cars", "phones", "shoes", "coffee", "software", "toys", "furniture", "bicycles",
            "cameras", "chocolate", "medicine", "watches"]

LANDMARK_WORDS = ["Crimson", "Silver", "Golden", "Azure", "Ivory", "Emerald", "Scarlet", "Amber",
                  "Copper", "Jade", "Onyx", "Coral"]
LANDMARK_KINDS = ["Tower", "Bridge", "Palace", "Temple", "Castle", "Gate", "Museum", "Cathedral"]
PERSON_WORDS = ["Morgan", "Taylor", "Jordan", "Casey", "Riley", "Avery", "Quinn", "Parker",
                "Reese", "Logan", "Hayden", "Emerson", "Rowan", "Sawyer", "Harper", "Blake"]
COMPANY_WORDS = ["Falcon", "River", "Maple", "Summit", "Harbor", "Cedar", "Orbit", "Lantern",
                 "Meadow", "Granite", "Willow", "Comet"]
COMPANY_KINDS = ["Motors", "Systems", "Foods", "Labs", "Group", "Industries"]

REAL_LANDMARKS = {
    "Eiffel Tower": "Paris", "Louvre": "Paris", "Colosseum": "Rome", "Pantheon": "Rome",
    "Big Ben": "London", "Tower Bridge": "London", "Brandenburg Gate": "Berlin",
    "Prado Museum": "Madrid", "Tokyo Tower": "Tokyo", "Great Pyramid": "Cairo",
    "Sydney Opera House": "Sydney", "Parthenon": "Athens", "Kremlin": "Moscow",
    "Belem Tower": "Lisbon", "CN Tower": "Toronto",
}

TEMPLATES = {
    "city": ["The {} is located in the city of", "The {} can be found in the city of",
             "The city that is home to the {} is"],
    "country": ["The {} is located in the country of", "The {} is a famous landmark of",
                "The country that is home to the {} is"],
    "language": ["{} speaks the language", "The native language of {} is",
                 "{} grew up speaking"],
    "sport": ["{} plays the sport of", "The sport played by {} is",
              "{} is a professional player of"],
    "founder": ["{} was founded by", "The founder of {} is", "{} was started by Mr"],
    "product": ["{} is known for making", "The main product of {} is", "{} mostly sells"],
}
KINDS_PER_PAIR = 3
FILLERS = ["", "Fact:", "Here is a fact.", "Trivia:", "Listen to this.", "Quiz time.",
           "Note that", "As the old guidebook says,"]


def _swapped_names(words: list[str], kinds: list[str], n_pairs: int,
                   rng: random.Random) -> list[str]:
    """Draw ``n_pairs`` word pairs; name a subject with each order of each pair and each of
    ``KINDS_PER_PAIR`` kind words ("Crimson Silver Tower", "Silver Crimson Tower",
    "Crimson Silver Bridge", ...).

    Only the whole name tells these subjects apart. ``kinds=[""]`` gives bare two-word names
    (both orders), where the second word completes the name.
    """
    pairs = rng.sample([(a, b) for i, a in enumerate(words) for b in words[i + 1:]], n_pairs)
    names = []
    for a, b in pairs:
        for kind in rng.sample(kinds, min(KINDS_PER_PAIR, len(kinds))):
            names += [f"{a} {b} {kind}".strip(), f"{b} {a} {kind}".strip()]
    return names


def build_table(seed: int = SEED) -> dict:
    """Return the facts table: relations with their templates, fillers, and subject facts."""
    rng = random.Random(seed)
    cities = list(CITY_COUNTRY)

    def landmark(name: str, city: str) -> dict:
        return {"subject": name, "kind": "landmark",
                "facts": {"city": city, "country": CITY_COUNTRY[city]}}

    subjects = [landmark(name, city) for name, city in REAL_LANDMARKS.items()]
    subjects += [landmark(name, rng.choice(cities))
                 for name in _swapped_names(LANDMARK_WORDS, LANDMARK_KINDS, 20, rng)]
    subjects += [{"subject": name, "kind": "person",
                  "facts": {"language": rng.choice(LANGUAGES), "sport": rng.choice(SPORTS)}}
                 for name in _swapped_names(PERSON_WORDS, [""], 90, rng)]
    subjects += [{"subject": name, "kind": "company",
                  "facts": {"founder": rng.choice(FOUNDERS), "product": rng.choice(PRODUCTS)}}
                 for name in _swapped_names(COMPANY_WORDS, COMPANY_KINDS, 19, rng)]
    return {"seed": seed, "templates": TEMPLATES, "fillers": FILLERS, "subjects": subjects}


def main() -> None:
    FACTS_PATH.write_text(json.dumps(build_table(), indent=1) + "\n")
    print(f"wrote {FACTS_PATH}")


if __name__ == "__main__":
    main()
