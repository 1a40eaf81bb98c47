//! FullStory property names, normalised as the reference does before sending.
//!
//! Every key, down to five levels of nested objects, keeps only letters, digits and
//! underscores. The V1 actions also give each key a type suffix from its value (`plan_str`,
//! `seats_real`, `tags_strs`), unless it already ends in one, and `identifyUser` first turns
//! trait names into camelCase as lodash's `camelCase` does (`first_name` → `firstName`); a name
//! ending in a known suffix keeps it apart (`plan_str`, and `signup_date`, as `date` is one).
//!
//! Values are not changed, with one quirk of the reference kept: an array that is not all
//! strings, all booleans, all numbers or all objects is walked like an object, so it is sent
//! as an object keyed by position (`[1, "a"]` → `{"0": 1, "1": "a"}`, with suffixes in V1).

use serde_json::{Map, Value};

/// How deep into nested objects names are normalised.
const DEPTH: usize = 5;

/// The type suffixes FullStory knows, in the order the reference infers them.
const SUFFIXES: [&str; 12] = [
    "str", "bool", "real", "int", "date", "strs", "bools", "reals", "ints", "dates", "objs", "obj",
];

/// What the V1 and V2 actions do to names.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    pub(crate) camel_case: bool,
    pub(crate) type_suffix: bool,
}

/// `object` with every name normalised (see the module's notes).
pub(crate) fn normalize(object: Map<String, Value>, options: Options) -> Map<String, Value> {
    walk(&mut object.into_iter(), options, 1)
}

fn walk(
    entries: &mut dyn Iterator<Item = (String, Value)>,
    options: Options,
    depth: usize,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in entries {
        let name = name(&key, &value, options);
        let value = if infer(&value) == Some("obj") && depth < DEPTH {
            match value {
                Value::Object(inner) => {
                    Value::Object(walk(&mut inner.into_iter(), options, depth + 1))
                }
                Value::Array(items) => Value::Object(walk(
                    &mut items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (i.to_string(), v)),
                    options,
                    depth + 1,
                )),
                other => other,
            }
        } else {
            value
        };
        out.insert(name, value);
    }
    out
}

/// The type the reference infers for a value; `None` for null.
fn infer(value: &Value) -> Option<&'static str> {
    let all = |items: &[Value], test: fn(&Value) -> bool| items.iter().all(test);
    Some(match value {
        Value::Null => return None,
        Value::String(_) => "str",
        Value::Bool(_) => "bool",
        // JavaScript numbers are all "real" before "int" is tried.
        Value::Number(_) => "real",
        Value::Array(items) if all(items, Value::is_string) => "strs",
        Value::Array(items) if all(items, Value::is_boolean) => "bools",
        Value::Array(items) if all(items, Value::is_number) => "reals",
        Value::Array(items) if all(items, |v| v.is_object() || v.is_array()) => "objs",
        Value::Array(_) | Value::Object(_) => "obj",
    })
}

fn known(suffix: &str) -> bool {
    SUFFIXES.contains(&suffix)
}

fn name(key: &str, value: &Value, options: Options) -> String {
    let transform = |text: &str| {
        let text = if options.camel_case {
            camel_case(text)
        } else {
            text.to_string()
        };
        text.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    // A known suffix is kept apart from the transformation.
    let name = match key.rsplit_once('_') {
        Some((stem, suffix)) if known(suffix) => format!("{}_{suffix}", transform(stem)),
        _ => transform(key),
    };
    if !options.type_suffix {
        return name;
    }
    match name.rsplit_once('_') {
        Some((_, suffix)) if known(suffix) => name,
        _ => match infer(value) {
            None | Some("obj") => name,
            Some(t) => format!("{name}_{t}"),
        },
    }
}

/// lodash's `camelCase`: Latin letters without their accents, apostrophes removed, split into
/// words as lodash's `words` does, the first word lower-case and the others capitalised.
pub(crate) fn camel_case(text: &str) -> String {
    let plain: Vec<char> = text
        .chars()
        .filter(|c| !matches!(c, '\'' | '\u{2019}') && !is_combining(*c))
        .flat_map(deburr)
        .collect();
    let mut out = String::new();
    for (i, word) in words(&plain).into_iter().enumerate() {
        let lower = word.to_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}' | '\u{fe20}'..='\u{fe2f}' | '\u{20d0}'..='\u{20ff}')
}

/// The letter without its accent, for the Latin-1 Supplement and Latin Extended-A letters.
fn deburr(c: char) -> Vec<char> {
    let base: &str = match c {
        'À'..='Å' => "A",
        'à'..='å' => "a",
        'Ç' => "C",
        'ç' => "c",
        'Ð' => "D",
        'ð' => "d",
        'È'..='Ë' => "E",
        'è'..='ë' => "e",
        'Ì'..='Ï' => "I",
        'ì'..='ï' => "i",
        'Ñ' => "N",
        'ñ' => "n",
        'Ò'..='Ö' | 'Ø' => "O",
        'ò'..='ö' | 'ø' => "o",
        'Ù'..='Ü' => "U",
        'ù'..='ü' => "u",
        'Ý' => "Y",
        'ý' | 'ÿ' => "y",
        'Æ' => "Ae",
        'æ' => "ae",
        'Þ' => "Th",
        'þ' => "th",
        'ß' => "ss",
        '\u{100}'..='\u{17f}' => return latin_extended_a(c),
        _ => return vec![c],
    };
    base.chars().collect()
}

fn latin_extended_a(c: char) -> Vec<char> {
    // Pairs of upper and lower case, in code point order, by base letter.
    const RUNS: &[(u32, u32, &str)] = &[
        (0x100, 0x105, "A"),
        (0x106, 0x10d, "C"),
        (0x10e, 0x111, "D"),
        (0x112, 0x11b, "E"),
        (0x11c, 0x123, "G"),
        (0x124, 0x127, "H"),
        (0x128, 0x131, "I"),
        (0x132, 0x133, "IJ"),
        (0x134, 0x135, "J"),
        (0x136, 0x137, "K"),
        (0x139, 0x142, "L"),
        (0x143, 0x148, "N"),
        (0x14a, 0x14b, "N"),
        (0x14c, 0x151, "O"),
        (0x152, 0x153, "Oe"),
        (0x154, 0x159, "R"),
        (0x15a, 0x161, "S"),
        (0x162, 0x167, "T"),
        (0x168, 0x173, "U"),
        (0x174, 0x175, "W"),
        (0x176, 0x177, "Y"),
        (0x179, 0x17e, "Z"),
    ];
    let code = c as u32;
    let single = match code {
        0x138 => Some("k"),
        0x149 => Some("'n"),
        0x178 => Some("Y"),
        0x17f => Some("s"),
        _ => None,
    };
    if let Some(s) = single {
        return s.chars().collect();
    }
    for (from, to, base) in RUNS {
        if (*from..=*to).contains(&code) {
            // Even offsets are upper case, odd ones lower case (İ and ı both read as I/i).
            let upper = (code - from).is_multiple_of(2);
            let text = if upper {
                base.to_string()
            } else {
                base.to_lowercase()
            };
            let mut chars: Vec<char> = text.chars().collect();
            if !upper && *base == "IJ" {
                chars = vec!['i', 'j'];
            }
            return chars;
        }
    }
    vec![c]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Break,
    Emoji,
    Misc,
}

fn class(c: char) -> Class {
    match c {
        'A'..='Z' | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{de}' => Class::Upper,
        'a'..='z' | '\u{df}'..='\u{f6}' | '\u{f8}'..='\u{ff}' => Class::Lower,
        '0'..='9' => Class::Digit,
        '\u{0}'..='\u{bf}'
        | '\u{d7}'
        | '\u{f7}'
        | '\u{2000}'..='\u{206f}'
        | '\u{1680}'
        | '\u{180e}'
        | '\u{3000}'
        | '\u{feff}' => Class::Break,
        '\u{2700}'..='\u{27bf}' | '\u{10000}'.. => Class::Emoji,
        _ => Class::Misc,
    }
}

/// lodash's `words` (its Unicode word pattern, tried in the same order at each position).
fn words(chars: &[char]) -> Vec<String> {
    use Class::{Break, Digit, Emoji, Lower, Misc, Upper};
    let n = chars.len();
    let at = |i: usize| chars.get(i).map(|c| class(*c));
    let run = |mut i: usize, ok: &dyn Fn(Class) -> bool| {
        while at(i).is_some_and(ok) {
            i += 1;
        }
        i
    };
    let is = |i: usize, want: &[Class]| at(i).is_some_and(|c| want.contains(&c));
    let mut found = Vec::new();
    let mut i = 0;
    while i < n {
        let end = (|| {
            // Upper? Lower+ followed by a break, an upper-case letter or the end.
            let start = if is(i, &[Upper]) && is(i + 1, &[Lower]) {
                i + 1
            } else {
                i
            };
            if is(start, &[Lower]) {
                let e = run(start, &|c| c == Lower);
                if e == n || is(e, &[Break, Upper]) {
                    return Some(e);
                }
            }
            // (Upper|Misc)+ followed by a break, an upper-case letter then a lower-case one or
            // misc, or the end; the run gives back letters until that holds.
            if is(i, &[Upper, Misc]) {
                let k = run(i, &|c| matches!(c, Upper | Misc));
                for e in (i + 1..=k).rev() {
                    if e == n || is(e, &[Break]) || (is(e, &[Upper]) && is(e + 1, &[Lower, Misc])) {
                        return Some(e);
                    }
                }
            }
            // Upper? (Lower|Misc)+
            let start = if is(i, &[Upper]) && is(i + 1, &[Lower, Misc]) {
                i + 1
            } else {
                i
            };
            if is(start, &[Lower, Misc]) {
                return Some(run(start, &|c| matches!(c, Lower | Misc)));
            }
            // Upper+
            if is(i, &[Upper]) {
                return Some(run(i, &|c| c == Upper));
            }
            if is(i, &[Digit]) {
                if let Some(e) = ordinal(chars, i, true).or_else(|| ordinal(chars, i, false)) {
                    return Some(e);
                }
                return Some(run(i, &|c| c == Digit));
            }
            if is(i, &[Emoji]) {
                // An emoji with its variation selector, modifiers and joined emoji.
                let mut e = i + 1;
                while let Some(&c) = chars.get(e) {
                    if matches!(c, '\u{fe0e}' | '\u{fe0f}') || is_combining(c) {
                        e += 1;
                    } else if c == '\u{200d}' && e + 1 < n {
                        e += 2;
                    } else if is(e, &[Emoji]) && (0x1f3fb..=0x1f3ff).contains(&(c as u32)) {
                        e += 1;
                    } else {
                        break;
                    }
                }
                return Some(e);
            }
            None
        })();
        match end {
            Some(e) => {
                found.push(chars[i..e].iter().collect());
                i = e;
            }
            None => i += 1,
        }
    }
    found
}

/// An ordinal from `i` (`1st`, `22ND`, `4th`), as lodash's word pattern reads them: digits, then
/// `1st`, `2nd`, `3rd` or another digit and `th`, followed by a word boundary or, for lower case,
/// an upper-case letter or `_` (for upper case, a lower-case letter or `_`).
fn ordinal(chars: &[char], i: usize, upper: bool) -> Option<usize> {
    let digits_end = (i..chars.len())
        .find(|&j| !chars[j].is_ascii_digit())
        .unwrap_or(chars.len());
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_');
    for s in (i..digits_end).rev() {
        let suffix = match chars[s] {
            '1' => "st",
            '2' => "nd",
            '3' => "rd",
            _ => "th",
        };
        let suffix: Vec<char> = if upper {
            suffix.to_uppercase().chars().collect()
        } else {
            suffix.chars().collect()
        };
        let end = s + 1 + suffix.len();
        if chars.get(s + 1..end) != Some(&suffix[..]) {
            continue;
        }
        let next = chars.get(end);
        let boundary = !word(next);
        let allowed = next.is_some_and(|c| {
            *c == '_'
                || if upper {
                    c.is_ascii_lowercase()
                } else {
                    c.is_ascii_uppercase()
                }
        });
        if boundary || allowed {
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Answers of lodash's `camelCase` as the reference installs it (4.18.1; each
    /// checked with node against it).
    #[test]
    fn camel_case_splits_words_as_lodash_does() {
        for (input, want) in [
            ("first_name", "firstName"),
            ("First Name", "firstName"),
            ("firstName", "firstName"),
            ("XMLHttpRequest", "xmlHttpRequest"),
            ("ABc", "aBc"),
            ("plan-tier", "planTier"),
            ("abc123def", "abc123Def"),
            ("address 1st line", "address1stLine"),
            ("4thOfJuly", "4thOfJuly"),
            ("Crème brûlée", "cremeBrulee"),
            ("__private__", "private"),
            ("it's", "its"),
            ("", ""),
            ("Ĳssel straße", "iJsselStrasse"),
            ("Ŀlama ŉ", "llamaN"),
            ("🚀launch", "🚀Launch"),
            ("emoji✂cut", "emoji✂Cut"),
            ("✂\u{fe0f}cut", "✂\u{fe0f}Cut"),
            ("👨\u{200d}👩x", "👨\u{200d}👩X"),
            ("👍🏽ok", "👍🏽Ok"),
            ("µ_sign", "sign"),
            ("22ND_place", "22ndPlace"),
            ("x1ST", "x1st"),
            ("a_b_str", "aBStr"),
        ] {
            assert_eq!(camel_case(input), want, "{input:?}");
        }
    }

    #[test]
    fn v1_names_get_type_suffixes_and_keep_known_ones() {
        let traits = json!({"first_name": "Ann", "seats": 3, "is_pro": true,
            "tags": ["a", "b"], "scores": [1, 2.5], "plan_str": "pro", "signup_date": "2026",
            "address": {"postal code": "94107"}, "gone": null, "mixed": [1, "a"],
            "items": [{"sku": "x"}], "empty": [], "e_obj": {}});
        let Value::Object(traits) = traits else {
            unreachable!()
        };
        let out = normalize(
            traits,
            Options {
                camel_case: true,
                type_suffix: true,
            },
        );
        assert_eq!(
            Value::Object(out),
            json!({"firstName_str": "Ann", "seats_real": 3, "isPro_bool": true,
                "tags_strs": ["a", "b"], "scores_reals": [1, 2.5], "plan_str": "pro",
                "signup_date": "2026", "address": {"postalCode_str": "94107"}, "gone": null,
                "mixed": {"0_real": 1, "1_str": "a"}, "items_objs": [{"sku": "x"}],
                "empty_strs": [], "e_obj": {}})
        );
    }

    #[test]
    fn v2_names_only_lose_characters_down_to_five_levels() {
        let deep = json!({"a-1": {"b-2": {"c-3": {"d-4": {"e-5": {"f-6": 1}}}}}, "m": [1, "x"]});
        let Value::Object(deep) = deep else {
            unreachable!()
        };
        assert_eq!(
            Value::Object(normalize(deep, Options::default())),
            json!({"a1": {"b2": {"c3": {"d4": {"e5": {"f-6": 1}}}}}, "m": {"0": 1, "1": "x"}})
        );
    }
}
