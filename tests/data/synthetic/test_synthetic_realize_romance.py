"""Hand-built frames realized in French, Spanish and Catalan: agreement, placement, elision, numbers."""

from soups.data.synthetic.frames import Clause, Frame
from soups.data.synthetic.frames import NounPhrase as NP
from soups.data.synthetic.grammar import realize


def fr(frame):
    return realize(frame, "fr")


def es(frame):
    return realize(frame, "es")


def ca(frame):
    return realize(frame, "ca")


EAT = Frame(Clause(NP("cow", "def", 2, "black"), "eat", NP("apple", "indef", adj="red")))


def test_french_adjective_follows_noun_and_agrees():
    assert fr(EAT) == "Les vaches noires mangent une pomme rouge."
    assert fr(Frame(Clause(NP("cow", adj="white"), "see", NP("cat", "def", 2, "white")))) == (
        "La vache blanche voit les chats blancs.")


def test_french_prenominal_adjectives_and_liaison_forms():
    assert fr(Frame(Clause(NP("man", adj="old"), "see", NP("bird", "indef", adj="beautiful")))) == (
        "Le vieil homme voit un bel oiseau.")
    assert fr(Frame(Clause(NP("girl", "def", 2, "small"), "see", NP("dog", "indef", adj="big")))) == (
        "Les petites filles voient un grand chien.")


def test_french_elision_and_contractions():
    assert fr(Frame(Clause(NP("man"), "see", NP("elephant")))) == "L'homme voit l'éléphant."
    assert fr(Frame(Clause(NP("child"), "go"), place=NP("market"))) == "L'enfant va au marché."
    assert fr(Frame(Clause(NP("boy"), "drink", NP("milk", "part")))) == "Le garçon boit du lait."
    assert fr(Frame(Clause(NP("boy"), "drink", NP("water", "part")))) == "Le garçon boit de l'eau."
    assert fr(Frame(Clause(NP("boy"), "talk to", NP("princess", "def", 2)))) == "Le garçon parle aux princesses."
    assert fr(Frame(Clause(NP("boy"), "sleep"), place=NP("lake"))) == "Le garçon dort près du lac."


def test_french_numbers_in_sentences():
    assert fr(Frame(Clause(NP("woman"), "buy", NP("cat", "num", 90)))) == "La femme achète quatre-vingt-dix chats."
    assert fr(Frame(Clause(NP("woman"), "buy", NP("cat", "num", 71)))) == "La femme achète soixante et onze chats."
    assert fr(Frame(Clause(NP("woman"), "buy", NP("cow", "num", 21)))) == "La femme achète vingt et une vaches."


def test_french_questions_negation_and_passe_compose():
    see = Clause(NP("dog"), "see", NP("cat"))
    assert fr(Frame(see, question=True, variant=1)) == "Le chien voit-il le chat ?"
    assert fr(Frame(see, question=True, variant=0)) == "Est-ce que le chien voit le chat ?"
    assert fr(Frame(Clause(NP("girl"), "eat", NP("apple")), question=True, variant=1)) == (
        "La fille mange-t-elle la pomme ?")
    assert fr(Frame(Clause(NP("dog"), "see", NP("cat", "indef"), negated=True))) == "Le chien ne voit pas de chat."
    assert fr(Frame(Clause(NP("girl", "def", 2), "go", tense="past"), place=NP("market"))) == (
        "Les filles sont allées au marché.")
    assert fr(Frame(Clause(NP("child"), "hide.self", tense="past", negated=True))) == "L'enfant ne s'est pas caché."
    assert fr(Frame(Clause(NP("dog"), "eat", NP("apple"), tense="fut"))) == "Le chien va manger la pomme."


def test_spanish_agreement_and_numbers():
    assert es(EAT) == "Las vacas negras comen una manzana roja."
    assert es(Frame(Clause(NP("woman"), "buy", NP("cat", "num", 21)))) == "La mujer compra veintiún gatos."
    assert es(Frame(Clause(NP("woman"), "buy", NP("cow", "num", 21)))) == "La mujer compra veintiuna vacas."
    assert es(Frame(Clause(NP("woman"), "buy", NP("cow", "num", 32)))) == "La mujer compra treinta y dos vacas."
    assert es(Frame(Clause(NP("boy"), "drink", NP("water", adj="cold")))) == "El chico bebe el agua fría."


def test_spanish_personal_a_contractions_ser_estar_and_questions():
    assert es(Frame(Clause(NP("dog"), "see", NP("man")))) == "El perro ve al hombre."
    assert es(Frame(Clause(NP("dog"), "see", NP("woman")))) == "El perro ve a la mujer."
    assert es(Frame(Clause(NP("dog"), "see", NP("cat")))) == "El perro ve el gato."
    assert es(Frame(Clause(NP("boy"), "sleep"), place=NP("river"))) == "El chico duerme cerca del río."
    assert es(Frame(Clause(NP("cat"), state="tired"))) == "El gato está cansado."
    assert es(Frame(Clause(NP("cat", "def", 2), state="big"))) == "Los gatos son grandes."
    assert es(Frame(Clause(NP("dog"), "see", NP("man")), question=True, variant=1)) == "¿Ve el perro al hombre?"
    assert es(Frame(Clause(NP("cat"), state="tired"), question=True, variant=1)) == "¿Está cansado el gato?"
    assert es(Frame(Clause(NP("child"), "hide.self", tense="fut", negated=True))) == "El niño no se va a esconder."


def test_catalan_agreement_numbers_and_elision():
    assert ca(EAT) == "Les vaques negres mengen una poma vermella."
    assert ca(Frame(Clause(NP("man"), "buy", NP("cow", "num", 2)))) == "L'home compra dues vaques."
    assert ca(Frame(Clause(NP("man"), "buy", NP("cow", "num", 22)))) == "L'home compra vint-i-dues vaques."
    assert ca(Frame(Clause(NP("man"), "buy", NP("cat", "num", 2, "yellow")))) == "L'home compra dos gats grocs."
    assert ca(Frame(Clause(NP("nurse"), "sleep"), place=NP("park"))) == "La infermera dorm al parc."
    assert ca(Frame(Clause(NP("boy"), "sleep"), place=NP("river"))) == "El noi dorm a prop del riu."
    assert ca(Frame(Clause(NP("boy"), "go"), place=NP("school"))) == "El noi va a l'escola."


def test_catalan_tenses_reflexives_and_ser_estar():
    assert ca(Frame(Clause(NP("man"), "see", NP("cat"), tense="past"))) == "L'home va veure el gat."
    assert ca(Frame(Clause(NP("man", "def", 2), "see", NP("cat"), tense="fut"))) == "Els homes veuran el gat."
    assert ca(Frame(Clause(NP("child"), "hide.self"))) == "El nen s'amaga."
    assert ca(Frame(Clause(NP("child"), "hide.self", tense="past", negated=True))) == "El nen no es va amagar."
    assert ca(Frame(Clause(NP("cat", "def", 2), state="tired"))) == "Els gats estan cansats."
    assert ca(Frame(Clause(NP("ball"), state="yellow"), question=True)) == "La pilota és groga?"
