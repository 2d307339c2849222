"""Names the generator draws from: people, settlements, phone numbers, spellings.

Grain: static reference lists. Settlement lists are villages and towns of each project
municipality (real names where known, plausible ones otherwise); the first one listed is
the urban centre. Name pools are common given names and surnames of the region, by the
naming tradition they come from, so a municipality's people carry plausible names.
"""

from __future__ import annotations

import unicodedata

from pipeline.reference.names import fold_words, to_cyrillic

SETTLEMENTS: dict[str, tuple[str, ...]] = {
    "bosansko_grahovo": (
        "Bosansko Grahovo", "Bastasi", "Crni Lug", "Donji Tiškovac", "Gornji Tiškovac",
        "Grkovci", "Isakovci", "Jaruga", "Korita", "Luka", "Maslina Draga", "Nuglašica",
        "Obljaj", "Peći", "Pečenci", "Preodac", "Resanovci", "Stožišta", "Ugarci", "Zebe",
    ),
    "bosanski_petrovac": (
        "Bosanski Petrovac", "Bjelaj", "Bravsko", "Bukovača", "Bara", "Cimeše", "Janjila",
        "Kapljuh", "Kolunić", "Krnjeuša", "Medeno Polje", "Rašinovac", "Revenik", "Skakavac",
        "Smoljana", "Suvaja", "Vođenica", "Vrtoče", "Prkosi", "Brestovac", "Lastve",
    ),
    "drvar": (
        "Drvar", "Drvar Selo", "Boboljusci", "Bunčevac", "Kamenica", "Mokronoge",
        "Šipovljani", "Trninić Brijeg", "Potoci", "Prnjavor", "Vidovo Selo", "Zaglavica",
        "Pasjak", "Crni Vrh", "Javorje", "Osredci", "Uvala", "Vrba", "Kruge",
    ),
    "glamoc": (
        "Glamoč", "Dragnić", "Halapić", "Hasići", "Rore", "Vidimlije", "Ćirići", "Malkočevci",
        "Kovačevci", "Skucani", "Podgradina", "Korićna", "Jakir", "Crkvina", "Stekerovci",
        "Šumnjaci", "Vagan", "Mlinište", "Babin Potok", "Zaglavica Glamočka",
    ),
    "kljuc": (
        "Ključ", "Velagići", "Sanica", "Pudin Han", "Crljeni", "Hadžići", "Biljani", "Budelj",
        "Humići", "Kamičak", "Donji Ramići", "Plamenice", "Velečevo", "Zgon", "Krasulje",
        "Gornja Sanica", "Donja Sanica", "Pištanica", "Dubočani", "Sokolovo", "Ramići",
        "Hripavci", "Velagići Gornji", "Pljeva",
    ),
    "livno": (
        "Livno", "Bila", "Čelebić", "Donji Rujani", "Gornji Rujani", "Guber", "Grborezi",
        "Lištani", "Podhum", "Priluka", "Prolog", "Potočani", "Žabljak", "Čaprazlije",
        "Smričani", "Strupnić", "Čuklić", "Kablići", "Zastinje", "Lipa", "Provo", "Odžak",
        "Radanovci", "Golinjevo", "Suhača", "Ždralovac", "Vrbica", "Podgradina Livanjska",
        "Bojmunte", "Komorani",
    ),
    "sanski_most": (
        "Sanski Most", "Vrhpolje", "Stari Majdan", "Lušci Palanka", "Tomina", "Kijevo",
        "Hrustovo", "Modra", "Fajtovci", "Dabar", "Husimovci", "Kruhari", "Poljak", "Trnova",
        "Skucani Vakuf", "Čaplje", "Pobriježje", "Budimlić Japra", "Demiševci", "Podlug",
        "Kamengrad", "Tomašica", "Naprelje", "Gorice", "Sasina", "Zdena", "Halilovci",
        "Lukavice", "Batkovci", "Otiš", "Kozica", "Dževar", "Mahala", "Ovanjska", "Okreč",
        "Šehovci",
    ),
    "mrkonjic_grad": (
        "Mrkonjić Grad", "Baraći", "Bjelajce", "Gustovara", "Podrašnica", "Baljvine",
        "Kopljevići", "Trijebovo", "Majdan", "Medna", "Surjan", "Liskovica", "Gerzovo",
        "Dabrac", "Jasenovi Potoci", "Bočac", "Ubovića Brdo", "Oćune", "Pecka", "Stupari",
        "Šibovi", "Tijesno", "Zaskoplje", "Mlinište Mrkonjićko", "Orahovljani",
    ),
    "ribnik": (
        "Ribnik", "Donji Ribnik", "Gornji Ribnik", "Previja", "Sitnica", "Čađavica",
        "Velijašnica", "Rastoka", "Stražice", "Sokolovo Ribničko", "Dragoradi", "Busije",
        "Donja Previja", "Gornja Previja", "Treskavac", "Hrbine", "Crkvena", "Vrbljani",
    ),
}

# Share of each naming tradition (b = Bosniak, s = Serb, c = Croat) among residents, rounded
# from the 2013 census: only used to give people plausible names.
NAME_MIX: dict[str, tuple[float, float, float]] = {
    "bosansko_grahovo": (0.02, 0.80, 0.18), "bosanski_petrovac": (0.75, 0.24, 0.01),
    "drvar": (0.01, 0.91, 0.08), "glamoc": (0.37, 0.55, 0.08), "kljuc": (0.88, 0.10, 0.02),
    "livno": (0.25, 0.05, 0.70), "sanski_most": (0.86, 0.11, 0.03),
    "mrkonjic_grad": (0.03, 0.95, 0.02), "ribnik": (0.04, 0.95, 0.01),
}

FIRST_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "b": {
        "male": ("Amar", "Adnan", "Armin", "Emir", "Haris", "Kenan", "Tarik", "Mirza", "Edin",
                 "Elvir", "Nermin", "Senad", "Samir", "Jasmin", "Almir", "Alen", "Dženan",
                 "Benjamin", "Faruk", "Harun", "Ismar", "Mehmed", "Muhamed", "Nedim", "Omer",
                 "Refik", "Sead", "Suad", "Zlatan", "Eldin", "Anel", "Ajdin"),
        "female": ("Amina", "Ajla", "Lejla", "Emina", "Merima", "Selma", "Adna", "Aida",
                   "Alma", "Amra", "Azra", "Belma", "Dženana", "Elma", "Emira", "Hana",
                   "Lamija", "Maida", "Naida", "Nejra", "Sabina", "Sanela", "Sara", "Šejla",
                   "Zehra", "Melisa", "Minela", "Irma", "Jasmina", "Elma", "Medina", "Ilma"),
    },
    "s": {
        "male": ("Marko", "Nikola", "Stefan", "Luka", "Miloš", "Nemanja", "Dragan", "Zoran",
                 "Milan", "Goran", "Dejan", "Nenad", "Saša", "Bojan", "Đorđe", "Vladimir",
                 "Aleksandar", "Srđan", "Željko", "Slobodan", "Dušan", "Ognjen", "Vukašin",
                 "Mladen", "Predrag", "Branislav", "Žarko", "Lazar", "Filip", "Danilo"),
        "female": ("Jelena", "Milica", "Ana", "Marija", "Jovana", "Tijana", "Dragana",
                   "Snežana", "Gordana", "Vesna", "Sanja", "Bojana", "Tamara", "Nataša",
                   "Ljiljana", "Mirjana", "Biljana", "Ivana", "Sonja", "Teodora", "Anđela",
                   "Katarina", "Nevena", "Dunja", "Kristina", "Svetlana", "Slađana", "Zorica",
                   "Danijela", "Vanja"),
    },
    "c": {
        "male": ("Ivan", "Josip", "Ante", "Mario", "Marijo", "Stjepan", "Tomislav", "Krešimir",
                 "Zvonimir", "Dario", "Ivica", "Mate", "Frano", "Jure", "Domagoj", "Matej",
                 "Petar", "Dominik", "Kristijan", "Davor", "Zdravko", "Tihomir", "Ivo", "Mijo"),
        "female": ("Marija", "Ivana", "Ana", "Kata", "Mara", "Antonija", "Lucija", "Petra",
                   "Martina", "Katarina", "Ivona", "Josipa", "Mirela", "Sanja", "Anita",
                   "Nikolina", "Dijana", "Marina", "Monika", "Kristina", "Ružica", "Zdenka",
                   "Anđelka", "Dragica"),
    },
}

SURNAMES: dict[str, tuple[str, ...]] = {
    "b": ("Hodžić", "Begić", "Hadžić", "Mehmedović", "Delić", "Kovačević", "Omerović",
          "Hasanović", "Mujić", "Alić", "Halilović", "Husić", "Salihović", "Ibrahimović",
          "Mešić", "Karić", "Avdić", "Zukić", "Suljić", "Džafić", "Beganović", "Ćehajić",
          "Hamzić", "Selimović", "Šabić", "Kadić", "Mujagić", "Hrnjić", "Velagić", "Pašić",
          "Durić", "Muratović", "Bajrić", "Čaušević", "Mulalić", "Kurtović", "Huremović",
          "Jusić", "Sarajlić", "Islamović"),
    "s": ("Petrović", "Jovanović", "Nikolić", "Marković", "Đurić", "Stojanović", "Babić",
          "Savić", "Kecman", "Vukić", "Bjelić", "Radić", "Milinković", "Kuridža", "Zorić",
          "Ilić", "Šobot", "Vujić", "Đukić", "Lukić", "Stanić", "Vojinović", "Popović",
          "Jokić", "Bilbija", "Kecojević", "Grubiša", "Dragić", "Tešić", "Milić", "Knežević",
          "Bjelobrk", "Trninić", "Keča", "Zeljković", "Novaković", "Vidović", "Ljubojević",
          "Njegomir", "Džepina"),
    "c": ("Barišić", "Jurić", "Kovač", "Perić", "Tomić", "Marić", "Bilić", "Vukadin",
          "Dropuljić", "Čurić", "Zelić", "Kolak", "Ivković", "Matić", "Šarac", "Ančić",
          "Papić", "Kovačić", "Brkić", "Vrdoljak", "Marijanović", "Ćurković", "Prskalo",
          "Jelić", "Kelava", "Rajić", "Grgić", "Bagarić", "Mandić", "Šimić", "Barać",
          "Bošnjak", "Tadić", "Ćosić"),
}

TRADITIONS = ("b", "s", "c")

# mobile prefixes by entity: BH Telecom/Eronet/HT in FBiH, m:tel in RS
PHONE_PREFIXES = {"FBiH": ("061", "062", "063", "060"), "RS": ("065", "066")}


def strip_diacritics(text: str) -> str:
    """``Đorđević`` -> ``Djordjevic``: what people type on a keyboard without the letters."""
    text = text.replace("Đ", "Dj").replace("đ", "dj")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def name_key(name: str) -> str:
    """The linkage key of a person's name: folded words in sorted order."""
    return " ".join(sorted(fold_words(name)))


def spell(first: str, last: str, variant: str) -> str:
    """A person's name as written on a sheet.

    Args:
        first: given name (Latin, with diacritics).
        last: surname.
        variant: ``latin``, ``cyrillic``, ``no_diacritics``, ``swapped`` (surname first) or
            ``cyrillic_swapped``.
    """
    if variant == "latin":
        return f"{first} {last}"
    if variant == "cyrillic":
        return to_cyrillic(f"{first} {last}")
    if variant == "no_diacritics":
        return strip_diacritics(f"{first} {last}")
    if variant == "swapped":
        return f"{last} {first}"
    if variant == "cyrillic_swapped":
        return to_cyrillic(f"{last} {first}")
    raise ValueError(f"unknown spelling variant {variant!r}")

