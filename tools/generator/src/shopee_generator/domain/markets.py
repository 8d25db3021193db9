"""The markets a demo shop can sell in: time zone, currency, language, what it sells, who buys.

Pure data. Prices are in major units of the market's currency; `price_step` is how sellers there
round prices (IDR to 500 or 1,000, MYR to x.90, ...).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductType:
    """A kind of product a shop sells, with the price range it is sold at (major units)."""

    name: str
    category: str
    min_price: float
    max_price: float


@dataclass(frozen=True)
class Market:
    code: str
    time_zone: str
    currency: str
    # BCP 47 tag of the language buyers write reviews and chats in (besides English).
    language: str
    # Digits after the decimal point on Seller Centre files; IDR and VND show none.
    currency_decimals: int
    # Thousands separator used in Seller Centre CSVs of this market.
    thousands_separator: str
    price_step: float
    # Price endings sellers like: 0.90 (MYR 29.90) or 9 (PHP 299); 0 = plain rounding.
    price_ending: float
    shipping_fee: float
    free_shipping_minimum: float
    shop_name: str
    brand: str
    product_types: tuple[ProductType, ...]
    variants: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    # Days of the month salaries arrive (besides the 25th-to-1st window every market has).
    extra_paydays: tuple[int, ...] = ()
    observes_ramadan: bool = False
    # Relative size of the shop's organic traffic (1.0 = an average demo shop).
    size: float = 1.0


def _types(category: str, *rows: tuple[str, float, float]) -> tuple[ProductType, ...]:
    return tuple(ProductType(name, category, low, high) for name, low, high in rows)


INDONESIA = Market(
    code="ID",
    time_zone="Asia/Jakarta",
    currency="IDR",
    language="id",
    currency_decimals=0,
    thousands_separator=".",
    price_step=500,
    price_ending=0,
    shipping_fee=10_000,
    free_shipping_minimum=100_000,
    shop_name="GlowLab Official Shop",
    brand="GlowLab",
    product_types=(
        *_types(
            "Perawatan Wajah",
            ("Serum Vitamin C", 59_000, 189_000),
            ("Sunscreen SPF 50 PA++++", 45_000, 129_000),
            ("Facial Wash Gentle", 25_000, 79_000),
            ("Toner Niacinamide 5%", 49_000, 139_000),
            ("Moisturizer Gel", 55_000, 159_000),
            ("Sheet Mask Hyaluronic", 9_000, 25_000),
        ),
        *_types(
            "Make Up",
            ("Lip Tint Velvet", 29_000, 89_000),
            ("Cushion Foundation", 89_000, 249_000),
            ("Eyebrow Pencil", 19_000, 59_000),
        ),
        *_types(
            "Perawatan Tubuh",
            ("Body Lotion Brightening", 35_000, 99_000),
            ("Body Scrub Kopi", 29_000, 79_000),
        ),
        *_types(
            "Perawatan Rambut",
            ("Hair Serum Argan", 39_000, 119_000),
        ),
    ),
    variants=("30ml", "50ml", "100ml", "Travel Size", "Paket Hemat 2pcs"),
    first_names=(
        "putri",
        "dewi",
        "ayu",
        "sari",
        "rina",
        "fitri",
        "indah",
        "nur",
        "budi",
        "agus",
        "rizky",
        "dian",
        "wulan",
        "yuni",
        "eka",
        "andi",
        "siti",
        "lestari",
        "maya",
        "tika",
    ),
    last_names=(
        "wijaya",
        "santoso",
        "pratama",
        "saputra",
        "lestari",
        "hidayat",
        "kusuma",
        "nugroho",
        "rahayu",
        "setiawan",
        "permata",
        "utami",
        "anggraini",
        "purnama",
        "susanti",
    ),
    observes_ramadan=True,
    size=1.5,
)

MALAYSIA = Market(
    code="MY",
    time_zone="Asia/Kuala_Lumpur",
    currency="MYR",
    language="ms",
    currency_decimals=2,
    thousands_separator=",",
    price_step=1,
    price_ending=0.90,
    shipping_fee=4.90,
    free_shipping_minimum=40,
    shop_name="TechMate Store MY",
    brand="TechMate",
    product_types=(
        *_types(
            "Mobile Accessories",
            ("Fast Charger 20W USB-C", 19, 59),
            ("Kabel USB-C Braided 1m", 9, 29),
            ("Power Bank 10000mAh", 39, 119),
            ("Phone Case Shockproof", 9, 39),
            ("Tempered Glass Screen Protector", 5, 19),
        ),
        *_types("Audio", ("Wireless Earbuds TWS", 49, 199), ("Bluetooth Speaker Mini", 39, 149)),
        *_types(
            "Computer Accessories",
            ("Wireless Mouse Silent", 19, 69),
            ("Mechanical Keyboard 87 Key", 99, 299),
            ("Laptop Stand Aluminium", 39, 119),
        ),
        *_types("Smart Home", ("Smart Plug WiFi", 29, 79), ("LED Strip RGB 5m", 19, 69)),
    ),
    variants=("Black", "White", "Blue", "Pink", "Grey"),
    first_names=(
        "aisyah",
        "nurul",
        "siti",
        "farah",
        "ahmad",
        "muhammad",
        "hafiz",
        "amir",
        "wei ling",
        "jun hao",
        "mei ling",
        "kumar",
        "priya",
        "arif",
        "syafiq",
        "liyana",
        "hana",
        "zul",
    ),
    last_names=(
        "abdullah",
        "ismail",
        "rahman",
        "tan",
        "lim",
        "lee",
        "wong",
        "ng",
        "hassan",
        "yusof",
        "ibrahim",
        "raj",
        "chong",
        "osman",
        "aziz",
    ),
    observes_ramadan=True,
    size=0.8,
)

PHILIPPINES = Market(
    code="PH",
    time_zone="Asia/Manila",
    currency="PHP",
    language="fil",
    currency_decimals=2,
    thousands_separator=",",
    price_step=10,
    price_ending=9,
    shipping_fee=45,
    free_shipping_minimum=499,
    shop_name="Moda Manila",
    brand="Moda",
    product_types=(
        *_types(
            "Women's Apparel",
            ("Oversized Tee Cotton", 149, 399),
            ("Flowy Midi Dress", 299, 899),
            ("High Waist Jeans", 399, 1_199),
            ("Ribbed Knit Top", 159, 449),
        ),
        *_types(
            "Men's Apparel",
            ("Polo Shirt Classic", 249, 699),
            ("Cargo Shorts", 299, 799),
            ("Graphic Tee", 149, 399),
        ),
        *_types(
            "Bags & Accessories",
            ("Canvas Tote Bag", 129, 399),
            ("Crossbody Sling Bag", 199, 699),
            ("Bucket Hat", 99, 299),
        ),
        *_types("Shoes", ("Slip-on Sneakers", 399, 1_299), ("Rubber Slides", 99, 349)),
    ),
    variants=("S", "M", "L", "XL", "Free Size"),
    first_names=(
        "maria",
        "angel",
        "joy",
        "kristine",
        "jasmine",
        "mark",
        "john",
        "paolo",
        "carlo",
        "bea",
        "nicole",
        "patricia",
        "miguel",
        "jericho",
        "andrea",
        "camille",
        "jomar",
    ),
    last_names=(
        "santos",
        "reyes",
        "cruz",
        "bautista",
        "garcia",
        "mendoza",
        "ramos",
        "aquino",
        "villanueva",
        "delacruz",
        "fernandez",
        "castillo",
        "torres",
        "gonzales",
    ),
    extra_paydays=(15, 16, 30),
    size=1.2,
)

THAILAND = Market(
    code="TH",
    time_zone="Asia/Bangkok",
    currency="THB",
    language="th",
    currency_decimals=2,
    thousands_separator=",",
    price_step=10,
    price_ending=9,
    shipping_fee=38,
    free_shipping_minimum=299,
    shop_name="Baan Suay Home",
    brand="BaanSuay",
    product_types=(
        *_types(
            "Kitchen",
            ("Non-stick Frying Pan 28cm", 290, 890),
            ("Glass Food Container Set", 199, 590),
            ("Stainless Steel Tumbler", 159, 450),
        ),
        *_types(
            "Home Decor",
            ("Blackout Curtain", 250, 790),
            ("Scented Candle Jasmine", 99, 290),
            ("Cotton Rug", 290, 990),
        ),
        *_types("Bedding", ("Bed Sheet Set Cotton", 390, 1_290), ("Memory Foam Pillow", 290, 890)),
        *_types("Storage", ("Foldable Storage Box", 79, 259), ("Shoe Rack 5 Tier", 199, 590)),
        *_types("Cleaning", ("Spin Mop Set", 290, 790), ("Microfiber Cloth 10pcs", 59, 159)),
    ),
    variants=("Grey", "Beige", "White", "Navy", "Green"),
    first_names=(
        "somchai",
        "somsak",
        "nattapong",
        "kittipong",
        "siriporn",
        "pimchanok",
        "nanthida",
        "waraporn",
        "anan",
        "thanawat",
        "ploy",
        "fon",
        "mint",
        "nok",
        "bee",
        "arthit",
    ),
    last_names=(
        "srisuk",
        "chaiyaporn",
        "wongsawat",
        "thongchai",
        "saelim",
        "boonmee",
        "kaewkla",
        "rattana",
        "jaidee",
        "phongsri",
        "suksawat",
        "intharat",
    ),
    size=0.7,
)

SINGAPORE = Market(
    code="SG",
    time_zone="Asia/Singapore",
    currency="SGD",
    language="en",
    currency_decimals=2,
    thousands_separator=",",
    price_step=1,
    price_ending=0.90,
    shipping_fee=1.99,
    free_shipping_minimum=20,
    shop_name="Daily Greens SG",
    brand="DailyGreens",
    product_types=(
        *_types(
            "Health Supplements",
            ("Vitamin D3 1000IU 120 Softgels", 12, 35),
            ("Fish Oil Omega-3", 18, 49),
            ("Probiotic 30 Capsules", 25, 69),
        ),
        *_types(
            "Snacks",
            ("Mixed Nuts Unsalted 500g", 9, 22),
            ("Granola Honey Almond", 6, 15),
            ("Dried Mango", 4, 12),
        ),
        *_types(
            "Beverages", ("Cold Brew Coffee 12 Bottles", 19, 39), ("Green Tea 100 Bags", 6, 16)
        ),
        *_types("Pantry", ("Extra Virgin Olive Oil 1L", 12, 29), ("Organic Brown Rice 2kg", 7, 16)),
    ),
    variants=("Single", "Twin Pack", "Family Pack", "Value Bundle"),
    first_names=(
        "wei",
        "jia hui",
        "sarah",
        "daniel",
        "ryan",
        "nurul",
        "priya",
        "rachel",
        "marcus",
        "joanne",
        "kelvin",
        "shawn",
        "hui min",
        "aaron",
        "chloe",
    ),
    last_names=(
        "tan",
        "lim",
        "lee",
        "ng",
        "ong",
        "goh",
        "chua",
        "teo",
        "koh",
        "wong",
        "yeo",
        "sim",
    ),
    size=0.6,
)

VIETNAM = Market(
    code="VN",
    time_zone="Asia/Ho_Chi_Minh",
    currency="VND",
    language="vi",
    currency_decimals=0,
    thousands_separator=".",
    price_step=1_000,
    price_ending=0,
    shipping_fee=20_000,
    free_shipping_minimum=300_000,
    shop_name="Bé Yêu Mom & Baby",
    brand="BeYeu",
    product_types=(
        *_types(
            "Tã & Bỉm",
            ("Tã Dán Siêu Thấm", 189_000, 459_000),
            ("Khăn Ướt Không Mùi 80 Tờ", 25_000, 69_000),
        ),
        *_types(
            "Đồ Chơi", ("Đồ Chơi Xếp Hình Gỗ", 99_000, 349_000), ("Thú Bông Em Bé", 79_000, 259_000)
        ),
        *_types(
            "Đồ Dùng Cho Bé",
            ("Bình Sữa PPSU 240ml", 149_000, 459_000),
            ("Yếm Ăn Silicone", 49_000, 139_000),
            ("Xe Đẩy Gấp Gọn", 990_000, 2_890_000),
        ),
        *_types(
            "Quần Áo Trẻ Em",
            ("Bộ Body Cotton", 89_000, 249_000),
            ("Mũ Len Trẻ Em", 39_000, 119_000),
        ),
    ),
    variants=("0-3M", "3-6M", "6-12M", "Xanh", "Hồng"),
    first_names=(
        "linh",
        "trang",
        "huong",
        "mai",
        "thao",
        "ngoc",
        "minh",
        "tuan",
        "hung",
        "nam",
        "phuong",
        "lan",
        "hoa",
        "duc",
        "anh",
        "vy",
    ),
    last_names=("nguyen", "tran", "le", "pham", "hoang", "phan", "vu", "dang", "bui", "do", "ho"),
    size=1.1,
)

# Default order: `--shops 4` makes ID, MY, PH and TH shops.
MARKETS: tuple[Market, ...] = (INDONESIA, MALAYSIA, PHILIPPINES, THAILAND, SINGAPORE, VIETNAM)
