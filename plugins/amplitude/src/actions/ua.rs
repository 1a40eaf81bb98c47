//! Operating system, browser and device read from a user-agent string, for the fields
//! Amplitude's own SDKs fill in (`os_name`, `os_version`, `device_manufacturer`,
//! `device_model`, `device_type`).
//!
//! Segment does this with `@amplitude/ua-parser-js`, a regular-expression table of some
//! thousand entries. A plugin starts in a fresh instance for every event, so building such a
//! table each time would cost more than the rest of the event; this module recognises the
//! user agents that make up nearly all traffic (Chrome, Safari, Firefox, Edge, Opera and
//! Samsung Internet on Windows, macOS, iOS, Android, ChromeOS and Linux) with plain string
//! matching and uses ua-parser-js's names for them, so charts stay continuous for users who
//! move from Segment. What it does not recognise stays unset.

/// What a user agent says, in ua-parser-js's vocabulary.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Agent {
    pub(crate) os: Option<String>,
    pub(crate) browser: Option<String>,
    pub(crate) browser_major: Option<String>,
    pub(crate) vendor: Option<String>,
    pub(crate) model: Option<String>,
    /// "mobile" or "tablet"; unset for desktops.
    pub(crate) kind: Option<&'static str>,
}

pub(crate) fn parse(ua: &str) -> Agent {
    let (browser, version) = browser(ua).unzip();
    let mut agent = Agent {
        os: os(ua).map(str::to_owned),
        browser: browser.map(str::to_owned),
        browser_major: version
            .map(|v| v.split('.').next().unwrap_or(v).to_owned())
            .filter(|m| !m.is_empty()),
        ..Agent::default()
    };
    device(ua, &mut agent);
    agent
}

/// The version number right after `token` (digits and dots).
fn version_after<'a>(ua: &'a str, token: &str) -> Option<&'a str> {
    let at = ua.find(token)? + token.len();
    let rest = &ua[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

fn browser(ua: &str) -> Option<(&'static str, &str)> {
    const TOKENS: &[(&str, &str)] = &[
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("Edg/", "Edge"),
        ("Edge/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Browser"),
        ("YaBrowser/", "Yandex"),
        ("FxiOS/", "Firefox"),
        ("Firefox/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("HeadlessChrome/", "Chrome Headless"),
    ];
    for (token, name) in TOKENS {
        if let Some(v) = version_after(ua, token) {
            return Some((name, v));
        }
    }
    if let Some(v) = version_after(ua, "Chrome/") {
        let name = if ua.contains("; wv)") {
            "Chrome WebView"
        } else {
            "Chrome"
        };
        return Some((name, v));
    }
    if ua.contains("Safari/")
        && let Some(v) = version_after(ua, "Version/")
    {
        let name = if ua.contains("Mobile") {
            "Mobile Safari"
        } else {
            "Safari"
        };
        return Some((name, v));
    }
    if let Some(v) = version_after(ua, "MSIE ") {
        return Some(("IE", v));
    }
    if ua.contains("Trident/") {
        return Some(("IE", version_after(ua, "rv:").unwrap_or("")));
    }
    None
}

fn os(ua: &str) -> Option<&'static str> {
    const TOKENS: &[(&str, &str)] = &[
        ("Windows Phone", "Windows Phone"),
        ("Windows", "Windows"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("iPod", "iOS"),
        ("Android", "Android"),
        ("CrOS", "Chrome OS"),
        ("Mac OS X", "Mac OS"),
        ("Macintosh", "Mac OS"),
        ("Ubuntu", "Ubuntu"),
        ("Fedora", "Fedora"),
        ("Linux", "Linux"),
    ];
    TOKENS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

/// Android model prefixes and their makers.
const MAKERS: &[(&str, &str)] = &[
    ("SAMSUNG", "Samsung"),
    ("SM-", "Samsung"),
    ("GT-", "Samsung"),
    ("Pixel", "Google"),
    ("Redmi", "Xiaomi"),
    ("POCO", "Xiaomi"),
    ("Mi ", "Xiaomi"),
    ("MI ", "Xiaomi"),
    ("Xiaomi", "Xiaomi"),
    ("ONEPLUS", "OnePlus"),
    ("OnePlus", "OnePlus"),
    ("moto", "Motorola"),
    ("Moto", "Motorola"),
    ("XT", "Motorola"),
    ("Lenovo", "Lenovo"),
    ("LG-", "LG"),
    ("LM-", "LG"),
    ("HUAWEI", "Huawei"),
    ("Huawei", "Huawei"),
    ("CPH", "OPPO"),
    ("OPPO", "OPPO"),
    ("vivo", "Vivo"),
    ("Nokia", "Nokia"),
    ("Xperia", "Sony"),
];

/// Makers' names that some Android user agents put before the model.
const BRAND_WORDS: &[&str] = &["SAMSUNG", "Lenovo", "HUAWEI", "Huawei", "Xiaomi", "Nokia"];

fn device(ua: &str, agent: &mut Agent) {
    let apple = [
        ("iPad", "iPad", "tablet"),
        ("iPhone", "iPhone", "mobile"),
        ("iPod", "iPod touch", "mobile"),
    ];
    for (token, model, kind) in apple {
        if ua.contains(token) {
            agent.vendor = Some("Apple".into());
            agent.model = Some(model.into());
            agent.kind = Some(kind);
            return;
        }
    }
    if ua.contains("Macintosh") {
        agent.vendor = Some("Apple".into());
        agent.model = Some("Macintosh".into());
        return;
    }
    if !ua.contains("Android") {
        return;
    }
    agent.kind = Some(if ua.contains("Mobile") {
        "mobile"
    } else {
        "tablet"
    });
    let Some(inner) = ua
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inner, _)| inner)
    else {
        return;
    };
    let parts: Vec<&str> = inner.split(';').map(str::trim).collect();
    let model = parts
        .iter()
        .find_map(|p| p.split_once(" Build/").map(|(m, _)| m))
        .or_else(|| {
            // Chrome's reduced user agent: "Linux; Android 10; K".
            let at = parts.iter().position(|p| p.starts_with("Android"))?;
            parts
                .get(at + 1)
                .copied()
                .filter(|p| *p != "wv" && !p.is_empty())
        })
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let Some(model) = model else {
        return;
    };
    if let Some((_, maker)) = MAKERS.iter().find(|(p, _)| model.starts_with(p)) {
        agent.vendor = Some((*maker).into());
        // A maker's name before the model is not part of it: "SAMSUNG SM-S911B" → "SM-S911B".
        let bare = BRAND_WORDS
            .iter()
            .find_map(|w| model.strip_prefix(w).and_then(|r| r.strip_prefix(' ')))
            .map_or(model, str::trim);
        agent.model = Some(bare.into());
    } else {
        agent.model = Some(model.into());
    }
}
