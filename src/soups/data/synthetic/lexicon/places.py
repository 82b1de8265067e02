"""Places, used as locations (*in the park*) and as goals of motion verbs (*to the park*).

Row: ``(id, en, fr, de, es, ca, zh)``. Each spec names the noun, its gender, and the preposition of
location; goals use a fixed preposition unless a second one is given:
en ``park|in`` (goal *to*); fr ``parc|m|dans`` (goal *à*: *au parc*, or the 4th field: *dans la cuisine*);
de ``Park|m|in`` (two-way preposition: dative for location *im Park*, accusative for goals *in den Park*;
a 4th field replaces the goal preposition: *zum Bahnhof*); es ``parque|m|en`` (goal *a*: *al parque*);
ca ``parc|m|a`` (goal *a*); zh ``公园|里`` (noun and localizer: 在公园里; goals drop the localizer: 去公园).
"""

ROWS = (
    ("park", "park|in", "parc|m|dans", "Park|m|in", "parque|m|en", "parc|m|a", "公园|里"),
    ("garden", "garden|in", "jardin|m|dans", "Garten|m|in", "jardín|m|en", "jardí|m|a", "花园|里"),
    ("kitchen", "kitchen|in", "cuisine|f|dans|dans", "Küche|f|in", "cocina|f|en", "cuina|f|a", "厨房|里"),
    ("market", "market|at", "marché|m|à", "Markt|m|auf", "mercado|m|en", "mercat|m|a", "市场|上"),
    ("school", "school|at", "école|f|à", "Schule|f|in", "escuela|f|en", "escola|f|a", "学校|里"),
    ("beach", "beach|on", "plage|f|sur", "Strand|m|an", "playa|f|en", "platja|f|a", "海滩|上"),
    ("forest", "forest|in", "forêt|f|dans|dans", "Wald|m|in", "bosque|m|en", "bosc|m|a", "森林|里"),
    ("street", "street|in", "rue|f|dans|dans", "Straße|f|auf", "calle|f|en", "carrer|m|a", "街|上"),
    ("town", "town|in", "ville|f|dans|dans", "Stadt|f|in", "ciudad|f|en", "ciutat|f|a", "城市|里"),
    ("village", "village|in", "village|m|dans", "Dorf|n|in", "pueblo|m|en", "poble|m|a", "村子|里"),
    ("farm", "farm|on", "ferme|f|à", "Bauernhof|m|auf", "granja|f|en", "granja|f|a", "农场|里"),
    ("station", "station|at", "gare|f|à", "Bahnhof|m|an|zu", "estación|f|en", "estació|f|a", "火车站|"),
    ("airport", "airport|at", "aéroport|m|à", "Flughafen|m|an|zu", "aeropuerto|m|en", "aeroport|m|a", "机场|"),
    ("hospital", "hospital|at", "hôpital|m|à", "Krankenhaus|n|in", "hospital|m|en", "hospital|m|a", "医院|里"),
    ("library", "library|in", "bibliothèque|f|à", "Bibliothek|f|in", "biblioteca|f|en", "biblioteca|f|a",
     "图书馆|里"),
    ("museum", "museum|in", "musée|m|à", "Museum|n|in", "museo|m|en", "museu|m|a", "博物馆|里"),
    ("restaurant", "restaurant|in", "restaurant|m|à", "Restaurant|n|in", "restaurante|m|en", "restaurant|m|a",
     "餐厅|里"),
    ("shop", "shop|in", "magasin|m|dans", "Laden|m|in", "tienda|f|en", "botiga|f|a", "商店|里"),
    ("office", "office|in", "bureau|m|à", "Büro|n|in", "oficina|f|en", "oficina|f|a", "办公室|里"),
    ("river", "river|by", "rivière|f|près de", "Fluss|m|an", "río|m|cerca de", "riu|m|a prop de", "河|边"),
    ("lake", "lake|by", "lac|m|près de", "See|m|an", "lago|m|cerca de", "llac|m|a prop de", "湖|边"),
    ("sea", "sea|by", "mer|f|au bord de", "Meer|n|an", "mar|m|cerca de", "mar|m|a prop de", "海|边"),
    ("mountain", "mountain|on", "montagne|f|à", "Berg|m|auf", "montaña|f|en", "muntanya|f|a", "山|上"),
    ("field", "field|in", "champ|m|dans", "Feld|n|auf", "campo|m|en", "camp|m|a", "田野|里"),
    ("bridge", "bridge|on", "pont|m|sur|sur", "Brücke|f|auf", "puente|m|en", "pont|m|sobre", "桥|上"),
    ("square", "square|in", "place|f|sur|sur", "Platz|m|auf", "plaza|f|en", "plaça|f|a", "广场|上"),
    ("zoo", "zoo|at", "zoo|m|à", "Zoo|m|in", "zoológico|m|en", "zoo|m|a", "动物园|里"),
    ("cinema", "cinema|at", "cinéma|m|à", "Kino|n|in", "cine|m|en", "cinema|m|a", "电影院|里"),
    ("bakery", "bakery|at", "boulangerie|f|à", "Bäckerei|f|in|zu", "panadería|f|en", "fleca|f|a", "面包店|里"),
    ("supermarket", "supermarket|at", "supermarché|m|à", "Supermarkt|m|in", "supermercado|m|en",
     "supermercat|m|a", "超市|里"),
    ("classroom", "classroom|in", "salle de classe|f|dans|dans", "Klassenzimmer|n|in", "clase|f|en", "aula|f|a",
     "教室|里"),
    ("bedroom", "bedroom|in", "chambre|f|dans|dans", "Schlafzimmer|n|in", "dormitorio|m|en", "dormitori|m|a",
     "卧室|里"),
    ("living room", "living room|in", "salon|m|dans|dans", "Wohnzimmer|n|in", "salón|m|en", "sala d'estar|f|a",
     "客厅|里"),
    ("bathroom", "bathroom|in", "salle de bains|f|dans|dans", "Badezimmer|n|in", "baño|m|en", "bany|m|a",
     "浴室|里"),
    ("playground", "playground|in", "aire de jeux|f|sur", "Spielplatz|m|auf", "parque infantil|m|en",
     "parc infantil|m|a", "游乐场|里"),
    ("harbour", "harbour|in", "port|m|à", "Hafen|m|in", "puerto|m|en", "port|m|a", "港口|里"),
    ("island", "island|on", "île|f|sur|sur", "Insel|f|auf", "isla|f|en", "illa|f|a", "岛|上"),
    ("castle", "castle|in", "château|m|dans", "Schloss|n|in", "castillo|m|en", "castell|m|a", "城堡|里"),
    ("garage", "garage|in", "garage|m|dans", "Garage|f|in", "garaje|m|en", "garatge|m|a", "车库|里"),
    ("hotel", "hotel|at", "hôtel|m|à", "Hotel|n|in", "hotel|m|en", "hotel|m|a", "酒店|里"),
    ("desert", "desert|in", "désert|m|dans|dans", "Wüste|f|in", "desierto|m|en", "desert|m|a", "沙漠|里"),
)
