"""Time adverbials and manner adverbs.

``TIMES`` row: ``(id, tenses, en, fr, de, es, ca, zh)``: the phrase in each language and the tenses it fits
(*yesterday* only with the past). ``freq`` marks a frequency adverb (*often*): present only, placed next to
the verb rather than at the edge of the clause (*The dog often sleeps*, *Le chien dort souvent*).
``ADVERBS`` row: ``(id, en, fr, de, es, ca, zh)``: manner adverbs (Chinese ones carry the marker 地).
"""

_ALL = "pres past fut"

TIMES = (
    ("today", _ALL, "today", "aujourd'hui", "heute", "hoy", "avui", "今天"),
    ("yesterday", "past", "yesterday", "hier", "gestern", "ayer", "ahir", "昨天"),
    ("tomorrow", "fut", "tomorrow", "demain", "morgen", "mañana", "demà", "明天"),
    ("now", "pres", "now", "maintenant", "jetzt", "ahora", "ara", "现在"),
    ("often", "pres freq", "often", "souvent", "oft", "a menudo", "sovint", "经常"),
    ("always", "pres freq", "always", "toujours", "immer", "siempre", "sempre", "总是"),
    ("sometimes", "pres freq", "sometimes", "parfois", "manchmal", "a veces", "de vegades", "有时候"),
    ("every day", "pres", "every day", "tous les jours", "jeden Tag", "todos los días", "cada dia", "每天"),
    ("in the morning", "pres", "in the morning", "le matin", "am Morgen", "por la mañana", "al matí", "早上"),
    ("this morning", "past fut", "this morning", "ce matin", "heute Morgen", "esta mañana", "aquest matí",
     "今天早上"),
    ("tonight", "fut", "tonight", "ce soir", "heute Abend", "esta noche", "aquesta nit", "今天晚上"),
    ("last night", "past", "last night", "hier soir", "gestern Abend", "anoche", "ahir a la nit", "昨天晚上"),
    ("in the afternoon", "pres", "in the afternoon", "l'après-midi", "am Nachmittag", "por la tarde", "a la tarda",
     "下午"),
    ("at night", "pres", "at night", "la nuit", "in der Nacht", "por la noche", "a la nit", "晚上"),
    ("at noon", "pres", "at noon", "à midi", "am Mittag", "al mediodía", "al migdia", "中午"),
    ("every morning", "pres", "every morning", "tous les matins", "jeden Morgen", "todas las mañanas", "cada matí",
     "每天早上"),
    ("every week", "pres", "every week", "chaque semaine", "jede Woche", "cada semana", "cada setmana", "每个星期"),
    ("last week", "past", "last week", "la semaine dernière", "letzte Woche", "la semana pasada", "la setmana passada",
     "上个星期"),
    ("next week", "fut", "next week", "la semaine prochaine", "nächste Woche", "la semana que viene",
     "la setmana que ve", "下个星期"),
    ("last year", "past", "last year", "l'année dernière", "letztes Jahr", "el año pasado", "l'any passat", "去年"),
    ("next year", "fut", "next year", "l'année prochaine", "nächstes Jahr", "el año que viene", "l'any que ve", "明年"),
    ("monday", _ALL, "on Monday", "lundi", "am Montag", "el lunes", "dilluns", "星期一"),
    ("tuesday", _ALL, "on Tuesday", "mardi", "am Dienstag", "el martes", "dimarts", "星期二"),
    ("wednesday", _ALL, "on Wednesday", "mercredi", "am Mittwoch", "el miércoles", "dimecres", "星期三"),
    ("thursday", _ALL, "on Thursday", "jeudi", "am Donnerstag", "el jueves", "dijous", "星期四"),
    ("friday", _ALL, "on Friday", "vendredi", "am Freitag", "el viernes", "divendres", "星期五"),
    ("saturday", _ALL, "on Saturday", "samedi", "am Samstag", "el sábado", "dissabte", "星期六"),
    ("sunday", _ALL, "on Sunday", "dimanche", "am Sonntag", "el domingo", "diumenge", "星期天"),
    ("summer", _ALL, "in summer", "en été", "im Sommer", "en verano", "a l'estiu", "夏天"),
    ("winter", _ALL, "in winter", "en hiver", "im Winter", "en invierno", "a l'hivern", "冬天"),
    ("spring", _ALL, "in spring", "au printemps", "im Frühling", "en primavera", "a la primavera", "春天"),
    ("autumn", _ALL, "in autumn", "en automne", "im Herbst", "en otoño", "a la tardor", "秋天"),
    ("january", _ALL, "in January", "en janvier", "im Januar", "en enero", "al gener", "一月"),
    ("february", _ALL, "in February", "en février", "im Februar", "en febrero", "al febrer", "二月"),
    ("march", _ALL, "in March", "en mars", "im März", "en marzo", "al març", "三月"),
    ("april", _ALL, "in April", "en avril", "im April", "en abril", "a l'abril", "四月"),
    ("may", _ALL, "in May", "en mai", "im Mai", "en mayo", "al maig", "五月"),
    ("june", _ALL, "in June", "en juin", "im Juni", "en junio", "al juny", "六月"),
    ("july", _ALL, "in July", "en juillet", "im Juli", "en julio", "al juliol", "七月"),
    ("august", _ALL, "in August", "en août", "im August", "en agosto", "a l'agost", "八月"),
    ("september", _ALL, "in September", "en septembre", "im September", "en septiembre", "al setembre", "九月"),
    ("october", _ALL, "in October", "en octobre", "im Oktober", "en octubre", "a l'octubre", "十月"),
    ("november", _ALL, "in November", "en novembre", "im November", "en noviembre", "al novembre", "十一月"),
    ("december", _ALL, "in December", "en décembre", "im Dezember", "en diciembre", "al desembre", "十二月"),
)

ADVERBS = (
    ("quickly", "quickly", "rapidement", "schnell", "rápidamente", "ràpidament", "很快地"),
    ("slowly", "slowly", "lentement", "langsam", "despacio", "lentament", "慢慢地"),
    ("carefully", "carefully", "soigneusement", "vorsichtig", "con cuidado", "amb compte", "小心地"),
    ("quietly", "quietly", "silencieusement", "leise", "en silencio", "en silenci", "安静地"),
    ("happily", "happily", "joyeusement", "fröhlich", "alegremente", "alegrement", "高兴地"),
    ("gently", "gently", "doucement", "sanft", "suavemente", "suaument", "轻轻地"),
    ("patiently", "patiently", "patiemment", "geduldig", "con paciencia", "amb paciència", "耐心地"),
    ("proudly", "proudly", "fièrement", "stolz", "con orgullo", "amb orgull", "骄傲地"),
    ("secretly", "secretly", "en secret", "heimlich", "en secreto", "en secret", "偷偷地"),
)
