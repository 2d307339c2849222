"""The two XLSForms (citizen perception survey, youth pre/post) and the Kobo export headers.

Grain: one form definition per questionnaire. The export headers are derived from the form
the way KoboToolbox derives them: XML names with group paths (``trust/trust_csw``), a
select_multiple as one space-separated column followed by one 0/1 column per choice, then the
Kobo meta columns. Questions inside a repeat group go to their own sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.reference import municipalities
from pipeline.synth.area import PROJECT_MUNICIPALITIES
from pipeline.synth.workbooks import workbook, write_rows

EN, BS = "label::English (en)", "label::Bosanski (bs)"
SURVEY_COLUMNS = ("type", "name", EN, BS, "hint::English (en)", "hint::Bosanski (bs)", "required",
                  "relevant", "constraint", "constraint_message::English (en)",
                  "constraint_message::Bosanski (bs)", "calculation")
CHOICE_COLUMNS = ("list_name", "name", EN, BS)

# Kobo meta columns after the questions of the main sheet, in the order Kobo writes them
MAIN_META = ("meta/instanceID", "_id", "_uuid", "_submission_time", "_validation_status",
             "_notes", "_status", "_submitted_by", "__version__", "_tags", "_index")
REPEAT_META = ("_index", "_parent_table_name", "_parent_index", "_submission__id",
               "_submission__uuid", "_submission__submission_time",
               "_submission__validation_status", "_submission__notes", "_submission__status",
               "_submission__submitted_by", "_submission___version__", "_submission__tags")

EVENT_TYPES = ("citizen_dialogue", "youth_exchange", "youth_camp", "critical_thinking_club",
               "mental_health_training", "service_provider_training")
CONTACT_CHOICES = ("neighbour", "colleague", "friend", "in_law", "none")
EDUCATION = ("primary_or_less", "secondary", "tertiary")
EMPLOYMENT = ("employed", "unemployed", "retired", "student", "homemaker", "other")
DISPLACEMENT = ("none", "displaced", "returnee")
TRUST_ITEMS = ("trust_municipality", "trust_csw", "trust_employment", "trust_health",
               "trust_mental_health", "trust_schools")


@dataclass(frozen=True)
class Form:
    """An XLSForm: survey rows, choice rows, settings."""

    form_id: str
    title: str
    version: str
    survey: list[dict] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)

    def settings(self) -> dict:
        return {"form_title": self.title, "form_id": self.form_id, "version": self.version,
                "default_language": "English (en)"}

    def choice_names(self, list_name: str) -> list[str]:
        return [c["name"] for c in self.choices if c["list_name"] == list_name]

    def export_headers(self) -> tuple[list[str], dict[str, list[str]]]:
        """Headers of the main sheet and of each repeat sheet, as a Kobo XLSX export has them."""
        main: list[str] = []
        repeats: dict[str, list[str]] = {}
        path: list[str] = []
        stack: list[str] = []  # 'group' or 'repeat' per open level
        for row in self.survey:
            kind, name = row["type"], row.get("name", "")
            if kind in ("begin_group", "begin_repeat"):
                path.append(name)
                stack.append(kind)
                if kind == "begin_repeat":
                    repeats["/".join(path)] = []
                continue
            if kind in ("end_group", "end_repeat"):
                path.pop()
                stack.pop()
                continue
            if kind == "note":
                continue
            target = main
            if "begin_repeat" in stack:
                depth = len(stack) - stack[::-1].index("begin_repeat")
                target = repeats["/".join(path[:depth])]
            header = "/".join([*path, name])
            target.append(header)
            if kind.startswith("select_multiple "):
                target.extend(f"{header}/{c}" for c in self.choice_names(kind.split()[1]))
        main.extend(MAIN_META)
        for cols in repeats.values():
            cols.extend(REPEAT_META)
        return main, repeats


def _q(kind: str, name: str, en: str = "", bs: str = "", **extra) -> dict:
    return {"type": kind, "name": name, EN: en, BS: bs, **extra}


def _msg(en: str, bs: str) -> dict:
    return {"constraint_message::English (en)": en, "constraint_message::Bosanski (bs)": bs}


def _choices(list_name: str, items: list[tuple[str, str, str]]) -> list[dict]:
    return [{"list_name": list_name, "name": n, EN: en, BS: bs} for n, en, bs in items]


def _municipality_choices() -> list[dict]:
    m = municipalities().set_index("muni_id")
    return _choices("municipality", [(mid, m.loc[mid, "name"], m.loc[mid, "name"])
                                     for mid in PROJECT_MUNICIPALITIES])


def _likert5(list_name: str, en: tuple[str, ...], bs: tuple[str, ...]) -> list[dict]:
    return _choices(list_name, [(str(i + 1), en[i], bs[i]) for i in range(5)])


_YES_NO = _choices("yes_no", [("yes", "Yes", "Da"), ("no", "No", "Ne")])
_SEX = _choices("sex", [("male", "Male", "Muško"), ("female", "Female", "Žensko")])
_SCALE_0_10 = ". >= 0 and . <= 10"
_CONSENTED = "${consent} = 'yes'"


def citizen_form() -> Form:
    """The citizen perception survey (same form for the three waves)."""
    trust_labels = {
        "trust_municipality": ("the municipal administration", "općinskoj upravi"),
        "trust_csw": ("the centre for social work", "centru za socijalni rad"),
        "trust_employment": ("the employment bureau", "službi za zapošljavanje"),
        "trust_health": ("the health centre", "domu zdravlja"),
        "trust_mental_health": ("the community mental health centre", "centru za mentalno zdravlje"),
        "trust_schools": ("local schools", "lokalnim školama"),
    }
    survey = [
        _q("start", "start"), _q("end", "end"), _q("today", "today"),
        _q("begin_group", "location", "Location", "Lokacija"),
        _q("select_one municipality", "municipality", "Municipality", "Općina", required="yes"),
        _q("text", "settlement", "Settlement (town or village)", "Naselje (grad ili selo)", required="yes"),
        _q("select_one urban_rural", "urban_rural", "Type of settlement", "Tip naselja", required="yes"),
        _q("end_group", ""),
        _q("select_one yes_no", "consent",
           "The interviewer read the consent statement. Does the respondent agree to take part?",
           "Anketar je pročitao izjavu o saglasnosti. Da li ispitanik pristaje da učestvuje?",
           required="yes"),
        _q("begin_group", "demographics", "About you", "O vama", relevant=_CONSENTED),
        _q("select_one sex", "sex", "Sex", "Spol", required="yes"),
        _q("integer", "age", "Age in completed years", "Starost u navršenim godinama", required="yes",
           constraint=". >= 18 and . <= 95", **_msg("Adults 18 to 95 only", "Samo odrasli od 18 do 95 godina")),
        _q("select_one education", "education", "Highest completed education", "Najviše završeno obrazovanje"),
        _q("select_one employment", "employment", "Main activity", "Glavna aktivnost"),
        _q("select_one displacement", "displacement",
           "Have you ever been displaced by the war, and have you returned?",
           "Da li ste bili raseljeni tokom rata i da li ste se vratili?"),
        _q("end_group", ""),
        _q("begin_group", "trust", "Trust in institutions", "Povjerenje u institucije", relevant=_CONSENTED),
    ]
    for name, (en, bs) in trust_labels.items():
        survey.append(_q("integer", name, f"How much do you trust {en}? (0 = not at all, 10 = completely)",
                         f"Koliko vjerujete {bs}? (0 = nimalo, 10 = potpuno)", required="yes",
                         constraint=_SCALE_0_10,
                         **_msg("0 to 10", "Od 0 do 10")))
    survey += [
        _q("end_group", ""),
        _q("begin_group", "governance", "Local governance", "Lokalna uprava", relevant=_CONSENTED),
        _q("select_one likert5", "views_considered",
           "How much do you feel that people like you have a say in what the municipality does?",
           "Koliko smatrate da ljudi poput vas mogu uticati na ono što općina radi?", required="yes"),
        _q("select_one satisfaction5", "satisfaction_social",
           "How satisfied are you with the social services in your municipality?",
           "Koliko ste zadovoljni socijalnim uslugama u vašoj općini?", required="yes"),
        _q("select_one yes_no", "dialogue_participation",
           "In the past 12 months, did you take part in a public meeting or dialogue with the municipality?",
           "Da li ste u posljednjih 12 mjeseci učestvovali u javnoj raspravi ili dijalogu s općinom?",
           required="yes"),
        _q("end_group", ""),
        _q("begin_group", "cohesion", "Living together", "Suživot", relevant=_CONSENTED),
        _q("integer", "trust_other_entity",
           "How much do you trust people who live in the other entity? (0 = not at all, 10 = completely)",
           "Koliko vjerujete ljudima koji žive u drugom entitetu? (0 = nimalo, 10 = potpuno)",
           required="yes", constraint=_SCALE_0_10),
        _q("select_multiple contact", "contact_willing",
           "Would you accept a person from the other entity as your ...",
           "Da li biste prihvatili osobu iz drugog entiteta kao ...", required="yes",
           constraint="not(selected(., 'none') and count-selected(.) > 1)",
           **_msg("'None' cannot be combined with other answers",
                  "'Ništa od navedenog' se ne može kombinovati s drugim odgovorima")),
        _q("end_group", ""),
        _q("begin_group", "contact", "Call-back details (deleted after quality control)",
           "Podaci za kontrolni poziv (brišu se nakon kontrole)", relevant=_CONSENTED),
        _q("text", "phone", "Phone number", "Broj telefona"),
        _q("text", "respondent_name", "First name and surname", "Ime i prezime"),
        _q("end_group", ""),
        _q("begin_group", "design", "Sample design", "Dizajn uzorka"),
        _q("calculate", "stratum", calculation="pulldata('sample_frame', 'stratum', 'settlement', ${settlement})"),
        _q("calculate", "psu", calculation="pulldata('sample_frame', 'psu', 'settlement', ${settlement})"),
        _q("calculate", "weight", calculation="pulldata('sample_frame', 'weight', 'settlement', ${settlement})"),
        _q("calculate", "fpc", calculation="pulldata('sample_frame', 'n_psu', 'settlement', ${settlement})"),
        # second stage: adults living in the settlement (people are sampled within it)
        _q("calculate", "fpc2", calculation="pulldata('sample_frame', 'n_adults', 'settlement', ${settlement})"),
        _q("end_group", ""),
    ]
    choices = (
        _YES_NO + _municipality_choices()
        + _choices("urban_rural", [("urban", "Urban", "Gradsko"), ("rural", "Rural", "Seosko")])
        + _SEX
        + _choices("education", [("primary_or_less", "Primary or less", "Osnovna ili manje"),
                                 ("secondary", "Secondary", "Srednja"),
                                 ("tertiary", "College or university", "Viša ili visoka")])
        + _choices("employment", [("employed", "Employed", "Zaposlen/a"),
                                  ("unemployed", "Unemployed", "Nezaposlen/a"),
                                  ("retired", "Retired", "Penzioner/ka"),
                                  ("student", "Student", "Učenik/student"),
                                  ("homemaker", "Homemaker", "Domaćica/domaćin"),
                                  ("other", "Other", "Drugo")])
        + _choices("displacement", [("none", "Never displaced", "Nikad raseljen/a"),
                                    ("displaced", "Displaced, not returned", "Raseljen/a, nije se vratio/la"),
                                    ("returnee", "Returnee", "Povratnik/ca")])
        + _likert5("likert5", ("Not at all", "Very little", "Some", "A lot", "Completely"),
                   ("Nimalo", "Vrlo malo", "Donekle", "Mnogo", "Potpuno"))
        + _likert5("satisfaction5", ("Very dissatisfied", "Dissatisfied", "Neither", "Satisfied",
                                     "Very satisfied"),
                   ("Veoma nezadovoljan/a", "Nezadovoljan/a", "Ni jedno ni drugo", "Zadovoljan/a",
                    "Veoma zadovoljan/a"))
        + _choices("contact", [("neighbour", "Neighbour", "Komšiju"),
                               ("colleague", "Colleague at work", "Kolegu na poslu"),
                               ("friend", "Close friend", "Bliskog prijatelja"),
                               ("in_law", "Member of the family by marriage", "Člana porodice (brakom)"),
                               ("none", "None of these", "Ništa od navedenog")])
    )
    return Form("spsc_citizen_survey", "SPSC citizen perception survey", "2023.1", survey, choices)


def youth_form() -> Form:
    """The youth pre/post questionnaire, with the repeat group ``previous_activities``."""
    attitudes = (
        ("I would like to have friends from the other entity.", "Volio/la bih imati prijatelje iz drugog entiteta."),
        ("Young people in the other entity have the same worries and hopes as I do.",
         "Mladi u drugom entitetu imaju iste brige i nade kao i ja."),
        ("I would feel at ease working on a project with peers from the other entity.",
         "Osjećao/la bih se ugodno radeći na projektu s vršnjacima iz drugog entiteta."),
        ("I would travel to a town in the other entity for a youth event.",
         "Otputovao/la bih u grad u drugom entitetu na događaj za mlade."),
    )
    efficacy = (
        ("I can tell a reliable news source from an unreliable one.", "Mogu razlikovati pouzdan izvor vijesti od nepouzdanog."),
        ("I can make my voice heard in my community.", "Mogu se izboriti da se moj glas čuje u zajednici."),
        ("I know where to find help for mental health problems.", "Znam gdje potražiti pomoć za probleme mentalnog zdravlja."),
    )
    survey = [
        _q("start", "start"), _q("end", "end"), _q("today", "today"),
        _q("text", "participant_code", "Your code", "Vaša šifra", required="yes",
           **{"hint::English (en)": "First two letters of your mother's name, your day of birth "
                                    "(two digits), last two letters of your surname",
              "hint::Bosanski (bs)": "Prva dva slova imena majke, dan rođenja (dvije cifre), "
                                     "zadnja dva slova prezimena"}),
        _q("select_one phase", "phase", "Questionnaire", "Upitnik", required="yes"),
        _q("select_one municipality", "municipality", "Where do you live?", "Gdje živite?", required="yes"),
        _q("select_one sex", "sex", "Sex", "Spol", required="yes"),
        _q("integer", "age", "Age", "Godine", required="yes", constraint=". >= 15 and . <= 30"),
        _q("select_one activity", "activity_type", "Activity", "Aktivnost", required="yes"),
        _q("begin_group", "attitudes", "Peers from the other entity", "Vršnjaci iz drugog entiteta"),
    ]
    survey += [_q("select_one agree5", f"att_{i + 1}", en, bs, required="yes") for i, (en, bs) in enumerate(attitudes)]
    survey += [_q("end_group", ""), _q("begin_group", "efficacy", "About you", "O vama")]
    survey += [_q("select_one agree5", f"eff_{i + 1}", en, bs, required="yes") for i, (en, bs) in enumerate(efficacy)]
    survey += [
        _q("end_group", ""),
        _q("begin_repeat", "previous_activities", "Earlier activities you took part in",
           "Ranije aktivnosti u kojima ste učestvovali", relevant="${phase} = 'pre'"),
        _q("select_one activity_kind", "activity_kind", "Kind of activity", "Vrsta aktivnosti"),
        _q("integer", "activity_year", "Year", "Godina", constraint=". >= 2015 and . <= 2024"),
        _q("end_repeat", ""),
        _q("text", "participant_name", "Name and surname (for the certificate only)",
           "Ime i prezime (samo za certifikat)"),
    ]
    activity_labels = {
        "citizen_dialogue": ("Citizen dialogue", "Dijalog građana"),
        "youth_exchange": ("Youth exchange", "Razmjena mladih"),
        "youth_camp": ("Youth camp", "Kamp mladih"),
        "critical_thinking_club": ("Critical thinking club", "Klub kritičkog mišljenja"),
        "mental_health_training": ("Mental health training", "Obuka o mentalnom zdravlju"),
        "service_provider_training": ("Training of service providers", "Obuka pružalaca usluga"),
    }
    choices = (
        _choices("phase", [("pre", "Before the activity", "Prije aktivnosti"),
                           ("post", "After the activity", "Nakon aktivnosti")])
        + _municipality_choices() + _SEX
        + _choices("activity", [(k, *activity_labels[k]) for k in EVENT_TYPES])
        + _likert5("agree5", ("Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"),
                   ("Uopće se ne slažem", "Ne slažem se", "Niti se slažem niti ne slažem", "Slažem se",
                    "Potpuno se slažem"))
        + _choices("activity_kind", [("youth_exchange", "Youth exchange", "Razmjena mladih"),
                                     ("youth_camp", "Youth camp", "Kamp mladih"),
                                     ("critical_thinking_club", "Critical thinking club", "Klub kritičkog mišljenja"),
                                     ("volunteering", "Volunteering", "Volontiranje"),
                                     ("sports", "Sports tournament", "Sportski turnir"),
                                     ("other", "Other", "Drugo")])
    )
    return Form("spsc_youth_prepost", "SPSC youth pre/post questionnaire", "2024.3", survey, choices)


def write_xlsform(path: Path, form: Form) -> None:
    """Write the XLSForm with sheets survey, choices and settings."""
    with workbook(path, author="SPSC M&E") as wb:
        ws = wb.add_worksheet("survey")
        write_rows(ws, [SURVEY_COLUMNS])
        write_rows(ws, ([row.get(c) or None for c in SURVEY_COLUMNS] for row in form.survey), 1)
        ws = wb.add_worksheet("choices")
        write_rows(ws, [CHOICE_COLUMNS])
        write_rows(ws, ([row[c] for c in CHOICE_COLUMNS] for row in form.choices), 1)
        ws = wb.add_worksheet("settings")
        settings = form.settings()
        write_rows(ws, [list(settings), list(settings.values())])
