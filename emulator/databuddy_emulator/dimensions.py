"""Value pools for synthetic visitors: countries with regions and cities, devices, referrers.

Weights are relative; the generator draws from them with the seeded RNG.
"""

from __future__ import annotations

# code, name (the API's English name: the first of its names for the code, e.g. "Korea,
# Republic of"), weight, timezone, language, [(region, [cities])]
COUNTRIES: list[tuple[str, str, float, str, str, list[tuple[str, list[str]]]]] = [
    (
        "US",
        "United States",
        30,
        "America/New_York",
        "en-US",
        [
            ("California", ["San Francisco", "Los Angeles", "San Diego", "San Jose"]),
            ("New York", ["New York", "Brooklyn", "Buffalo"]),
            ("Texas", ["Austin", "Houston", "Dallas"]),
            ("Washington", ["Seattle", "Spokane"]),
            ("Illinois", ["Chicago"]),
            ("Florida", ["Miami", "Orlando", "Tampa"]),
        ],
    ),
    (
        "DE",
        "Germany",
        9,
        "Europe/Berlin",
        "de-DE",
        [
            ("Berlin", ["Berlin"]),
            ("Bavaria", ["Munich", "Nuremberg"]),
            ("Hamburg", ["Hamburg"]),
            ("Hesse", ["Frankfurt am Main"]),
        ],
    ),
    (
        "GB",
        "United Kingdom",
        8,
        "Europe/London",
        "en-GB",
        [
            ("England", ["London", "Manchester", "Bristol", "Leeds"]),
            ("Scotland", ["Edinburgh"]),
        ],
    ),
    (
        "IN",
        "India",
        8,
        "Asia/Kolkata",
        "en-IN",
        [
            ("Karnataka", ["Bengaluru"]),
            ("Maharashtra", ["Mumbai", "Pune"]),
            ("Delhi", ["New Delhi"]),
        ],
    ),
    (
        "FR",
        "France",
        5,
        "Europe/Paris",
        "fr-FR",
        [
            ("Île-de-France", ["Paris"]),
            ("Auvergne-Rhône-Alpes", ["Lyon"]),
        ],
    ),
    (
        "CA",
        "Canada",
        5,
        "America/Toronto",
        "en-CA",
        [
            ("Ontario", ["Toronto", "Ottawa"]),
            ("British Columbia", ["Vancouver"]),
            ("Quebec", ["Montreal"]),
        ],
    ),
    (
        "BR",
        "Brazil",
        4,
        "America/Sao_Paulo",
        "pt-BR",
        [
            ("São Paulo", ["São Paulo", "Campinas"]),
            ("Rio de Janeiro", ["Rio de Janeiro"]),
        ],
    ),
    (
        "NL",
        "Netherlands",
        3,
        "Europe/Amsterdam",
        "nl-NL",
        [
            ("North Holland", ["Amsterdam"]),
            ("South Holland", ["Rotterdam", "The Hague"]),
        ],
    ),
    ("JP", "Japan", 3, "Asia/Tokyo", "ja-JP", [("Tokyo", ["Tokyo"]), ("Osaka", ["Osaka"])]),
    (
        "AU",
        "Australia",
        3,
        "Australia/Sydney",
        "en-AU",
        [
            ("New South Wales", ["Sydney"]),
            ("Victoria", ["Melbourne"]),
        ],
    ),
    (
        "ES",
        "Spain",
        2.5,
        "Europe/Madrid",
        "es-ES",
        [
            ("Madrid", ["Madrid"]),
            ("Catalonia", ["Barcelona"]),
        ],
    ),
    ("IT", "Italy", 2, "Europe/Rome", "it-IT", [("Lombardy", ["Milan"]), ("Lazio", ["Rome"])]),
    (
        "PL",
        "Poland",
        2,
        "Europe/Warsaw",
        "pl-PL",
        [("Masovia", ["Warsaw"]), ("Lesser Poland", ["Kraków"])],
    ),
    ("SE", "Sweden", 1.5, "Europe/Stockholm", "sv-SE", [("Stockholm", ["Stockholm"])]),
    ("CH", "Switzerland", 1.2, "Europe/Zurich", "de-CH", [("Zurich", ["Zürich"])]),
    ("MX", "Mexico", 1.2, "America/Mexico_City", "es-MX", [("Mexico City", ["Mexico City"])]),
    ("SG", "Singapore", 1, "Asia/Singapore", "en-SG", [("Singapore", ["Singapore"])]),
    ("KR", "Korea, Republic of", 1, "Asia/Seoul", "ko-KR", [("Seoul", ["Seoul"])]),
    ("ZA", "South Africa", 0.6, "Africa/Johannesburg", "en-ZA", [("Gauteng", ["Johannesburg"])]),
    ("NG", "Nigeria", 0.5, "Africa/Lagos", "en-NG", [("Lagos", ["Lagos"])]),
    (
        "AR",
        "Argentina",
        0.5,
        "America/Argentina/Buenos_Aires",
        "es-AR",
        [("Buenos Aires", ["Buenos Aires"])],
    ),
    ("NZ", "New Zealand", 0.4, "Pacific/Auckland", "en-NZ", [("Auckland", ["Auckland"])]),
    ("IE", "Ireland", 0.4, "Europe/Dublin", "en-IE", [("Leinster", ["Dublin"])]),
    ("PT", "Portugal", 0.3, "Europe/Lisbon", "pt-PT", [("Lisbon", ["Lisbon"])]),
    ("IS", "Iceland", 0.05, "Atlantic/Reykjavik", "is-IS", [("Capital Region", ["Reykjavík"])]),
]

# device_type, weight, [(browser, [versions], weight)], [(os, [versions], weight)],
# [screen resolutions], [viewports]
DEVICES: list[
    tuple[
        str,
        float,
        list[tuple[str, list[str], float]],
        list[tuple[str, list[str], float]],
        list[str],
        list[str],
    ]
] = [
    (
        "desktop",
        55,
        [
            ("Chrome", ["131.0", "130.0", "129.0"], 60),
            ("Firefox", ["133.0", "132.0"], 14),
            ("Safari", ["18.1", "17.6"], 12),
            ("Edge", ["131.0", "130.0"], 12),
            ("Opera", ["114.0"], 2),
        ],
        [
            ("Windows", ["11", "10"], 58),
            ("macOS", ["15.1", "14.7", "13.6"], 30),
            ("Linux", [""], 10),
            ("Chrome OS", ["130"], 2),
        ],
        ["1920x1080", "2560x1440", "1440x900", "1536x864", "1366x768", "3840x2160"],
        ["1920x969", "1280x720", "1440x789", "1536x730", "1366x657", "2560x1305"],
    ),
    (
        "mobile",
        40,
        [
            ("Mobile Safari", ["18.1", "17.6"], 45),
            ("Chrome Mobile", ["131.0", "130.0"], 40),
            ("Samsung Internet", ["26.0"], 10),
            ("Firefox Mobile", ["133.0"], 5),
        ],
        [("iOS", ["18.1", "17.6", "16.7"], 52), ("Android", ["15", "14", "13"], 48)],
        ["390x844", "393x873", "414x896", "412x915", "360x800", "430x932"],
        ["390x664", "393x727", "414x715", "412x776", "360x640", "430x740"],
    ),
    (
        "tablet",
        4,
        [("Mobile Safari", ["18.1"], 70), ("Chrome", ["131.0"], 30)],
        [("iOS", ["18.1", "17.6"], 70), ("Android", ["14"], 30)],
        ["820x1180", "768x1024", "1024x1366"],
        ["820x1050", "768x954", "1024x1234"],
    ),
    (
        "",
        1,  # trackers that could not tell: counted as desktop by the device_type filter
        [("Chrome", ["131.0"], 100)],
        [("Linux", [""], 100)],
        ["1920x1080"],
        ["1920x969"],
    ),
]

# referrer URL ("" = direct), weight
REFERRERS: list[tuple[str, float]] = [
    ("", 38),
    ("https://www.google.com/", 28),
    ("https://www.bing.com/", 3),
    ("https://duckduckgo.com/", 2.5),
    ("https://t.co/abc123", 3),
    ("https://twitter.com/acme", 1),
    ("https://www.linkedin.com/feed/", 2.5),
    ("https://news.ycombinator.com/item?id=4211", 2),
    ("https://www.reddit.com/r/webdev/comments/x1", 2.2),
    ("https://github.com/acme/sdk", 2),
    ("https://www.facebook.com/", 1.5),
    ("https://l.facebook.com/l.php", 0.8),
    ("https://www.youtube.com/", 1),
    ("https://dev.to/acme/post", 0.8),
    ("https://stackoverflow.com/questions/123", 1.2),
    ("https://producthunt.com/posts/acme", 0.7),
    ("https://www.google.de/", 1.5),
    ("https://www.google.co.uk/", 1.2),
    ("https://search.brave.com/", 0.5),
    ("https://chatgpt.com/", 1.5),
    ("https://www.perplexity.ai/", 0.6),
    ("https://medium.com/@acme/story", 0.5),
    ("https://partner.example.net/resources", 0.3),
    ("https://newsletter.example.org/issue-42", 0.4),
]

# utm_source, utm_medium, [campaigns], weight
UTM: list[tuple[str, str, list[str], float]] = [
    ("google", "cpc", ["brand_search", "generic_search", "retargeting_q4"], 35),
    ("newsletter", "email", ["weekly_digest", "product_update", "black_friday"], 25),
    ("twitter", "social", ["launch_week", "feature_thread"], 12),
    ("linkedin", "social", ["b2b_awareness", "webinar_invite"], 10),
    ("facebook", "paid_social", ["retargeting_q4", "lookalike_test"], 8),
    ("partner", "referral", ["partner_program"], 5),
    ("producthunt", "referral", ["launch_day"], 3),
    ("bing", "cpc", ["brand_search"], 2),
]
UTM_TERMS = [
    "analytics",
    "privacy analytics",
    "web analytics",
    "google analytics alternative",
    "cookieless tracking",
]
UTM_CONTENTS = ["hero_cta", "footer_link", "sidebar_banner", "text_ad_a", "text_ad_b"]

ERROR_KINDS: list[tuple[str, list[str], float]] = [
    (
        "TypeError",
        [
            "Cannot read properties of undefined (reading 'map')",
            "Cannot read properties of null (reading 'addEventListener')",
            "x is not a function",
        ],
        40,
    ),
    ("ReferenceError", ["gtag is not defined", "process is not defined"], 15),
    ("NetworkError", ["Failed to fetch", "NetworkError when attempting to fetch resource."], 20),
    ("ChunkLoadError", ["Loading chunk 742 failed."], 10),
    ("SyntaxError", ["Unexpected token '<'", "JSON.parse: unexpected character"], 8),
    ("RangeError", ["Maximum call stack size exceeded"], 4),
    ("SecurityError", ["The operation is insecure."], 3),
]

VITAL_METRICS: list[tuple[str, float, float]] = [
    # metric, lognormal median, sigma
    ("FCP", 1100.0, 0.45),
    ("LCP", 2100.0, 0.5),
    ("CLS", 0.06, 0.9),
    ("INP", 140.0, 0.6),
    ("TTFB", 380.0, 0.55),
]

CUSTOM_EVENTS: list[tuple[str, float, dict[str, list[str]]]] = [
    ("signup", 12, {"plan": ["free", "pro", "team"], "method": ["email", "google", "github"]}),
    (
        "add_to_cart",
        20,
        {
            "product": ["t-shirt", "mug", "sticker-pack", "hoodie", "poster"],
            "price": ["12.00", "9.50", "4.00", "45.00", "19.99"],
        },
    ),
    ("checkout_started", 8, {"items": ["1", "2", "3", "4"], "currency": ["USD", "EUR"]}),
    ("newsletter_subscribe", 10, {"source": ["footer", "popup", "blog_inline"]}),
    (
        "search",
        25,
        {
            "query": [
                "pricing",
                "api",
                "docs",
                "export",
                "gdpr",
                "self host",
                "custom events",
                "retention",
                "funnels",
                "sdk",
            ]
        },
    ),
    (
        "video_play",
        9,
        {"video": ["product-tour", "onboarding", "webinar-2026"], "autoplay": ["true", "false"]},
    ),
    ("download", 6, {"file": ["whitepaper.pdf", "pricing.pdf", "brand-kit.zip"]}),
    ("feedback_submitted", 3, {"rating": ["1", "2", "3", "4", "5"], "page_type": ["docs", "app"]}),
]

OUTBOUND_TARGETS: list[tuple[str, str, float]] = [
    ("https://github.com/acme/sdk", "GitHub", 30),
    ("https://twitter.com/acme", "Twitter", 12),
    ("https://discord.gg/acme", "Join our Discord", 15),
    ("https://status.acme.example/", "Status", 6),
    ("https://www.linkedin.com/company/acme", "LinkedIn", 6),
    ("https://www.youtube.com/@acme", "YouTube", 5),
    ("https://stripe.com/docs", "Stripe docs", 4),
    ("https://developer.mozilla.org/en-US/docs/Web/API", "MDN", 4),
    ("https://npmjs.com/package/@acme/sdk", "npm package", 8),
    ("https://partner.example.net/", "Partner", 2),
]

PRODUCTS: list[tuple[str, str, float, str]] = [
    # product id, name, price, type
    ("prod_pro_monthly", "Pro (monthly)", 29.0, "subscription"),
    ("prod_team_monthly", "Team (monthly)", 99.0, "subscription"),
    ("prod_pro_yearly", "Pro (yearly)", 290.0, "subscription"),
    ("prod_tshirt", "Acme T-shirt", 24.0, "sale"),
    ("prod_mug", "Acme mug", 12.5, "sale"),
    ("prod_hoodie", "Acme hoodie", 55.0, "sale"),
]

LLM_MODELS: list[tuple[str, str, float, float, float, float]] = [
    # provider, model, weight, $ per 1M input tokens, $ per 1M output tokens, median latency ms
    ("openai", "gpt-4o", 25, 2.5, 10.0, 2400),
    ("openai", "gpt-4o-mini", 30, 0.15, 0.6, 1100),
    ("anthropic", "claude-sonnet-4", 20, 3.0, 15.0, 2800),
    ("anthropic", "claude-haiku-4", 10, 0.8, 4.0, 900),
    ("google", "gemini-2.0-flash", 10, 0.1, 0.4, 800),
    ("mistral", "mistral-large", 5, 2.0, 6.0, 2000),
]
LLM_TOOLS = ["web_search", "get_weather", "lookup_order", "sql_query", "send_email"]
LLM_ERRORS: list[tuple[str, str, int]] = [
    ("RateLimitError", "Rate limit reached for requests", 429),
    ("APITimeoutError", "Request timed out.", 408),
    ("InternalServerError", "The server had an error while processing your request.", 500),
    ("BadRequestError", "context_length_exceeded: maximum context length is 128000 tokens", 400),
    ("AuthenticationError", "Incorrect API key provided", 401),
]
PROBE_REGIONS = [
    ("us-east-1", "3.91.14.2"),
    ("eu-west-1", "54.72.8.19"),
    ("ap-southeast-1", "13.229.5.77"),
]
