"""The demo's organisations: every municipality of `places`, plus provinces, the national
government, water boards, healthcare, education, semi-public and other public bodies."""

from __future__ import annotations

import random
from dataclasses import dataclass

from koppel.contract import Location, Organization
from koppel.vocabulary import OrganizationType
from koppel_demo.places import PLACES, PROVINCE_CAPITALS, PROVINCE_NAMES, Place, place


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    type: OrganizationType
    place: Place
    inhabitants: int | None = None

    def organization(self) -> Organization:
        return Organization(name=self.name, type=self.type, inhabitants=self.inhabitants)

    def location(self) -> Location:
        where = self.place
        return Location(city=where.town, province=where.province, lat=where.lat, lon=where.lon)


_T = OrganizationType

_MINISTRIES = (
    "Binnenlandse Zaken en Koninkrijksrelaties",
    "Infrastructuur en Waterstaat",
    "Volksgezondheid, Welzijn en Sport",
    "Onderwijs, Cultuur en Wetenschap",
    "Justitie en Veiligheid",
    "Economische Zaken",
    "Landbouw, Visserij, Voedselzekerheid en Natuur",
    "Financiën",
    "Sociale Zaken en Werkgelegenheid",
    "Klimaat en Groene Groei",
    "Volkshuisvesting en Ruimtelijke Ordening",
    "Asiel en Migratie",
    "Buitenlandse Zaken",
    "Defensie",
)

_AGENCIES = (
    ("Rijkswaterstaat", "Utrecht"),
    ("Belastingdienst", "Apeldoorn"),
    ("Dienst Uitvoering Onderwijs", "Groningen"),
    ("Rijksdienst voor Ondernemend Nederland", "Zwolle"),
    ("RDW", "Zoetermeer"),
    ("Immigratie- en Naturalisatiedienst", "Den Haag"),
    ("Centraal Justitieel Incassobureau", "Leeuwarden"),
    ("UWV", "Amsterdam"),
    ("Sociale Verzekeringsbank", "Amsterdam"),
    ("Dienst Justitiële Inrichtingen", "Den Haag"),
    ("Rijksvastgoedbedrijf", "Den Haag"),
    ("Kadaster", "Apeldoorn"),
    ("RIVM", "Utrecht"),
    ("Nederlandse Voedsel- en Warenautoriteit", "Utrecht"),
    ("Logius", "Den Haag"),
    ("Staatsbosbeheer", "Amersfoort"),
)

_WATER_BOARDS = (
    ("Waterschap Noorderzijlvest", "Groningen"),
    ("Wetterskip Fryslân", "Leeuwarden"),
    ("Waterschap Hunze en Aa's", "Veendam"),
    ("Waterschap Drents Overijsselse Delta", "Zwolle"),
    ("Waterschap Vechtstromen", "Almelo"),
    ("Waterschap Zuiderzeeland", "Lelystad"),
    ("Waterschap Vallei en Veluwe", "Apeldoorn"),
    ("Waterschap Rijn en IJssel", "Doetinchem"),
    ("Waterschap Rivierenland", "Tiel"),
    ("Hoogheemraadschap De Stichtse Rijnlanden", "Houten"),
    ("Waterschap Amstel, Gooi en Vecht", "Amsterdam"),
    ("Hoogheemraadschap Hollands Noorderkwartier", "Alkmaar"),
    ("Hoogheemraadschap van Rijnland", "Leiden"),
    ("Hoogheemraadschap van Delfland", "Delft"),
    ("Hoogheemraadschap van Schieland en de Krimpenerwaard", "Rotterdam"),
    ("Waterschap Hollandse Delta", "Dordrecht"),
    ("Waterschap Scheldestromen", "Middelburg"),
    ("Waterschap Brabantse Delta", "Breda"),
    ("Waterschap De Dommel", "Boxtel"),
    ("Waterschap Aa en Maas", "'s-Hertogenbosch"),
    ("Waterschap Limburg", "Roermond"),
)

_HEALTHCARE = (
    ("GGD Groningen", "Groningen"),
    ("GGD Fryslân", "Leeuwarden"),
    ("GGD Drenthe", "Assen"),
    ("GGD IJsselland", "Zwolle"),
    ("GGD Twente", "Enschede"),
    ("GGD Flevoland", "Lelystad"),
    ("GGD Gelderland-Zuid", "Nijmegen"),
    ("GGD Regio Utrecht", "Zeist"),
    ("GGD Amsterdam", "Amsterdam"),
    ("GGD Haaglanden", "Den Haag"),
    ("GGD Rotterdam-Rijnmond", "Rotterdam"),
    ("GGD Zeeland", "Goes"),
    ("GGD Brabant-Zuidoost", "Eindhoven"),
    ("GGD Zuid Limburg", "Heerlen"),
    ("UMC Utrecht", "Utrecht"),
    ("Amsterdam UMC", "Amsterdam"),
    ("Erasmus MC", "Rotterdam"),
    ("Radboudumc", "Nijmegen"),
    ("UMCG", "Groningen"),
    ("Maastricht UMC+", "Maastricht"),
    ("LUMC", "Leiden"),
)

_EDUCATION = (
    ("Universiteit Utrecht", "Utrecht"),
    ("Rijksuniversiteit Groningen", "Groningen"),
    ("Universiteit Leiden", "Leiden"),
    ("TU Delft", "Delft"),
    ("TU Eindhoven", "Eindhoven"),
    ("Universiteit Twente", "Enschede"),
    ("Radboud Universiteit", "Nijmegen"),
    ("Tilburg University", "Tilburg"),
    ("Maastricht University", "Maastricht"),
    ("Wageningen University & Research", "Wageningen"),
    ("Hogeschool Utrecht", "Utrecht"),
    ("Hanzehogeschool Groningen", "Groningen"),
    ("Saxion", "Enschede"),
    ("Fontys Hogescholen", "Eindhoven"),
    ("Avans Hogeschool", "Breda"),
    ("Hogeschool van Arnhem en Nijmegen", "Arnhem"),
    ("Hogeschool Rotterdam", "Rotterdam"),
    ("NHL Stenden Hogeschool", "Leeuwarden"),
    ("HZ University of Applied Sciences", "Vlissingen"),
    ("Hogeschool Windesheim", "Zwolle"),
    ("ROC van Amsterdam", "Amsterdam"),
    ("ROC Midden Nederland", "Utrecht"),
    ("Albeda", "Rotterdam"),
    ("Summa College", "Eindhoven"),
    ("Deltion College", "Zwolle"),
)

_SEMI_PUBLIC = (
    ("Ymere", "Amsterdam"),
    ("Portaal", "Utrecht"),
    ("Woonstad Rotterdam", "Rotterdam"),
    ("Lefier", "Groningen"),
    ("Elkien", "Heerenveen"),
    ("Domijn", "Enschede"),
    ("GVB", "Amsterdam"),
    ("RET", "Rotterdam"),
    ("HTM", "Den Haag"),
    ("ProRail", "Utrecht"),
    ("Omroep Brabant", "Eindhoven"),
    ("Havenbedrijf Rotterdam", "Rotterdam"),
    ("Groningen Seaports", "Eemsdelta"),
    ("Zeeuwse Bibliotheek", "Middelburg"),
)

_OTHER = (
    ("Vereniging van Nederlandse Gemeenten", "Den Haag"),
    ("Interprovinciaal Overleg", "Den Haag"),
    ("Unie van Waterschappen", "Den Haag"),
    ("Veiligheidsregio Utrecht", "Utrecht"),
    ("Veiligheidsregio Rotterdam-Rijnmond", "Rotterdam"),
    ("Veiligheidsregio Twente", "Enschede"),
    ("Veiligheidsregio Limburg-Noord", "Venlo"),
    ("Omgevingsdienst Noordzeekanaalgebied", "Haarlem"),
    ("Omgevingsdienst Groningen", "Veendam"),
    ("Omgevingsdienst Midden- en West-Brabant", "Tilburg"),
    ("Nationaal Archief", "Den Haag"),
    ("Koninklijke Bibliotheek", "Den Haag"),
)


def _catalogue() -> tuple[DemoOrganisation, ...]:
    organisations = [
        DemoOrganisation(f"Gemeente {p.municipality}", _T.MUNICIPALITY, p, p.inhabitants)
        for p in PLACES
    ]
    organisations += [
        DemoOrganisation(f"Provincie {PROVINCE_NAMES[province]}", _T.PROVINCE, place(capital))
        for province, capital in PROVINCE_CAPITALS.items()
    ]
    # Most of the national government sits in The Hague; a few departments have big offices
    # elsewhere, which is where their interim communicators would work.
    organisations += [
        DemoOrganisation(f"Ministerie van {name}", _T.MINISTRY, place("Den Haag"))
        for name in _MINISTRIES
    ]
    for names, kind in (
        (_AGENCIES, _T.EXECUTIVE_AGENCY),
        (_WATER_BOARDS, _T.WATER_BOARD),
        (_HEALTHCARE, _T.HEALTHCARE),
        (_EDUCATION, _T.EDUCATION),
        (_SEMI_PUBLIC, _T.SEMI_PUBLIC),
        (_OTHER, _T.OTHER),
    ):
        organisations += [DemoOrganisation(name, kind, place(town)) for name, town in names]
    return tuple(organisations)


CATALOGUE = _catalogue()


def organisations(seed: int = 42) -> list[DemoOrganisation]:
    """The demo organisations: a fixed catalogue of real bodies, in an order fixed by `seed`."""
    shuffled = list(CATALOGUE)
    random.Random(f"{seed}:organisations").shuffle(shuffled)  # noqa: S311 - not a secret
    return shuffled
