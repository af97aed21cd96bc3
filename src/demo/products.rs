//! The demo products: apparel models with color/size variants, footwear
//! models with shoe-size variants and simple electronics, generated from a
//! fixed seed so every demo folder holds the same catalog.
//!
//! The catalog is deliberately uneven, like a real one: most products are
//! complete on every channel, but some lack German or French copy, some
//! variants have no GTIN yet (so Google cannot take them), a few products
//! are disabled and a few sit in no category. Everything is written through
//! the single write path, as the ERP and people would write it.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};
use sqlx::Row;

use crate::audit::Actor;
use crate::catalog::product::{ProductKind, ValueKey};
use crate::catalog::schema::Schema;
use crate::db::{Clock, Db};
use crate::workflow::write::{self, NewProduct, ValueChange, WriteError, Writer};

/// The seed of the demo catalog: change it and every demo folder changes.
const SEED: u64 = 0x51_01CE_DE70;

const APPAREL_MODELS: usize = 60;
const FOOTWEAR_MODELS: usize = 40;
const ELECTRONICS_PRODUCTS: usize = 80;

/// The catalog's locales, in the order of every `[_; 3]` translation below.
const LOCALES: [&str; 3] = ["en_US", "de_DE", "fr_FR"];

/// A text in English, German and French.
type Tr = [&'static str; 3];

/// Creates the demo products in one transaction, unless the catalog already
/// holds products: then nothing is written and 0 is returned. Checking and
/// seeding in one transaction (serialized per database) keeps two demo
/// starts from seeding twice, and a failed seed leaves no half catalog.
pub async fn seed_products(db: &Db, schema: &Schema, clock: &Clock) -> Result<usize, WriteError> {
    let mut tx = db.begin_write().await?;
    db.lock_key(&mut tx, "demo.seed_products").await?;
    let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM products")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    if existing > 0 {
        return Ok(0);
    }
    let writer = Writer::System(Actor::system("sluice demo"));
    let products = demo_products(schema);
    let count = products.len();
    for product in products {
        write::create_in(&mut tx, schema, &writer, product, clock.now()).await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Every demo product, models before their variants. Labels of options
/// (colors, materials …) come from `schema`, so copy and schema agree.
pub fn demo_products(schema: &Schema) -> Vec<NewProduct> {
    let mut seeder = Seeder {
        rng: StdRng::seed_from_u64(SEED),
        schema,
        ean: 0,
        upc: 0,
        products: Vec::new(),
    };
    seeder.apparel();
    seeder.footwear();
    seeder.electronics();
    seeder.products
}

// ------------------------------------------------------------------ tables

struct Garment {
    name: Tr,
    category: &'static str,
    google_category: &'static str,
    hs_code: &'static str,
    materials: &'static [&'static str],
    /// Weight of size M, in grams.
    grams: u32,
    /// Whole-dollar prices to choose from.
    prices: &'static [u32],
    care: usize,
}

const GARMENTS: [Garment; 15] = [
    Garment {
        name: ["T-Shirt", "T-Shirt", "T-shirt"],
        category: "tops",
        google_category: "212",
        hs_code: "610910",
        materials: &["cotton", "organic_cotton"],
        grams: 180,
        prices: &[19, 24, 29],
        care: 0,
    },
    Garment {
        name: ["Hoodie", "Kapuzenpullover", "Sweat à capuche"],
        category: "tops",
        google_category: "212",
        hs_code: "611020",
        materials: &["cotton", "recycled_polyester"],
        grams: 520,
        prices: &[59, 69, 79],
        care: 0,
    },
    Garment {
        name: ["Polo Shirt", "Poloshirt", "Polo"],
        category: "tops",
        google_category: "212",
        hs_code: "610510",
        materials: &["organic_cotton", "elastane"],
        grams: 230,
        prices: &[39, 44, 49],
        care: 0,
    },
    Garment {
        name: [
            "Merino Base Layer",
            "Merino-Funktionsshirt",
            "Sous-couche en mérinos",
        ],
        category: "tops",
        google_category: "212",
        hs_code: "611011",
        materials: &["merino_wool"],
        grams: 170,
        prices: &[69, 79, 89],
        care: 1,
    },
    Garment {
        name: ["Flannel Shirt", "Flanellhemd", "Chemise en flanelle"],
        category: "tops",
        google_category: "212",
        hs_code: "620520",
        materials: &["cotton"],
        grams: 340,
        prices: &[49, 59],
        care: 0,
    },
    Garment {
        name: ["Chinos", "Chinohose", "Chino"],
        category: "bottoms",
        google_category: "204",
        hs_code: "620342",
        materials: &["cotton", "elastane"],
        grams: 480,
        prices: &[59, 69, 79],
        care: 0,
    },
    Garment {
        name: ["Trail Shorts", "Trailshorts", "Short de trail"],
        category: "bottoms",
        google_category: "207",
        hs_code: "620343",
        materials: &["recycled_polyester", "elastane"],
        grams: 160,
        prices: &[39, 49],
        care: 2,
    },
    Garment {
        name: ["Slim Jeans", "Slim-Jeans", "Jean slim"],
        category: "bottoms",
        google_category: "204",
        hs_code: "620342",
        materials: &["cotton", "elastane"],
        grams: 620,
        prices: &[69, 89, 99],
        care: 0,
    },
    Garment {
        name: ["Joggers", "Jogginghose", "Pantalon de jogging"],
        category: "bottoms",
        google_category: "204",
        hs_code: "611012",
        materials: &["organic_cotton", "polyester"],
        grams: 410,
        prices: &[49, 59],
        care: 0,
    },
    Garment {
        name: ["Hiking Pants", "Wanderhose", "Pantalon de randonnée"],
        category: "bottoms",
        google_category: "204",
        hs_code: "620343",
        materials: &["nylon", "elastane"],
        grams: 390,
        prices: &[79, 99, 119],
        care: 2,
    },
    Garment {
        name: ["Rain Jacket", "Regenjacke", "Veste de pluie"],
        category: "outerwear",
        google_category: "5598",
        hs_code: "620193",
        materials: &["recycled_polyester", "waterproof_membrane"],
        grams: 380,
        prices: &[129, 149, 179],
        care: 2,
    },
    Garment {
        name: ["Down Parka", "Daunenparka", "Parka en duvet"],
        category: "outerwear",
        google_category: "5598",
        hs_code: "620193",
        materials: &["nylon", "down"],
        grams: 950,
        prices: &[249, 299, 349],
        care: 3,
    },
    Garment {
        name: ["Fleece Jacket", "Fleecejacke", "Veste polaire"],
        category: "outerwear",
        google_category: "5598",
        hs_code: "611030",
        materials: &["recycled_polyester"],
        grams: 420,
        prices: &[79, 89, 99],
        care: 0,
    },
    Garment {
        name: ["Softshell Jacket", "Softshelljacke", "Veste softshell"],
        category: "outerwear",
        google_category: "5598",
        hs_code: "620193",
        materials: &["polyester", "elastane"],
        grams: 510,
        prices: &[119, 139, 159],
        care: 2,
    },
    Garment {
        name: ["Windbreaker", "Windjacke", "Coupe-vent"],
        category: "outerwear",
        google_category: "5598",
        hs_code: "620193",
        materials: &["nylon"],
        grams: 210,
        prices: &[69, 79, 99],
        care: 2,
    },
];

const APPAREL_LINES: [&str; 10] = [
    "Essential",
    "Summit",
    "Coastal",
    "Urban",
    "Alpine",
    "Heritage",
    "Everyday",
    "Expedition",
    "Nordic",
    "Breeze",
];
const APPAREL_BRANDS: [&str; 6] = [
    "northwind",
    "alder_pine",
    "kestrel",
    "bluefjord",
    "ridgeline",
    "marlowe",
];
const APPAREL_COLORS: [&str; 10] = [
    "black", "white", "navy", "grey", "red", "green", "blue", "olive", "beige", "yellow",
];
const SIZES: [&str; 6] = ["xs", "s", "m", "l", "xl", "xxl"];
/// Weight of each size relative to M, in percent.
const SIZE_WEIGHT: [u32; 6] = [85, 92, 100, 108, 116, 125];

const CARE: [Tr; 4] = [
    [
        "<p>Machine wash at 30 °C with similar colors. Do not bleach. Tumble dry low; iron on low heat.</p>",
        "<p>Maschinenwäsche bei 30 °C mit ähnlichen Farben. Nicht bleichen. Schonend trocknen; bei niedriger Temperatur bügeln.</p>",
        "<p>Lavage en machine à 30 °C avec des couleurs similaires. Ne pas javelliser. Séchage doux ; repassage à basse température.</p>",
    ],
    [
        "<p>Hand wash cold or use the wool cycle. Dry flat in the shade. Do not tumble dry.</p>",
        "<p>Kalte Handwäsche oder Wollprogramm. Liegend im Schatten trocknen. Nicht im Trockner trocknen.</p>",
        "<p>Lavage à la main à froid ou programme laine. Sécher à plat à l'ombre. Ne pas passer au sèche-linge.</p>",
    ],
    [
        "<p>Machine wash at 30 °C with a technical detergent, no fabric softener. Re-proof after a few washes.</p>",
        "<p>Maschinenwäsche bei 30 °C mit Funktionswaschmittel, ohne Weichspüler. Nach einigen Wäschen neu imprägnieren.</p>",
        "<p>Lavage en machine à 30 °C avec une lessive technique, sans adoucissant. Réimperméabiliser après quelques lavages.</p>",
    ],
    [
        "<p>Professional cleaning recommended. If washing at home, use a down wash and tumble dry low with dryer balls.</p>",
        "<p>Professionelle Reinigung empfohlen. Zu Hause mit Daunenwaschmittel waschen und mit Trocknerbällen schonend trocknen.</p>",
        "<p>Nettoyage professionnel recommandé. À la maison, utiliser une lessive pour duvet et sécher à basse température avec des balles de séchage.</p>",
    ],
];

const APPAREL_FEATURES: [(&str, [Tr; 3]); 3] = [
    (
        "tops",
        [
            [
                "Soft, breathable fabric",
                "Weicher, atmungsaktiver Stoff",
                "Tissu doux et respirant",
            ],
            [
                "Flatlock seams that do not chafe",
                "Flachnähte, die nicht scheuern",
                "Coutures plates sans frottement",
            ],
            [
                "Tag-free neck label",
                "Etikettfreier Nacken",
                "Sans étiquette au col",
            ],
        ],
    ),
    (
        "bottoms",
        [
            [
                "Gusseted crotch for freedom of movement",
                "Zwickel für mehr Bewegungsfreiheit",
                "Entrejambe à soufflet pour plus de liberté",
            ],
            [
                "Zippered back pocket",
                "Gesäßtasche mit Reißverschluss",
                "Poche arrière zippée",
            ],
            ["Reinforced knees", "Verstärkte Knie", "Genoux renforcés"],
        ],
    ),
    (
        "outerwear",
        [
            ["Adjustable hood", "Verstellbare Kapuze", "Capuche réglable"],
            [
                "Two-way front zip",
                "Zwei-Wege-Frontreißverschluss",
                "Zip avant double sens",
            ],
            [
                "Packs into its own pocket",
                "In der eigenen Tasche verstaubar",
                "Se range dans sa propre poche",
            ],
        ],
    ),
];

/// Gender (and age group) of a model, with the suffix its name carries.
#[derive(Clone, Copy)]
struct Audience {
    gender: &'static str,
    age_group: &'static str,
    suffix: Tr,
}

const MEN: Audience = Audience {
    gender: "male",
    age_group: "adult",
    suffix: ["Men's", "Herren", "Homme"],
};
const WOMEN: Audience = Audience {
    gender: "female",
    age_group: "adult",
    suffix: ["Women's", "Damen", "Femme"],
};
const UNISEX: Audience = Audience {
    gender: "unisex",
    age_group: "adult",
    suffix: ["Unisex", "Unisex", "Unisexe"],
};
const KIDS: Audience = Audience {
    gender: "unisex",
    age_group: "kids",
    suffix: ["Kids'", "Kinder", "Enfant"],
};

struct Shoe {
    line: &'static str,
    category: &'static str,
    hs_code: &'static str,
    waterproof: bool,
    materials: &'static [&'static str],
    grams: u32,
    prices: &'static [u32],
}

const SHOES: [Shoe; 10] = [
    Shoe {
        line: "Trail Runner",
        category: "running",
        hs_code: "640411",
        waterproof: false,
        materials: &["mesh", "rubber"],
        grams: 580,
        prices: &[119, 129, 139],
    },
    Shoe {
        line: "Road Glide",
        category: "running",
        hs_code: "640411",
        waterproof: false,
        materials: &["mesh", "recycled_polyester", "rubber"],
        grams: 520,
        prices: &[129, 149],
    },
    Shoe {
        line: "Tempo",
        category: "running",
        hs_code: "640411",
        waterproof: false,
        materials: &["mesh", "rubber"],
        grams: 460,
        prices: &[139, 159, 179],
    },
    Shoe {
        line: "Skyline",
        category: "running",
        hs_code: "640411",
        waterproof: false,
        materials: &["recycled_polyester", "rubber"],
        grams: 540,
        prices: &[109, 119],
    },
    Shoe {
        line: "Cloudstep",
        category: "running",
        hs_code: "640411",
        waterproof: false,
        materials: &["mesh", "rubber"],
        grams: 500,
        prices: &[99, 119],
    },
    Shoe {
        line: "Summit Mid GTX",
        category: "hiking",
        hs_code: "640399",
        waterproof: true,
        materials: &["suede", "waterproof_membrane", "rubber"],
        grams: 1080,
        prices: &[179, 199, 229],
    },
    Shoe {
        line: "Ridge Trekker",
        category: "hiking",
        hs_code: "640399",
        waterproof: true,
        materials: &["leather", "waterproof_membrane", "rubber"],
        grams: 1240,
        prices: &[189, 219, 249],
    },
    Shoe {
        line: "Canyon Low",
        category: "hiking",
        hs_code: "640411",
        waterproof: false,
        materials: &["mesh", "suede", "rubber"],
        grams: 820,
        prices: &[129, 149],
    },
    Shoe {
        line: "Alpine Pro",
        category: "hiking",
        hs_code: "640399",
        waterproof: true,
        materials: &["leather", "waterproof_membrane", "rubber"],
        grams: 1420,
        prices: &[249, 279, 299],
    },
    Shoe {
        line: "Backcountry",
        category: "hiking",
        hs_code: "640399",
        waterproof: true,
        materials: &["nylon", "waterproof_membrane", "rubber"],
        grams: 980,
        prices: &[159, 179],
    },
];

const SHOE_BRANDS: [&str; 4] = ["stridewell", "trailhawk", "kestrel", "ridgeline"];
const SHOE_COLORS: [&str; 7] = ["black", "grey", "blue", "red", "green", "olive", "beige"];

const SHOE_FEATURES: [(&str, [Tr; 3]); 2] = [
    (
        "running",
        [
            [
                "Responsive foam midsole",
                "Reaktionsfreudige Schaum-Zwischensohle",
                "Semelle intermédiaire en mousse réactive",
            ],
            [
                "Breathable engineered mesh upper",
                "Atmungsaktives Obermaterial aus Mesh",
                "Tige en mesh technique respirante",
            ],
            [
                "Grippy rubber outsole",
                "Griffige Gummi-Außensohle",
                "Semelle extérieure en caoutchouc adhérente",
            ],
        ],
    ),
    (
        "hiking",
        [
            [
                "Lugged outsole for loose terrain",
                "Profilsohle für lockeren Untergrund",
                "Semelle crantée pour terrains meubles",
            ],
            [
                "Padded collar and tongue",
                "Gepolsterter Schaftrand und Zunge",
                "Col et languette rembourrés",
            ],
            [
                "Protective rubber toe cap",
                "Schützende Gummi-Zehenkappe",
                "Pare-pierres en caoutchouc",
            ],
        ],
    ),
];

const SHOE_CARE: Tr = [
    "<p>Brush off dirt and rinse with lukewarm water. Let dry at room temperature, away from heaters. Remove the insoles to dry.</p>",
    "<p>Schmutz abbürsten und mit lauwarmem Wasser abspülen. Bei Zimmertemperatur, nicht an der Heizung trocknen. Einlegesohlen zum Trocknen herausnehmen.</p>",
    "<p>Brosser la saleté et rincer à l'eau tiède. Laisser sécher à température ambiante, loin des radiateurs. Retirer les semelles pour le séchage.</p>",
];

struct Device {
    name: Tr,
    category: &'static str,
    google_category: Option<&'static str>,
    hs_code: &'static str,
    brands: &'static [&'static str],
    prices: &'static [u32],
    /// Power in tenths of a watt; `None` for things that draw none (the
    /// family still requires it on the web: those stay incomplete there).
    deciwatts: Option<(u32, u32)>,
    battery_mah: Option<(u32, u32)>,
    battery_hours: Option<(u32, u32)>,
    screens: &'static [&'static str],
    connectivity: &'static [&'static str],
    grams: (u32, u32),
    /// Length, width, height in millimeters.
    size_mm: (u32, u32, u32),
    warranty: u32,
    features: [Tr; 2],
}

const DEVICES: [Device; 12] = [
    Device {
        name: [
            "Wireless Headphones",
            "Kabellose Kopfhörer",
            "Casque sans fil",
        ],
        category: "audio",
        google_category: Some("505771"),
        hs_code: "851830",
        brands: &["sonora", "arcwave", "voltaic"],
        prices: &[129, 199, 249, 349],
        deciwatts: Some((20, 50)),
        battery_mah: Some((500, 1000)),
        battery_hours: Some((200, 600)),
        screens: &[],
        connectivity: &["bluetooth", "usb_c", "jack_3_5mm", "nfc"],
        grams: (230, 320),
        size_mm: (200, 170, 80),
        warranty: 2,
        features: [
            [
                "Active noise cancelling",
                "Aktive Geräuschunterdrückung",
                "Réduction de bruit active",
            ],
            [
                "Fold-flat design with travel case",
                "Flach faltbar, mit Reiseetui",
                "Design pliable avec étui de transport",
            ],
        ],
    },
    Device {
        name: [
            "True Wireless Earbuds",
            "True-Wireless-Ohrhörer",
            "Écouteurs sans fil",
        ],
        category: "audio",
        google_category: Some("505771"),
        hs_code: "851830",
        brands: &["sonora", "arcwave", "tessel"],
        prices: &[79, 99, 149, 199],
        deciwatts: Some((10, 30)),
        battery_mah: Some((40, 60)),
        battery_hours: Some((50, 90)),
        screens: &[],
        connectivity: &["bluetooth", "usb_c"],
        grams: (40, 60),
        size_mm: (60, 50, 30),
        warranty: 1,
        features: [
            [
                "Charging case with three extra charges",
                "Ladeetui mit drei zusätzlichen Ladungen",
                "Boîtier de charge avec trois recharges",
            ],
            [
                "Sweat- and splash-resistant",
                "Schweiß- und spritzwassergeschützt",
                "Résistants à la transpiration et aux éclaboussures",
            ],
        ],
    },
    Device {
        name: [
            "Bluetooth Speaker",
            "Bluetooth-Lautsprecher",
            "Enceinte Bluetooth",
        ],
        category: "audio",
        google_category: Some("249"),
        hs_code: "851822",
        brands: &["sonora", "voltaic", "arcwave"],
        prices: &[59, 99, 149, 199],
        deciwatts: Some((100, 400)),
        battery_mah: Some((2000, 6000)),
        battery_hours: Some((100, 240)),
        screens: &[],
        connectivity: &["bluetooth", "usb_c", "jack_3_5mm"],
        grams: (540, 980),
        size_mm: (180, 80, 80),
        warranty: 2,
        features: [
            ["360° sound", "360°-Klang", "Son à 360°"],
            [
                "Pairs with a second speaker for stereo",
                "Mit einem zweiten Lautsprecher zu Stereo koppelbar",
                "S'associe à une seconde enceinte pour la stéréo",
            ],
        ],
    },
    Device {
        name: ["Soundbar", "Soundbar", "Barre de son"],
        category: "audio",
        google_category: Some("249"),
        hs_code: "851822",
        brands: &["sonora", "arcwave"],
        prices: &[199, 299, 449],
        deciwatts: Some((800, 2400)),
        battery_mah: None,
        battery_hours: None,
        screens: &[],
        connectivity: &["bluetooth", "hdmi", "wifi", "ethernet"],
        grams: (2100, 3600),
        size_mm: (900, 100, 70),
        warranty: 2,
        features: [
            [
                "Dolby Atmos virtual surround",
                "Virtueller Dolby-Atmos-Surround",
                "Son surround virtuel Dolby Atmos",
            ],
            [
                "HDMI eARC for one-remote control",
                "HDMI eARC für die Bedienung mit einer Fernbedienung",
                "HDMI eARC pour tout piloter avec une télécommande",
            ],
        ],
    },
    Device {
        name: ["Laptop", "Laptop", "Ordinateur portable"],
        category: "computing",
        google_category: Some("328"),
        hs_code: "847130",
        brands: &["lumen_labs", "tessel"],
        prices: &[899, 1199, 1499, 1899],
        deciwatts: Some((450, 1000)),
        battery_mah: Some((4500, 7500)),
        battery_hours: Some((80, 180)),
        screens: &["13.3", "14", "15.6", "16"],
        connectivity: &["wifi", "bluetooth", "usb_c", "usb_a", "hdmi", "thunderbolt"],
        grams: (1150, 2100),
        size_mm: (330, 230, 18),
        warranty: 2,
        features: [
            [
                "Backlit keyboard",
                "Hintergrundbeleuchtete Tastatur",
                "Clavier rétroéclairé",
            ],
            [
                "Fast charging: 50% in 30 minutes",
                "Schnellladen: 50 % in 30 Minuten",
                "Charge rapide : 50 % en 30 minutes",
            ],
        ],
    },
    Device {
        name: [
            "Mechanical Keyboard",
            "Mechanische Tastatur",
            "Clavier mécanique",
        ],
        category: "computing",
        google_category: Some("303"),
        hs_code: "847160",
        brands: &["tessel", "voltaic", "lumen_labs"],
        prices: &[89, 129, 169],
        deciwatts: Some((5, 30)),
        battery_mah: Some((2000, 4000)),
        battery_hours: None,
        screens: &[],
        connectivity: &["bluetooth", "usb_c"],
        grams: (650, 1100),
        size_mm: (360, 130, 40),
        warranty: 2,
        features: [
            [
                "Hot-swappable switches",
                "Hot-Swap-fähige Schalter",
                "Switchs remplaçables à chaud",
            ],
            [
                "Connects to three devices",
                "Verbindet sich mit drei Geräten",
                "Se connecte à trois appareils",
            ],
        ],
    },
    Device {
        name: ["Wireless Mouse", "Kabellose Maus", "Souris sans fil"],
        category: "computing",
        google_category: Some("304"),
        hs_code: "847160",
        brands: &["tessel", "voltaic", "lumen_labs"],
        prices: &[29, 49, 79],
        deciwatts: Some((1, 5)),
        battery_mah: Some((500, 1000)),
        battery_hours: None,
        screens: &[],
        connectivity: &["bluetooth", "usb_c", "usb_a"],
        grams: (70, 140),
        size_mm: (120, 70, 40),
        warranty: 2,
        features: [
            ["Silent clicks", "Leise Klicks", "Clics silencieux"],
            [
                "Ergonomic shape for all-day use",
                "Ergonomische Form für den ganzen Tag",
                "Forme ergonomique pour toute la journée",
            ],
        ],
    },
    Device {
        name: ["Monitor", "Monitor", "Écran"],
        category: "computing",
        google_category: Some("397"),
        hs_code: "852852",
        brands: &["lumen_labs", "arcwave"],
        prices: &[229, 349, 499, 699],
        deciwatts: Some((200, 650)),
        battery_mah: None,
        battery_hours: None,
        screens: &["24", "27", "32", "34"],
        connectivity: &["hdmi", "displayport", "usb_c"],
        grams: (3800, 7600),
        size_mm: (620, 200, 460),
        warranty: 3,
        features: [
            [
                "IPS panel with 99% sRGB",
                "IPS-Panel mit 99 % sRGB",
                "Dalle IPS couvrant 99 % sRGB",
            ],
            [
                "Height-adjustable stand",
                "Höhenverstellbarer Standfuß",
                "Pied réglable en hauteur",
            ],
        ],
    },
    Device {
        name: [
            "USB-C Dock",
            "USB-C-Dockingstation",
            "Station d'accueil USB-C",
        ],
        category: "computing",
        google_category: None,
        hs_code: "847180",
        brands: &["voltaic", "tessel"],
        prices: &[119, 179, 249],
        deciwatts: Some((650, 1000)),
        battery_mah: None,
        battery_hours: None,
        screens: &[],
        connectivity: &["usb_c", "usb_a", "hdmi", "ethernet", "thunderbolt"],
        grams: (180, 420),
        size_mm: (120, 60, 20),
        warranty: 2,
        features: [
            [
                "Drives two 4K displays",
                "Steuert zwei 4K-Bildschirme an",
                "Pilote deux écrans 4K",
            ],
            [
                "Charges your laptop through one cable",
                "Lädt den Laptop über ein Kabel",
                "Recharge l'ordinateur par un seul câble",
            ],
        ],
    },
    Device {
        name: ["USB-C Charger", "USB-C-Ladegerät", "Chargeur USB-C"],
        category: "accessories",
        google_category: None,
        hs_code: "850440",
        brands: &["voltaic", "tessel", "arcwave"],
        prices: &[29, 39, 59],
        deciwatts: Some((200, 1400)),
        battery_mah: None,
        battery_hours: None,
        screens: &[],
        connectivity: &["usb_c", "usb_a"],
        grams: (60, 220),
        size_mm: (60, 40, 30),
        warranty: 2,
        features: [
            [
                "GaN technology: small and cool",
                "GaN-Technologie: klein und kühl",
                "Technologie GaN : compact et froid",
            ],
            [
                "Charges a laptop and a phone at once",
                "Lädt Laptop und Smartphone gleichzeitig",
                "Recharge un ordinateur et un téléphone à la fois",
            ],
        ],
    },
    Device {
        name: ["Power Bank", "Powerbank", "Batterie externe"],
        category: "accessories",
        google_category: None,
        hs_code: "850760",
        brands: &["voltaic", "tessel"],
        prices: &[39, 59, 79],
        deciwatts: Some((180, 1000)),
        battery_mah: Some((10000, 26800)),
        battery_hours: None,
        screens: &[],
        connectivity: &["usb_c", "usb_a"],
        grams: (210, 520),
        size_mm: (150, 70, 25),
        warranty: 2,
        features: [
            [
                "Charges a phone up to five times",
                "Lädt ein Smartphone bis zu fünfmal",
                "Recharge un téléphone jusqu'à cinq fois",
            ],
            [
                "Airline-safe capacity",
                "Flugzeugtaugliche Kapazität",
                "Capacité autorisée en avion",
            ],
        ],
    },
    Device {
        name: [
            "Laptop Sleeve",
            "Laptophülle",
            "Housse pour ordinateur portable",
        ],
        category: "accessories",
        google_category: None,
        hs_code: "420212",
        brands: &["tessel", "lumen_labs"],
        prices: &[29, 39, 49],
        deciwatts: None,
        battery_mah: None,
        battery_hours: None,
        screens: &[],
        connectivity: &[],
        grams: (180, 320),
        size_mm: (360, 260, 25),
        warranty: 1,
        features: [
            [
                "Water-repellent shell",
                "Wasserabweisende Außenhülle",
                "Coque déperlante",
            ],
            [
                "Soft fleece lining",
                "Weiches Fleecefutter",
                "Doublure polaire douce",
            ],
        ],
    },
];

const DEVICE_SERIES: [&str; 10] = [
    "Aria", "Pulse", "Nova", "Echo", "Vista", "Orbit", "Flux", "Quanta", "Zen", "Apex",
];
const DEVICE_MODELS: [&str; 6] = ["100", "300", "500", "700", "Pro", "Mini"];
const DEVICE_COLORS: [&str; 4] = ["black", "white", "grey", "blue"];

// ----------------------------------------------------------------- seeder

/// How much copy a product has in the other locales: most have all of it,
/// some miss German, some everything but English.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Coverage {
    Full,
    NoGerman,
    EnglishOnly,
}

impl Coverage {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.gen_range(0..100) {
            0..75 => Coverage::Full,
            75..88 => Coverage::NoGerman,
            _ => Coverage::EnglishOnly,
        }
    }

    fn has(self, locale: usize) -> bool {
        match self {
            Coverage::Full => true,
            Coverage::NoGerman => locale != 1,
            Coverage::EnglishOnly => locale == 0,
        }
    }
}

/// The values of one product being built.
#[derive(Default)]
struct Draft {
    values: Vec<ValueChange>,
}

impl Draft {
    fn put(&mut self, attribute: &str, locale: Option<&str>, channel: Option<&str>, data: Json) {
        self.values.push(ValueChange {
            key: ValueKey::new(attribute, locale, channel),
            data: Some(data),
        });
    }

    fn set(&mut self, attribute: &str, data: Json) {
        self.put(attribute, None, None, data);
    }

    /// One value per locale, for the locales `coverage` has.
    fn localized(&mut self, attribute: &str, texts: &[String; 3], coverage: Coverage) {
        for (index, text) in texts.iter().enumerate() {
            if coverage.has(index) {
                self.put(
                    attribute,
                    Some(LOCALES[index]),
                    None,
                    Json::from(text.as_str()),
                );
            }
        }
    }
}

/// What differs between otherwise alike products: the deliberate gaps.
struct Shape {
    coverage: Coverage,
    enabled: bool,
    categorized: bool,
    has_brand: bool,
    has_gtin: bool,
}

impl Shape {
    fn draw(rng: &mut StdRng, missing_gtin_percent: u32) -> Self {
        Shape {
            coverage: Coverage::draw(rng),
            enabled: rng.gen_range(0..100) >= 5,
            categorized: rng.gen_range(0..100) >= 4,
            has_brand: rng.gen_range(0..100) >= 3,
            has_gtin: rng.gen_range(0..100) >= missing_gtin_percent,
        }
    }
}

struct Seeder<'a> {
    rng: StdRng,
    schema: &'a Schema,
    ean: u32,
    upc: u32,
    products: Vec<NewProduct>,
}

impl Seeder<'_> {
    /// An option's label in each locale (the code when the schema has none).
    fn option_label(&self, attribute: &str, code: &str) -> [String; 3] {
        let option = self
            .schema
            .attribute(attribute)
            .and_then(|a| a.options.iter().find(|o| o.code == code));
        LOCALES.map(|locale| {
            option
                .and_then(|o| o.labels.get(locale).or_else(|| o.labels.get("en_US")))
                .cloned()
                .unwrap_or_else(|| code.to_owned())
        })
    }

    /// Labels of several options joined as a list, per locale.
    fn option_list(&self, attribute: &str, codes: &[&str]) -> [String; 3] {
        let labels: Vec<[String; 3]> = codes
            .iter()
            .map(|code| self.option_label(attribute, code))
            .collect();
        let joiners = [" and ", " und ", " et "];
        [0, 1, 2].map(|locale| {
            let words: Vec<String> = labels
                .iter()
                .enumerate()
                // German nouns keep their capital letter inside a sentence.
                .map(|(i, label)| {
                    if i == 0 || locale == 1 {
                        label[locale].clone()
                    } else {
                        label[locale].to_lowercase()
                    }
                })
                .collect();
            match words.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{}{}{last}", rest.join(", "), joiners[locale]),
                None => String::new(),
            }
        })
    }

    /// The next EAN-13 of the demo company prefix, check digit included.
    fn next_ean(&mut self) -> String {
        self.ean += 1;
        with_check_digit(&format!("4012345{:05}", self.ean))
    }

    /// The next UPC-A (12 digits), as US electronics brands print them.
    fn next_upc(&mut self) -> String {
        self.upc += 1;
        with_check_digit(&format!("08451{:06}", self.upc))
    }

    fn price_pair(&mut self, dollars: &[u32]) -> (u32, u32) {
        let whole = dollars.choose(&mut self.rng).copied().unwrap_or(49);
        let cents = if self.rng.gen_bool(0.7) { 95 } else { 0 };
        let usd = whole * 100 + cents;
        // Euro list prices: about 92% of the dollar price, ending in .95 or .00 too.
        let eur = usd * 92 / 10_000 * 100 + cents;
        (usd, eur)
    }

    /// Marketing values every kind of product may carry: dates, badges, boosts, sale prices.
    fn marketing(&mut self, draft: &mut Draft, sku: &str, usd: u32, eur: u32) {
        let year = self.rng.gen_range(2022..=2025);
        let date = format!(
            "{year}-{:02}-{:02}",
            self.rng.gen_range(1..=12),
            self.rng.gen_range(1..=28)
        );
        draft.set("release_date", json!(date));
        if self.rng.gen_bool(0.8) {
            draft.set("is_new", json!(year == 2025));
        }
        let on_sale = self.rng.gen_bool(0.12);
        if on_sale {
            draft.set(
                "sale_price",
                price(usd * 8 / 1000 * 100 + 99, eur * 8 / 1000 * 100 + 99),
            );
        }
        let badge = if on_sale {
            Some("sale")
        } else if year == 2025 && self.rng.gen_bool(0.5) {
            Some("new")
        } else if self.rng.gen_bool(0.1) {
            ["bestseller", "limited", "eco"]
                .choose(&mut self.rng)
                .copied()
        } else {
            None
        };
        if let Some(badge) = badge {
            draft.set("promotion_badge", json!(badge));
        }
        if self.rng.gen_bool(0.2) {
            let tenths = self.rng.gen_range(5..=50);
            draft.set(
                "search_boost",
                json!(format!("{}.{}", tenths / 10, tenths % 10)),
            );
        }
        if self.rng.gen_bool(0.3) {
            draft.set(
                "product_url",
                json!(format!("https://shop.example.com/en_US/p/{sku}")),
            );
        }
    }

    /// A category's label in each locale.
    fn category_label(&self, code: &str) -> [String; 3] {
        let labels = self.schema.category(code).map(|c| &c.labels);
        LOCALES.map(|locale| {
            labels
                .and_then(|l| l.get(locale).or_else(|| l.get("en_US")))
                .cloned()
                .unwrap_or_else(|| code.to_owned())
        })
    }

    /// On about half the products, the SEO title on the web channel
    /// (English, sometimes every locale), ending in `suffix`; on more, English keywords.
    fn seo(
        &mut self,
        draft: &mut Draft,
        names: &[String; 3],
        suffix: &[String; 3],
        keywords: &str,
    ) {
        if self.rng.gen_bool(0.5) {
            let locales = if self.rng.gen_bool(0.5) { 3 } else { 1 };
            for locale in 0..locales {
                let title = format!("{} | {}", names[locale], suffix[locale]);
                if title.chars().count() <= 70 {
                    draft.put(
                        "seo_title",
                        Some(LOCALES[locale]),
                        Some("web"),
                        json!(title),
                    );
                }
            }
        }
        if self.rng.gen_bool(0.6) {
            draft.put("seo_keywords", Some(LOCALES[0]), None, json!(keywords));
        }
    }

    fn apparel(&mut self) {
        let mut names_taken = BTreeSet::new();
        for index in 0..APPAREL_MODELS {
            let sku = format!("APP-{}", 1001 + index);
            let garment = &GARMENTS[self.rng.gen_range(0..GARMENTS.len())];
            let audience = match self.rng.gen_range(0..100) {
                0..40 => MEN,
                40..80 => WOMEN,
                80..92 => UNISEX,
                _ => KIDS,
            };
            let mut line = *APPAREL_LINES.choose(&mut self.rng).unwrap_or(&"Essential");
            while !names_taken.insert((line, garment.name[0], audience.suffix[0])) {
                line = *APPAREL_LINES.choose(&mut self.rng).unwrap_or(&"Essential");
            }
            let brand = *APPAREL_BRANDS.choose(&mut self.rng).unwrap_or(&"northwind");
            let shape = Shape::draw(&mut self.rng, 12);
            let (usd, eur) = self.price_pair(garment.prices);
            let brand_label = self.option_label("brand", brand);
            let names = [
                format!("{line} {} — {}", garment.name[0], audience.suffix[0]),
                format!("{line} {} — {}", garment.name[1], audience.suffix[1]),
                format!("{} {line} — {}", garment.name[2], audience.suffix[2]),
            ];
            let fit = *["slim", "regular", "regular", "relaxed", "oversized"]
                .choose(&mut self.rng)
                .unwrap_or(&"regular");
            let materials = garment.materials;
            let material_text = self.option_list("material", materials);
            let fit_label = self.option_label("fit", fit);
            let features = APPAREL_FEATURES
                .iter()
                .find(|(category, _)| *category == garment.category)
                .map_or(&APPAREL_FEATURES[0].1, |(_, features)| features);
            let descriptions = describe(
                [
                    format!(
                        "The {} by {} is made of {}, with {} fit.",
                        names[0],
                        brand_label[0],
                        material_text[0].to_lowercase(),
                        with_article(&fit_label[0].to_lowercase())
                    ),
                    format!(
                        "{} von {}: aus {} gefertigt. Passform: {}.",
                        names[1], brand_label[1], material_text[1], fit_label[1]
                    ),
                    format!(
                        "{} de {} : en {}, coupe {}.",
                        names[2],
                        brand_label[2],
                        material_text[2].to_lowercase(),
                        fit_label[2].to_lowercase()
                    ),
                ],
                features,
            );
            let shorts = [
                format!(
                    "{} in {}.",
                    garment.name[0],
                    material_text[0].to_lowercase()
                ),
                format!("{} aus {}.", garment.name[1], material_text[1]),
                format!(
                    "{} en {}.",
                    garment.name[2],
                    material_text[2].to_lowercase()
                ),
            ];

            let mut draft = Draft::default();
            // Names are nearly always there; English-only products sometimes lack the French one too.
            let name_coverage = if shape.coverage == Coverage::EnglishOnly && self.rng.gen_bool(0.5)
            {
                Coverage::NoGerman
            } else {
                Coverage::Full
            };
            draft.localized("name", &names, name_coverage);
            draft.localized("description", &descriptions, shape.coverage);
            draft.localized("short_description", &shorts, shape.coverage);
            draft.localized(
                "care_instructions",
                &CARE[garment.care].map(str::to_owned),
                shape.coverage,
            );
            if shape.has_brand {
                draft.set("brand", json!(brand));
            }
            draft.set("gender", json!(audience.gender));
            draft.set("age_group", json!(audience.age_group));
            draft.set("material", json!(materials));
            draft.set("fit", json!(fit));
            draft.set("base_price", price(usd, eur));
            draft.set("google_product_category", json!(garment.google_category));
            draft.set(
                "tax_class",
                json!(if audience.age_group == "kids" {
                    "reduced"
                } else {
                    "standard"
                }),
            );
            draft.set("hs_code", json!(garment.hs_code));
            draft.set(
                "erp_item_group",
                json!(format!("Apparel/{}", capitalized(garment.category))),
            );
            draft.set(
                "mpn",
                json!(format!(
                    "{}-{}",
                    mpn_prefix(brand),
                    self.rng.gen_range(1000..10_000)
                )),
            );
            draft.set(
                "country_of_origin",
                json!(
                    *["pt", "vn", "bd", "tr", "cn", "in"]
                        .choose(&mut self.rng)
                        .unwrap_or(&"pt")
                ),
            );
            let keywords = format!(
                "{}, {}, {}",
                garment.name[0], brand_label[0], audience.suffix[0]
            )
            .to_lowercase();
            self.seo(&mut draft, &names, &brand_label, &keywords);
            self.marketing(&mut draft, &sku, usd, eur);
            self.model(&sku, "apparel", garment.category, &shape, draft);

            // 1 color × 3–6 sizes, or 2 colors × 2–3 sizes: 3 to 6 variants.
            let color_count = if self.rng.gen_bool(0.5) { 1 } else { 2 };
            let colors: Vec<&str> = APPAREL_COLORS
                .choose_multiple(&mut self.rng, color_count)
                .copied()
                .collect();
            let size_count = if colors.len() == 1 {
                self.rng.gen_range(3..=6)
            } else {
                self.rng.gen_range(2..=3)
            };
            let first = self.rng.gen_range(0..=SIZES.len() - size_count);
            for color in &colors {
                for size in first..first + size_count {
                    let variant_sku = format!(
                        "{sku}-{}-{}",
                        color.to_uppercase(),
                        SIZES[size].to_uppercase()
                    );
                    let mut draft = Draft::default();
                    draft.set("color", json!(color));
                    draft.set("size", json!(SIZES[size]));
                    let grams = garment.grams * SIZE_WEIGHT[size] / 100;
                    draft.set(
                        "weight",
                        json!({"amount": grams.to_string(), "unit": "GRAM"}),
                    );
                    self.stock_and_gtin(&mut draft, shape.has_gtin, false);
                    self.variant(&variant_sku, "apparel", &sku, shape.enabled, draft);
                }
            }
        }
    }

    fn footwear(&mut self) {
        let mut names_taken = BTreeSet::new();
        for index in 0..FOOTWEAR_MODELS {
            let sku = format!("FTW-{}", 2001 + index);
            let shoe = &SHOES[self.rng.gen_range(0..SHOES.len())];
            let (audience, sizes) = match self.rng.gen_range(0..100) {
                0..45 => (MEN, 40..=47),
                45..90 => (WOMEN, 36..=42),
                _ => (UNISEX, 37..=46),
            };
            let mut version = self.rng.gen_range(1..=5);
            while !names_taken.insert((shoe.line, version, audience.gender)) {
                version += 1;
            }
            let names = audience
                .suffix
                .map(|suffix| format!("{} {version} — {suffix}", shoe.line));
            let brand = *SHOE_BRANDS.choose(&mut self.rng).unwrap_or(&"stridewell");
            let brand_label = self.option_label("brand", brand);
            let color = *SHOE_COLORS.choose(&mut self.rng).unwrap_or(&"black");
            let shape = Shape::draw(&mut self.rng, 15);
            let (usd, eur) = self.price_pair(shoe.prices);
            let material_text = self.option_list("material", shoe.materials);
            let features = SHOE_FEATURES
                .iter()
                .find(|(category, _)| *category == shoe.category)
                .map_or(&SHOE_FEATURES[0].1, |(_, features)| features);
            let kind: Tr = match shoe.category {
                "running" => ["running shoe", "Laufschuh", "chaussure de running"],
                _ => ["hiking shoe", "Wanderschuh", "chaussure de randonnée"],
            };
            let descriptions = describe(
                [
                    format!(
                        "The {} is a {} by {}, built from {}.",
                        names[0],
                        kind[0],
                        brand_label[0],
                        material_text[0].to_lowercase()
                    ),
                    format!(
                        "Der {} ist ein {} von {}, gefertigt aus {}.",
                        names[1], kind[1], brand_label[1], material_text[1]
                    ),
                    format!(
                        "La {} est une {} signée {}, en {}.",
                        names[2],
                        kind[2],
                        brand_label[2],
                        material_text[2].to_lowercase()
                    ),
                ],
                features,
            );
            let shorts = [
                format!(
                    "{} {} from {}.",
                    capitalized(kind[0]),
                    shoe.line,
                    brand_label[0]
                ),
                format!("{} {} von {}.", kind[1], shoe.line, brand_label[1]),
                format!(
                    "{} {} de {}.",
                    capitalized(kind[2]),
                    shoe.line,
                    brand_label[2]
                ),
            ];

            let mut draft = Draft::default();
            draft.localized("name", &names, Coverage::Full);
            draft.localized("description", &descriptions, shape.coverage);
            draft.localized("short_description", &shorts, shape.coverage);
            draft.localized(
                "care_instructions",
                &SHOE_CARE.map(str::to_owned),
                shape.coverage,
            );
            if shape.has_brand {
                draft.set("brand", json!(brand));
            }
            draft.set("color", json!(color));
            draft.set("gender", json!(audience.gender));
            draft.set("age_group", json!(audience.age_group));
            draft.set("material", json!(shoe.materials));
            draft.set("waterproof", json!(shoe.waterproof));
            let drop_tenths = *[40, 60, 80, 100, 45].choose(&mut self.rng).unwrap_or(&80);
            draft.set(
                "heel_drop",
                json!({"amount": decimal(drop_tenths, 1), "unit": "MILLIMETER"}),
            );
            let grams = shoe.grams + self.rng.gen_range(0..60);
            draft.set(
                "weight",
                json!({"amount": decimal(grams, 3), "unit": "KILOGRAM"}),
            );
            draft.set("base_price", price(usd, eur));
            draft.set("google_product_category", json!("187"));
            draft.set("tax_class", json!("standard"));
            draft.set("hs_code", json!(shoe.hs_code));
            draft.set(
                "erp_item_group",
                json!(format!("Footwear/{}", capitalized(shoe.category))),
            );
            draft.set(
                "mpn",
                json!(format!(
                    "{}-{}",
                    mpn_prefix(brand),
                    self.rng.gen_range(1000..10_000)
                )),
            );
            draft.set(
                "country_of_origin",
                json!(
                    *["vn", "cn", "it", "pt"]
                        .choose(&mut self.rng)
                        .unwrap_or(&"vn")
                ),
            );
            let keywords = format!("{}, {}, {}", kind[0], brand_label[0], shoe.line).to_lowercase();
            self.seo(&mut draft, &names, &brand_label, &keywords);
            self.marketing(&mut draft, &sku, usd, eur);
            self.model(&sku, "footwear", shoe.category, &shape, draft);

            // 4–8 consecutive sizes inside the audience's range.
            let (low, high) = (*sizes.start(), *sizes.end());
            let count = self.rng.gen_range(4..=8).min(high - low + 1);
            let first = self.rng.gen_range(low..=high + 1 - count);
            for size in first..first + count {
                let mut draft = Draft::default();
                draft.set("shoe_size", json!(size.to_string()));
                self.stock_and_gtin(&mut draft, shape.has_gtin, false);
                self.variant(
                    &format!("{sku}-{size}"),
                    "footwear",
                    &sku,
                    shape.enabled,
                    draft,
                );
            }
        }
    }

    fn electronics(&mut self) {
        let mut names_taken = BTreeSet::new();
        for index in 0..ELECTRONICS_PRODUCTS {
            let sku = format!("ELE-{}", 3001 + index);
            let device = &DEVICES[self.rng.gen_range(0..DEVICES.len())];
            let brand = *device.brands.choose(&mut self.rng).unwrap_or(&"voltaic");
            let brand_label = self.option_label("brand", brand);
            let mut series;
            let mut model;
            loop {
                series = *DEVICE_SERIES.choose(&mut self.rng).unwrap_or(&"Nova");
                model = *DEVICE_MODELS.choose(&mut self.rng).unwrap_or(&"100");
                if names_taken.insert((brand, series, model, device.name[0])) {
                    break;
                }
            }
            let screen = device.screens.choose(&mut self.rng).copied();
            // 15.6" in English, 15,6" in German and French.
            let screen_text = [".", ",", ","].map(|point| {
                screen.map_or_else(String::new, |inches| {
                    format!("{}\" ", inches.replace('.', point))
                })
            });
            let names = [
                format!(
                    "{} {series} {model} {}{}",
                    brand_label[0], screen_text[0], device.name[0]
                ),
                format!(
                    "{} {series} {model} {}{}",
                    brand_label[1], screen_text[1], device.name[1]
                ),
                format!(
                    "{} {}{} {series} {model}",
                    device.name[2], screen_text[2], brand_label[2]
                ),
            ];
            let shape = Shape::draw(&mut self.rng, 15);
            let (usd, eur) = self.price_pair(device.prices);
            let color = *DEVICE_COLORS.choose(&mut self.rng).unwrap_or(&"black");
            let color_label = self.option_label("color", color);
            let warranty = device.warranty + u32::from(self.rng.gen_bool(0.2));
            let descriptions = describe(
                [
                    format!(
                        "The {} in {} comes with a {warranty}-year warranty.",
                        names[0],
                        color_label[0].to_lowercase()
                    ),
                    format!(
                        "{} in {}, mit {warranty} Jahren Garantie.",
                        names[1], color_label[1]
                    ),
                    format!(
                        "{} coloris {}, garanti {warranty} ans.",
                        names[2],
                        color_label[2].to_lowercase()
                    ),
                ],
                &device.features,
            );
            let shorts = [
                format!("{} by {}.", device.name[0], brand_label[0]),
                format!("{} von {}.", device.name[1], brand_label[1]),
                format!("{} de {}.", device.name[2], brand_label[2]),
            ];

            let mut draft = Draft::default();
            draft.localized("name", &names, Coverage::Full);
            draft.localized("description", &descriptions, shape.coverage);
            draft.localized("short_description", &shorts, shape.coverage);
            if shape.has_brand {
                draft.set("brand", json!(brand));
            }
            draft.set("color", json!(color));
            draft.set("warranty_years", json!(warranty.to_string()));
            if let Some((low, high)) = device.deciwatts {
                draft.set(
                    "power_watts",
                    json!(decimal(self.rng.gen_range(low..=high), 1)),
                );
            }
            if let Some((low, high)) = device.battery_mah {
                draft.set(
                    "battery_capacity",
                    json!((self.rng.gen_range(low..=high) / 10 * 10).to_string()),
                );
            }
            if let Some((low, high)) = device.battery_hours {
                draft.set(
                    "battery_life_hours",
                    json!(decimal(self.rng.gen_range(low..=high) / 5 * 5, 1)),
                );
            }
            if let Some(inches) = screen {
                draft.set("screen_size", json!({"amount": inches, "unit": "INCH"}));
            }
            if !device.connectivity.is_empty() {
                let all = device.connectivity.len();
                let count = self.rng.gen_range(all.div_ceil(2)..=all);
                let mut chosen: Vec<&str> = device
                    .connectivity
                    .choose_multiple(&mut self.rng, count)
                    .copied()
                    .collect();
                chosen.sort_unstable();
                draft.set("connectivity", json!(chosen));
            }
            if device.category == "audio" {
                draft.set("waterproof", json!(self.rng.gen_bool(0.3)));
            }
            draft.set(
                "manufacturer_url",
                json!(format!(
                    "https://www.{}.example.com/products/{}",
                    brand.replace('_', "-"),
                    slug(&names[0])
                )),
            );
            let grams = self.rng.gen_range(device.grams.0..=device.grams.1);
            // The ERP sends small things in grams and big ones in kilograms.
            let weight = if grams < 1000 {
                json!({"amount": grams.to_string(), "unit": "GRAM"})
            } else {
                json!({"amount": decimal(grams, 3), "unit": "KILOGRAM"})
            };
            draft.set("weight", weight);
            // Sizes vary by up to a tenth around the kind's typical size.
            let (length, width, height) = device.size_mm;
            let [length, width, height] =
                [length, width, height].map(|mm| mm * self.rng.gen_range(90..=110) / 100);
            draft.set(
                "length",
                json!({"amount": decimal(length, 1), "unit": "CENTIMETER"}),
            );
            draft.set(
                "width",
                json!({"amount": decimal(width, 1), "unit": "CENTIMETER"}),
            );
            draft.set(
                "height",
                json!({"amount": decimal(height, 1), "unit": "CENTIMETER"}),
            );
            // Packed volume: the product's box plus a fifth, in hundredths of a liter.
            let centiliters =
                u64::from(length) * u64::from(width) * u64::from(height) * 12 / 100_000;
            draft.set("package_volume", json!({"amount": decimal(u32::try_from(centiliters.max(1)).unwrap_or(u32::MAX), 2), "unit": "LITER"}));
            draft.set("base_price", price(usd, eur));
            if let Some(category) = device.google_category {
                draft.set("google_product_category", json!(category));
            }
            draft.set("tax_class", json!("standard"));
            draft.set("hs_code", json!(device.hs_code));
            draft.set(
                "erp_item_group",
                json!(format!("Electronics/{}", capitalized(device.category))),
            );
            draft.set(
                "mpn",
                json!(format!(
                    "{}-{}-{}",
                    mpn_prefix(brand),
                    series.to_uppercase(),
                    model.to_uppercase()
                )),
            );
            draft.set(
                "country_of_origin",
                json!(
                    *["cn", "tw", "vn", "de", "us"]
                        .choose(&mut self.rng)
                        .unwrap_or(&"cn")
                ),
            );
            // Device names carry the brand already; their SEO titles end in the category.
            let keywords =
                format!("{}, {}, {series}", device.name[0], brand_label[0]).to_lowercase();
            let category_label = self.category_label(device.category);
            self.seo(&mut draft, &names, &category_label, &keywords);
            self.marketing(&mut draft, &sku, usd, eur);
            self.stock_and_gtin(&mut draft, shape.has_gtin, true);
            self.products.push(NewProduct {
                sku,
                kind: ProductKind::Simple,
                family: "electronics".to_owned(),
                parent: None,
                enabled: shape.enabled,
                categories: if shape.categorized {
                    vec![device.category.to_owned()]
                } else {
                    Vec::new()
                },
                values: draft.values,
            });
        }
    }

    fn stock_and_gtin(&mut self, draft: &mut Draft, has_gtin: bool, upc: bool) {
        let stock = if self.rng.gen_bool(0.1) {
            0
        } else {
            self.rng.gen_range(1..=240)
        };
        draft.set("stock", json!(stock.to_string()));
        if has_gtin {
            let gtin = if upc && self.rng.gen_bool(0.4) {
                self.next_upc()
            } else {
                self.next_ean()
            };
            draft.set("gtin", json!(gtin));
        }
    }

    fn model(&mut self, sku: &str, family: &str, category: &str, shape: &Shape, draft: Draft) {
        self.products.push(NewProduct {
            sku: sku.to_owned(),
            kind: ProductKind::Model,
            family: family.to_owned(),
            parent: None,
            enabled: shape.enabled,
            categories: if shape.categorized {
                vec![category.to_owned()]
            } else {
                Vec::new()
            },
            values: draft.values,
        });
    }

    fn variant(&mut self, sku: &str, family: &str, model: &str, model_enabled: bool, draft: Draft) {
        // A few sizes or colors are discontinued while the model lives on.
        let enabled = model_enabled && self.rng.gen_range(0..100) >= 3;
        self.products.push(NewProduct {
            sku: sku.to_owned(),
            kind: ProductKind::Variant,
            family: family.to_owned(),
            parent: Some(model.to_owned()),
            enabled,
            categories: Vec::new(),
            values: draft.values,
        });
    }
}

// ----------------------------------------------------------------- helpers

/// An HTML description: an opening paragraph and a list of features.
fn describe(intro: [String; 3], features: &[Tr]) -> [String; 3] {
    [0, 1, 2].map(|locale| {
        let items: String = features
            .iter()
            .map(|f| format!("<li>{}</li>", f[locale]))
            .collect();
        format!("<p>{}</p><ul>{items}</ul>", intro[locale])
    })
}

/// A price in both currencies, from cents.
fn price(usd_cents: u32, eur_cents: u32) -> Json {
    json!([
        {"amount": decimal(usd_cents, 2), "currency": "USD"},
        {"amount": decimal(eur_cents, 2), "currency": "EUR"},
    ])
}

/// `units` as a decimal with `places` digits after the point: (1295, 2) → "12.95".
fn decimal(units: u32, places: u32) -> String {
    let scale = 10u32.pow(places);
    if places == 0 {
        units.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            units / scale,
            units % scale,
            width = places as usize
        )
    }
}

/// Appends the GTIN check digit (weights 3, 1, 3, 1 … from the right).
fn with_check_digit(data: &str) -> String {
    let sum: u32 = data
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| u32::from(byte - b'0') * if position % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{data}{}", (10 - sum % 10) % 10)
}

/// "a regular", "an oversized".
fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {word}")
}

fn mpn_prefix(brand: &str) -> String {
    brand
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect::<String>()
        .to_uppercase()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Lower-case letters and digits joined by dashes: "Aria 300 Headphones" → "aria-300-headphones".
fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_the_gs1_examples() {
        assert_eq!(with_check_digit("002500004498"), "0025000044984");
        assert_eq!(with_check_digit("400638133393"), "4006381333931");
        assert_eq!(with_check_digit("03600029145"), "036000291452");
    }

    #[test]
    fn decimals_keep_their_places() {
        assert_eq!(decimal(1295, 2), "12.95");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(640, 3), "0.640");
        assert_eq!(decimal(42, 0), "42");
    }

    #[test]
    fn the_demo_catalog_is_deterministic_and_unique() {
        let schema = crate::demo::catalog_schema().expect("the demo schema parses");
        let first = demo_products(&schema);
        let second = demo_products(&schema);
        let skus: Vec<&str> = first.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(
            skus,
            second.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>()
        );
        let unique: BTreeSet<String> = skus.iter().map(|s| s.to_lowercase()).collect();
        assert_eq!(
            unique.len(),
            skus.len(),
            "SKUs are unique case-insensitively"
        );
        assert!((300..1000).contains(&skus.len()), "{} products", skus.len());
    }
}
