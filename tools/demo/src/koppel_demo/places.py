"""Real Dutch places for the demo: municipalities with approximate inhabitants and coordinates.

Figures are rounded from CBS 2024 counts; coordinates are the town centre (WGS84). They only
need to be plausible enough that size classes and travel distances mean something.
"""

from __future__ import annotations

from dataclasses import dataclass

from koppel.vocabulary import Province


@dataclass(frozen=True)
class Place:
    """A municipality, named after its main town; `city` is that town when it differs."""

    municipality: str
    province: Province
    inhabitants: int
    lat: float
    lon: float
    city: str = ""

    @property
    def town(self) -> str:
        return self.city or self.municipality


_G, _F, _D, _O = Province.GRONINGEN, Province.FRIESLAND, Province.DRENTHE, Province.OVERIJSSEL
_FL, _GE, _U = Province.FLEVOLAND, Province.GELDERLAND, Province.UTRECHT
_NH, _ZH, _Z = Province.NOORD_HOLLAND, Province.ZUID_HOLLAND, Province.ZEELAND
_NB, _L = Province.NOORD_BRABANT, Province.LIMBURG

PLACES: tuple[Place, ...] = (
    Place("Groningen", _G, 238_000, 53.219, 6.567),
    Place("Het Hogeland", _G, 48_000, 53.317, 6.519, "Winsum"),
    Place("Midden-Groningen", _G, 61_000, 53.165, 6.761, "Hoogezand"),
    Place("Veendam", _G, 27_500, 53.106, 6.879),
    Place("Pekela", _G, 12_000, 53.105, 7.005, "Oude Pekela"),
    Place("Eemsdelta", _G, 45_000, 53.333, 6.918, "Delfzijl"),
    Place("Leeuwarden", _F, 126_000, 53.201, 5.800),
    Place("Súdwest-Fryslân", _F, 92_000, 53.033, 5.659, "Sneek"),
    Place("Heerenveen", _F, 51_000, 52.960, 5.920),
    Place("Smallingerland", _F, 56_000, 53.107, 6.099, "Drachten"),
    Place("Harlingen", _F, 16_000, 53.174, 5.423),
    Place("Ameland", _F, 3_800, 53.448, 5.774, "Hollum"),
    Place("Vlieland", _F, 1_150, 53.297, 5.070),
    Place("Assen", _D, 69_000, 52.992, 6.564),
    Place("Emmen", _D, 108_000, 52.785, 6.897),
    Place("Hoogeveen", _D, 56_000, 52.722, 6.476),
    Place("Meppel", _D, 35_000, 52.696, 6.194),
    Place("Tynaarlo", _D, 34_000, 53.077, 6.620, "Vries"),
    Place("Coevorden", _D, 35_000, 52.661, 6.741),
    Place("Westerveld", _D, 20_000, 52.853, 6.321, "Diever"),
    Place("Zwolle", _O, 132_000, 52.516, 6.083),
    Place("Enschede", _O, 160_000, 52.221, 6.894),
    Place("Deventer", _O, 102_000, 52.255, 6.160),
    Place("Almelo", _O, 74_000, 52.357, 6.662),
    Place("Hengelo", _O, 82_000, 52.266, 6.793),
    Place("Kampen", _O, 55_000, 52.555, 5.911),
    Place("Oldenzaal", _O, 32_000, 52.313, 6.929),
    Place("Ommen", _O, 18_500, 52.521, 6.421),
    Place("Lelystad", _FL, 82_000, 52.518, 5.471),
    Place("Almere", _FL, 222_000, 52.350, 5.264),
    Place("Dronten", _FL, 42_000, 52.525, 5.718),
    Place("Urk", _FL, 22_000, 52.662, 5.601),
    Place("Zeewolde", _FL, 23_000, 52.330, 5.541),
    Place("Noordoostpolder", _FL, 48_000, 52.711, 5.748, "Emmeloord"),
    Place("Arnhem", _GE, 166_000, 51.985, 5.898),
    Place("Nijmegen", _GE, 181_000, 51.842, 5.853),
    Place("Apeldoorn", _GE, 166_000, 52.211, 5.969),
    Place("Ede", _GE, 121_000, 52.040, 5.666),
    Place("Doetinchem", _GE, 59_000, 51.965, 6.289),
    Place("Harderwijk", _GE, 49_000, 52.342, 5.620),
    Place("Zutphen", _GE, 48_000, 52.138, 6.201),
    Place("Tiel", _GE, 42_000, 51.886, 5.429),
    Place("Wageningen", _GE, 40_000, 51.969, 5.665),
    Place("Lochem", _GE, 34_000, 52.159, 6.414),
    Place("Buren", _GE, 27_000, 51.911, 5.334),
    Place("Scherpenzeel", _GE, 10_500, 52.080, 5.489),
    Place("Utrecht", _U, 367_000, 52.091, 5.122),
    Place("Amersfoort", _U, 161_000, 52.156, 5.388),
    Place("Nieuwegein", _U, 64_000, 52.029, 5.081),
    Place("Zeist", _U, 66_000, 52.090, 5.233),
    Place("Veenendaal", _U, 67_000, 52.028, 5.559),
    Place("Houten", _U, 50_000, 52.028, 5.168),
    Place("De Ronde Venen", _U, 45_000, 52.206, 4.863, "Mijdrecht"),
    Place("Oudewater", _U, 10_500, 52.025, 4.868),
    Place("Renswoude", _U, 5_500, 52.074, 5.540),
    Place("Amsterdam", _NH, 931_000, 52.373, 4.893),
    Place("Haarlem", _NH, 164_000, 52.387, 4.646),
    Place("Zaanstad", _NH, 160_000, 52.439, 4.826, "Zaandam"),
    Place("Haarlemmermeer", _NH, 160_000, 52.303, 4.690, "Hoofddorp"),
    Place("Alkmaar", _NH, 111_000, 52.632, 4.748),
    Place("Hilversum", _NH, 93_000, 52.223, 5.176),
    Place("Hoorn", _NH, 75_000, 52.642, 5.060),
    Place("Den Helder", _NH, 56_000, 52.956, 4.760),
    Place("Purmerend", _NH, 93_000, 52.505, 4.959),
    Place("Texel", _NH, 13_700, 53.055, 4.797, "Den Burg"),
    Place("Edam-Volendam", _NH, 36_000, 52.497, 5.051, "Volendam"),
    Place("Laren", _NH, 11_500, 52.256, 5.228),
    Place("Den Haag", _ZH, 560_000, 52.078, 4.288),
    Place("Rotterdam", _ZH, 665_000, 51.922, 4.479),
    Place("Leiden", _ZH, 127_000, 52.160, 4.497),
    Place("Dordrecht", _ZH, 121_000, 51.813, 4.690),
    Place("Zoetermeer", _ZH, 127_000, 52.057, 4.493),
    Place("Delft", _ZH, 105_000, 52.012, 4.358),
    Place("Gouda", _ZH, 75_000, 52.017, 4.708),
    Place("Alphen aan den Rijn", _ZH, 115_000, 52.129, 4.656),
    Place("Westland", _ZH, 113_000, 51.993, 4.208, "Naaldwijk"),
    Place("Schiedam", _ZH, 80_000, 51.919, 4.399),
    Place("Katwijk", _ZH, 67_000, 52.203, 4.413),
    Place("Goeree-Overflakkee", _ZH, 51_000, 51.757, 4.167, "Middelharnis"),
    Place("Hillegom", _ZH, 22_500, 52.291, 4.583),
    Place("Middelburg", _Z, 49_000, 51.499, 3.614),
    Place("Vlissingen", _Z, 45_000, 51.443, 3.573),
    Place("Goes", _Z, 39_000, 51.504, 3.888),
    Place("Terneuzen", _Z, 54_000, 51.336, 3.828),
    Place("Schouwen-Duiveland", _Z, 34_000, 51.650, 3.919, "Zierikzee"),
    Place("Veere", _Z, 22_000, 51.548, 3.667),
    Place("Hulst", _Z, 27_000, 51.280, 4.052),
    Place("Tholen", _Z, 26_000, 51.532, 4.220),
    Place("Noord-Beveland", _Z, 7_600, 51.581, 3.745, "Wissenkerke"),
    Place("'s-Hertogenbosch", _NB, 160_000, 51.697, 5.304),
    Place("Eindhoven", _NB, 240_000, 51.441, 5.478),
    Place("Tilburg", _NB, 226_000, 51.556, 5.091),
    Place("Breda", _NB, 186_000, 51.589, 4.776),
    Place("Helmond", _NB, 94_000, 51.481, 5.661),
    Place("Oss", _NB, 95_000, 51.765, 5.518),
    Place("Roosendaal", _NB, 78_000, 51.531, 4.465),
    Place("Bergen op Zoom", _NB, 68_000, 51.495, 4.287),
    Place("Veldhoven", _NB, 46_000, 51.420, 5.405),
    Place("Boxtel", _NB, 32_000, 51.591, 5.329),
    Place("Cranendonck", _NB, 21_000, 51.269, 5.573, "Budel"),
    Place("Baarle-Nassau", _NB, 7_000, 51.445, 4.930),
    Place("Maastricht", _L, 122_000, 50.851, 5.691),
    Place("Venlo", _L, 102_000, 51.370, 6.172),
    Place("Heerlen", _L, 87_000, 50.888, 5.979),
    Place("Sittard-Geleen", _L, 91_000, 51.000, 5.868, "Sittard"),
    Place("Roermond", _L, 59_000, 51.194, 5.987),
    Place("Weert", _L, 50_000, 51.251, 5.706),
    Place("Kerkrade", _L, 45_000, 50.866, 6.070),
    Place("Venray", _L, 44_000, 51.525, 5.975),
    Place("Vaals", _L, 10_000, 50.771, 6.018),
    Place("Gulpen-Wittem", _L, 14_000, 50.815, 5.890, "Gulpen"),
)

_BY_NAME = {place.municipality: place for place in PLACES}


def place(municipality: str) -> Place:
    """The place of `municipality`; a KeyError names a typo in the catalogue."""
    return _BY_NAME[municipality]


PROVINCE_CAPITALS: dict[Province, str] = {
    _G: "Groningen",
    _F: "Leeuwarden",
    _D: "Assen",
    _O: "Zwolle",
    _FL: "Lelystad",
    _GE: "Arnhem",
    _U: "Utrecht",
    _NH: "Haarlem",
    _ZH: "Den Haag",
    _Z: "Middelburg",
    _NB: "'s-Hertogenbosch",
    _L: "Maastricht",
}

PROVINCE_NAMES: dict[Province, str] = {
    _G: "Groningen",
    _F: "Fryslân",
    _D: "Drenthe",
    _O: "Overijssel",
    _FL: "Flevoland",
    _GE: "Gelderland",
    _U: "Utrecht",
    _NH: "Noord-Holland",
    _ZH: "Zuid-Holland",
    _Z: "Zeeland",
    _NB: "Noord-Brabant",
    _L: "Limburg",
}
