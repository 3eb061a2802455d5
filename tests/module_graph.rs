//! The server crate's modules import one way: each top-level module of `src/` may name (as
//! `crate::x`) only the modules listed after it in [`LAYERS`]. That keeps the HTTP layer the only
//! place that knows about HTTP, domain modules free of it, and the graph free of cycles.
//!
//! The rule counts every `crate::x` named outside test code (files ending in `_tests.rs` or named
//! `tests.rs`, files declared as `#[cfg(test)]` modules, and `#[cfg(test)] mod … { … }` blocks).
//! `docs/architecture.md` draws the same graph; change both together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules from the top (may import anything below) to the bottom (imports nothing).
const LAYERS: &[&str] = &[
    "cli",
    "server",
    "http",
    "reminders",
    "bots",
    "config",
    "logging",
    "softphone",
    "meetings",
    "media_plane",
    "calls",
    "notify",
    "store",
    "throttle",
    "auth",
    "graph",
    "webrtc",
    "address_policy",
    "metrics",
];

#[test]
fn modules_import_only_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = module_edges(&src);
    let rank = |module: &str| LAYERS.iter().position(|m| *m == module);
    let mut upward = Vec::new();
    for ((from, to), files) in &edges {
        let (Some(a), Some(b)) = (rank(from), rank(to)) else {
            upward.push(format!(
                "{from} -> {to}: a module missing from LAYERS (add it where it belongs)"
            ));
            continue;
        };
        if a >= b {
            upward.push(format!("{from} -> {to} (in {})", files.join(", ")));
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layer order {LAYERS:?}:\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|name| name.trim_end_matches(';'))
        .collect();
    let layered: BTreeSet<&str> = LAYERS.iter().copied().collect();
    assert_eq!(declared, layered, "src/lib.rs's modules and LAYERS differ");
}

/// The checker finds what it must: a positive control on text with an upward import, a test
/// module and a comment.
#[test]
fn the_edge_reader_sees_imports_and_skips_tests_and_comments() {
    let text = "use crate::calls::ids::CallId;\n\
                use crate::{graph::Call, store};\n\
                // crate::http is only mentioned here\n\
                fn f() { crate::metrics::ACTIVE_CALLS; }\n\
                #[cfg(test)]\nmod tests {\n    use crate::server::x;\n    fn g() { { } }\n}\n\
                fn h() { crate::webrtc::Edge::new(); }\n";
    let named = named_modules(&strip_test_blocks(&strip_comments(text)));
    let expected: BTreeSet<String> = ["calls", "graph", "store", "metrics", "webrtc"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(named, expected);
}

/// `(from, to)` → the files (relative to `src/`) where `from` names `to`.
fn module_edges(src: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let files = rust_files(src);
    let test_only = test_only_files(&files);
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(src).unwrap();
        let name = file.file_name().unwrap().to_string_lossy();
        if name.ends_with("_tests.rs") || name == "tests.rs" || test_only.contains(file) {
            continue;
        }
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for to in named_modules(&strip_test_blocks(&strip_comments(&text))) {
            if to != top {
                edges
                    .entry((top.clone(), to))
                    .or_default()
                    .push(relative.display().to_string());
            }
        }
    }
    edges
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Files declared as `#[cfg(test)] mod name;` (with or without `#[path = "…"]`).
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut test_only = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let dir = match file.file_name().unwrap().to_str().unwrap() {
            "mod.rs" | "lib.rs" | "main.rs" => file.parent().unwrap().to_owned(),
            _ => file.with_extension(""),
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if *line != "#[cfg(test)]" {
                continue;
            }
            let mut path_attr = None;
            for next in &lines[i + 1..] {
                if let Some(path) = next
                    .strip_prefix("#[path = \"")
                    .and_then(|p| p.strip_suffix("\"]"))
                {
                    path_attr = Some(path.to_owned());
                    continue;
                }
                if let Some(name) = next.strip_prefix("mod ").and_then(|n| n.strip_suffix(';')) {
                    let parent = file.parent().unwrap();
                    test_only.insert(match &path_attr {
                        Some(path) => parent.join(path),
                        None => dir.join(format!("{name}.rs")),
                    });
                }
                break;
            }
        }
    }
    test_only
}

/// The text without `//` comments (string literals here never contain `//` before `crate::`).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text without the items that follow `#[cfg(test)]` when they are blocks.
fn strip_test_blocks(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let Some(open) = after.find(['{', ';']) else {
            rest = "";
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every top-level module named as `crate::x` or inside `crate::{x, y::z}`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut named = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            rest = &group[i..];
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && depth == 1 && (c.is_alphabetic() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        named.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                named.insert(name);
            }
        }
    }
    named
}
