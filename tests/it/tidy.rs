//! Architecture invariants that fail the build, in the spirit of rust-analyzer's tidy tests:
//! the module edges the code has must be the ones ARCHITECTURE.md allows ("Allowed module
//! edges"), and the command-line modules must not depend on each other except through
//! `cli/common` and `cli/endpoint`.
//!
//! An edge is a `crate::MODULE` path anywhere in a top-level module's non-test code (a `use`
//! line or a path in an expression). Code after a file's first `#[cfg(test)]` is test code and
//! may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `module -> modules it may use`, from ARCHITECTURE.md's table.
fn allowed_edges(architecture: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Allowed module edges"))
        .ok_or("ARCHITECTURE.md has no \"## Allowed module edges\" section")?;
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [module, uses, ..] = cells[..] else {
            return Err(format!("a table row with fewer than two cells: {line}"));
        };
        let uses: BTreeSet<String> = uses
            .split(',')
            .map(|u| u.trim().trim_matches('`').to_owned())
            .filter(|u| !u.is_empty() && u != "—")
            .collect();
        table.insert(module.trim_matches('`').to_owned(), uses);
    }
    Ok(table)
}

/// The non-test code of a file: everything before its first `#[cfg(test)]`, comments removed.
fn code_of(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `crate::X` modules a piece of code names.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // `iam_contract::crate` never happens; `$crate::` in macros is skipped.
        if !name.is_empty() && !rest[..i].ends_with('$') {
            out.insert(name);
        }
        rest = after;
    }
    out
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("a readable source tree")
            .flatten()
        {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a source file belongs to (`src/contract/rules/auth.rs` → `contract`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The edges the code has: `module -> modules`, with a file that shows each one.
fn edges(src: &Path) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for file in rust_files(src) {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        let code = code_of(&std::fs::read_to_string(&file).expect("readable"));
        for target in crate_refs(&code) {
            if target != module {
                out.entry((module.clone(), target))
                    .or_insert_with(|| file.display().to_string());
            }
        }
    }
    out
}

/// The violations: edges the table does not allow, and allowed edges nothing uses any more
/// (so the table cannot rot).
fn violations(
    edges: &BTreeMap<(String, String), String>,
    allowed: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let mut v = Vec::new();
    for ((from, to), file) in edges {
        if !allowed.get(from).is_some_and(|a| a.contains(to)) {
            v.push(format!(
                "{from} -> {to} ({file}) is not in ARCHITECTURE.md's allowed edges"
            ));
        }
    }
    for (from, tos) in allowed {
        for to in tos {
            if !edges.contains_key(&(from.clone(), to.clone())) {
                v.push(format!(
                    "ARCHITECTURE.md allows {from} -> {to}, but no code has that edge any more"
                ));
            }
        }
    }
    v
}

/// Command modules may use only `common` and `endpoint` among their siblings, and `endpoint`
/// only `common`.
fn cli_violations(src: &Path) -> Vec<String> {
    let dir = src.join("cli");
    let siblings: BTreeSet<String> = rust_files(&dir)
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
        .filter(|n| n != "mod")
        .collect();
    let mut v = Vec::new();
    for file in rust_files(&dir) {
        let me = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if me == "mod" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).expect("readable"));
        let allowed: &[&str] = match me {
            "common" => &[],
            "endpoint" => &["common"],
            _ => &["common", "endpoint"],
        };
        for sib in &siblings {
            if sib != me
                && (code.contains(&format!("super::{sib}::"))
                    || code.contains(&format!("super::{sib};"))
                    || code.contains(&format!("super::{{{sib}")))
                && !allowed.contains(&sib.as_str())
            {
                v.push(format!("cli/{me} uses cli/{sib}"));
            }
        }
    }
    v
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn module_edges_are_the_ones_architecture_md_allows() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("readable");
    let allowed = allowed_edges(&architecture).expect("the allowed-edges table");
    let found = edges(&root().join("src"));
    let v = violations(&found, &allowed);
    assert!(v.is_empty(), "module layering:\n  {}", v.join("\n  "));
}

#[test]
fn command_modules_do_not_depend_on_each_other() {
    let v = cli_violations(&root().join("src"));
    assert!(v.is_empty(), "cli layering:\n  {}", v.join("\n  "));
}

/// The checker itself can fail: a forbidden edge, a stale table entry and a test-only use.
#[test]
fn the_checker_catches_a_forbidden_edge_and_a_stale_entry() {
    let table = "# A\n\n## Allowed module edges\n\n| module | may use |\n|---|---|\n| `contract` | `model`, `wire` |\n| `model` | — |\n";
    let allowed = allowed_edges(table).unwrap();
    assert_eq!(allowed["model"].len(), 0);
    let code = code_of(
        "use crate::model::Model;\nuse crate::report; // crate::client in a comment\nfn f() { crate::model::x(); }\n#[cfg(test)]\nmod tests { use crate::client; }\n",
    );
    let refs = crate_refs(&code);
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["model", "report"],
        "comments and test code are not edges"
    );
    let mut found = BTreeMap::new();
    found.insert(("contract".into(), "model".into()), "a.rs".into());
    found.insert(("contract".into(), "report".into()), "a.rs".into());
    let v = violations(&found, &allowed);
    assert!(
        v.iter().any(|m| m.starts_with("contract -> report")),
        "{v:?}"
    );
    assert!(
        v.iter().any(|m| m.contains("allows contract -> wire")),
        "{v:?}"
    );
}

/// The lines of non-test code that print to standard output with `print!`/`println!`.
fn stdout_prints(code: &str) -> Vec<String> {
    code.lines()
        .filter(|l| {
            let l = l.trim_start();
            l.contains("println!(") && !l.contains("eprintln!(")
                || l.contains("print!(") && !l.contains("eprint!(")
        })
        .map(|l| l.trim().to_owned())
        .collect()
}

/// Everything printed to standard output goes through `cli::common::out`, which ends quietly
/// when the reader has gone away; `print!` would panic on a closed pipe.
#[test]
fn standard_output_is_written_through_one_helper() {
    let src = root().join("src");
    let mut v = Vec::new();
    for file in rust_files(&src) {
        let code = code_of(&std::fs::read_to_string(&file).expect("readable"));
        for line in stdout_prints(&code) {
            v.push(format!("{}: {line}", file.display()));
        }
    }
    assert!(
        v.is_empty(),
        "print!/println! outside cli::common::out:\n  {}",
        v.join("\n  ")
    );
    // The checker can fail.
    assert_eq!(
        stdout_prints("println!(\"x\");\neprintln!(\"y\");\nprint!(\"{t}\");"),
        ["println!(\"x\");", "print!(\"{t}\");"]
    );
}
