//! The host's modules depend on each other one way: the layer of every module is written in
//! CONTRIBUTING.md's module map, and a module may import only modules of its own layer or
//! below, with no import cycle anywhere. Imports are read from the source (`crate::x`, and the
//! names inside `use crate::{…}`), leaving out comments and test code (`tests.rs` files and
//! what follows `#[cfg(test)]`), since tests may reach across layers to set things up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module map: `| layer | `module` | … |` rows of CONTRIBUTING.md.
fn layers() -> BTreeMap<String, u32> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../CONTRIBUTING.md"))
            .expect("CONTRIBUTING.md");
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let (Ok(layer), Some(module)) = (
            cells[1].parse::<u32>(),
            cells[2]
                .strip_prefix('`')
                .and_then(|m| m.split(['/', '.', '`']).next()),
        ) else {
            continue;
        };
        map.insert(module.to_string(), layer);
    }
    map
}

/// The top-level modules of `src/`.
fn modules() -> BTreeSet<String> {
    std::fs::read_dir(src())
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if e.path().is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs")
                    .filter(|n| *n != "lib" && *n != "main")
                    .map(str::to_owned)
            }
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push_str(line.split(" //").next().unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The first name after every `crate::` in `code`, and each first name inside `crate::{…}`.
fn names_imported(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::X, b, c::{…}}`: the first name of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    _ => {}
                }
                if item_start && depth == 0 {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                        continue;
                    } else if !name.is_empty() {
                        found.insert(std::mem::take(&mut name));
                        item_start = false;
                    }
                }
            }
            if !name.is_empty() {
                found.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

/// Which top-level modules each module imports.
fn imports(modules: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let relative = file.strip_prefix(src()).unwrap();
        let from = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if !modules.contains(&from) || file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let mut found = names_imported(&code(&file));
        found.retain(|m| modules.contains(m) && *m != from);
        graph.entry(from).or_default().extend(found);
    }
    graph
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn every_module_is_in_the_module_map() {
    let layers = layers();
    let missing: Vec<String> = modules()
        .into_iter()
        .filter(|m| !layers.contains_key(m))
        .collect();
    assert!(
        missing.is_empty(),
        "not in CONTRIBUTING.md's module map: {missing:?}"
    );
    let gone: Vec<&String> = layers.keys().filter(|m| !modules().contains(*m)).collect();
    assert!(
        gone.is_empty(),
        "in the module map but not in host/src: {gone:?}"
    );
}

#[test]
fn modules_import_only_their_own_layer_or_below() {
    let layers = layers();
    let graph = imports(&modules());
    let mut upward = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            if let (Some(a), Some(b)) = (layers.get(from), layers.get(to))
                && b > a
            {
                upward.push(format!("{from} (layer {a}) imports {to} (layer {b})"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that go up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_module_takes_part_in_an_import_cycle() {
    let graph = imports(&modules());
    assert_eq!(cycle(&graph), None, "an import cycle among host modules");
}

#[test]
fn the_import_reader_sees_grouped_and_direct_imports() {
    // The check is only as good as its reader: a grouped import and a path in code count.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.rs");
    std::fs::write(
        &file,
        "//! [`crate::c`] in a doc is not an import\nuse crate::{b::X, d};\nfn f() { crate::e::go(); }\n#[cfg(test)]\nmod tests { use crate::g; }\n",
    )
    .unwrap();
    let names = names_imported(&code(&file));
    assert_eq!(
        names,
        BTreeSet::from(["b".to_string(), "d".to_string(), "e".to_string()])
    );
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycle(&graph),
        Some(vec!["a".to_string(), "b".to_string(), "a".to_string()])
    );
}

/// What every `plugins/<id>/` folder holds (CONTRIBUTING.md, "The plugin folder").
const PLUGIN_FILES: [&str; 7] = [
    "Cargo.toml",
    "README.md",
    "src/lib.rs",
    "src/settings.rs",
    "src/actions/mod.rs",
    "src/response.rs",
    "src/tests.rs",
];

fn plugin_folders() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    folders
}

#[test]
fn every_plugin_folder_has_the_same_files() {
    let folders = plugin_folders();
    assert!(folders.len() >= 10, "the bundled plugins: {folders:?}");
    let mut problems = Vec::new();
    for folder in &folders {
        for file in PLUGIN_FILES {
            if !folder.join(file).is_file() {
                problems.push(format!("{} has no {file}", folder.display()));
            }
        }
        // Nothing else at the top of src/: action code goes under actions/.
        for entry in std::fs::read_dir(folder.join("src"))
            .unwrap()
            .filter_map(Result::ok)
        {
            let name = entry.file_name().to_string_lossy().to_string();
            let known = [
                "lib.rs",
                "settings.rs",
                "response.rs",
                "tests.rs",
                "actions",
            ];
            if !known.contains(&name.as_str()) {
                problems.push(format!("{} has src/{name}", folder.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn plugins_take_dates_and_hashing_from_the_sdk() {
    // What the SDK offers (plugin-sdk/src/date.rs, hash.rs, currency.rs), written again in a
    // plugin, shows as one of these.
    const OWN_LOGIC: [(&str, &str); 5] = [
        (
            "Rfc3339",
            "parses dates itself: use switchyard_plugin_sdk::date",
        ),
        (
            "OffsetDateTime::parse",
            "parses dates itself: use switchyard_plugin_sdk::date",
        ),
        (
            "PrimitiveDateTime::parse",
            "parses dates itself: use switchyard_plugin_sdk::date",
        ),
        ("Sha256", "hashes itself: use switchyard_plugin_sdk::hash"),
        (
            "\"AED\"",
            "lists currencies itself: use switchyard_plugin_sdk::currency",
        ),
    ];
    let mut problems = Vec::new();
    for folder in plugin_folders() {
        let mut files = Vec::new();
        rust_files(&folder.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (needle, why) in OWN_LOGIC {
                if text.contains(needle) {
                    problems.push(format!("{}: {why}", file.display()));
                }
            }
        }
        let manifest = std::fs::read_to_string(folder.join("Cargo.toml")).unwrap();
        if manifest.contains("sha2") {
            problems.push(format!("{}: depends on sha2", folder.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
