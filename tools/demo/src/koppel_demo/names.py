"""Plausible Dutch names for demo consultants, and the e-mail address made from one."""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "Anna", "Sanne", "Lotte", "Femke", "Eva", "Marieke", "Inge", "Esther", "Judith", "Maaike",
    "Linda", "Karin", "Ilse", "Noor", "Fleur", "Iris", "Floor", "Mirjam", "Hanneke", "Anouk",
    "Yara", "Fatima", "Samira", "Naima", "Sevda", "Mei", "Priya", "Chantal", "Nicole", "Petra",
    "Jeroen", "Bas", "Thijs", "Daan", "Ruben", "Maarten", "Pieter", "Joost", "Willem", "Sander",
    "Erik", "Martijn", "Niels", "Stefan", "Rob", "Marco", "Koen", "Lars", "Jasper", "Wouter",
    "Mohamed", "Youssef", "Emre", "Mehmet", "Rachid", "Tim", "Frank", "Arjen", "Hugo", "Sem",
)  # fmt: skip

LAST_NAMES = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
    "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer", "van der Linden",
    "Kok", "Jacobs", "de Haan", "Vermeulen", "van den Heuvel", "van der Veen", "van Dijk",
    "Hoekstra", "Postma", "Wijnands", "Kuipers", "Verhoeven", "Schouten", "Willems", "Gerritsen",
    "Yilmaz", "El Amrani", "Kaya", "Bouzid", "Nguyen", "Ramdin", "Tjon", "Sarmo", "Koster",
    "Prins", "Huisman", "Veenstra", "Hofman", "Sluiter", "Zwart", "Timmermans", "Evers",
)  # fmt: skip


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def email_for(name: str, unique: str) -> str:
    """`anna.de.vries.c00042@example.nl`: ASCII, unique by the given suffix."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = ".".join(part.lower() for part in ascii_name.replace("-", " ").split())
    return f"{local}.{unique}@example.nl"
