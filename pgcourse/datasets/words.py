"""Vocabularies the generators draw from: real English words, so full-text search has stems,
stop words and phrases to work with. Order matters: frequencies are skewed towards the front."""

from __future__ import annotations

FIRST_NAMES = """james mary john patricia robert jennifer michael linda william elizabeth david barbara
richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty
anthony margaret mark sandra donald ashley steven kimberly paul emily andrew donna joshua michelle
kenneth carol kevin amanda brian melissa george deborah timothy stephanie ronald rebecca edward sharon
jason laura jeffrey cynthia ryan kathleen jacob amy gary angela nicholas shirley eric anna jonathan
brenda stephen pamela larry emma justin nicole scott helen brandon samantha benjamin katherine samuel
christine gregory debra alexander rachel frank carolyn patrick janet raymond maria jack olivia dennis
heather jerry diane tyler julie aaron joyce jose victoria adam ruth henry virginia nathan lauren
zachary kelly douglas christina peter joan kyle evelyn noah judith ethan megan jeremy andrea walter
cheryl christian hannah keith jacqueline roger martha terry gloria austin teresa sean ann gerald sara
carl madison harold frances dylan kathryn arthur janice lawrence jean jordan abigail jesse alice
bryan judy billy sophia bruce grace gabriel denise joe amber logan doris albert marilyn willie
danielle alan beverly juan isabella wayne theresa elijah diana randy natalie roy brittany vincent
charlotte ralph marie eugene kayla russell alexis bobby lori mason yuki hans ingrid pierre chloe
sven astrid mateo lucia ahmed fatima wei mei raj priya kenji aiko omar layla luca giulia""".split()

LAST_NAMES = """smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez
clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green
adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz
parker cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan
cooper peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood
james bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster
jimenez powell jenkins perry russell sullivan bell coleman butler henderson barnes fisher vasquez
simmons romero jordan patterson alexander hamilton graham reynolds griffin wallace west cole hayes
bryant herrera gibson ellis tran medina aguilar stevens murray ford castro marshall owens harrison
fernandez mcdonald woods washington kennedy wells vargas henry chen freeman webb tucker guzman burns
crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks
holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt
garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn mueller schneider
fischer weber becker dubois moreau laurent rossi russo ferrari tanaka suzuki sato yamamoto singh
kumar sharma khan ali hansen johansson nielsen larsen novak horvat kowalski nowak""".split()

EMAIL_DOMAINS = """gmail.com yahoo.com outlook.com hotmail.com icloud.com example.com proton.me
aol.com gmx.de web.de orange.fr libero.it yahoo.co.uk mail.com fastmail.com zoho.com
yandex.com qq.com naver.com uol.com.br""".split()

#: ISO country codes, most frequent first.
COUNTRIES = "US GB DE FR IN BR CA ES IT NL AU MX PL SE JP KR CH BE AT IE NO DK FI PT NZ SG ZA AR".split()

CATEGORY_ROOTS = ["Electronics", "Home & Kitchen", "Clothing", "Books", "Sports & Outdoors",
                  "Toys & Games", "Beauty", "Garden", "Automotive", "Office"]

CATEGORY_LEVEL2 = {
    "Electronics": ["Audio", "Cameras", "Computers", "Phones", "Television", "Wearables", "Gaming", "Networking"],
    "Home & Kitchen": ["Cookware", "Furniture", "Lighting", "Bedding", "Storage", "Appliances", "Decor", "Cleaning"],
    "Clothing": ["Men", "Women", "Kids", "Shoes", "Outerwear", "Sportswear", "Accessories", "Underwear"],
    "Books": ["Fiction", "Science", "History", "Cooking", "Travel", "Children", "Comics", "Business"],
    "Sports & Outdoors": ["Cycling", "Running", "Camping", "Fitness", "Swimming", "Climbing", "Team Sports", "Winter Sports"],
    "Toys & Games": ["Board Games", "Puzzles", "Dolls", "Building Sets", "Outdoor Play", "Educational", "Plush", "Vehicles"],
    "Beauty": ["Skin Care", "Hair Care", "Makeup", "Fragrance", "Bath", "Nails", "Shaving", "Wellness"],
    "Garden": ["Plants", "Tools", "Watering", "Furniture", "Grills", "Lighting", "Pest Control", "Seeds"],
    "Automotive": ["Parts", "Tools", "Care", "Electronics", "Tires", "Interior", "Exterior", "Oils"],
    "Office": ["Paper", "Writing", "Desks", "Chairs", "Printers", "Organizers", "Bags", "Calendars"],
}
CATEGORY_LEVEL3 = ["Essentials", "Premium", "Budget", "Professional", "Accessories", "Kits"]
CATEGORY_LEVEL4 = ["Indoor", "Outdoor", "Travel", "Compact", "Heavy Duty"]
CATEGORY_LEVEL5 = ["Classic", "Modern", "Eco"]

#: product nouns per category root (same order as CATEGORY_ROOTS)
NOUNS = {
    "Electronics": "headphones speaker camera laptop charger cable monitor keyboard mouse tablet router earbuds smartwatch microphone projector".split(),
    "Home & Kitchen": "pan skillet kettle lamp chair table blanket pillow shelf blender toaster vase mug knife cutting-board".split(),
    "Clothing": "shirt jacket jeans sweater dress hoodie socks sneakers boots scarf hat coat shorts skirt belt".split(),
    "Books": "novel guide cookbook atlas biography anthology handbook memoir workbook dictionary".split(),
    "Sports & Outdoors": "tent backpack bicycle helmet bottle mat dumbbell racket ball jersey gloves sleeping-bag compass".split(),
    "Toys & Games": "puzzle doll robot blocks train kite game figure car plush drone".split(),
    "Beauty": "serum cream lotion shampoo conditioner perfume lipstick mascara cleanser mask brush".split(),
    "Garden": "hose shovel planter rake pruner grill lantern seeds fertilizer sprinkler wheelbarrow".split(),
    "Automotive": "wiper battery charger mat cover polish filter jack tire-gauge dashcam".split(),
    "Office": "notebook pen stapler desk chair printer binder folder planner calendar marker".split(),
}

ADJECTIVES = """classic modern compact portable wireless durable lightweight ergonomic premium vintage
eco-friendly waterproof adjustable foldable smart heavy-duty slim deluxe organic handmade rechargeable
stainless soft warm cozy elegant rugged minimalist professional everyday travel""".split()

MATERIALS = """cotton steel bamboo leather wool oak walnut ceramic glass aluminum silicone linen
canvas copper plastic recycled titanium marble denim nylon""".split()

COLORS = "black white grey navy red blue green beige brown pink yellow orange purple silver gold".split()

BRANDS = """Acme Northwind Contoso Globex Initech Umbrella Stark Wayne Hooli Vandelay Tyrell Soylent
Cyberdyne Aperture Oscorp Wonka Gringotts Monarch Pied-Piper Dunder""".split()

#: sentences for descriptions and documents; {noun} {adj} {material} {color} are filled in.
SENTENCES = [
    "This {adj} {noun} is made of {material} and built to last for years.",
    "Customers love how the {noun} feels: {adj}, quiet and easy to clean.",
    "Available in {color}, it fits any room, desk or bag.",
    "The {material} finish resists scratches, stains and everyday wear.",
    "Perfect as a gift for birthdays, holidays and housewarming parties.",
    "Free shipping and a two-year warranty are included with every {noun}.",
    "Designed by our team after testing dozens of prototypes with real users.",
    "Lightweight enough to carry, strong enough for daily use outdoors.",
    "Pairs well with our other {adj} accessories in the same collection.",
    "Please check the size chart before ordering; returns are free within thirty days.",
    "Our best-selling {noun} is now even more {adj}, with recycled packaging.",
    "Hand wash only; do not put the {material} parts in the dishwasher.",
]

DOC_WORDS = """quarterly report meeting notes budget roadmap invoice contract proposal design review
draft summary analysis customer feedback release plan migration database performance security
incident postmortem hiring onboarding policy travel expenses research results experiment
marketing campaign launch schedule inventory supplier shipping returns refund pricing discount
strategy team project milestone deadline risk decision architecture backup recovery index query""".split()

DOC_FILLER = """the a of and to in for on with is are was will be by this that from we our it as at
an or not have has should can after before during each all new next""".split()

#: tags, most frequent first (their frequencies follow a Zipf law)
TAGS = """sale new bestseller gift eco featured limited clearance premium bundle handmade organic
wireless waterproof vegan kids outdoor travel compact smart vintage imported seasonal exclusive
refurbished portable durable lightweight recycled local fair-trade gluten-free bpa-free
energy-saving award-winning staff-pick trending back-in-stock last-chance""".split()

#: events
EVENT_TYPES = ["page_view", "product_view", "add_to_cart", "search", "login", "checkout", "purchase"]
EVENT_SHARES = [0.62, 0.22, 0.07, 0.045, 0.025, 0.012, 0.008]
PAGES = "home cart checkout account deals help about products categories search wishlist orders blog careers contact".split()
SEARCH_TERMS = """headphones lamp jacket tent novel serum pan sneakers gift laptop chair puzzle grill
backpack coffee mug wireless charger kids toys desk organic cotton shirt bottle""".split()
LOGIN_METHODS = ["password", "google", "apple", "magic_link"]
